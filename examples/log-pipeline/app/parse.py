"""Parsing one batch of access-log lines: the CPU-bound stage, run in worker processes.

A line (nginx "combined" format plus the request time in seconds):
  10.3.97.104 - - [14/May/2024:08:00:01 +0000] "GET /items/1988 HTTP/1.1" 200 8605 "-" "curl/7.88.1" 0.0056
Lines that do not match are counted as malformed, never guessed at.
"""
import datetime
import re

LINE = re.compile(
    r'(?P<client>\d{1,3}(?:\.\d{1,3}){3}) \S+ \S+ '
    r'\[(?P<ts>\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] '
    r'"(?P<method>[A-Z]{3,7}) (?P<path>/\S*) HTTP/\d\.\d" '
    r'(?P<status>[1-5]\d\d) (?P<bytes>\d+) "(?P<referer>[^"]*)" "(?P<agent>[^"]*)" '
    r'(?P<duration>\d+(?:\.\d+)?)$')
# /items/1988 -> /items/{id}; /static/app.1f2e3d4c.js -> /static/app.{hash}.js; drop ?query
ROUTE_RULES = [(re.compile(r"/\d+(?=/|$)"), "/{id}"), (re.compile(r"\.[0-9a-f]{8}\."), ".{hash}.")]


def route_of(path):
    route = path.split("?", 1)[0]
    for rx, repl in ROUTE_RULES:
        route = rx.sub(repl, route)
    return route


def parse_line(text):
    m = LINE.match(text)
    if m is None:
        return None
    try:
        ts = datetime.datetime.strptime(m["ts"], "%d/%b/%Y:%H:%M:%S %z")
    except ValueError:
        return None
    if any(int(o) > 255 for o in m["client"].split(".")):
        return None
    return (ts, m["client"], m["method"], m["path"], route_of(m["path"]), int(m["status"]),
            int(m["bytes"]), float(m["duration"]) * 1000.0, m["agent"])


def parse_batch(source, first_line_no, lines):
    """Returns (rows, malformed count); a row is the log_entries insert tuple."""
    rows, bad = [], 0
    for i, text in enumerate(lines):
        p = parse_line(text)
        if p is None:
            bad += 1
            continue
        rows.append((source, first_line_no + i) + p)
    return rows, bad
