"""Hardening (docs/hardening.md): each reproduction of the reliability issue, over loopback
against the real mock-idp. Every bad input gets a 4xx with valid JSON, changes nothing,
and the server keeps serving."""
import http.client
import json
import os
import socket
import subprocess
import urllib.parse

import pytest
from conftest import BIN, raw_exchange as raw

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}

# every routed endpoint, the control API's included
ENDPOINTS = ["/.well-known/openid-configuration", "/jwks", "/authorize", "/login", "/consent",
             "/token", "/revoke", "/introspect", "/userinfo", "/end_session", "/check_session",
             "/resource", "/_mock/clock", "/_mock/login", "/_mock/trace", "/_mock/state",
             "/_mock/keys/rotate", "/_mock/reset", "/_mock/faults", "/_mock/faults/x",
             "/_mock/presets", "/_mock/clients", "/_mock/clients/demo-spa",
             "/_mock/grants/revoke", "/_mock/sessions/end", "/nowhere"]


def still_serves(idp):
    assert idp.proc.poll() is None, "mock-idp died"
    t = idp.code_flow()
    assert idp.refresh(t["refresh_token"]).status == 200


def clock_unmoved(idp, before):
    # a real-time IdP's clock runs on by itself; the refused moves were of 60 s and more
    assert idp.now() - before < 30


def faults(idp):
    return idp.control("GET", "faults").json()["faults"]


# 1. one unauthenticated request killed the server (negative decoded length)
@pytest.mark.parametrize("endpoint", ["/token", "/revoke", "/introspect"])
@pytest.mark.parametrize("cred", ["====", "========", "=", "==", "Zg=", "Z===", "Zm9v====",
                                  "=Zm9", "Zh==", "Og==", "YTpi!"])
def test_malformed_basic_credentials_are_invalid_client(idp, endpoint, cred):
    r = idp.post(endpoint, "token=x&grant_type=client_credentials",
                 headers={**FORM, "Authorization": "Basic " + cred})
    assert r.status in (400, 401), r.text
    assert r.json()["error"] in ("invalid_client", "invalid_request")
    assert idp.proc.poll() is None


def test_basic_credentials_still_work_after_the_bad_ones(idp):
    for cred in ["====", "========"]:
        idp.post("/token", "grant_type=client_credentials",
                 headers={**FORM, "Authorization": "Basic " + cred})
    import base64
    good = base64.b64encode(b"demo-backend:demo-secret").decode()
    r = idp.post("/token", "grant_type=client_credentials",
                 headers={**FORM, "Authorization": "Basic " + good})
    assert r.status == 200, r.text
    still_serves(idp)


# 3. invalid UTF-8 in a parameter *name* made the error answer itself fail (500)
BAD_NAMES = ["%80", "%FF", "%C0%AF", "%ED%A0%80", "%F4%90%80%80", "%E2%82"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_invalid_utf8_parameter_names_get_400_at_every_endpoint(idp, name):
    for path in ENDPOINTS:
        for method, body in (("GET", None), ("POST", f"{name}=1")):
            q = "" if body else f"?{name}=1"
            r = idp.request(method, path + q, body=body, headers=FORM if body else None)
            assert 400 <= r.status < 500, (method, path, r.status, r.text)
            json.loads(r.body)  # the error answer is valid JSON
    still_serves(idp)


def test_a_raw_0x80_byte_in_a_query_name(idp):
    out = raw(idp, b"GET /jwks?\x80=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 4"), out[:80]
    still_serves(idp)


def test_long_multibyte_names_are_not_cut_into_invalid_text(idp):
    name = urllib.parse.quote("é" * 201)
    r = idp.post("/token", f"{name}=1&{name}=2", headers=FORM)
    assert r.status == 400 and "more than once" in r.json()["error_description"]
    r = idp.control("POST", "faults", {"é" * 150: 1, "action": {"type": "latency", "seconds": 1}})
    assert r.status == 400
    assert "error" in r.json()
    r = idp.request("PATCH", "/_mock/clients/demo-spa", body=json.dumps({"é" * 150: True}),
                    headers=JSON)
    assert r.status == 400 and "error" in r.json()
    assert faults(idp) == []
    still_serves(idp)


def test_a_multibyte_fault_id_installs_answers_and_deletes_by_its_id(idp):
    rid = "é" * 16
    r = idp.control("POST", "faults", {"id": rid, "action": {"type": "latency", "seconds": 1}})
    assert r.status == 201 and r.json()["id"] == rid
    assert [f["id"] for f in faults(idp)] == [rid]
    r = idp.request("DELETE", "/_mock/faults/" + urllib.parse.quote(rid))
    assert r.status == 200, r.text
    assert faults(idp) == []


def test_a_fault_id_over_the_limit_is_refused_and_nothing_is_installed(idp):
    r = idp.control("POST", "faults", {"id": "é" * 40, "action": {"type": "latency", "seconds": 1}})
    assert r.status == 400 and "/id" in r.json()["error"]
    assert faults(idp) == []


def test_a_raw_0xff_in_the_path_is_traced_without_a_gap(idp):
    out = raw(idp, b"GET /ab\xff HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 404"), out[:80]
    idp.get("/jwks")
    entries = idp.trace()
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert entries[0]["path"] == "/ab\ufffd"
    assert idp.control("GET", "trace").json()["dropped"] == 0


# 4. libevent's defaults leaked through: 501, HTTP/1.2 echoed
@pytest.mark.parametrize("method", ["TRACE", "FOO", "get", "PROPFIND"])
def test_unknown_and_unsupported_methods_get_405_with_allow(idp, method):
    for path in ENDPOINTS[:-1]:
        r = idp.request(method, path)
        assert r.status == 405, (method, path, r.status)
        assert r.header("Allow"), (method, path)
    r = idp.request("PUT", "/token")
    assert r.status == 405 and r.header("Allow") == "POST, OPTIONS"
    still_serves(idp)


def test_connect_is_answered_and_the_connection_closed(idp):
    for target in (b"/token", b"127.0.0.1:443"):
        out = raw(idp, b"CONNECT " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", timeout=5)
        assert out.startswith(b"HTTP/1.1 4"), out[:80]
    still_serves(idp)


def test_options_without_preflight_lists_the_methods(idp):
    r = idp.request("OPTIONS", "/jwks")
    assert r.status == 204 and r.header("Allow") == "GET, HEAD, OPTIONS"


def test_the_status_line_says_http_1_1(idp):
    out = raw(idp, b"GET /jwks HTTP/1.2\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200"), out[:40]


# 6. CSRF and DNS rebinding against the control API
def test_control_writes_need_json(idp):
    before = idp.now()
    r = idp.request("POST", "/_mock/clock", body='{"advance": 60}',
                    headers={"Content-Type": "text/plain"})
    assert r.status == 415
    r = idp.request("POST", "/_mock/clock", body='{"advance": 60}')
    assert r.status == 415
    clock_unmoved(idp, before)


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Origin": "null"},
                                     {"Sec-Fetch-Site": "cross-site"}])
def test_control_writes_from_another_site_are_refused(idp, headers):
    before = idp.now()
    r = idp.request("POST", "/_mock/clock", body='{"advance": 60}', headers={**JSON, **headers})
    assert r.status == 403, r.text
    r = idp.request("POST", "/_mock/reset", headers=headers)
    assert r.status == 403
    clock_unmoved(idp, before)


def test_a_control_write_from_the_issuers_own_origin_is_allowed(idp):
    r = idp.request("POST", "/_mock/clock", body='{"advance": 60}',
                    headers={**JSON, "Origin": idp.issuer, "Sec-Fetch-Site": "same-origin"})
    assert r.status == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example"])
def test_a_foreign_host_cannot_reach_the_control_api(idp, host):
    r = idp.request("GET", "/_mock/trace", headers={"Host": host})
    assert r.status == 403
    for ok in ("localhost", f"127.0.0.1:{idp.port}", "[::1]:1", "app.localhost"):
        assert idp.request("GET", "/_mock/clock", headers={"Host": ok}).status == 200, ok


def test_a_control_secret_admits_any_host(start_idp):
    idp = start_idp("--control-secret", "s3")
    r = idp.request("GET", "/_mock/clock",
                    headers={"Host": "idp.ci.internal", "X-Mock-Control-Secret": "s3"})
    assert r.status == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "http://127.0.0.1:8080.evil.example/",
                                    "http://127.0.0.1:8081/", "//evil.example/",
                                    "http://127.0.0.1:8080@evil.example/"])
def test_login_return_to_must_be_our_own_or_a_registered_origin(idp, target):
    r = idp.get("/_mock/login?" + urllib.parse.urlencode({"sub": "alice", "return_to": target}))
    assert r.status == 400, (target, r.status)
    assert idp.state()["sessions"] == []


def test_login_return_to_a_registered_origin_or_the_issuer_redirects(idp):
    for target in ("http://127.0.0.1:8080/?login=go", idp.issuer + "/authorize"):
        r = idp.get("/_mock/login?" + urllib.parse.urlencode({"sub": "alice", "return_to": target}))
        assert r.status == 302 and r.header("Location") == target


# 8. numbers and ranges
@pytest.mark.parametrize("payload", [{"set": 1e18}, {"advance": 1e300}, {"set": -1},
                                     {"advance": -5}, {"set": "x"}, {"advance": 1, "set": 2}])
def test_clock_values_out_of_range_are_refused_and_the_clock_stays(idp, payload):
    before = idp.now()
    r = idp.control("POST", "clock", payload)
    assert r.status == 400, r.text
    clock_unmoved(idp, before)


@pytest.mark.parametrize("rule,field", [
    ({"action": {"type": "latency", "seconds": 1e300}}, "/action/seconds"),
    ({"action": {"type": "clock_skew", "seconds": -1e300}}, "/action/seconds"),
    ({"action": {"type": "status", "status": 503, "retry_after": 1e300}}, "/action/retry_after"),
    ({"until": 1e300, "action": {"type": "latency", "seconds": 1}}, "/until"),
])
def test_fault_durations_out_of_range_are_refused(idp, rule, field):
    r = idp.control("POST", "faults", rule)
    assert r.status == 400 and field in r.json()["error"], r.text
    assert faults(idp) == []


def authorize_error(idp, cookie, **extra):
    from conftest import pkce_pair
    _, challenge = pkce_pair()
    params = dict(client_id="demo-spa", redirect_uri="http://127.0.0.1:8080/callback",
                  response_type="code", scope="openid", code_challenge=challenge,
                  code_challenge_method="S256")
    params.update(extra)
    r = idp.authorize(cookie=cookie, **params)
    assert r.status == 302, r.text
    return urllib.parse.parse_qs(urllib.parse.urlsplit(r.header("Location")).query)


@pytest.mark.parametrize("max_age", ["nan", "-1", "abc", "1e3", "99999999999", ""])
def test_max_age_must_be_whole_seconds(idp, max_age):
    q = authorize_error(idp, idp.login(), max_age=max_age)
    assert q["error"] == ["invalid_request"] and "max_age" in q["error_description"][0]


@pytest.mark.parametrize("challenge", ["!" * 43, "a" * 44, "a" * 42, "a" * 128, "+" * 43])
def test_code_challenge_must_be_43_base64url_characters(idp, challenge):
    q = authorize_error(idp, idp.login(), code_challenge=challenge)
    assert q["error"] == ["invalid_request"] and "code_challenge" in q["error_description"][0]


# 10. smaller
def test_login_and_consent_pages_refuse_framing(idp):
    r = idp.authorize(client_id="demo-spa", redirect_uri="http://127.0.0.1:8080/callback",
                      response_type="code", scope="openid", code_challenge="a" * 43,
                      code_challenge_method="S256")
    assert r.status == 200 and "Sign in" in r.text
    assert r.header("X-Frame-Options") == "DENY"
    assert r.header("Content-Security-Policy") == "frame-ancestors 'none'"
    r = idp.authorize(cookie=idp.login(), client_id="demo-consent",
                      redirect_uri="http://127.0.0.1:8080/callback", response_type="code",
                      scope="openid", code_challenge="a" * 43, code_challenge_method="S256")
    assert r.status == 200 and "Allow" in r.text
    assert r.header("X-Frame-Options") == "DENY"


@pytest.mark.parametrize("patch", [
    {"redirect_uris": ["http://127.0.0.1:8080/cb\r\nSet-Cookie: x=1"]},
    {"redirect_uris": ["http://127.0.0.1:8080/a b"]},
    {"post_logout_redirect_uris": ["http://127.0.0.1:8080/\n"]},
])
def test_urls_with_spaces_or_line_breaks_are_refused(idp, patch):
    before = idp.control("GET", "clients").json()
    r = idp.request("PATCH", "/_mock/clients/demo-spa", body=json.dumps(patch), headers=JSON)
    assert r.status == 400, r.text
    assert idp.control("GET", "clients").json() == before


def run_bin(*args):
    p = subprocess.run([BIN, "--listen", "127.0.0.1:0", *args], capture_output=True, text=True,
                       timeout=20)
    return p.returncode, p.stderr


def test_an_issuer_with_a_line_break_is_a_usage_error():
    rc, err = run_bin("--issuer", "http://127.0.0.1:1/\r\nX: y")
    assert rc == 2 and "issuer" in err


def test_a_config_with_a_bad_cookie_name_or_issuer_is_refused(tmp_path):
    for cfg, where in (({"cookie": {"name": "x" * 300}}, "/cookie/name"),
                       ({"issuer": "http://a b"}, "/issuer")):
        f = tmp_path / "c.json"
        f.write_text(json.dumps(cfg))
        rc, err = run_bin("--config", str(f))
        assert rc == 2 and where in err, err


# 7. memory under trace reads: the ring is streamed, never copied whole
def rss_kb(idp, field):
    with open(f"/proc/{idp.proc.pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(field)


def fill_the_ring(idp, requests):
    """Pipelined requests with long paths: their entries fill the 8 MB ring quickly."""
    path = b"/nowhere/" + b"x" * 700
    req = b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    s = socket.create_connection(("127.0.0.1", idp.port), timeout=30)
    sent = answered = 0
    buf = b""
    while answered < requests:
        if sent - answered < 500 and sent < requests:
            batch = min(500, requests - sent)
            s.sendall(req * batch)
            sent += batch
        buf += s.recv(1 << 20)
        answered += buf.count(b"HTTP/1.1 404")
        buf = buf[buf.rfind(b"HTTP/1.1 404") + 1:] if b"HTTP/1.1 404" in buf else buf[-32:]
    s.close()


@pytest.mark.skipif(os.environ.get("RENEWLAB_SANITIZED") == "1",
                    reason="sanitizers multiply memory (shadow, quarantine): measured in make test")
def test_concurrent_full_ring_reads_keep_memory_small(idp):
    fill_the_ring(idp, 12000)
    first = idp.request("GET", "/_mock/trace?limit=1").json()
    assert first["dropped"] > 0, "the ring is full"
    idle = rss_kb(idp, "VmRSS")
    sizes = []

    def read():
        r = idp.request("GET", "/_mock/trace")
        assert r.status == 200
        doc = json.loads(r.body)
        seqs = [e["seq"] for e in doc["requests"]]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        sizes.append(len(r.body))

    import threading
    readers = [threading.Thread(target=read) for _ in range(8)]
    for t in readers:
        t.start()
    jwks = idp.get("/jwks")  # served meanwhile
    for t in readers:
        t.join()
    assert jwks.status == 200
    assert len(sizes) == 8 and min(sizes) > 7 << 20, sizes
    peak, after = rss_kb(idp, "VmHWM"), rss_kb(idp, "VmRSS")
    print(f"RSS: {idle} kB idle, peak {peak} kB, {after} kB after")
    assert peak <= 25 * 1024, f"peak RSS {peak} kB"
    assert after - idle <= 2 * 1024, f"RSS {idle} kB before the reads, {after} kB after"


def test_trace_paging(idp):
    for _ in range(5):
        idp.get("/jwks")
    page = idp.request("GET", "/_mock/trace?after=2&limit=2").json()
    assert [e["seq"] for e in page["requests"]] == [3, 4]
    assert idp.request("GET", "/_mock/trace?after=5").json()["requests"] == []
    for bad in ("after=-1", "after=x", "limit=0", "limit=", "after=99999999999999999999"):
        assert idp.request("GET", "/_mock/trace?" + bad).status == 400, bad


# 5. connections: silence has a bound, held answers are never cut, no spin on EMFILE
def closes_by_itself(idp, data):
    """Send @p data and read until the server closes the connection (or 10 s pass)."""
    s = socket.create_connection(("127.0.0.1", idp.port), timeout=10)
    if data:
        s.sendall(data)
    out = b""
    while True:
        chunk = s.recv(65536)  # a timeout here fails the test: the server kept it open
        if not chunk:
            break
        out += chunk
    s.close()
    return out


def test_silent_half_sent_and_idle_connections_are_closed(start_idp):
    idp = start_idp("--header-timeout", "0.5", "--body-timeout", "0.5", "--idle-timeout", "1")
    assert closes_by_itself(idp, b"") == b""
    assert closes_by_itself(idp, b"GET /jwks HTTP/1.1\r\nHost: 127.0.0.1\r\n") == b""
    assert closes_by_itself(idp, b"POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                 b"Content-Length: 10\r\n\r\nabc") == b""
    out = closes_by_itself(idp, b"GET /jwks HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200"), "answered, then closed when idle"
    still_serves(idp)


def drip(idp, head, body=b"", pace=0.1, limit=None):
    """Send @p head, then @p body a byte at a time, a byte each time @p pace seconds pass
    without the server closing. Returns (bytes sent before it closed, what it answered);
    the server never stays silent for @p pace, so only a deadline can close it."""
    import select
    s = socket.create_connection(("127.0.0.1", idp.port), timeout=10)
    data = head + body
    limit = len(data) if limit is None else limit
    sent, out = 0, b""
    try:
        while sent < len(data) and sent < limit:
            n = len(head) if sent == 0 and head else 1
            s.sendall(data[sent:sent + n])
            sent += n
            if select.select([s], [], [], pace)[0]:
                chunk = s.recv(65536)
                if not chunk:
                    return sent, out
                out += chunk
        s.settimeout(10)
        while chunk := s.recv(65536):
            out += chunk
        return sent, out
    except (BrokenPipeError, ConnectionResetError):
        return sent, out
    finally:
        s.close()


def test_a_head_sent_a_byte_at_a_time_is_cut_at_the_header_deadline(start_idp):
    idp = start_idp("--header-timeout", "0.5", "--idle-timeout", "60")
    head = b"GET /jwks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
    sent, out = drip(idp, b"", head)
    assert out == b"" and sent < len(head), "never silent, yet cut by the header deadline"
    still_serves(idp)


def test_a_body_has_its_own_deadline_from_the_end_of_the_head(start_idp):
    body = b'{"advance": 1}' + b" " * 16
    head = (b"POST /_mock/clock HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
            b"\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body))
    idp = start_idp("--header-timeout", "0.3", "--body-timeout", "20")
    sent, out = drip(idp, head, body)  # 30 bytes over ~3 s: well past the header deadline
    assert sent == len(head) + len(body) and out.startswith(b"HTTP/1.1 200"), out[:80]
    short = start_idp("--header-timeout", "20", "--body-timeout", "0.5")
    before = short.now()
    sent, out = drip(short, head, body)
    assert out == b"" and sent < len(head) + len(body), "cut at the body deadline"
    assert short.now() - before < 30, "the cut request changed nothing"
    still_serves(short)


def test_an_answer_held_by_a_fault_rule_is_never_cut_by_the_timeouts(start_idp):
    idp = start_idp("--header-timeout", "0.5", "--body-timeout", "0.5", "--idle-timeout", "0.5")
    idp.control("POST", "faults", {"match": {"endpoint": "jwks"},
                                   "action": {"type": "latency", "seconds": 2}})
    r = idp.get("/jwks")
    assert r.status == 200 and "keys" in r.json()


def test_an_answer_a_fault_rule_hangs_is_never_cut_by_the_timeouts(start_idp):
    """Past every deadline (0.3 s) the hung request's connection is still open: no answer
    and no end of stream while the client waits 2 s; the server still serves."""
    import select
    idp = start_idp("--header-timeout", "0.3", "--body-timeout", "0.3", "--idle-timeout", "0.3")
    idp.control("POST", "faults", {"match": {"endpoint": "jwks"}, "action": {"type": "hang"}})
    s = socket.create_connection(("127.0.0.1", idp.port), timeout=10)
    s.sendall(b"GET /jwks HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    readable, _, _ = select.select([s], [], [], 2.0)  # a close would make it readable
    s.close()
    assert readable == [], "the hung answer's connection was closed by a timeout"
    idp.control("DELETE", "faults")
    still_serves(idp)


def test_bad_timeout_flags_are_usage_errors():
    for flag, value in (("--header-timeout", "0"), ("--idle-timeout", "x"),
                        ("--body-timeout", "1e9"), ("--request-timeout", "1")):
        rc, err = run_bin(flag, value)
        assert rc == 2 and flag in err, (flag, err)


def chunked(path, chunks, trailer=b""):
    head = (b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
            b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    return head + b"".join(chunks) + b"0;end=1\r\n" + trailer + b"\r\n"


def test_chunk_extensions_are_ignored_as_rfc_9112_says(idp):
    """RFC 9112 §7.1.1: a recipient ignores chunk extensions it does not understand."""
    before = idp.now()
    req = chunked(b"/_mock/clock", [b"4;a=b\r\n{\"ad\r\n", b"6\t; q=\"x;y\"\r\nvance\"\r\n",
                                    b"5 ;c\r\n: 60}\r\n"], b"X-Trailer: 1\r\n")
    s = socket.create_connection(("127.0.0.1", idp.port), timeout=10)
    for i in range(len(req)):  # a byte at a time: the extensions straddle every read
        s.sendall(req[i:i + 1])
    s.shutdown(socket.SHUT_WR)
    out = b""
    while chunk := s.recv(65536):
        out += chunk
    s.close()
    assert out.startswith(b"HTTP/1.1 200"), out[:200]
    assert idp.now() - before >= 60


def test_pipelined_requests_after_a_chunked_one_are_each_answered(idp):
    first = chunked(b"/_mock/clock", [b"e;x=1\r\n{\"advance\": 1}\r\n"])
    out = raw(idp, first + first + b"GET /jwks HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   b"Connection: close\r\n\r\n")
    assert out.count(b"HTTP/1.1 200") == 3, out[:400]


def test_out_of_descriptors_pauses_accept_instead_of_spinning():
    import resource
    import time

    def few_fds():
        resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))

    p = subprocess.Popen([BIN, "--listen", "127.0.0.1:0", "--workers", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=few_fds)
    port = int(p.stdout.readline().decode().rsplit(":", 1)[1])
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(80)]

    def cpu_seconds():
        fields = open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    before = cpu_seconds()
    time.sleep(2)  # the measured window, not a wait for anything
    used = cpu_seconds() - before
    for s in socks:
        s.close()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/jwks")
    assert conn.getresponse().status == 200, "serves again once descriptors are free"
    p.terminate()
    assert p.wait(timeout=10) == 0
    err = p.stderr.read().decode()
    assert used < 0.5, f"{used} CPU seconds in 2 s"
    assert 1 <= err.count("cannot accept a connection") <= 4, err[:500]
