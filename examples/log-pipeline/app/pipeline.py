#!/usr/bin/env python3
"""log-pipeline: the seeds' log processor, as a job that runs to completion.

Three stages, each with the concurrency model that fits its work:

  read   (I/O-bound)   asyncio: one task per file reads it in chunks and cuts it into
                       batches of lines. The chunk reads themselves go to a thread
                       (asyncio.to_thread): Linux files have no non-blocking reads, and
                       this is what aiofiles does too. All files are read concurrently.
  parse  (CPU-bound)   a multiprocessing Pool: regex matching, timestamp parsing and
                       route normalisation run in PARSE_PROCESSES worker processes, so
                       they use several cores despite the GIL.
  write  (I/O-bound,   a ThreadPoolExecutor of DB_THREADS threads, each with its own
          blocking     psycopg2 connection (psycopg2 is a blocking driver): batches are
          driver)      inserted concurrently while the next ones are parsed.

Backpressure: at most MAX_IN_FLIGHT batches are being parsed or written at any time, so
memory stays flat however large the input is. Rows are keyed by (source, line_no) and
inserted with ON CONFLICT DO NOTHING: running the job again adds nothing.

    python3 pipeline.py [LOG_FILE ...]      (default: $LOG_DIR/*.log)
Environment: DATABASE_URL, LOG_DIR, PARSE_PROCESSES, DB_THREADS, BATCH_LINES.
Exit status: 0 when every file was read and every parsed row is in the database.
"""
import asyncio
import collections
import concurrent.futures
import glob
import multiprocessing
import os
import sys
import threading
import time

import psycopg2
import psycopg2.extras

import parse

CHUNK_BYTES = 64 * 1024
BATCH_LINES = int(os.environ.get("BATCH_LINES", "250"))
PARSE_PROCESSES = int(os.environ.get("PARSE_PROCESSES", "2"))
DB_THREADS = int(os.environ.get("DB_THREADS", "4"))
MAX_IN_FLIGHT = 2 * (PARSE_PROCESSES + DB_THREADS)

SCHEMA = """
create table if not exists log_entries (
    source      text not null,
    line_no     integer not null,
    ts          timestamptz not null,
    client      inet not null,
    method      text not null,
    path        text not null,
    route       text not null,
    status      smallint not null,
    bytes       integer not null,
    duration_ms real not null,
    user_agent  text not null,
    primary key (source, line_no)
);
create index if not exists log_entries_route on log_entries (route);
"""
INSERT = """insert into log_entries
    (source, line_no, ts, client, method, path, route, status, bytes, duration_ms, user_agent)
    values %s on conflict (source, line_no) do nothing"""


def log(msg):
    print(f"[pipeline] {msg}", flush=True)


# --- stage 1: asyncio reading -------------------------------------------------------
async def read_batches(path, out: asyncio.Queue, stats):
    """Reads one file in chunks (each read on a thread) and queues (source, first line
    number, lines) batches."""
    source = os.path.basename(path)
    line_no, pending, batch, first = 0, b"", [], 1
    with open(path, "rb") as f:
        while True:
            chunk = await asyncio.to_thread(f.read, CHUNK_BYTES)
            if not chunk:
                break
            stats["bytes"] += len(chunk)
            *complete, pending = (pending + chunk).split(b"\n")
            for raw in complete:
                line_no += 1
                batch.append(raw.decode("utf-8", "replace"))
                if len(batch) == BATCH_LINES:
                    await out.put((source, first, batch))
                    batch, first = [], line_no + 1
    if pending:  # last line without a newline
        line_no += 1
        batch.append(pending.decode("utf-8", "replace"))
    if batch:
        await out.put((source, first, batch))
    stats["files"] += 1
    stats["lines"] += line_no


# --- stage 2: multiprocessing parsing -----------------------------------------------
def parse_in_pool(pool, source, first, lines):
    """multiprocessing.Pool.apply_async as an awaitable."""
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def done(result):
        loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(result))

    def failed(exc):
        loop.call_soon_threadsafe(lambda: fut.done() or fut.set_exception(exc))

    pool.apply_async(parse.parse_batch, (source, first, lines), callback=done, error_callback=failed)
    return fut


# --- stage 3: threaded database writes ------------------------------------------------
class Writer:
    """One psycopg2 connection per writer thread (connections are not shared)."""

    def __init__(self, dsn):
        self.dsn = dsn
        self.local = threading.local()
        self.conns = []
        self.lock = threading.Lock()

    def conn(self):
        c = getattr(self.local, "conn", None)
        if c is None:
            c = psycopg2.connect(self.dsn, connect_timeout=10, application_name="log-pipeline")
            self.local.conn = c
            with self.lock:
                self.conns.append(c)
        return c

    def write(self, rows):
        c = self.conn()
        with c, c.cursor() as cur:  # one transaction per batch
            psycopg2.extras.execute_values(cur, INSERT, rows, page_size=len(rows) or 1)
            return cur.rowcount

    def close(self):
        for c in self.conns:
            c.close()


async def run(paths, dsn):
    t0 = time.perf_counter()
    with psycopg2.connect(dsn, connect_timeout=10) as c, c.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(4242)")
        cur.execute(SCHEMA)
    c.close()

    stats = collections.Counter()
    levels = collections.Counter()
    queue: asyncio.Queue = asyncio.Queue(maxsize=MAX_IN_FLIGHT)
    loop = asyncio.get_running_loop()
    writer = Writer(dsn)
    db_threads = concurrent.futures.ThreadPoolExecutor(DB_THREADS, thread_name_prefix="db-writer")
    in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
    tasks = set()

    async def process(pool, source, first, lines):
        try:
            rows, bad = await parse_in_pool(pool, source, first, lines)
            stats["parsed"] += len(rows)
            stats["malformed"] += bad
            for r in rows:
                levels[f"{r[7] // 100}xx"] += 1
            if rows:
                # not `stats[...] += await ...`: that reads the counter before awaiting and
                # would lose the other tasks' updates made meanwhile
                inserted = await loop.run_in_executor(db_threads, writer.write, rows)
                stats["inserted"] += inserted
            stats["batches"] += 1
        except Exception as e:  # counted and reported; the job then exits 1
            stats["errors"] += 1
            log(f"batch {source}:{first} failed: {type(e).__name__}: {e}")
        finally:
            in_flight.release()

    # fork the parse workers before this process starts threads
    with multiprocessing.get_context("fork").Pool(PARSE_PROCESSES) as pool:
        readers = [asyncio.create_task(read_batches(p, queue, stats)) for p in paths]

        async def feed():
            try:
                await asyncio.gather(*readers)
            finally:
                await queue.put(None)  # end of input (also after a reader's error)

        feeder = asyncio.create_task(feed())
        try:
            while (item := await queue.get()) is not None:
                await in_flight.acquire()
                t = asyncio.create_task(process(pool, *item))
                tasks.add(t)
                t.add_done_callback(tasks.discard)
            await feeder  # re-raises a reader's error
            if tasks:
                await asyncio.gather(*list(tasks))
        finally:
            db_threads.shutdown(wait=True)
            writer.close()

    with psycopg2.connect(dsn, connect_timeout=10) as c, c.cursor() as cur:
        cur.execute("select count(*) from log_entries where source = any(%s)",
                    ([os.path.basename(p) for p in paths],))
        in_table = cur.fetchone()[0]
        cur.execute("""select route, count(*),
                              round(percentile_cont(0.95) within group (order by duration_ms)::numeric, 1)
                       from log_entries group by route order by count(*) desc limit 5""")
        top = cur.fetchall()
    c.close()
    elapsed = time.perf_counter() - t0

    log(f"read {stats['files']} files, {stats['lines']} lines ({stats['bytes'] / 1024:.0f} KiB) "
        f"with asyncio; parsed in {PARSE_PROCESSES} processes; written by {DB_THREADS} threads")
    log(f"status classes: " + ", ".join(f"{k} {v}" for k, v in sorted(levels.items())))
    for route, n, p95 in top:
        log(f"  {route:<28} {n:5d} requests  p95 {p95} ms")
    log(f"SUMMARY files={stats['files']} lines={stats['lines']} parsed={stats['parsed']} "
        f"malformed={stats['malformed']} inserted={stats['inserted']} in_table={in_table} "
        f"batches={stats['batches']} errors={stats['errors']} seconds={elapsed:.2f}")
    ok = (stats["errors"] == 0 and stats["parsed"] + stats["malformed"] == stats["lines"]
          and in_table == stats["parsed"])
    return 0 if ok else 1


def main(argv):
    paths = argv[1:] or sorted(glob.glob(os.path.join(os.environ.get("LOG_DIR", "/srv/logs"), "*.log")))
    if not paths:
        log("no log files")
        return 1
    dsn = os.environ["DATABASE_URL"]
    try:
        return asyncio.run(run(paths, dsn))
    except (OSError, psycopg2.Error) as e:
        log(f"failed: {type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
