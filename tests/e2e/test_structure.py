"""Module boundaries, read from the build (docs/hardening.md's neighbour, the architecture
issue): the harness and the report writers reach other modules only through their public
headers, so nothing of theirs is compiled with another module's src/ on its include path."""
import json
import os

from harness_util import BUILD
from conftest import ROOT

MODULES = ("common", "mock_idp", "renew_core", "harness", "reports")


def include_dirs(command):
    args = command.split()
    for i, a in enumerate(args):
        if a == "-I" and i + 1 < len(args):
            yield args[i + 1]
        elif a.startswith("-I"):
            yield a[2:]


def test_harness_and_reports_include_no_other_modules_src():
    entries = json.load(open(os.path.join(BUILD, "compile_commands.json")))
    checked, reaches = 0, []
    for e in entries:
        rel = os.path.relpath(e["file"], ROOT)
        module = rel.split(os.sep)[0]
        if module not in ("harness", "reports"):
            continue
        checked += 1
        for d in include_dirs(e.get("command") or " ".join(e.get("arguments", []))):
            parts = os.path.relpath(os.path.join(e["directory"], d), ROOT).split(os.sep)
            if len(parts) >= 2 and parts[0] in MODULES and parts[0] != module and parts[1] == "src":
                reaches.append(f"{rel}: -I{d}")
    assert checked > 20, "the build compiled the harness and the reports"
    assert reaches == [], "\n".join(reaches)
