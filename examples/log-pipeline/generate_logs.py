#!/usr/bin/env python3
"""Generates the sample access logs in data/ — deterministic (fixed seed), so the
pipeline's expected row counts are known: data/MANIFEST.json records, per file, how many
lines were written and how many of them are deliberately malformed.

    python3 examples/log-pipeline/generate_logs.py            # rewrites data/*.log
"""
import datetime
import json
import os
import random

FILES = {"web-1.log": 1200, "web-2.log": 1100, "web-3.log": 900, "web-4.log": 800}
SEED = 20240514
HERE = os.path.dirname(os.path.abspath(__file__))

ROUTES = [  # (weight, method, path template, typical ms)
    (30, "GET", "/items", 12), (25, "GET", "/items/{id}", 6), (8, "POST", "/items", 25),
    (4, "DELETE", "/items/{id}", 18), (15, "GET", "/health", 1), (6, "GET", "/users/{id}/orders", 40),
    (5, "POST", "/login", 80), (4, "GET", "/static/app.{hash}.js", 3), (3, "GET", "/search", 120),
]
AGENTS = ["curl/7.88.1", "Mozilla/5.0 (X11; Linux x86_64) Firefox/115.0", "python-requests/2.28.1",
          "kube-probe/1.29", "Go-http-client/1.1"]
STATUS = [(90, 200), (4, 201), (3, 404), (1, 400), (1, 401), (1, 500), (0.5, 502), (0.5, 503)]


def pick(rng, weighted):
    return rng.choices([w[1:] if len(w) > 2 else w[1] for w in weighted], [w[0] for w in weighted])[0]


def line(rng, t):
    method, tmpl, ms = pick(rng, ROUTES)
    path = tmpl.replace("{id}", str(rng.randint(1, 5000))).replace("{hash}", "%08x" % rng.getrandbits(32))
    if tmpl == "/search":
        path += "?q=" + rng.choice(["boat", "berth", "harbour", "dock"])
    status = pick(rng, STATUS)
    size = 0 if method == "DELETE" else rng.randint(80, 20000)
    dur = max(0.1, rng.gauss(ms, ms / 3)) * (8 if status >= 500 else 1)
    ip = f"10.{rng.randint(0, 3)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    stamp = t.strftime("%d/%b/%Y:%H:%M:%S +0000")
    return f'{ip} - - [{stamp}] "{method} {path} HTTP/1.1" {status} {size} "-" "{rng.choice(AGENTS)}" {dur / 1000:.4f}'


def malformed(rng, good):
    kind = rng.randrange(3)
    if kind == 0:
        return good[: rng.randint(10, len(good) // 2)]  # truncated write
    if kind == 1:
        return "".join(rng.choice("abcdef0123456789 -[]\"") for _ in range(rng.randint(5, 60)))
    return good.replace("HTTP/1.1", "HTTP/1.1 EXTRA", 1).replace('" ', '" x', 1)  # bad status


def main():
    rng = random.Random(SEED)
    out = os.path.join(HERE, "data")
    os.makedirs(out, exist_ok=True)
    manifest = {"seed": SEED, "files": {}}
    start = datetime.datetime(2024, 5, 14, 8, 0, 0, tzinfo=datetime.timezone.utc)
    for name, n in FILES.items():
        t = start
        bad = 0
        with open(os.path.join(out, name), "w") as f:
            for _ in range(n):
                t += datetime.timedelta(milliseconds=rng.randint(5, 4000))
                text = line(rng, t)
                if rng.random() < 0.02:
                    text = malformed(rng, text)
                    bad += 1
                f.write(text + "\n")
        manifest["files"][name] = {"lines": n, "malformed": bad, "valid": n - bad}
    manifest["total"] = {k: sum(f[k] for f in manifest["files"].values()) for k in ("lines", "malformed", "valid")}
    with open(os.path.join(out, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(json.dumps(manifest["total"]))


if __name__ == "__main__":
    main()
