# Jupyter Notebook settings for the workshop (loaded with --config by start-notebook.sh).
import logging
import re

# Notebook 6 logs the URL of every redirect and failed request, query string included:
# the usual login link http://.../?token=SECRET would put the participant's token into
# `berth logs`. Scrub token values from everything the notebook server and tornado log.
_TOKEN = re.compile(r"(token=)[^&\s\"']+", re.IGNORECASE)


class _ScrubTokens(logging.Filter):
    def filter(self, record):
        msg = record.getMessage()
        if "token=" in msg.lower():
            record.msg, record.args = _TOKEN.sub(r"\1[redacted]", msg), ()
        return True


for _name in ("NotebookApp", "tornado.access", "tornado.application", "tornado.general"):
    logging.getLogger(_name).addFilter(_ScrubTokens())

c = get_config()  # noqa: F821 (provided by Jupyter when it loads this file)
c.NotebookApp.open_browser = False
c.NotebookApp.ip = "0.0.0.0"
c.NotebookApp.port = 8888
