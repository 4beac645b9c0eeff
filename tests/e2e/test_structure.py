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


def local_includes(path):
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith('#include "'):
                yield line.split('"')[1]


def harness_files(folder):
    base = os.path.join(ROOT, "harness", folder)
    for dirpath, _, names in os.walk(base):
        for n in names:
            if n.endswith((".c", ".h")):
                yield os.path.join(dirpath, n)


def headers_of(folder):
    return {os.path.basename(p) for p in harness_files(folder) if p.endswith(".h")}


PUBLIC = {"harness.h", "mock_idp.h", "renew_core.h", "rp_report.h"}


def is_public(name):
    return name in PUBLIC or name.startswith(("cm_", "rp_"))


def test_the_runner_meets_targets_only_at_target_h():
    """harness/run includes target.h of the targets, nothing else of theirs."""
    targets = headers_of("targets") - {"target.h"}
    bad = [f"{os.path.relpath(p, ROOT)}: {h}" for p in harness_files("run")
           for h in local_includes(p) if h in targets]
    assert bad == [], "\n".join(bad)
    assert any("target.h" in local_includes(p) for p in harness_files("run"))


def test_targets_include_nothing_of_the_runner():
    run = headers_of("run")
    bad = [f"{os.path.relpath(p, ROOT)}: {h}" for p in harness_files("targets")
           for h in local_includes(p) if h in run]
    assert bad == [], "\n".join(bad)


def test_the_runner_has_no_branch_on_the_kind_of_target():
    """steps.c and its neighbours call the interface: no target's name or symbols."""
    words = ("hr_target_core", "hr_target_exec", "hr_target_page", '"exec', '"iframe',
             '"oidc-client-ts"', '"page', "hr_page", "hr_exec", "hr_browser", "rc_client_")
    bad = []
    for p in harness_files("run"):
        if os.path.basename(p) in ("observe.c", "judge.c", "explain.c", "scenario.c"):
            continue  # they read traces and scenario files, where "core" is data
        text = open(p).read()
        bad += [f"{os.path.relpath(p, ROOT)}: {w}" for w in words if w in text]
    assert bad == [], "\n".join(bad)


def test_mock_idp_names_tell_public_from_internal():
    """idp_ functions are the public API (include/mock_idp.h); what one file of
    mock_idp/src offers the others is Idp_ (as curl's Curl_)."""
    import re
    public = set(re.findall(r"\b(idp_\w+)\s*\(", open(os.path.join(
        ROOT, "mock_idp", "include", "mock_idp.h")).read()))
    src = os.path.join(ROOT, "mock_idp", "src")
    bad = []
    for name in sorted(os.listdir(src)):
        if not name.endswith((".c", ".h")):
            continue
        text = open(os.path.join(src, name)).read()
        # definitions and declarations at the start of a line: "type idp_x(" or "type *idp_x("
        for m in re.finditer(r"^[A-Za-z_][\w \t\*]*?\b(idp_\w+)\s*\(", text, re.M):
            if m.group(1) not in public:
                bad.append(f"{name}: {m.group(1)}")
    assert bad == [], "\n".join(bad)
