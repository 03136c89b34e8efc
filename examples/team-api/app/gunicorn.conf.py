"""gunicorn settings for team-api.

workers: gunicorn reads $WEB_CONCURRENCY itself (its default for --workers); the spec
sets it from the `workers` parameter. Sync workers: one request at a time per process,
so WEB_CONCURRENCY is also the replica's concurrency (a good value for the ingress
proxy's per-replica limit).
"""
import os

bind = "0.0.0.0:" + os.environ.get("PORT", "8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
timeout = 30
graceful_timeout = 10
accesslog = "-"
errorlog = "-"
# The access log must not carry credentials: no headers, no query strings beyond the path.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss %(p)s'
worker_tmp_dir = "/tmp"  # heartbeat files: the root file system is read-only


def on_starting(server):
    """Runs once in the master, before any worker forks: create the schema."""
    import app  # noqa: imported here so the master does not hold DB connections later

    app.migrate()
    server.log.info("schema ready; starting %d workers", workers)
