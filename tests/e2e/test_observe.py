"""Observe mode: a client the harness does not drive talks to mock-idp --trace-out; then
renewlab judge grades the recorded trace with the same checks and writes the same reports."""
import json
import os
import threading

from conftest import MockIdp
from harness_util import renewlab, trace_entries


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


def judge_json(tmp_path, trace, *args):
    out = tmp_path / "r.json"
    r = renewlab("judge", str(trace), "--json", str(out), *args)
    return r, json.loads(out.read_text()) if out.exists() else None


def check(run, name):
    return next(c for c in run["checks"] if c["name"] == name)


def test_each_session_is_graded_on_its_own(tmp_path):
    """A server-side RP serves many users: three sessions (alice twice, bob) refreshing
    correctly eight times each are 24 refreshes in a few seconds, a storm only when counted
    together."""
    trace = tmp_path / "trace.jsonl"
    idp = MockIdp("--trace-out", str(trace))
    try:
        for user in ("alice", "bob", "alice"):
            rt = idp.code_flow(sub=user)["refresh_token"]
            for _ in range(8):
                rt = idp.refresh(rt).json()["refresh_token"]
    finally:
        assert idp.stop() == 0
    r, report = judge_json(tmp_path, trace, "--junit", str(tmp_path / "j.xml"))
    assert r.returncode == 0, r.stdout
    names = [run["scenario"] for run in report["runs"]]
    assert len(names) == 3 and all("client demo-spa" in n for n in names), names
    assert sorted(n.split("user ")[1].split(",")[0] for n in names) == ["alice", "alice", "bob"]
    assert (tmp_path / "j.xml").read_text().count("<testcase") == 3
    assert "27 checks in 3 groups: 27 passed, 0 failed" in r.stdout  # 9 checks each
    assert "ok   renewal_rate_bounded" in r.stdout  # the checks that ran, on a pass too
    r, report = judge_json(tmp_path, trace, "--group-by", "none")
    assert r.returncode == 0 and len(report["runs"]) == 1  # the rate bound is policy
    assert report["runs"][0]["severity"] == "policy" and report["summary"]["fail"] == 1
    assert "24 refresh requests within 60 s" in check(report["runs"][0], "renewal_rate_bounded")["evidence"][0]
    # one client for every user: counted per client it is the storm again
    for by, groups, rc in (("user", 2, 0), ("client", 1, 1), ("family", 3, 0)):
        r, report = judge_json(tmp_path, trace, "--group-by", by, "--fail-on", "policy")
        assert r.returncode == rc and len(report["runs"]) == groups, (by, r.stdout)


def test_refreshes_sent_while_one_was_held_are_concurrent_not_retries(tmp_path):
    """Four refreshes of one token at once on a 2-worker IdP, each answer held 1 s by a
    latency rule: the first rotates, the others are reuse. They were all sent before any
    answer came back: concurrent, and no retry after invalid_grant. Whatever the timing of
    this machine, every pair the judge calls concurrent overlaps in the trace, and every
    request it calls a retry came after the answer it retries."""
    trace = tmp_path / "trace.jsonl"
    idp = MockIdp("--workers", "2", "--trace-out", str(trace))
    try:
        rt = idp.code_flow()["refresh_token"]
        assert idp.control("POST", "faults", {
            "id": "hold-refresh", "match": {"endpoint": "token", "grant_type": "refresh_token"},
            "action": {"type": "latency", "seconds": 1}}).status == 201
        go = threading.Barrier(4)
        threads = [threading.Thread(target=lambda: (go.wait(), idp.refresh(rt))) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        assert idp.stop() == 0
    entries = {e["seq"]: e for e in trace_entries(trace)}
    r, report = judge_json(tmp_path, trace)
    assert r.returncode == 1 and len(report["runs"]) == 1, r.stdout
    run = report["runs"][0]
    done = lambda e: e["t"] + e.get("held_for", 0) + e["latency"]  # noqa: E731 (wall clock)
    concurrent = check(run, "no_concurrent_refresh")["findings"]
    assert concurrent, r.stdout
    for f in concurrent:
        a, b = (entries[s] for s in f["seq"])
        assert a["t"] <= b["t"] < done(a), f
    assert all("was under way" in w and "fault rule \"hold-refresh\"" in w
               for w in check(run, "no_concurrent_refresh")["evidence"])
    for f in check(run, "no_retry_after_invalid_grant")["findings"]:
        a, b = (entries[s] for s in f["seq"])
        assert b["t"] >= done(a), f
    assert " UTC" in r.stdout  # evidence times also as the wall clock of the entry


def test_a_trace_written_out_of_order_is_graded_not_refused(tmp_path):
    trace = record(tmp_path, None)
    lines = trace.read_text().splitlines()
    lines[2], lines[3] = lines[3], lines[2]  # completion order, as an older mock-idp wrote
    trace.write_text("\n".join(lines) + "\n")
    r = renewlab("judge", str(trace))
    assert r.returncode == 0, r.stdout + r.stderr
    trace.write_text("\n".join(lines + lines[:2]) + "\n")  # seq 1 twice: two runs in one file
    r = renewlab("judge", str(trace))
    assert r.returncode == 2 and "more than one run" in r.stderr and "lost" not in r.stderr


def test_group_by_takes_only_the_known_groupings(tmp_path):
    trace = record(tmp_path, None)
    r = renewlab("judge", str(trace), "--group-by", "tenant")
    assert r.returncode == 2 and "--group-by takes session" in r.stderr


def test_the_outage_recipe_marks_what_the_rule_made(tmp_path):
    """docs/observe.md's outage rule, word for word: a client that retries at once after the
    injected 503 fails backoff_on_5xx, and the evidence names the rule."""
    trace = tmp_path / "trace.jsonl"
    idp = MockIdp("--trace-out", str(trace))
    try:
        rt = idp.code_flow()["refresh_token"]
        recipe = open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "observe.md")).read()
        rule = recipe.split("-d '", 2)[2].split("'", 1)[0]  # the second curl body: the outage
        assert json.loads(rule)["id"] == "outage"
        assert idp.control("POST", "faults", json.loads(rule)).status == 201
        assert [idp.refresh(rt).status for _ in range(2)] == [503, 503]  # no backoff at all
    finally:
        assert idp.stop() == 0
    r, report = judge_json(tmp_path, trace, "--checks", "backoff_on_5xx")
    found = check(report["runs"][0], "backoff_on_5xx")
    assert r.returncode == 1 and found["findings"][0]["fault"] == "outage", r.stdout
    assert 'fault rule "outage" (status)' in found["evidence"][0]
