#!/usr/bin/python3
"""Soak test: drive mock-idp with mixed valid and hostile traffic from this (second)
process on loopback, for a bounded time, and write the figures to docs/soak.md.

  scripts/soak.py [--seconds 600] [--workers 4] [--out docs/soak.md]

Passes when: the server never crashed, answered no 5xx (no fault rule asks for any),
its RSS stayed flat after warm-up, and the in-memory trace stayed bounded (ring buffer,
with the dropped entries counted)."""
import argparse
import base64
import hashlib
import http.client
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
REDIRECT = "http://127.0.0.1:8080/callback"
TRACE_LIMIT = 20000
STATE_LIMIT = 5000  # reached within the warm-up, so a flat RSS afterwards is the test


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_status = {}
        self.requests = 0
        self.unexpected_5xx = 0
        self.transport_errors = 0

    def add(self, status):
        with self.lock:
            self.requests += 1
            self.by_status[status] = self.by_status.get(status, 0) + 1
            if status >= 500:
                self.unexpected_5xx += 1


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Worker(threading.Thread):
    def __init__(self, port, deadline, counters, seed):
        super().__init__(daemon=True)
        self.port, self.deadline, self.c = port, deadline, counters
        self.rng = random.Random(seed)
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        for _ in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                data = r.read()
                self.c.add(r.status)
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, r.getheader("Location"), data
            except (OSError, http.client.HTTPException):
                self.conn = None
        with self.c.lock:
            self.c.transport_errors += 1
        return 0, None, b""

    def form(self, path, fields, headers=None):
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers or {})
        return self.request("POST", path, urllib.parse.urlencode(fields), h)

    def session(self):
        """A valid client: login, code flow with PKCE, refreshes, userinfo, revocation."""
        st, _, body = self.request("POST", "/_mock/login", json.dumps({"sub": "alice"}),
                                   {"Content-Type": "application/json"})
        if st != 200:
            return
        cookie = json.loads(body)["cookie"]
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        q = urllib.parse.urlencode({"client_id": "demo-spa", "redirect_uri": REDIRECT, "response_type": "code",
                                    "scope": "openid offline_access api", "state": "s",
                                    "code_challenge": challenge, "code_challenge_method": "S256"})
        st, loc, _ = self.request("GET", "/authorize?" + q, headers={"Cookie": cookie})
        code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(loc or "").query)).get("code")
        if not code:
            return
        st, _, body = self.form("/token", {"grant_type": "authorization_code", "code": code,
                                           "redirect_uri": REDIRECT, "code_verifier": verifier,
                                           "client_id": "demo-spa"})
        if st != 200:
            return
        tokens = json.loads(body)
        for _ in range(3):
            st, _, body = self.form("/token", {"grant_type": "refresh_token", "client_id": "demo-spa",
                                               "refresh_token": tokens["refresh_token"]})
            if st != 200:
                return
            tokens = json.loads(body)
        self.request("GET", "/resource", headers={"Authorization": "Bearer " + tokens["access_token"]})
        self.request("GET", "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
        self.form("/revoke", {"token": tokens["refresh_token"], "client_id": "demo-spa"})

    def hostile(self):
        """Malformed, duplicate, oversized, forged and random input."""
        kind = self.rng.randrange(9)
        if kind == 0:
            self.request("POST", "/token", "grant_type=refresh_token&grant_type=x%zz%00",
                         {"Content-Type": "application/x-www-form-urlencoded"})
        elif kind == 1:
            self.request("POST", "/token", "a=" + "b" * 70000, {"Content-Type": "application/x-www-form-urlencoded"})
        elif kind == 2:
            self.form("/token", {"grant_type": "client_credentials"}, {"Authorization": "Basic !!!"})
        elif kind == 3:
            self.form("/token", {"grant_type": "refresh_token", "client_id": "demo-spa",
                                 "refresh_token": secrets.token_urlsafe(self.rng.randrange(1, 3000))})
        elif kind == 4:
            self.request("GET", "/userinfo", headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."})
        elif kind == 5:
            self.request("POST", "/_mock/faults", "{not json", {"Content-Type": "application/json"})
        elif kind == 6:
            self.request("GET", "/authorize?" + "&".join(f"p{i}=x" for i in range(100)))
        elif kind == 7:
            junk = bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(1, 400)))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                    s.sendall(junk + b"\r\n\r\n")
                    s.settimeout(5)
                    s.recv(4096)
            except OSError:
                pass
        else:
            self.request("GET", "/.well-known/openid-configuration")

    def run(self):
        while time.monotonic() < self.deadline:
            if self.rng.random() < 0.5:
                self.session()
            else:
                self.hostile()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "soak.md"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin", "mock-idp"))
    args = ap.parse_args()
    proc = subprocess.Popen([args.bin, "--listen", "127.0.0.1:0", "--trace-limit", str(TRACE_LIMIT),
                             "--state-limit", str(STATE_LIMIT)],
                            stdout=subprocess.PIPE)
    issuer = proc.stdout.readline().decode().strip().split("issuer=")[1]
    port = urllib.parse.urlsplit(issuer).port
    counters = Counters()
    start = time.monotonic()
    deadline = start + args.seconds
    workers = [Worker(port, deadline, counters, seed) for seed in range(args.workers)]
    for w in workers:
        w.start()
    samples = []
    while time.monotonic() < deadline and proc.poll() is None:
        samples.append((time.monotonic() - start, rss_kb(proc.pid)))
        time.sleep(min(2.0, max(0.1, deadline - time.monotonic())))
    for w in workers:
        w.join(timeout=30)
    alive = proc.poll() is None
    trace = {}
    if alive:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/_mock/trace")
        trace = json.loads(conn.getresponse().read())
        samples.append((time.monotonic() - start, rss_kb(proc.pid)))
        proc.terminate()
    rc = proc.wait(timeout=30)
    elapsed = time.monotonic() - start
    warm = [kb for t, kb in samples if t >= min(30.0, args.seconds / 5)] or [kb for _, kb in samples]
    rss_flat = max(warm) <= warm[0] * 1.10 + 2048  # within 10 % (+2 MiB) of the post-warm-up level
    kept = len(trace.get("requests", []))
    ok = alive and rc == 0 and counters.unexpected_5xx == 0 and rss_flat and kept <= TRACE_LIMIT
    lines = [
        "# Soak test results",
        "",
        f"Written by `scripts/soak.py` on {time.strftime('%Y-%m-%d')} ({os.uname().machine}, "
        f"{os.cpu_count()} cores); rerun it to refresh. Command: "
        f"`scripts/soak.py --seconds {args.seconds:g} --workers {args.workers}` "
        "(the documented long run is `make soak`, 600 s).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| duration | {elapsed:.0f} s |",
        f"| requests answered | {counters.requests} ({counters.requests / elapsed:.0f}/s) |",
        f"| by status | {', '.join(f'{k}: {v}' for k, v in sorted(counters.by_status.items()))} |",
        f"| 5xx not asked for by a fault rule | {counters.unexpected_5xx} |",
        f"| connections the server dropped (hostile input answered by libevent) | {counters.transport_errors} |",
        f"| server alive at the end, clean exit | {'yes' if alive and rc == 0 else 'NO'} (exit {rc}) |",
        f"| RSS after warm-up / max / at the end | {warm[0] / 1024:.1f} / {max(warm) / 1024:.1f} / {samples[-1][1] / 1024:.1f} MiB |",
        f"| RSS flat (max within 10 % + 2 MiB of the post-warm-up level) | {'yes' if rss_flat else 'NO'} |",
        f"| trace kept in memory / dropped (ring of {TRACE_LIMIT}) | {kept} / {trace.get('dropped', '?')} |",
        f"| state limit (grants, sessions, codes; oldest evicted) | {STATE_LIMIT} |",
        f"| verdict | {'PASS' if ok else 'FAIL'} |",
        "",
    ]
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
