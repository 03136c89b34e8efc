"""team-api-mongo: the team-api service with MongoDB instead of PostgreSQL (a template).

UNTESTED: MongoDB's server is not available from Debian 12's archive (nor from the other
registries these machines reach), so this variant is not run by the test suite. The
PostgreSQL version in examples/team-api is. Needs the Debian package python3-pymongo.
"""
import os
import socket
import threading

import redis
from bson import ObjectId
from bson.errors import InvalidId
from flask import Flask, jsonify, request
from pymongo import DESCENDING, MongoClient

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "")

_lock = threading.Lock()
_mongo = None
_redis = None


def db():
    """One MongoClient per worker process (created after gunicorn forks); it pools
    connections and reconnects by itself."""
    global _mongo
    with _lock:
        if _mongo is None:
            _mongo = MongoClient(os.environ["MONGO_URL"], serverSelectionTimeoutMS=5000)
        return _mongo.get_default_database()


def rds():
    global _redis
    with _lock:
        if _redis is None:
            _redis = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=5)
        return _redis


def migrate():
    """Idempotent: indexes are created if missing."""
    client = MongoClient(os.environ["MONGO_URL"], serverSelectionTimeoutMS=10000)
    client.get_default_database().items.create_index([("created_at", DESCENDING)])
    client.close()


def item_json(doc):
    return {"id": str(doc["_id"]), "name": doc["name"], "note": doc.get("note", "")}


@app.get("/health")
def health():
    checks = {}
    try:
        db().command("ping")
        checks["db"] = "ok"
    except Exception as e:
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
    docs = db().items.find().sort("_id", DESCENDING).limit(100)
    return jsonify(items=[item_json(d) for d in docs])


@app.post("/items")
def create_item():
    body = request.get_json(silent=True) or {}
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 200:
        return jsonify(error="name: a string of 1-200 characters is required"), 400
    doc = {"name": name, "note": str(body.get("note", ""))}
    doc["_id"] = db().items.insert_one(doc).inserted_id
    return jsonify(item_json(doc)), 201


@app.get("/items/<item_id>")
def get_item(item_id):
    try:
        doc = db().items.find_one({"_id": ObjectId(item_id)})
    except InvalidId:
        doc = None
    if doc is None:
        return jsonify(error="not found"), 404
    return jsonify(item_json(doc))


@app.post("/counter")
def bump_counter():
    return jsonify(counter=rds().incr("team-api:counter"))


@app.get("/whoami")
def whoami():
    return jsonify(pid=os.getpid(), hostname=socket.gethostname(),
                   web_concurrency=os.environ.get("WEB_CONCURRENCY", ""))
