#!/bin/sh
# Measures async-api with hey (Debian package `hey`), bounded runs against one replica.
#   examples/async-api/measure.sh async-blue            # the environment's name
#   examples/async-api/measure.sh 10.89.3.3             # or the api replica's IP
# Prints requests/s and latency percentiles per scenario. Takes about 2 minutes.
# hey runs on the same machine: on a small host it competes with the service for CPU.
set -eu
target=${1:?usage: measure.sh ENV|IP}
case $target in
  *.*.*.*) ip=$target ;;
  *) ip=$(berth ps --env "$target" -o json | python3 -c \
       'import json,sys; print(next(r["ip"] for r in json.load(sys.stdin) if r["service"]=="api"))') ;;
esac
base=http://$ip:8000
D=${DURATION:-10s}

summary() {  # hey's text output -> one line
  awk -v name="$1" '
    /Requests\/sec:/ {rps=$2}
    /^  10% in/ {p10=$3} /^  50% in/ {p50=$3} /^  90% in/ {p90=$3} /^  99% in/ {p99=$3}
    /^  \[/ {codes = codes $0}
    function ms(x) { return x == "" ? "      -" : sprintf("%7.1f", x * 1000) }
    END {printf "%-46s %7.1f req/s  p50 %s ms  p90 %s ms  p99 %s ms %s\n",
                name, rps, ms(p50), ms(p90), ms(p99), codes}'
}
run() {  # name, hey args...
  name=$1; shift
  hey "$@" 2>&1 | summary "$name"
}
# a foreground run while a background load runs against another endpoint
during() {  # background path, background concurrency, foreground path, foreground concurrency
  hey -z 12s -c "$2" "$base$1" >/tmp/measure-bg.$$ 2>&1 &
  bg=$!
  sleep 1
  run "$3 c=$4, with $1 c=$2 running" -z "$D" -c "$4" "$base$3"
  wait $bg
  summary "  (background: $1 c=$2)" </tmp/measure-bg.$$
  rm -f /tmp/measure-bg.$$
}

curl -fsS -X POST -d '{"name":"measure"}' "$base/items" >/dev/null  # at least one row
echo "== one endpoint at a time, 20 concurrent connections, $D each"
run "/ping" -z "$D" -c 20 "$base/ping"
run "/items (await asyncpg)" -z "$D" -c 20 "$base/items?limit=10"
run "/slow-sync?ms=100 (to_thread, 8 threads)" -z "$D" -c 20 "$base/slow-sync?ms=100"
run "/blocking-bad?ms=100 (blocks the loop)" -z "$D" -c 20 "$base/blocking-bad?ms=100"
echo "== /items latency while blocking requests run"
during "/slow-sync?ms=100" 4 /items 4
during "/blocking-bad?ms=100" 4 /items 4
echo "== /ping latency while CPU-bound pure Python runs (n=3,000,000 per request)"
for mode in inline thread process; do
  during "/cpu?n=3000000&mode=$mode" 2 /ping 1
done
