"""gunicorn settings for team-api-mongo (workers from $WEB_CONCURRENCY)."""
import os

bind = "0.0.0.0:" + os.environ.get("PORT", "8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss %(p)s'
worker_tmp_dir = "/tmp"


def on_starting(server):
    import app

    app.migrate()
