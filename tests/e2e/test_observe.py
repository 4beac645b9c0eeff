"""Observe mode: a client the harness does not drive talks to mock-idp --trace-out; then
renewlab judge grades the recorded trace with the same checks and writes the same reports."""
import json

from conftest import MockIdp
from harness_util import renewlab


def record(tmp_path, misbehave):
    trace = tmp_path / "trace.jsonl"
    idp = MockIdp("--trace-out", str(trace))
    try:
        t = idp.code_flow()
        rt = t["refresh_token"]
        for _ in range(3):
            idp.advance(240)
            r = idp.refresh(rt)
            if misbehave == "reuse":
                idp.refresh(rt)  # the same token again: the IdP detects reuse
                break
            rt = r.json()["refresh_token"]
        idp.post("/revoke", {"token": rt, "client_id": "demo-spa"})
    finally:
        assert idp.stop() == 0
    return trace


def test_a_well_behaved_client_passes(tmp_path):
    trace = record(tmp_path, None)
    out = tmp_path / "r.json"
    r = renewlab("judge", str(trace), "--json", str(out), "--html", str(tmp_path / "r.html"))
    assert r.returncode == 0, r.stdout
    report = json.loads(out.read_text())
    run = report["runs"][0]
    assert run["target"] == "observed" and run["verdict"] == "pass"
    assert {c["name"] for c in run["checks"]} >= {"no_reuse_of_rotated_token", "renewed_before_expiry"}
    assert (tmp_path / "r.html").exists()


def test_reuse_of_a_rotated_token_is_caught_with_evidence(tmp_path):
    trace = record(tmp_path, "reuse")
    r = renewlab("judge", str(trace), "--checks", "no_reuse_of_rotated_token,no_retry_after_invalid_grant",
                 "--junit", str(tmp_path / "j.xml"))
    assert r.returncode == 1
    assert "no_reuse_of_rotated_token" in r.stdout and "presented again after rotation" in r.stdout
    assert "<failure" in (tmp_path / "j.xml").read_text()


def test_a_trace_that_lost_entries_is_refused(tmp_path):
    trace = record(tmp_path, None)
    lines = trace.read_text().splitlines()
    del lines[3]  # a lost entry: seq jumps
    trace.write_text("\n".join(lines) + "\n")
    r = renewlab("judge", str(trace))
    assert r.returncode == 2 and "lost entries" in r.stderr


def test_judge_usage_errors(tmp_path):
    assert renewlab("judge").returncode == 2
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    r = renewlab("judge", str(empty))
    assert r.returncode == 2 and "no entries" in r.stderr
    assert renewlab("judge", "/nonexistent.jsonl").returncode == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"seq": 1, "t": 1}\nnot json\n')
    r = renewlab("judge", str(bad))
    assert r.returncode == 2 and ":2: not a trace entry" in r.stderr
    good = record(tmp_path, None)
    assert renewlab("judge", str(good), "--checks", "be_nice").returncode == 2
