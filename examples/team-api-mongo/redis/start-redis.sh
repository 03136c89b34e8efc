#!/bin/sh
# Redis (Debian redis-server) for one environment, run as user redis.
# The configuration, including the generated password, is passed on stdin ("-"), so the
# password is not on the command line (ps) or in the log. Data: /data, a named volume.
set -eu
pw=$(cat /run/secrets/redis_password)
exec redis-server - <<CONF
bind 0.0.0.0 -::*
port 6379
protected-mode yes
requirepass $pw
dir /data
appendonly yes
appendfsync everysec
save ""
maxmemory ${REDIS_MAXMEMORY:-64mb}
maxmemory-policy noeviction
daemonize no
logfile ""
CONF
