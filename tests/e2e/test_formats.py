"""Versioned formats and their schemas (docs/formats.md): every scenario of the catalogue
and a fresh report validate against docs/schemas/ (python3-jsonschema), the schema and the
loader agree on the names they list, each reader refuses a newer major version with a clear
message, and the Debian changelog comes from CHANGELOG.md."""
import json
import os
import subprocess

import jsonschema
import pytest

from conftest import ROOT, MockIdp
from harness_util import catalogue, renewlab, scenario, write_scenario

SCHEMAS = os.path.join(ROOT, "docs", "schemas")


def validator(name):
    schema = json.load(open(os.path.join(SCHEMAS, name)))
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema, jsonschema.Draft202012Validator(schema)


def errors(v, doc):
    return [f"{e.json_path}: {e.message}" for e in v.iter_errors(doc)]


def test_every_catalogue_scenario_validates_and_carries_its_version():
    _, v = validator("scenario.schema.json")
    for path, scn in catalogue():
        assert not errors(v, scn), path
        assert scn["format_version"] == "1.0", path


def test_a_fresh_report_of_each_kind_validates(tmp_path):
    _, v = validator("report.schema.json")
    run_json = tmp_path / "run.json"
    r = renewlab("run", "--json", str(run_json))
    assert r.returncode == 0, r.stdout[-2000:]
    bad = scenario("rt_rotating_happy")
    bad["client"] = {"misbehave": ["keep_old_refresh"]}
    r = renewlab("run", write_scenario(tmp_path, bad), "--json", str(tmp_path / "fail.json"))
    assert r.returncode == 1
    for name in ("run.json", "fail.json"):
        doc = json.loads((tmp_path / name).read_text())
        assert doc["format_version"] == "1.0"
        assert not errors(v, doc), name
    assert json.loads((tmp_path / "fail.json").read_text())["runs"][0]["verdict"] == "fail"


def test_the_schema_refuses_what_the_loader_refuses(tmp_path):
    _, v = validator("scenario.schema.json")
    base = scenario("rt_rotating_happy")
    mutations = {
        "unknown top-level key": lambda s: s.update(surprise=1),
        "unknown client setting": lambda s: s["client"].update(renew_early=5),
        "unknown step": lambda s: s["steps"].append({"do": "teleport"}),
        "unknown check": lambda s: s["expect"].update(checks=["no_such_check"]),
        "unknown event": lambda s: s["expect"].update(events={"exploded": 1}),
        "advance without seconds": lambda s: s["steps"].append({"do": "advance"}),
        "five tabs": lambda s: s["client"].update(tabs=5),
        "a newer major": lambda s: s.update(format_version="2.0"),
    }
    for what, mutate in mutations.items():
        scn = json.loads(json.dumps(base))
        scn.setdefault("client", {})
        mutate(scn)
        assert errors(v, scn), f"the schema accepts {what}"
        r = renewlab("list", write_scenario(tmp_path, scn, f"{what.replace(' ', '_')}.json"))
        assert r.returncode == 2, f"renewlab accepts {what}"


def test_the_schema_lists_what_the_loader_accepts(tmp_path):
    schema, v = validator("scenario.schema.json")
    props = schema["properties"]
    base = scenario("rt_rotating_happy")
    names = {
        "checks": props["expect"]["properties"]["checks"]["items"]["enum"],
        "misbehave": props["client"]["properties"]["misbehave"]["items"]["enum"],
        "events": props["expect"]["properties"]["events"]["propertyNames"]["enum"],
        "requests": props["expect"]["properties"]["requests"]["propertyNames"]["enum"],
    }
    files = []
    for kind, values in names.items():
        for value in values:
            scn = json.loads(json.dumps(base))
            if kind == "checks":
                scn["expect"]["checks"] = [value]
            elif kind == "misbehave":
                scn.setdefault("client", {})["misbehave"] = [value]
            else:
                scn["expect"][kind] = {value: {"min": 0}}
            scn["id"] = f"{kind}_{value}"
            assert not errors(v, scn), (kind, value)
            files.append(write_scenario(tmp_path, scn, f"{kind}-{value}.json"))
    r = renewlab("list", *files)
    assert r.returncode == 0, r.stderr


def test_scenario_versions(tmp_path):
    scn = scenario("rt_rotating_happy")
    del scn["format_version"]
    assert renewlab("list", write_scenario(tmp_path, scn, "none.json")).returncode == 0
    scn["format_version"] = "2.0"
    path = write_scenario(tmp_path, scn, "two.json")
    line = next(i for i, l in enumerate(open(path).read().splitlines(), 1) if "format_version" in l)
    r = renewlab("list", path)
    assert r.returncode == 2
    assert f"two.json:{line}: /format_version: scenario format 2.0 is newer than this renewlab " \
           "reads (1.x): upgrade renewlab" in r.stderr
    scn["format_version"], scn["from_1_3"] = "1.3", True
    r = renewlab("list", write_scenario(tmp_path, scn, "minor.json"))
    assert r.returncode == 2 and "/from_1_3: unknown key (the scenario is format 1.3, newer " \
                                  "than this renewlab's 1.0)" in r.stderr
    scn["format_version"] = "one"
    r = renewlab("list", write_scenario(tmp_path, scn, "bad.json"))
    assert r.returncode == 2 and 'expected "MAJOR.MINOR"' in r.stderr


def record_trace(tmp_path):
    trace = tmp_path / "trace.jsonl"
    idp = MockIdp("--trace-out", str(trace))
    try:
        t = idp.code_flow()
        idp.refresh(t["refresh_token"])
        doc = idp.control("GET", "trace").json()
    finally:
        assert idp.stop() == 0
    return trace, doc


def test_trace_versions(tmp_path):
    trace, doc = record_trace(tmp_path)
    lines = trace.read_text().splitlines()
    assert json.loads(lines[0]) == {"format_version": "1.0", "trace": "mock-idp"}
    assert doc["format_version"] == "1.0"
    assert renewlab("judge", str(trace)).returncode == 0
    newer = tmp_path / "newer.jsonl"
    newer.write_text("\n".join(['{"format_version":"2.0","trace":"mock-idp"}'] + lines[1:]) + "\n")
    r = renewlab("judge", str(newer))
    assert r.returncode == 2
    assert "newer.jsonl:1: /format_version: trace format 2.0 is newer than this renewlab " \
           "reads (1.x): upgrade renewlab" in r.stderr
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps(dict(doc, format_version="3.1")))
    r = renewlab("judge", str(saved))
    assert r.returncode == 2 and "trace format 3.1 is newer" in r.stderr
    saved.write_text(json.dumps(doc))
    assert renewlab("judge", str(saved)).returncode == 0


NEWER_ADAPTER = """import json, sys
print(json.dumps({"type": "hello", "protocol": 2, "name": "future", "version": "9",
                  "capabilities": ["refresh", "virtual_clock"]}), flush=True)
for line in sys.stdin:
    pass
"""


def test_an_adapter_speaking_a_newer_exec_protocol_is_refused(tmp_path):
    adapter = tmp_path / "future.py"
    adapter.write_text(NEWER_ADAPTER)
    r = renewlab("run", "--target", f"exec:/usr/bin/python3 {adapter}",
                 os.path.join(ROOT, "scenarios", "rt_rotating_happy.json"))
    assert r.returncode == 3
    out = r.stdout + r.stderr
    assert "speaks a newer exec protocol than this renewlab" in out
    assert "its hello says protocol 2; this renewlab speaks 1: upgrade renewlab" in out


def test_the_debian_changelog_comes_from_changelog_md(tmp_path):
    tool = os.path.join(ROOT, "packaging", "changelog.py")
    out = tmp_path / "changelog"
    subprocess.run(["/usr/bin/python3", tool, os.path.join(ROOT, "CHANGELOG.md"), str(out),
                    "renewlab", "renewlab developers <renewlab@localhost>"], check=True)
    parsed = subprocess.run(["dpkg-parsechangelog", "-l", str(out)], capture_output=True,
                            text=True, check=True).stdout
    project = open(os.path.join(ROOT, "CMakeLists.txt")).read()
    want = project.split("project(renewlab VERSION ", 1)[1].split()[0]
    assert f"Version: {want}" in parsed, "CHANGELOG.md's newest section is the project's version"
    bad = tmp_path / "BAD.md"
    bad.write_text("# Changelog\n\n## [0.2.0] - someday\n### Added\n- x\n")
    r = subprocess.run(["/usr/bin/python3", tool, str(bad), str(out), "renewlab", "x <y@z>"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith(f"{bad}:3: ")
