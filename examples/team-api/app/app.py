"""team-api: a small Flask service for one team — items in PostgreSQL, a counter in Redis.

Runs under gunicorn (see gunicorn.conf.py); the number of worker processes comes from
$WEB_CONCURRENCY. Configuration and generated credentials come from the environment:
DATABASE_URL, REDIS_URL, SECRET_KEY (never logged, never returned).
"""
import os
import socket
import threading

import psycopg2
import psycopg2.extras
import psycopg2.pool
import redis
from flask import Flask, abort, jsonify, request

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "")
app.json.sort_keys = False

SCHEMA = """
create table if not exists items (
    id         bigserial primary key,
    name       text not null check (length(name) between 1 and 200),
    note       text not null default '',
    created_at timestamptz not null default now()
)
"""
SCHEMA_LOCK = 0x7465616d  # pg_advisory_lock key: one migrator at a time across replicas

_lock = threading.Lock()
_pool = None   # per process: created lazily, after gunicorn forks the worker
_redis = None


def migrate():
    """Creates the schema; idempotent, safe to run from several replicas at once."""
    conn = psycopg2.connect(os.environ["DATABASE_URL"], connect_timeout=5)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("select pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            cur.execute(SCHEMA)
    finally:
        conn.close()


def pool():
    global _pool
    with _lock:
        if _pool is None:
            _pool = psycopg2.pool.ThreadedConnectionPool(
                1, 4, os.environ["DATABASE_URL"], connect_timeout=5)
        return _pool


def rds():
    global _redis
    with _lock:
        if _redis is None:
            _redis = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=5,
                                          socket_connect_timeout=5, health_check_interval=30)
        return _redis


def query(sql, args=(), one=False, write=False):
    """Runs one statement on a pooled connection; a broken connection (database
    restarted) is dropped and the statement retried once on a fresh one."""
    for attempt in (1, 2):
        conn = pool().getconn()
        try:
            with conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                cur.execute(sql, args)
                rows = cur.fetchall() if cur.description else []
            pool().putconn(conn)
            return (rows[0] if rows else None) if one else rows
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            pool().putconn(conn, close=True)
            if attempt == 2 or write:
                raise


def item_json(row):
    return {"id": row["id"], "name": row["name"], "note": row["note"],
            "created_at": row["created_at"].isoformat()}


@app.get("/")
def index():
    return jsonify(service="team-api", team=os.environ.get("TEAM", ""),
                   endpoints=["/health", "/items", "/items/<id>", "/counter", "/whoami"])


@app.get("/health")
def health():
    checks = {}
    try:
        query("select 1", one=True)
        checks["db"] = "ok"
    except Exception as e:  # report, never crash the health check
        checks["db"] = f"error: {type(e).__name__}"
    try:
        rds().ping()
        checks["redis"] = "ok"
    except Exception as e:
        checks["redis"] = f"error: {type(e).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if ok else "degraded", **checks), 200 if ok else 503


@app.get("/items")
def list_items():
    limit = min(max(request.args.get("limit", 100, type=int), 1), 1000)
    rows = query("select * from items order by id desc limit %s", (limit,))
    return jsonify(items=[item_json(r) for r in rows])


@app.post("/items")
def create_item():
    body = request.get_json(silent=True) or {}
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 200:
        return jsonify(error="name: a string of 1-200 characters is required"), 400
    note = body.get("note", "")
    if not isinstance(note, str):
        return jsonify(error="note: must be a string"), 400
    row = query("insert into items (name, note) values (%s, %s) returning *", (name, note),
                one=True, write=True)
    return jsonify(item_json(row)), 201


@app.get("/items/<int:item_id>")
def get_item(item_id):
    row = query("select * from items where id = %s", (item_id,), one=True)
    if row is None:
        abort(404)
    return jsonify(item_json(row))


@app.post("/counter")
def bump_counter():
    return jsonify(counter=rds().incr("team-api:counter"))


@app.get("/counter")
def read_counter():
    return jsonify(counter=int(rds().get("team-api:counter") or 0))


@app.get("/whoami")
def whoami():
    """Which worker process answered: with WEB_CONCURRENCY=N, N different pids show up."""
    return jsonify(pid=os.getpid(), ppid=os.getppid(), hostname=socket.gethostname(),
                   replica=os.environ.get("BERTH_REPLICA", ""),
                   web_concurrency=os.environ.get("WEB_CONCURRENCY", ""))


@app.errorhandler(404)
def not_found(_):
    return jsonify(error="not found"), 404
