"""renewlab: the catalogue, the CLI contract and exit codes, loader errors, sharding,
parallel jobs and determinism."""
import json

import pytest

from harness_util import SCENARIOS, catalogue, renewlab, run_json, scenario, write_scenario


def test_catalogue_has_at_least_40_scenarios_with_stories_and_refs():
    scns = catalogue()
    assert len(scns) >= 40
    registry = json.load(open(f"{SCENARIOS}/_refs.json"))["refs"]
    for path, s in scns:
        assert s["teaches"].count(".") >= 1 and len(s["teaches"]) > 80, path
        assert s["refs"], path
        for ref in s["refs"]:
            assert ref in registry, f"{path}: ref {ref} missing from scenarios/_refs.json"
        assert s["catalogue"], path
    for ref, entry in registry.items():
        assert entry["title"] and entry["url"].startswith("https://") and entry["quote"], ref


def test_full_catalogue_passes_on_the_core(tmp_path):
    r, report = run_json(tmp_path)
    assert r.returncode == 0, r.stdout[-3000:]
    s = report["summary"]
    assert s["fail"] == 0 and s["error"] == 0 and s["pass"] == s["total"] >= 40
    assert r.stdout.strip().splitlines()[-1] == f"{s['pass']} passed, 0 failed"


def test_list_and_explain():
    r = renewlab("list")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == len(catalogue())
    assert any(l.startswith("rt_rotating_happy ") for l in r.stdout.splitlines())
    e = renewlab("explain", "rt_response_lost_after_rotation")
    assert e.returncode == 0
    assert "the IdP starts misbehaving" in e.stdout and "RFC 9700" in e.stdout
    assert renewlab("explain", "no_such_scenario").returncode == 2


@pytest.mark.parametrize("args", [["run", "--target", "nope"], ["run", "--seed", "-1"],
                                  ["run", "--shard", "3/2"], ["run", "--jobs", "0"],
                                  ["frobnicate"], [], ["run", "/nonexistent.json"]])
def test_usage_errors_exit_2(args):
    r = renewlab(*args)
    assert r.returncode == 2 and r.stderr


def test_filter_and_target_not_applicable(tmp_path):
    r, report = run_json(tmp_path, "--filter", "rt_idt_*")
    assert r.returncode == 0
    ids = {run["scenario"] for run in report["runs"]}
    assert ids and all(i.startswith("rt_idt_") for i in ids)
    r, report = run_json(tmp_path, "--filter", "sr_xfo_deny", "--target", "core")
    assert r.returncode == 0 and report["runs"] == [], "a browser-only scenario is not planned"
    r, report = run_json(tmp_path, "--filter", "clock_client_fast", "--target", "iframe")
    assert r.returncode == 0 and report["runs"] == [], "a core-only scenario is not planned"


def test_shards_are_stable_and_cover_the_catalogue_once(tmp_path):
    seen = []
    for k in (1, 2, 3):
        r, report = run_json(tmp_path, "--shard", f"{k}/3", "--filter", "rt_*")
        assert r.returncode == 0
        seen += [run["scenario"] for run in report["runs"]]
    r, whole = run_json(tmp_path, "--filter", "rt_*")
    assert sorted(seen) == sorted(run["scenario"] for run in whole["runs"])
    assert len(seen) == len(set(seen))


def strip_wall(report):
    for run in report["runs"]:
        run.pop("wall_ms", None)
    return report


def test_parallel_jobs_give_the_same_results_as_one(tmp_path):
    _, one = run_json(tmp_path, "--filter", "rt_*", "--jobs", "1")
    r, many = run_json(tmp_path, "--filter", "rt_*", "--jobs", "3")
    assert r.returncode == 0
    assert strip_wall(one) == strip_wall(many)


def test_same_seed_same_deterministic_trace(tmp_path):
    a = strip_wall(run_json(tmp_path, "--filter", "rt_reuse_*", "--seed", "7")[1])
    b = strip_wall(run_json(tmp_path, "--filter", "rt_reuse_*", "--seed", "7")[1])
    assert a == b
    assert a["runs"][0]["trace"], "the trace is part of the result"


def error_of(tmp_path, scn_text):
    path = tmp_path / "bad.json"
    path.write_text(scn_text)
    r = renewlab("run", str(path))
    assert r.returncode == 2
    return r.stderr.strip().replace(str(path), "FILE")


def test_loader_syntax_error_has_line_and_column(tmp_path):
    err = error_of(tmp_path, '{\n  "id": "x",\n  "title": "t",,\n}')
    assert err.startswith("renewlab: FILE:3:")


def valid(**over):
    s = scenario("revoke_on_signout")
    s.update(over)
    return s


@pytest.mark.parametrize("mutate,expected", [
    (lambda s: s.update(colour="red"), "/colour: unknown key"),
    (lambda s: s.update(title=3), "/title: expected a string"),
    (lambda s: s.pop("teaches"), "/teaches: required"),
    (lambda s: s.update(targets=["mainframe"]), "/targets: \"mainframe\" is not one of"),
    (lambda s: s["steps"].append({"do": "dance"}), "is not one of the allowed values"),
    (lambda s: s["steps"].append({"do": "advance", "seconds": -5}), "advance needs seconds"),
    (lambda s: s["steps"].append({"do": "use", "tab": 3}), "/tab: there are 1 tabs"),
    (lambda s: s["steps"].append({"do": "fault", "rule": {"action": {"type": "status"}}}),
     "/rule/action/status: required"),
    (lambda s: s["steps"].append({"do": "fault"}), "/rule: required for a fault step"),
    (lambda s: s["expect"]["checks"].append("be_nice"), "/expect/checks/2: unknown check"),
    (lambda s: s["expect"].update(events={"party": 1}), "/expect/events/party: unknown name"),
    (lambda s: s.update(idp={"presets": ["shiny"]}), "/idp/presets/0: unknown preset"),
    (lambda s: s.update(idp={"client": {"refresh": {"rotation": "yes"}}}),
     "/idp/client/refresh/rotation: expected true or false"),
    (lambda s: s.update(client={"misbehave": ["sleep"]}), "/client/misbehave"),
    (lambda s: s.update(app={"swallow_messages": "eat"}), "/app/swallow_messages"),
    (lambda s: s.update(app={"swallow": "capture"}), "/app/swallow: unknown key"),
    (lambda s: s.update(app={"swallow_messages": "capture"}), "/app: only browser targets"),
])
def test_loader_semantic_errors_name_file_line_and_pointer(tmp_path, mutate, expected):
    s = valid()
    mutate(s)
    text = json.dumps(s, indent=2)
    err = error_of(tmp_path, text)
    assert err.startswith("renewlab: FILE:") and expected in err, err
    line = int(err.split(":")[2])
    assert 1 <= line <= text.count("\n") + 1


def test_duplicate_keys_and_ids_are_refused(tmp_path):
    assert "duplicate" in error_of(tmp_path, '{"id": "a", "id": "b"}')
    a = write_scenario(tmp_path, valid(), "a.json")
    b = write_scenario(tmp_path, valid(), "b.json")
    r = renewlab("run", a, b)
    assert r.returncode == 2 and "duplicate scenario id" in r.stderr


def test_unwritable_report_is_an_infrastructure_error_and_leaves_no_partial_file(tmp_path):
    good = tmp_path / "ok.json"
    good.write_text("previous report")
    r = renewlab("run", "--filter", "revoke_on_signout", "--json", "/nonexistent-dir/r.json",
                 "--junit", str(tmp_path / "j.xml"))
    assert r.returncode == 3 and "cannot write" in r.stderr
    assert (tmp_path / "j.xml").exists(), "the other reports are still written"
    assert not list(tmp_path.glob("*.tmp"))


def test_an_error_while_playing_is_an_infrastructure_error_not_a_failed_client(tmp_path):
    s = valid()
    rule = {"id": "twice", "match": {"endpoint": "jwks"}, "action": {"type": "hang"}}
    s["steps"][1:1] = [{"do": "fault", "rule": rule}, {"do": "fault", "rule": rule}]
    junit = tmp_path / "j.xml"
    r, report = run_json(tmp_path, write_scenario(tmp_path, s), "--junit", str(junit))
    assert r.returncode == 3
    run = report["runs"][0]
    assert run["verdict"] == "error" and "exists already" in run["reason"]
    xml = junit.read_text()
    assert "<error" in xml and "<failure" not in xml
