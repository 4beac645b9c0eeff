"""Severities (docs/severity.md) and the findings store (docs/findings.md): which failures
count for the exit status, as the terminal, JSON and JUnit reports show them."""
import json
import re

import junitparser
import pytest

from harness_util import SCENARIOS, catalogue, renewlab, run_json, scenario, write_scenario

CLIENT_OBLIGATION = re.compile(r"\b(MUST|REQUIRED|SHALL)\b")


def registry():
    return json.load(open(f"{SCENARIOS}/_refs.json"))["refs"]


def expectations(s):
    """(name, severity) of every expectation of a scenario, as the judge weighs them."""
    e = s["expect"]
    for sec in ("events", "requests"):
        for name, want in e.get(sec, {}).items():
            own = want.get("severity") if isinstance(want, dict) else None
            yield f"{sec} {name}", own or e["severity"]
    if "final" in e:
        yield "final session", e["final"].get("severity", e["severity"])


def test_every_expectation_of_the_catalogue_carries_a_severity():
    for path, s in catalogue():
        assert s["expect"].get("severity") in ("must", "should", "policy"), path


def test_must_only_where_a_checked_quote_obliges_the_client():
    refs = registry()
    for path, s in catalogue():
        musts = [name for name, sev in expectations(s) if sev == "must"]
        if not musts:
            continue
        binding = [r for r in s["refs"] if refs[r]["checked"]
                   and CLIENT_OBLIGATION.search(refs[r]["quote"])]
        assert binding, f"{path}: {musts} are must, but no checked quote of its refs says MUST"


def test_an_exact_count_is_policy_never_must():
    """An exact number of requests is renewlab's choice (issue: rt_jwks_rotated wanted
    exactly 2 JWKS fetches); only the must-scenarios' own evidence may be must."""
    for path, s in catalogue():
        for sec in ("requests",):
            for name, want in s["expect"].get(sec, {}).items():
                if isinstance(want, dict) and want.get("max", 0) > 1:
                    sev = want.get("severity", s["expect"]["severity"])
                    assert sev == "policy", (path, name)
    assert scenario("rt_jwks_rotated")["expect"]["requests"]["jwks"]["severity"] == "policy"
    assert scenario("idt_login_unknown_kid")["expect"]["severity"] == "policy"


def failing_at(tmp_path, severity, name="s.json"):
    """rt_rotating_happy with one impossible expectation at @p severity."""
    s = scenario("rt_rotating_happy")
    s["id"] = f"impossible_{severity}"
    s["expect"]["requests"]["refresh"] = {"min": 50, "severity": severity}
    return write_scenario(tmp_path, s, name)


@pytest.mark.parametrize("severity,fail_on,code", [
    ("policy", None, 0), ("policy", "should", 0), ("policy", "policy", 1),
    ("should", None, 1), ("should", "must", 0), ("must", "must", 1)])
def test_fail_on_decides_the_exit(tmp_path, severity, fail_on, code):
    args = [failing_at(tmp_path, severity)] + (["--fail-on", fail_on] if fail_on else [])
    r, report = run_json(tmp_path, *args)
    assert r.returncode == code, r.stdout
    run = report["runs"][0]
    assert run["verdict"] == "fail" and run["severity"] == severity  # the verdict stays
    assert run["blocking"] is (code == 1)
    assert report["summary"]["blocking"] == code
    assert report["summary"]["by_severity"][severity] == 1
    words = "]" if code else "; below --fail-on]"
    assert f"impossible_{severity}" in r.stdout and f"[{severity}{words}" in r.stdout
    assert f"FAILED [{severity}] requests refresh" in r.stdout


def test_the_gravest_failed_severity_names_the_run(tmp_path):
    s = scenario("revoke_on_signout")
    s["client"] = {"misbehave": ["no_revoke"]}  # fails revoked_on_logout (should)
    s["expect"]["requests"]["revoke"] = {"min": 1, "severity": "policy"}
    r, report = run_json(tmp_path, write_scenario(tmp_path, s))
    run = report["runs"][0]
    sev = {c["name"]: c["severity"] for c in run["checks"] if not c["passed"]}
    assert sev == {"revoke": "policy", "revoked_on_logout": "should"}
    assert run["severity"] == "should" and r.returncode == 1


def test_junit_shows_only_the_failures_that_count(tmp_path):
    junit = tmp_path / "j.xml"
    r = renewlab("run", failing_at(tmp_path, "policy", "p.json"),
                 failing_at(tmp_path, "must", "m.json"), "--junit", str(junit))
    assert r.returncode == 1
    cases = {c.name: c for s in junitparser.JUnitXml.fromfile(str(junit)) for c in s}
    assert cases["impossible_policy"].is_passed
    assert "below --fail-on (policy)" in cases["impossible_policy"].system_out
    assert isinstance(cases["impossible_must"].result[0], junitparser.Failure)
    assert "[must] requests refresh failed" in cases["impossible_must"].result[0].text


def test_a_bad_severity_is_an_input_error_with_its_line(tmp_path):
    s = scenario("rt_rotating_happy")
    s["expect"]["requests"]["refresh"] = {"min": 2, "severity": "could"}
    path = write_scenario(tmp_path, s)
    r = renewlab("run", path)
    assert r.returncode == 2
    line = next(i for i, l in enumerate(open(path), 1) if '"could"' in l)
    assert f"{path}:{line}: /expect/requests/refresh/severity" in r.stderr, r.stderr
    for bad in (["--fail-on", "often"], ["--fail-on"]):
        assert renewlab("run", path, *bad).returncode == 2


# ---- the findings store ------------------------------------------------------------------

def no_revoke(tmp_path):
    s = scenario("revoke_on_signout")
    s["client"] = {"misbehave": ["no_revoke"]}
    return write_scenario(tmp_path, s, "no_revoke.json")


def findings_file(tmp_path, **record):
    base = {"target": "core", "scenario": "revoke_on_signout", "kind": "expected",
            "failed": ["requests revoke", "trace revoked_on_logout"],
            "reason": "this client never revokes (a known gap, ticket 42)"}
    base.update(record)
    path = tmp_path / "findings.json"
    path.write_text(json.dumps({"renewlab_findings": 1, "records": [base]}, indent=2))
    return str(path)


def test_a_known_finding_does_not_count(tmp_path):
    junit = tmp_path / "j.xml"
    r, report = run_json(tmp_path, no_revoke(tmp_path), "--findings", findings_file(tmp_path),
                         "--junit", str(junit))
    assert r.returncode == 0, r.stdout
    run = report["runs"][0]
    assert run["verdict"] == "fail" and run["expected_finding"] is True
    assert run["blocking"] is False and report["summary"]["known"] == 1
    assert "known finding (expected) of core (any version): this client never revokes" in r.stdout
    case = next(c for s in junitparser.JUnitXml.fromfile(str(junit)) for c in s)
    assert isinstance(case.result[0], junitparser.Skipped)
    assert "known finding (expected): this client never revokes" in case.result[0].message


@pytest.mark.parametrize("change", [
    {"failed": ["trace revoked_on_logout"]},  # fails more than recorded
    {"version": "9.9"},                       # recorded for another version
    {"target": "exec-somebody"}])             # somebody else's
def test_a_finding_that_does_not_match_still_counts(tmp_path, change):
    r, report = run_json(tmp_path, no_revoke(tmp_path), "--findings",
                         findings_file(tmp_path, **change))
    assert r.returncode == 1, r.stdout
    assert report["runs"][0].get("expected_finding") is not True


def test_a_finding_recorded_for_a_passing_run_is_reported(tmp_path):
    r, report = run_json(tmp_path, f"{SCENARIOS}/revoke_on_signout.json", "--findings",
                         findings_file(tmp_path))
    assert r.returncode == 0
    run = report["runs"][0]
    assert run["verdict"] == "pass" and run["expected_finding"] is False and run["finding"]


@pytest.mark.parametrize("doc,where", [
    ('{"renewlab_findings": 1, "records": [{"target": "core"}]}', "/records/0/scenario"),
    ('{"renewlab_findings": 2, "records": []}', "/renewlab_findings: format 2"),
    ('{"renewlab_findings": 1,\n "records": [\n {"target": "core", "scenario": "x", '
     '"kind": "bug", "reason": "r",\n  "failed": ["revoke"]}]}', "/records/0/failed/0"),
    ('{"renewlab_findings": 1, "records": [{"target": "core", "scenario": "x", '
     '"kind": "feature", "reason": "r", "failed": ["trace a"]}]}', "/records/0/kind"),
    ('{"renewlab_findings": 1, "records": [', "")])
def test_a_bad_findings_file_is_an_input_error(tmp_path, doc, where):
    path = tmp_path / "bad.json"
    path.write_text(doc)
    r = renewlab("run", f"{SCENARIOS}/rt_rotating_happy.json", "--findings", str(path))
    assert r.returncode == 2 and r.stdout == ""
    assert re.search(rf"{re.escape(str(path))}:\d+:", r.stderr) and where in r.stderr, r.stderr


# ---- baselines ---------------------------------------------------------------------------

def test_a_baseline_written_from_a_run_makes_the_next_one_pass(tmp_path):
    base = tmp_path / "baseline.json"
    bad = no_revoke(tmp_path)
    r, _ = run_json(tmp_path, bad, f"{SCENARIOS}/rt_rotating_happy.json",
                    "--write-baseline", str(base))
    assert r.returncode == 1
    doc = json.loads(base.read_text())
    assert doc["renewlab_findings"] == 1 and len(doc["records"]) == 1
    rec = doc["records"][0]
    assert rec["target"] == "core" and rec["scenario"] == "revoke_on_signout"
    assert rec["kind"] == "expected" and "failing when this baseline was written" in rec["reason"]
    assert sorted(rec["failed"]) == ["requests revoke", "trace revoked_on_logout"]
    r, report = run_json(tmp_path, bad, f"{SCENARIOS}/rt_rotating_happy.json", "--baseline", str(base))
    assert r.returncode == 0 and report["summary"]["known"] == 1, r.stdout
    # a new failure elsewhere still counts
    other = scenario("rt_rotating_happy")
    other["client"] = {"misbehave": ["keep_old_refresh"]}
    r, _ = run_json(tmp_path, bad, write_scenario(tmp_path, other, "other.json"), "--baseline", str(base))
    assert r.returncode == 1


def test_a_baselined_failure_that_now_passes_is_reported_fixed(tmp_path):
    base = findings_file(tmp_path)  # revoke_on_signout: revoke and revoked_on_logout
    r = renewlab("run", f"{SCENARIOS}/revoke_on_signout.json", "--baseline", base)
    assert r.returncode == 0
    assert ("fixed: revoke_on_signout [core] no longer fails requests revoke, trace "
            f"revoked_on_logout: remove it from the record ({base})") in r.stdout, r.stdout


def test_failing_less_than_recorded_is_still_expected_and_says_what_is_fixed(tmp_path):
    s = scenario("revoke_on_signout")
    s["client"] = {"misbehave": ["no_revoke"]}
    del s["expect"]["requests"]  # now it fails only the check
    path = write_scenario(tmp_path, s)
    r, report = run_json(tmp_path, path, "--baseline", findings_file(tmp_path))
    run = report["runs"][0]
    assert r.returncode == 0 and run["expected_finding"] is True
    assert run["finding"]["fixed"] == ["requests revoke"] and run["finding"]["unexpected"] == []
    assert "no longer fails requests revoke: remove them from the record" in r.stdout


def test_judge_takes_a_baseline_too(tmp_path):
    """Observe mode: a trace with a reused rotated token fails; its baseline, grouped by
    client (a name stable from run to run), makes the same trace pass."""
    from test_observe import record
    trace = record(tmp_path, "reuse")
    base = tmp_path / "baseline.json"
    args = ("--group-by", "client", "--checks", "no_reuse_of_rotated_token")
    r = renewlab("judge", str(trace), *args, "--write-baseline", str(base))
    assert r.returncode == 1, r.stdout
    rec = json.loads(base.read_text())["records"]
    assert [(x["target"], x["failed"]) for x in rec] == [("observed", ["trace no_reuse_of_rotated_token"])]
    r = renewlab("judge", str(trace), *args, "--baseline", str(base))
    assert r.returncode == 0, r.stdout


def test_a_baseline_that_cannot_be_written_is_an_infrastructure_error(tmp_path):
    r = renewlab("run", f"{SCENARIOS}/rt_rotating_happy.json", "--write-baseline",
                 str(tmp_path / "no" / "such" / "dir.json"))
    assert r.returncode == 3 and "cannot write the baseline" in r.stderr
