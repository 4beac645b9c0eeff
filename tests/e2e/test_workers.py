"""mock-idp with several worker loops (--workers N): one IdP state shared by every thread.

These run in `make test` and, against a ThreadSanitizer build, in `make tsan-test`
(halt_on_error: a data race kills the server, which fails the test through its exit code).
"""
import http.client
import threading
import urllib.parse

WORKERS = "4"


def post_refresh(port, refresh_token, barrier=None):
    """One refresh on its own connection (so the requests land on different loops)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": refresh_token,
                                   "client_id": "demo-spa"})
    conn.connect()
    if barrier:
        barrier.wait()
    conn.request("POST", "/token", body, {"Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    out = (r.status, r.read())
    conn.close()
    return out


def race(port, refresh_token, n):
    """n clients present the same refresh token at the same moment."""
    barrier, results = threading.Barrier(n), [None] * n

    def one(i):
        results[i] = post_refresh(port, refresh_token, barrier)
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_one_family_refreshed_from_several_workers_still_detects_reuse(start_idp):
    idp = start_idp("--workers", WORKERS, "--preset", "strict-rotation")
    import json
    for round_ in range(10):
        rt = idp.code_flow()["refresh_token"]
        results = race(idp.port, rt, 8)
        ok = [json.loads(b) for s, b in results if s == 200]
        refused = [json.loads(b) for s, b in results if s != 200]
        # exactly one refresh rotates the token; every other presentation is a reuse
        assert len(ok) == 1, (round_, results)
        assert len(refused) == 7 and all(e["error"] == "invalid_grant" for e in refused)
        assert all("reuse detected" in e["error_description"] for e in refused), refused
        # ... which revoked the family, the token just rotated to included
        r = idp.refresh(ok[0]["refresh_token"])
        assert r.status == 400 and r.json()["error"] == "invalid_grant"
    grants = idp.state()["grants"]
    assert len(grants) == 10 and all(g["revoked"] for g in grants)
    assert {g["revoked_reason"] for g in grants} == {"refresh token reuse detected"}


def test_parallel_families_rotate_independently_and_the_trace_is_complete(start_idp):
    idp = start_idp("--workers", WORKERS, "--preset", "strict-rotation")
    chains, steps = 6, 40
    first = [idp.code_flow()["refresh_token"] for _ in range(chains)]
    assert idp.control("DELETE", "trace").status == 200
    failures = []

    def follow(rt):
        import json
        for _ in range(steps):
            status, body = post_refresh(idp.port, rt)
            if status != 200:
                failures.append(body)
                return
            rt = json.loads(body)["refresh_token"]
    threads = [threading.Thread(target=follow, args=(rt,)) for rt in first]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    grants = idp.state()["grants"]
    assert len(grants) == chains and not any(g["revoked"] for g in grants)
    entries = idp.trace()
    tokens = [e for e in entries if e["endpoint"] == "token"]
    assert len(tokens) == chains * steps and all(e["status"] == 200 for e in tokens)
    seqs = [e["seq"] for e in entries]
    assert len(set(seqs)) == len(seqs)  # every request numbered once
    # each family's refresh tokens were presented in the order they were issued
    by_family = {}
    for e in sorted(tokens, key=lambda e: e["seq"]):
        by_family.setdefault(e["family"], []).append(e)
    for fam, es in by_family.items():
        assert len(es) == steps
        for prev, cur in zip(es, es[1:]):
            assert cur["presented"] == prev["issued"][1], (fam, prev, cur)


def test_workers_drain_on_sigterm(start_idp):
    idp = start_idp("--workers", WORKERS, "--preset", "non-rotating")
    rt = idp.code_flow()["refresh_token"]
    assert all(s == 200 for s, _ in race(idp.port, rt, 8))
    assert idp.stop() == 0


def test_workers_flag_is_checked(tmp_path):
    import subprocess
    from conftest import BIN
    for bad in ("0", "257", "two"):
        r = subprocess.run([BIN, "--workers", bad], capture_output=True, text=True, timeout=10)
        assert r.returncode == 2 and "--workers needs 1 to 256" in r.stderr
