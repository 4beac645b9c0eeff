"""Negative configurations: a deliberately wrong client policy must make the matching
scenario fail, on the right check, with evidence. A check that cannot fail is worthless."""
import pytest

from harness_util import renewlab, run_json, scenario, write_scenario

CASES = [
    # (misbehaviour, scenario, check that must fail, words in its evidence)
    ("no_single_flight", "rt_reuse_same_tab", "no_reuse_of_rotated_token", "presented again"),
    ("no_single_flight", "rt_reuse_same_tab", "no_concurrent_refresh", "was under way"),
    ("retry_invalid_grant", "rt_invalid_grant_expired", "no_retry_after_invalid_grant", "sent again"),
    ("retry_invalid_grant", "grant_revoked_midsession", "session_dropped_on_terminal_error", "kept its session"),
    ("no_revoke", "revoke_on_signout", "revoked_on_logout", "never revoked"),
    ("keep_old_refresh", "rt_rotating_happy", "no_reuse_of_rotated_token", "presented again"),
    ("renew_after_expiry", "rt_rotating_happy", "renewed_before_expiry", "expired at"),
    ("no_backoff", "rt_5xx_or_network", "backoff_on_5xx", "less than 1 s"),
    ("skip_id_token_checks", "rt_idt_sub_mismatch", "session_lost", "expected 1, saw 0"),
]


@pytest.mark.parametrize("misbehave,scenario_id,check,words", CASES)
def test_misbehaving_client_fails_the_right_check(tmp_path, misbehave, scenario_id, check, words):
    s = scenario(scenario_id)
    s["client"] = dict(s.get("client", {}), misbehave=[misbehave])
    r, report = run_json(tmp_path, write_scenario(tmp_path, s))
    assert r.returncode == 1, r.stdout
    run = report["runs"][0]
    assert run["verdict"] == "fail"
    failed = {c["name"]: c for c in run["checks"] if not c["passed"]}
    assert check in failed, f"{check} should fail; failed: {sorted(failed)}"
    assert any(words in e for e in failed[check]["evidence"]), failed[check]["evidence"]


@pytest.mark.parametrize("scenario_id", sorted({c[1] for c in CASES}))
def test_the_same_scenarios_pass_with_the_correct_client(tmp_path, scenario_id):
    r, report = run_json(tmp_path, write_scenario(tmp_path, scenario(scenario_id)))
    assert r.returncode == 0 and report["runs"][0]["verdict"] == "pass"


def test_every_trace_check_is_shown_to_fail_somewhere():
    from harness_util import RENEWLAB  # noqa: F401 (the binary the suite runs)
    covered = {c[2] for c in CASES}
    # no_request_with_expired_token, no_refresh_after_logout and renewal_rate_bounded are
    # exercised by the judge's own tests below
    assert {"no_reuse_of_rotated_token", "no_concurrent_refresh", "no_retry_after_invalid_grant",
            "session_dropped_on_terminal_error", "revoked_on_logout", "renewed_before_expiry",
            "backoff_on_5xx"} <= covered


def test_rate_bound_check_catches_a_tight_loop(tmp_path):
    s = scenario("rt_lifetime_below_margin")
    s["client"] = {"min_interval": 0.5}  # renews every half second: a tight loop
    s["expect"] = {"checks": ["renewal_rate_bounded"]}
    path = write_scenario(tmp_path, s)
    r, report = run_json(tmp_path, path)
    assert r.returncode == 0  # 20 in 60 s is renewlab's own bound: policy
    assert report["runs"][0]["verdict"] == "fail" and report["runs"][0]["severity"] == "policy"
    ev = report["runs"][0]["checks"][0]["evidence"][0]
    assert "refresh requests within 60 s" in ev
    assert run_json(tmp_path, path, "--fail-on", "policy")[0].returncode == 1


def test_expired_token_check_catches_a_call_with_an_expired_token(tmp_path):
    # the core renews before it sends a stale token; an IdP that overstates expires_in
    # (3600 for a 300 s token) makes it send a dead one, which the check must see
    s = scenario("rs_insufficient_scope")
    s["steps"] = [{"do": "fault", "rule": {"match": {"endpoint": "token"}, "action": {
                      "type": "token_response", "set": {"expires_in": 3600}}}},
                  {"do": "login"}, {"do": "advance", "seconds": 300}, {"do": "api_call"}]
    s["expect"] = {"checks": ["no_request_with_expired_token"]}
    r, report = run_json(tmp_path, write_scenario(tmp_path, s))
    assert r.returncode == 1
    assert "expired at 300s" in report["runs"][0]["checks"][0]["evidence"][0]


def test_refresh_after_logout_check_catches_a_revived_session(tmp_path):
    s = scenario("rp_logout_other_tabs")
    s["client"] = dict(s["client"], misbehave=["no_single_flight"])  # tabs skip the shared lock
    r, report = run_json(tmp_path, write_scenario(tmp_path, s))
    assert r.returncode == 1
    failed = {c["name"] for c in report["runs"][0]["checks"] if not c["passed"]}
    assert "no_refresh_after_logout" in failed
