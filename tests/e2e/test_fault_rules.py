"""The fault-rule model: matching, lifetimes, probability, validation, listing; presets,
live client settings, rules in the config file, and their precedence."""
import json
import math
import subprocess

import pytest

from conftest import BIN, spa_config

JWKS_503 = {"type": "status", "status": 503}


def add(idp, rule):
    r = idp.control("POST", "faults", rule)
    assert r.status == 201, r.text
    return r.json()["id"]


def jwks_statuses(idp, n):
    return [idp.get("/jwks").status for _ in range(n)]


def test_nth_fires_only_on_the_nth_matching_request(idp):
    add(idp, {"match": {"endpoint": "jwks", "nth": 3}, "action": JWKS_503})
    idp.get("/.well-known/openid-configuration")  # does not match, does not count
    assert jwks_statuses(idp, 5) == [200, 200, 503, 200, 200]


def test_times_is_the_next_n_matching_requests(idp):
    rid = add(idp, {"match": {"endpoint": "jwks"}, "action": JWKS_503, "times": 2})
    assert jwks_statuses(idp, 4) == [503, 503, 200, 200]
    listed = idp.control("GET", "faults").json()["faults"][0]
    assert listed["id"] == rid and listed["hits"] == 2 and listed["active"] is False


def test_until_retires_the_rule_at_a_virtual_time(idp):
    add(idp, {"match": {"endpoint": "jwks"}, "action": JWKS_503, "until": idp.now() + 60})
    assert jwks_statuses(idp, 1) == [503]
    idp.advance(61)
    assert jwks_statuses(idp, 1) == [200]


def test_time_window(idp):
    now = idp.now()
    add(idp, {"match": {"endpoint": "jwks", "after": now + 10, "before": now + 20}, "action": JWKS_503})
    assert jwks_statuses(idp, 1) == [200]
    idp.advance(10)
    assert jwks_statuses(idp, 1) == [503]
    idp.advance(10)
    assert jwks_statuses(idp, 1) == [200]


def test_match_on_client_grant_type_user_and_method(idp):
    alice, bob = idp.code_flow(sub="alice"), idp.code_flow(sub="bob")
    add(idp, {"match": {"endpoint": "token", "method": "POST", "grant_type": "refresh_token",
                        "client_id": "demo-spa", "user": "bob"}, "action": JWKS_503})
    assert idp.refresh(alice["refresh_token"]).status == 200
    assert idp.refresh(bob["refresh_token"]).status == 503
    cc = idp.post("/token", {"grant_type": "client_credentials", "client_id": "demo-backend",
                             "client_secret": "demo-secret"})
    assert cc.status == 200


def test_first_matching_rule_applies_but_every_rule_counts(idp):
    add(idp, {"id": "a", "match": {"endpoint": "jwks", "nth": 1}, "action": JWKS_503})
    add(idp, {"id": "b", "match": {"endpoint": "jwks"}, "action": {"type": "status", "status": 500}})
    assert jwks_statuses(idp, 2) == [503, 500]
    listed = {f["id"]: f for f in idp.control("GET", "faults").json()["faults"]}
    assert listed["a"]["matched"] == 2 and listed["a"]["hits"] == 1
    assert listed["b"]["matched"] == 2 and listed["b"]["hits"] == 1


def test_delete_one_rule_and_all_rules(idp):
    add(idp, {"id": "x", "match": {"endpoint": "jwks"}, "action": JWKS_503})
    add(idp, {"id": "y", "match": {"endpoint": "discovery"}, "action": JWKS_503})
    assert idp.control("DELETE", "faults/x").status == 200
    assert idp.control("DELETE", "faults/x").status == 404
    assert jwks_statuses(idp, 1) == [200]
    assert idp.control("DELETE", "faults").json() == {"removed": 1}
    assert idp.get("/.well-known/openid-configuration").status == 200


def hits_for_seed(start_idp, seed, n=600, p=0.3):
    idp = start_idp("--seed", str(seed))
    add(idp, {"match": {"endpoint": "jwks", "probability": p}, "action": JWKS_503})
    return [s == 503 for s in jwks_statuses(idp, n)]


def test_probability_is_statistically_right_and_reproducible_per_seed(start_idp):
    n, p = 600, 0.3
    a = hits_for_seed(start_idp, 11, n, p)
    b = hits_for_seed(start_idp, 11, n, p)
    c = hits_for_seed(start_idp, 12, n, p)
    assert a == b, "same seed, same requests hit"
    assert a != c
    sigma = math.sqrt(n * p * (1 - p))
    for run in (a, c):
        assert abs(sum(run) - n * p) < 4 * sigma, sum(run)  # 4 sigma: ~1 in 15,000 false alarm
    # no long streaks of the same outcome: hits are spread, not clumped
    assert max(len(s) for s in "".join("x" if h else "." for h in a).split("x")) < 40


@pytest.mark.parametrize("rule,pointer", [
    ({"action": {"type": "nope"}}, "/action/type: unknown action type"),
    ({"match": {"endpoint": "jwks"}}, "/action: required"),
    ({"action": {"type": "status"}}, "/action/status: required"),
    ({"action": {"type": "status", "status": 42}}, "/action/status: must be an HTTP status"),
    ({"action": {"type": "status", "status": 503, "colour": 1}}, "/action/colour: unknown key"),
    ({"match": {"nth": 0}, "action": JWKS_503}, "/match/nth: must be 1 or more"),
    ({"match": {"probability": 1.5}, "action": JWKS_503}, "/match/probability: must be between"),
    ({"match": {"endpoint": 3}, "action": JWKS_503}, "/match/endpoint: expected a string"),
    ({"match": {"when": 1}, "action": JWKS_503}, "/match/when: unknown key"),
    ({"action": JWKS_503, "times": 0}, "/times: must be 1 or more"),
    ({"action": {"type": "latency", "seconds": -1}}, "/action/seconds: must be 0 or more"),
    ({"action": {"type": "id_token", "fault": "made_up"}}, "/action/fault: \"made_up\" is not one of"),
    ({"action": {"type": "token_response", "omit": [1]}}, "/action/omit: expected an array of strings"),
    ([1], "/: a fault rule must be a JSON object"),
])
def test_invalid_rules_are_rejected_with_the_reason_and_nothing_applies(idp, rule, pointer):
    r = idp.request("POST", "/_mock/faults", body=json.dumps(rule),
                    headers={"Content-Type": "application/json"})
    if isinstance(rule, list):
        assert r.status == 400 and "JSON object" in r.json()["error"]
    else:
        assert r.status == 400 and pointer in r.json()["error"], r.json()
    assert idp.control("GET", "faults").json() == {"faults": []}
    assert jwks_statuses(idp, 1) == [200]


def test_duplicate_rule_id_is_rejected(idp):
    add(idp, {"id": "dup", "action": JWKS_503})
    r = idp.control("POST", "faults", {"id": "dup", "action": JWKS_503})
    assert r.status == 400 and "exists already" in r.json()["error"]


def test_reset_removes_live_rules(idp):
    add(idp, {"match": {"endpoint": "jwks"}, "action": JWKS_503})
    idp.control("POST", "reset")
    assert idp.control("GET", "faults").json() == {"faults": []}
    assert jwks_statuses(idp, 1) == [200]


# -- rules in the config file --------------------------------------------------------------

def test_config_file_rules_apply_and_survive_reset(start_idp):
    cfg = spa_config()
    cfg["faults"] = [{"id": "cfg", "match": {"endpoint": "jwks"}, "action": JWKS_503}]
    idp = start_idp(config=cfg)
    assert jwks_statuses(idp, 1) == [503]
    idp.control("POST", "reset")
    assert [f["id"] for f in idp.control("GET", "faults").json()["faults"]] == ["cfg"]


def test_config_file_rule_errors_name_file_and_line(tmp_path):
    p = tmp_path / "c.json"
    p.write_text('{\n  "faults": [\n    {"action": {"type": "latency"}},\n'
                 '    {"match": {"nth": 0},\n     "action": {"type": "close"}}\n  ]\n}\n')
    r = subprocess.run([BIN, "--config", str(p)], capture_output=True, text=True)
    assert r.returncode == 2
    assert f"{p}:3: /faults/0/action/seconds: required" in r.stderr


# -- presets ---------------------------------------------------------------------------------

def test_presets_are_listed_with_their_source(idp):
    presets = {p["name"]: p for p in idp.control("GET", "presets").json()["presets"]}
    assert set(presets) == {"dex-no-prompt-none", "non-rotating", "strict-rotation",
                            "rotation-with-grace", "short-idle-lifetime", "offline-access-required",
                            "no-refresh-tokens"}
    assert all(p["source"] and p["summary"] for p in presets.values())


def test_preset_non_rotating(start_idp):
    idp = start_idp("--preset", "non-rotating")
    t = idp.code_flow()
    for _ in range(2):
        r = idp.refresh(t["refresh_token"])
        assert r.status == 200 and "refresh_token" not in r.json()


def test_preset_strict_rotation_after_a_config_without_it(start_idp):
    idp = start_idp("--preset", "strict-rotation",
                    config=spa_config(refresh={"rotation": False, "reuse_detection": False,
                                               "reuse_grace": 30}))
    t = idp.code_flow(client_id="spa")
    assert idp.refresh(t["refresh_token"], client_id="spa").status == 200
    assert idp.refresh(t["refresh_token"], client_id="spa").json()["error"] == "invalid_grant"
    assert idp.state()["grants"][0]["revoked_reason"] == "refresh token reuse detected"


def test_preset_rotation_with_grace(start_idp):
    idp = start_idp("--preset", "rotation-with-grace")
    t = idp.code_flow()
    assert idp.refresh(t["refresh_token"]).status == 200
    idp.advance(9)
    assert idp.refresh(t["refresh_token"]).status == 200
    idp.advance(11)
    assert idp.refresh(t["refresh_token"]).json()["error"] == "invalid_grant"


def test_preset_short_idle_lifetime(start_idp):
    idp = start_idp("--preset", "short-idle-lifetime")
    t = idp.code_flow()
    idp.advance(121)
    assert "idle" in idp.refresh(t["refresh_token"]).json()["error_description"]


def test_preset_offline_access_required(start_idp):
    idp = start_idp("--preset", "offline-access-required")
    assert "refresh_token" not in idp.code_flow(scope="openid")
    assert "refresh_token" in idp.code_flow(scope="openid offline_access")


def test_preset_no_refresh_tokens(start_idp):
    idp = start_idp("--preset", "no-refresh-tokens")
    assert "refresh_token" not in idp.code_flow(scope="openid offline_access")


def test_preset_dex_no_prompt_none(start_idp):
    from conftest import pkce_pair
    idp = start_idp("--preset", "dex-no-prompt-none")
    r = idp.authorize(cookie=idp.login(), client_id="demo-spa", redirect_uri="http://127.0.0.1:8080/callback",
                      response_type="code", scope="openid", prompt="none",
                      code_challenge=pkce_pair()[1], code_challenge_method="S256")
    assert r.status == 200 and "Sign in" in r.text


def test_preset_live_and_unknown_preset(idp):
    assert idp.control("POST", "presets", {"name": "no-refresh-tokens"}).status == 200
    assert "refresh_token" not in idp.code_flow()
    r = idp.control("POST", "presets", {"name": "nope"})
    assert r.status == 400 and "unknown preset" in r.json()["error"]
    bad = subprocess.run([BIN, "--preset", "nope", "--listen", "127.0.0.1:0"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown preset \"nope\"" in bad.stderr


# -- live client settings and precedence -------------------------------------------------------

def test_live_client_settings(idp):
    r = idp.control("PATCH", "clients/demo-spa", {"access_token_lifetime": 30,
                                                  "refresh": {"rotation": False}})
    assert r.status == 200 and r.json()["refresh"]["rotation"] is False
    t = idp.code_flow()
    assert t["expires_in"] == 30
    assert "refresh_token" not in idp.refresh(t["refresh_token"]).json()
    listed = {c["client_id"]: c for c in idp.control("GET", "clients").json()["clients"]}
    assert listed["demo-spa"]["access_token_lifetime"] == 30
    assert "demo-secret" not in json.dumps(listed), "secrets are never shown"


def test_invalid_client_patch_changes_nothing(idp):
    r = idp.control("PATCH", "clients/demo-spa", {"access_token_lifetime": 30,
                                                  "refresh": {"rotation": "no"}})
    assert r.status == 400 and r.json()["error"] == "/refresh/rotation: expected true or false"
    assert idp.code_flow()["expires_in"] == 300
    assert idp.control("PATCH", "clients/demo-spa", {"client_id": "other"}).status == 400
    assert idp.control("PATCH", "clients/nobody", {}).status == 404


def test_precedence_config_then_presets_then_live_and_reset_returns_to_startup(start_idp):
    idp = start_idp("--preset", "non-rotating", config=spa_config(refresh={"rotation": True}))
    rot = lambda: next(c for c in idp.control("GET", "clients").json()["clients"])["refresh"]["rotation"]
    assert rot() is False  # the preset overrides the config
    idp.control("PATCH", "clients/spa", {"refresh": {"rotation": True}})
    assert rot() is True  # a live change overrides the preset
    idp.control("POST", "reset")
    assert rot() is False  # reset returns to config + presets


def test_match_on_a_parameter_being_present(idp):
    t = idp.code_flow()
    add(idp, {"match": {"grant_type": "refresh_token", "param": "scope"},
              "action": {"type": "status", "status": 400, "error": "invalid_scope"}})
    assert idp.refresh(t["refresh_token"], scope="openid").json()["error"] == "invalid_scope"
    assert idp.refresh(t["refresh_token"]).status == 200, "without the parameter: no match"
