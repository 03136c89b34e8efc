"""async-api: one aiohttp process, one event loop — and what to do with code that blocks.

Endpoints (all JSON):
  GET  /ping                 no I/O at all: how long the event loop takes to get to us
  GET  /health               the database answers (asyncpg pool)
  GET  /items, POST /items   async database access: handlers `await` asyncpg; while one
  GET  /items/{id}           request waits for PostgreSQL the loop serves the others
  GET  /slow-sync?ms=N       a blocking call (N ms), offloaded to the thread pool with
                             asyncio.to_thread: the loop stays free
  GET  /blocking-bad?ms=N    THE MISTAKE, on purpose: the same blocking call made directly
                             in the handler. The whole process stops for N ms — every
                             other request, including /ping and /health, waits.
  GET  /cpu?n=N&mode=M       pure-Python CPU work (holds the GIL): mode=process runs it in
                             a process pool (real parallelism), mode=thread in the thread
                             pool (no speed-up: the GIL), mode=inline blocks the loop.

Configuration: DATABASE_URL (with the generated password), PORT, DB_POOL_MAX,
BLOCKING_THREADS (thread pool size), CPU_PROCESSES (process pool size).
"""
import asyncio
import concurrent.futures
import logging
import os
import time

import asyncpg
from aiohttp import web

log = logging.getLogger("async-api")

SCHEMA = """
create table if not exists items (
    id         bigserial primary key,
    name       text not null check (length(name) between 1 and 200),
    created_at timestamptz not null default now()
)
"""
SCHEMA_LOCK = 0x61737963  # pg_advisory_xact_lock key: one migrator at a time
MAX_BLOCK_MS = 10_000
MAX_CPU_N = 20_000_000


# --- the blocking code: stands in for a synchronous library (requests, boto3, a sync DB
# driver, file or image processing in C) that we cannot or will not rewrite as async.
def blocking_call(ms: int) -> float:
    t0 = time.perf_counter()
    time.sleep(ms / 1000)
    return time.perf_counter() - t0


def cpu_work(n: int) -> int:
    """Pure-Python arithmetic: holds the GIL the whole time."""
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def _int_arg(request, name, default, lo, hi):
    try:
        v = int(request.query.get(name, default))
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name}: an integer is required\n")
    if not lo <= v <= hi:
        raise web.HTTPBadRequest(text=f"{name}: must be between {lo} and {hi}\n")
    return v


def _item(row):
    return {"id": row["id"], "name": row["name"], "created_at": row["created_at"].isoformat()}


async def ping(request):
    return web.json_response({"pong": True, "pid": os.getpid()})


async def health(request):
    try:
        async with request.app["db"].acquire(timeout=3) as conn:
            await conn.fetchval("select 1", timeout=3)
    except Exception as e:  # report, never crash the health check
        return web.json_response({"status": "degraded", "db": type(e).__name__}, status=503)
    return web.json_response({"status": "ok", "db": "ok"})


async def list_items(request):
    limit = _int_arg(request, "limit", 100, 1, 1000)
    rows = await request.app["db"].fetch("select * from items order by id desc limit $1", limit)
    return web.json_response({"items": [_item(r) for r in rows]})


async def create_item(request):
    try:
        body = await request.json()
    except ValueError:
        body = None
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not 1 <= len(name) <= 200:
        return web.json_response({"error": "name: a string of 1-200 characters is required"}, status=400)
    row = await request.app["db"].fetchrow("insert into items (name) values ($1) returning *", name)
    return web.json_response(_item(row), status=201)


async def get_item(request):
    try:
        item_id = int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound()
    row = await request.app["db"].fetchrow("select * from items where id = $1", item_id)
    if row is None:
        return web.json_response({"error": "not found"}, status=404)
    return web.json_response(_item(row))


async def slow_sync(request):
    """Right: the blocking call runs on a worker thread; this coroutine just awaits it."""
    ms = _int_arg(request, "ms", 500, 0, MAX_BLOCK_MS)
    took = await asyncio.to_thread(blocking_call, ms)
    return web.json_response({"blocked_ms": ms, "took_s": round(took, 3), "loop_blocked": False})


async def blocking_bad(request):
    """Wrong, deliberately: calling blocking code from a coroutine stops the event loop."""
    ms = _int_arg(request, "ms", 500, 0, MAX_BLOCK_MS)
    took = blocking_call(ms)  # no await: nothing else in this process runs meanwhile
    return web.json_response({"blocked_ms": ms, "took_s": round(took, 3), "loop_blocked": True})


async def cpu(request):
    n = _int_arg(request, "n", 2_000_000, 1, MAX_CPU_N)
    mode = request.query.get("mode", "process")
    t0 = time.perf_counter()
    loop = asyncio.get_running_loop()
    if mode == "process":
        result = await loop.run_in_executor(request.app["processes"], cpu_work, n)
    elif mode == "thread":
        result = await asyncio.to_thread(cpu_work, n)
    elif mode == "inline":
        result = cpu_work(n)
    else:
        raise web.HTTPBadRequest(text="mode: process, thread or inline\n")
    return web.json_response({"n": n, "mode": mode, "result": result,
                              "took_s": round(time.perf_counter() - t0, 3)})


async def on_startup(app):
    loop = asyncio.get_running_loop()
    # asyncio.to_thread and run_in_executor(None, ...) use the loop's default executor:
    # size it explicitly (it bounds how many blocking calls run at once).
    threads = int(os.environ.get("BLOCKING_THREADS", "8"))
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="blocking"))
    app["processes"] = concurrent.futures.ProcessPoolExecutor(int(os.environ.get("CPU_PROCESSES", "2")))
    # Start the pool's processes now (fork), before this process has threads or sockets.
    await loop.run_in_executor(app["processes"], cpu_work, 1)
    dsn = os.environ["DATABASE_URL"]
    for attempt in range(30):  # depends_on waits for a healthy db; this covers its restarts
        try:
            app["db"] = await asyncpg.create_pool(
                dsn, min_size=2, max_size=int(os.environ.get("DB_POOL_MAX", "10")), command_timeout=10)
            break
        except (OSError, asyncpg.PostgresError) as e:
            log.warning("database not reachable yet (%s), retrying", type(e).__name__)
            await asyncio.sleep(1)
    else:
        raise SystemExit("database not reachable")
    async with app["db"].acquire() as conn, conn.transaction():
        await conn.execute("select pg_advisory_xact_lock($1)", SCHEMA_LOCK)
        await conn.execute(SCHEMA)
    log.info("schema ready; %d blocking threads, %d cpu processes", threads, app["processes"]._max_workers)


async def on_cleanup(app):
    await app["db"].close()
    app["processes"].shutdown(cancel_futures=True)


def make_app():
    app = web.Application()
    app.add_routes([
        web.get("/ping", ping),
        web.get("/health", health),
        web.get("/items", list_items),
        web.post("/items", create_item),
        web.get("/items/{id}", get_item),
        web.get("/slow-sync", slow_sync),
        web.get("/blocking-bad", blocking_bad),
        web.get("/cpu", cpu),
    ])
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # access log: client, request line, status, size, seconds (no headers)
    web.run_app(make_app(), host="0.0.0.0", port=int(os.environ.get("PORT", "8000")),
                access_log_format='%a "%r" %s %b %Tfs', print=None)
