"""The control API under /_mock/: clock, trace, state, keys, reset, access control."""
import json

import jwt

from conftest import MockIdp, spa_config


def test_clock_get_set_advance(idp):
    now = idp.now()
    assert isinstance(now, (int, float))
    assert idp.advance(1.5) >= now + 1.5
    r = idp.control("POST", "clock", {"set": 2000000000})
    assert r.status == 200 and 2000000000 <= r.json()["now"] < 2000000001
    for bad in [{}, {"advance": -1}, {"advance": "1"}, {"set": 1, "advance": 1}, {"speed": 2}]:
        assert idp.control("POST", "clock", bad).status == 400


def test_tokens_follow_the_virtual_clock(idp):
    idp.control("POST", "clock", {"set": 2000000000})
    t = idp.code_flow(scope="openid")
    claims = idp.verify_id_token(t["id_token"], "demo-spa")
    assert 2000000000 <= claims["iat"] <= 2000000001 and claims["exp"] == claims["iat"] + 300


def test_trace_records_token_ids_never_raw_values(idp):
    t = idp.code_flow()
    n = idp.refresh(t["refresh_token"]).json()
    trace = idp.trace()
    text = json.dumps(trace)
    for raw in [t["access_token"], t["refresh_token"], t["id_token"], n["refresh_token"]]:
        assert raw not in text
    assert [e["seq"] for e in trace] == list(range(1, len(trace) + 1))
    calls = [e for e in trace if e["endpoint"] != "jwks"]  # the test's own ID-token checks
    auth, token, refresh = calls
    assert auth["endpoint"] == "authorize" and auth["session_cookie"] is True and auth["issued"] == "code#1"
    assert token["grant_type"] == "authorization_code" and token["presented"] == "code#1"
    assert token["issued"] == ["at#1", "rt#1"] and token["client_id"] == "demo-spa"
    assert refresh["status"] == 200 and refresh["presented"] == "rt#1"
    for e in trace:
        assert {"seq", "t", "real_time", "method", "endpoint", "path", "session_cookie",
                "status", "latency"} <= set(e)


def test_control_requests_are_not_traced_and_trace_can_be_cleared(idp):
    idp.get("/jwks")
    idp.now()
    assert [e["endpoint"] for e in idp.trace()] == ["jwks"]
    assert idp.control("DELETE", "trace").status == 200
    assert idp.trace() == []


def test_trace_out_file_gets_every_entry_as_json_lines(start_idp, tmp_path):
    out = tmp_path / "trace.jsonl"
    idp = start_idp("--trace-out", str(out))
    t = idp.code_flow()
    idp.refresh(t["refresh_token"])
    lines = [json.loads(l) for l in out.read_text().splitlines()]
    # the start's header line (docs/formats.md), then every entry
    assert lines[0] == {"format_version": "1.0", "trace": "mock-idp"}
    assert lines[1:] == idp.trace()


def test_same_seed_same_deterministic_trace(start_idp):
    def run(seed):
        idp = start_idp("--seed", str(seed))
        idp.control("POST", "clock", {"set": 1900000000})
        t = idp.code_flow(nonce="fixed")
        n = idp.refresh(t["refresh_token"]).json()
        idp.refresh(t["refresh_token"])  # reuse
        trace = [{k: v for k, v in e.items() if k not in ("real_time", "latency", "t")}
                 for e in idp.trace()]
        return trace, n["refresh_token"]

    a, rt_a = run(7)
    b, rt_b = run(7)
    c, rt_c = run(8)
    assert a == b and rt_a == rt_b
    assert rt_a != rt_c


def test_state_shows_grants_and_sessions(idp):
    t = idp.code_flow()
    idp.refresh(t["refresh_token"])
    st = idp.state()
    assert st["sessions"][0]["sub"] == "alice" and st["sessions"][0]["session"] == "sess#1"
    g = st["grants"][0]
    assert g["family"] == "f#1" and g["client_id"] == "demo-spa" and g["session"] == "sess#1"
    assert [tok["id"] for tok in g["tokens"]] == ["at#2", "rt#2", "at#1", "rt#1"]
    assert "value" not in json.dumps(st)


def test_reset_clears_state_sessions_trace_but_not_clock_unless_asked(idp):
    idp.code_flow()
    idp.control("POST", "clock", {"set": 2100000000})
    r = idp.control("POST", "reset")
    assert r.status == 200
    assert idp.state() == {"grants": [], "sessions": [], "evicted": 0} and idp.trace() == []
    assert idp.now() >= 2100000000
    t = idp.code_flow()
    assert idp.trace()[1]["issued"] == ["at#1", "rt#1"], "ids restart after reset"
    idp.control("POST", "reset", {"clock": True})
    assert idp.now() < 2100000000
    assert idp.refresh(t["refresh_token"]).json()["error"] == "invalid_grant"


def test_key_rotation_keeps_old_key_for_the_overlap(idp):
    old = idp.code_flow(scope="openid")
    old_kid = jwt.get_unverified_header(old["id_token"])["kid"]
    r = idp.control("POST", "keys/rotate", {"overlap": 60})
    new_kid = r.json()["kid"]
    assert new_kid != old_kid
    kids = [k["kid"] for k in idp.get("/jwks").json()["keys"]]
    assert kids == [new_kid, old_kid]
    new = idp.code_flow(scope="openid")
    assert jwt.get_unverified_header(new["id_token"])["kid"] == new_kid
    assert idp.verify_id_token(old["id_token"], "demo-spa")["sub"] == "alice"
    assert idp.verify_id_token(new["id_token"], "demo-spa")["sub"] == "alice"
    idp.advance(61)
    assert [k["kid"] for k in idp.get("/jwks").json()["keys"]] == [new_kid]


def test_key_rotation_without_overlap(idp):
    idp.control("POST", "keys/rotate", {"overlap": 0})
    assert len(idp.get("/jwks").json()["keys"]) == 1


def test_control_errors(idp):
    assert idp.control("GET", "nothing").status == 404
    assert idp.control("PUT", "clock").status == 405
    r = idp.request("POST", "/_mock/clock", body="{not json", headers={"Content-Type": "application/json"})
    assert r.status == 400 and "JSON" in r.json()["error"]
    assert idp.control("POST", "login", {"sub": "mallory"}).status == 400
    assert idp.control("POST", "login", {"sub": "alice", "consent": "x"}).status == 400
    assert idp.get("/_mock/login?sub=alice&return_to=javascript:alert(1)").status == 400


def test_control_secret_is_required_when_configured(start_idp):
    idp = start_idp("--control-secret", "s3cret")
    assert idp.control("GET", "clock").status == 401
    r = idp.request("GET", "/_mock/clock", headers={"X-Mock-Control-Secret": "s3cret"})
    assert r.status == 200
    r = idp.request("GET", "/_mock/clock", headers={"X-Mock-Control-Secret": "s3cre"})
    assert r.status == 401
    assert idp.get("/jwks").status == 200, "the secret guards only the control API"


def test_trace_ring_buffer_keeps_the_newest_and_counts_the_dropped(start_idp, tmp_path):
    idp = start_idp("--trace-limit", "5", "--trace-out", str(tmp_path / "all.jsonl"))
    for _ in range(8):
        idp.get("/jwks")
    doc = idp.control("GET", "trace").json()
    assert [e["seq"] for e in doc["requests"]] == [4, 5, 6, 7, 8] and doc["dropped"] == 3
    assert len((tmp_path / "all.jsonl").read_text().splitlines()) == 1 + 8, "the file keeps all"
    (tmp_path / "partial.json").write_text(json.dumps(doc))
    from harness_util import renewlab
    r = renewlab("judge", str(tmp_path / "partial.json"))
    assert r.returncode == 2 and "lost 3 entries" in r.stderr
    idp.control("DELETE", "trace")
    assert idp.control("GET", "trace").json() == {"format_version": "1.0", "requests": [],
                                                  "dropped": 0}


def test_state_is_bounded_oldest_grants_evicted(start_idp):
    idp = start_idp("--state-limit", "10")
    first = idp.code_flow()
    for _ in range(12):
        idp.code_flow()
    st = idp.state()
    assert len(st["grants"]) <= 10 and st["evicted"] > 0
    assert "f#1" not in [g["family"] for g in st["grants"]], "the oldest grant went first"
    r = idp.refresh(first["refresh_token"])
    assert r.status == 400 and r.json()["error"] == "invalid_grant", "an evicted grant is gone"
    assert idp.refresh(idp.code_flow()["refresh_token"]).status == 200


def userinfo_status(idp, access_token):
    return idp.get("/userinfo", headers={"Authorization": "Bearer " + access_token}).status


def test_a_grant_keeps_its_newest_access_tokens(start_idp):
    idp = start_idp("--preset", "non-rotating")
    t = idp.code_flow()
    ats = [t["access_token"]]
    for _ in range(70):
        r = idp.refresh(t["refresh_token"])
        assert r.status == 200
        ats.append(r.json()["access_token"])
    st = idp.state()
    kinds = [tok["id"][:2] for tok in st["grants"][0]["tokens"]]
    assert kinds.count("at") == 64 and kinds.count("rt") == 1
    assert st["evicted"] == len(ats) - 64
    assert userinfo_status(idp, ats[0]) == 401  # forgotten: unknown
    assert userinfo_status(idp, ats[-64]) == 200 and userinfo_status(idp, ats[-1]) == 200


def test_rotated_refresh_tokens_beyond_the_kept_ones_are_unknown_not_reuse(start_idp):
    idp = start_idp("--preset", "strict-rotation")
    rts = [idp.code_flow()["refresh_token"]]
    for _ in range(66):
        r = idp.refresh(rts[-1])
        assert r.status == 200
        rts.append(r.json()["refresh_token"])
    old = idp.refresh(rts[0])
    assert old.status == 400 and old.json()["error_description"] == "unknown refresh token"
    assert not idp.state()["grants"][0]["revoked"]
    recent = idp.refresh(rts[-3])  # still remembered: a reuse, and the grant goes
    assert recent.status == 400 and "reuse detected" in recent.json()["error_description"]
    assert idp.state()["grants"][0]["revoked"]


def test_opaque_access_tokens_work_at_userinfo(start_idp):
    from conftest import spa_config
    idp = start_idp(config=spa_config(opaque_access_tokens=True))
    t = idp.code_flow(client_id="spa")
    assert t["access_token"].count(".") == 0 and len(t["access_token"]) == 43
    assert userinfo_status(idp, t["access_token"]) == 200
    assert t["id_token"].count(".") == 2  # the ID token is still a signed JWT


def test_trace_memory_is_checked():
    import subprocess
    from conftest import BIN
    r = subprocess.run([BIN, "--trace-memory", "0"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "--trace-memory needs 1 to 65536" in r.stderr
