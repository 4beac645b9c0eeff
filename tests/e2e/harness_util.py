"""Helpers for the harness tests: run renewlab and read its reports."""
import json
import os
import subprocess

from conftest import ROOT

BUILD = os.environ.get("RENEWLAB_BUILD", os.path.join(ROOT, "build"))
RENEWLAB = os.path.join(BUILD, "bin", "renewlab")
SCENARIOS = os.path.join(ROOT, "scenarios")


def renewlab(*args, cwd=None, timeout=300):
    return subprocess.run([RENEWLAB, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def catalogue():
    """Every scenario of the catalogue as (path, parsed JSON)."""
    out = []
    for name in sorted(os.listdir(SCENARIOS)):
        if name.endswith(".json") and not name.startswith("_"):
            path = os.path.join(SCENARIOS, name)
            out.append((path, json.load(open(path))))
    return out


def run_json(tmp_path, *args):
    report = tmp_path / "report.json"
    r = renewlab("run", *args, "--json", str(report))
    return r, (json.loads(report.read_text()) if report.exists() else None)


def write_scenario(tmp_path, scn, name="s.json"):
    path = tmp_path / name
    path.write_text(json.dumps(scn, indent=2))
    return str(path)


def scenario(id_):
    return json.load(open(os.path.join(SCENARIOS, id_ + ".json")))


def install_tree(tmp_path_factory):
    """The build installed with cmake --install into a temporary prefix, then moved to
    another folder (so nothing can lean on the prefix it was installed to). Returns the
    prefix."""
    first = tmp_path_factory.mktemp("prefix-installed")
    r = subprocess.run(["cmake", "--install", BUILD, "--prefix", str(first)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    moved = tmp_path_factory.mktemp("prefix-moved") / "usr"
    os.rename(first, moved)
    return moved


def clean_env(**extra):
    """The environment without any RENEWLAB_* variable (an installed tree needs none)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENEWLAB_")}
    env.update(extra)
    return env


def trace_entries(path):
    """The entries of a mock-idp --trace-out file: each start's header line
    ({"format_version": ..., "trace": "mock-idp"}, docs/formats.md) is left out."""
    out = []
    for line in open(path).read().splitlines():
        e = json.loads(line)
        if "seq" not in e:
            assert e == {"format_version": "1.0", "trace": "mock-idp"}, e
            continue
        out.append(e)
    return out
