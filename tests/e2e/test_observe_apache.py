"""Observe mode against a real server-side relying party: Apache with mod_auth_openidc
2.4.12 (Debian `libapache2-mod-auth-openidc`), refreshing with
`OIDCRefreshAccessTokenBeforeExpiry`, on the wall clock (docs/observe.md, "Recipe: a
server-side RP"). Both are started on loopback and stopped by PID.

mod_auth_openidc 2.4.12 takes no lock around its refresh: `oidc_refresh_access_token`
(src/mod_auth_openidc.c at v2.4.12.3) reads the session's refresh token, calls the token
endpoint and stores what comes back, and `oidc_refresh_access_token_before_expiry` calls it
from every request that finds the window open (upstream handles parallel refreshes from
2.4.14.4, commit 6d1caa60; Debian 12's build has none of its strings). Concurrent requests on one session therefore
each send the same refresh token: with rotation and reuse detection the IdP revokes the
family. One IdP session used one request at a time is graded clean; another used by eight
requests at once, with every refresh answer held a second by a latency rule to widen the
race, fails with exactly that evidence. Both are in one trace, graded per session."""
import http.cookiejar
import json
import os
import socket
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import MockIdp
from harness_util import renewlab, trace_entries

PEER = os.path.join(os.path.dirname(__file__), "peers", "mod-auth-openidc", "server.py")
SECRET = "rpsecret"
# mod_auth_openidc answers 401 instead of redirecting a request that does not look like a
# browser's navigation
NAVIGATION = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kw):
        return None


def call(opener, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, headers=dict(NAVIGATION, **(headers or {})))
    try:
        return opener.open(req, timeout=30)
    except urllib.error.HTTPError as e:
        return e


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def rp(tmp_path):
    """mock-idp recording its trace, with a confidential client for Apache (10 s access
    tokens, rotation with reuse detection), and Apache in front of it."""
    port = free_port()
    config = {"clients": [{"client_id": "apache-rp", "client_secret": SECRET,
                           "redirect_uris": [f"http://127.0.0.1:{port}/app/redirect_uri"],
                           "grant_types": ["authorization_code", "refresh_token"],
                           "access_token_lifetime": 10}],
              "users": [{"sub": "alice", "password": "alice"}, {"sub": "bob", "password": "bob"}]}
    (tmp_path / "idp.json").write_text(json.dumps(config))
    trace, log = tmp_path / "trace.jsonl", tmp_path / "apache.log"
    idp = MockIdp("--config", str(tmp_path / "idp.json"), "--trace-out", str(trace))
    apache = subprocess.Popen(["/usr/bin/python3", PEER, str(port), idp.issuer, "apache-rp", SECRET],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=dict(os.environ, RENEWLAB_APACHE_LOG=str(log)))
    line = apache.stdout.readline()
    try:
        assert line.startswith("listening url="), (line, apache.stderr.read())
        yield idp, line.strip().split("=", 1)[1], trace, log
    finally:
        apache.terminate()
        assert apache.wait(timeout=15) == 0
        assert idp.stop() == 0


def login(idp, app, sub):
    """The RP's login as a browser makes it: /app/ redirects to the IdP, which has a session
    from POST /_mock/login and answers with a code; the callback sets the RP's session
    cookie. Returns an opener that carries it."""
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(jar))
    to_idp = call(browser, app + "/app/")
    assert to_idp.status == 302 and to_idp.headers["Location"].startswith(idp.issuer)
    cookie = idp.login(sub)  # POST /_mock/login, JSON
    back = call(urllib.request.build_opener(NoRedirect), to_idp.headers["Location"],
                headers={"Cookie": cookie})
    assert back.status == 302 and "code=" in back.headers["Location"], back.headers
    home = call(browser, back.headers["Location"])
    assert home.status == 302, home.read()
    return browser


def test_apache_graded_per_session_its_refresh_race_with_evidence(rp, tmp_path):
    idp, app, trace, log = rp
    quiet = login(idp, app, "bob")
    for _ in range(4):  # one request at a time: each refreshes, after the last answer
        assert call(quiet, app + "/app/").status == 200
    busy = login(idp, app, "alice")
    assert idp.control("POST", "faults", {
        "id": "hold-refresh", "match": {"endpoint": "token", "grant_type": "refresh_token"},
        "action": {"type": "latency", "seconds": 1}}).status == 201
    go = threading.Barrier(8)
    answers = []
    threads = [threading.Thread(target=lambda: (go.wait(), answers.append(call(busy, app + "/app/").status)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 8

    out = tmp_path / "r.json"
    r = renewlab("judge", str(trace), "--json", str(out), "--junit", str(tmp_path / "j.xml"))
    report = json.loads(out.read_text())
    runs = {run["scenario"].split("user ")[1].split(",")[0]: run for run in report["runs"]}
    assert r.returncode == 1 and set(runs) == {"alice", "bob"}, r.stdout
    assert runs["bob"]["verdict"] == "pass", r.stdout
    alice = {c["name"]: c for c in runs["alice"]["checks"]}
    assert not alice["no_concurrent_refresh"]["passed"] and not alice["no_reuse_of_rotated_token"]["passed"]

    # the evidence is right whatever this machine's timing: every pair called concurrent
    # overlaps in the trace, every retry came after the answer it retries
    entries = {e["seq"]: e for e in trace_entries(trace)}
    done = lambda e: e["t"] + e.get("held_for", 0) + e["latency"] - 0.001  # noqa: E731
    for f in alice["no_concurrent_refresh"]["findings"]:
        a, b = (entries[s] for s in f["seq"])
        assert a["t"] <= b["t"] < done(a) and a["presented"] == b["presented"], f
    for name in ("no_retry_after_invalid_grant", "session_dropped_on_terminal_error"):
        for f in alice[name]["findings"]:
            a, b = (entries[s] for s in f["seq"])
            assert b["t"] >= done(a), (name, f)
    refreshes = [e for e in entries.values() if e.get("grant_type") == "refresh_token"
                 and e.get("session") == runs["alice"]["group"]]
    assert len({e["presented"] for e in refreshes[:8]}) == 1  # all eight sent the same token
    # Apache's own account: the refreshes the IdP refused
    assert "access_token could not be refreshed" in log.read_text()
    assert (tmp_path / "j.xml").read_text().count("<testcase") == 2
