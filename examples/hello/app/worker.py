"""The hello example's worker: appends a heartbeat to the shared volume every 2 s."""
import signal
import sys
import time

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
n = 0
while True:
    n += 1
    with open("/data/worker.log", "a") as f:
        f.write(f"tick {n} {time.time():.0f}\n")
    print(f"tick {n}", flush=True)
    time.sleep(2)
