"""The JavaScript helper for exec adapters (harness/adapters/js) and the third reference
adapter built on it, openid-client 6 (harness/adapters/openid-client): the real npm
packages, pinned, run by Node against the catalogue."""
import json
import os
import re
import shutil

from conftest import ROOT
from harness_util import SCENARIOS, catalogue, renewlab, run_json

JS = os.path.join(ROOT, "harness", "adapters", "js", "renewlab-exec.mjs")
OC_DIR = os.path.join(ROOT, "harness", "adapters", "openid-client")
OC = "exec:node " + os.path.join(OC_DIR, "adapter.mjs")
MULTI_TAB = {"rt_reuse_multi_tab", "rp_logout_other_tabs"}


def installed(pkg):
    return json.load(open(os.path.join(OC_DIR, "node_modules", pkg, "package.json")))["version"]


def test_the_lockfile_pins_openid_client_and_oauth4webapi():
    lock = json.load(open(os.path.join(OC_DIR, "package-lock.json")))["packages"]
    pinned = {k.split("node_modules/")[-1]: v["version"] for k, v in lock.items() if k}
    assert pinned["openid-client"] == installed("openid-client") == "6.9.0"
    assert pinned["oauth4webapi"] == installed("oauth4webapi")


def test_the_openid_client_adapter_runs_the_core_catalogue_as_recorded(tmp_path):
    """Every non-pass is a known finding of the store, failing exactly its expectations;
    the scenarios that need silent renew or several tabs are skipped; the exit is 0."""
    store = json.load(open(os.path.join(ROOT, "harness", "findings", "openid-client.json")))
    recorded = {f["scenario"]: f for f in store["records"]}
    assert {f["version"] for f in recorded.values()} == {installed("openid-client")}
    r, report = run_json(tmp_path, "--target", OC, "--jobs", "2")
    assert report, r.stderr
    runs = {run["scenario"]: run for run in report["runs"]}
    needs_silent = {s["id"] for _, s in catalogue() if "core" in s["targets"] and
                    "silent" in s.get("client", {}).get("methods", [])}
    skipped = {k for k, v in runs.items() if v["verdict"] == "skip"}
    assert skipped == needs_silent | MULTI_TAB
    for name, run in runs.items():
        if name in skipped:
            continue
        failed = sorted(f'{c["kind"]} {c["name"]}' for c in run["checks"] if not c["passed"])
        assert run["client"] == {"name": "openid-client", "version": "6.9.0"}
        if name in recorded:
            assert run["verdict"] == "fail", (name, "now passes: update harness/findings")
            assert failed == sorted(recorded[name]["failed"]), (name, failed)
            assert run["expected_finding"] is True and run["blocking"] is False
            if recorded[name]["kind"] == "by design":  # what the spec leaves to the client
                assert run["severity"] == "policy", name
        else:
            assert run["verdict"] == "pass", (name, run.get("reason"), failed, run.get("stderr"))
    assert report["summary"]["known"] == len(recorded) and r.returncode == 0, r.stdout[-2000:]


def test_every_finding_cites_the_installed_source():
    """Each record names where, in the published build of the pinned version, the
    behaviour is; the cited function or text is really there."""
    store = json.load(open(os.path.join(ROOT, "harness", "findings", "openid-client.json")))
    for rec in store["records"]:
        assert rec["source"], rec["scenario"]
        for src in rec["source"]:
            m = re.match(r"node_modules/(\S+) at (\S+): (.*)", src)
            assert m, src
            path, version, what = m.groups()
            pkg = path.split("/build/")[0]
            assert installed(pkg) == version, src
            text = open(os.path.join(OC_DIR, "node_modules", path)).read()
            if what.startswith("no occurrence of "):
                assert what.split("no occurrence of ")[1] not in text, src
            else:
                name = re.match(r"(\w+)", what).group(1)
                assert re.search(rf"function {name}\b", text), src


def doc_example():
    text = open(os.path.join(ROOT, "docs", "exec-protocol.md")).read()
    section = text.split("## JavaScript and other async runtimes", 1)[1]
    return section.split("```js\n", 1)[1].split("```", 1)[0]


def test_the_documented_example_adapter_runs(tmp_path):
    """The doc's example, word for word, next to the helper and the pinned packages."""
    code = doc_example()
    assert len(code.strip().splitlines()) <= 20
    shutil.copy(JS, tmp_path / "renewlab-exec.mjs")
    (tmp_path / "example.mjs").write_text(code)
    (tmp_path / "node_modules").symlink_to(os.path.join(OC_DIR, "node_modules"))
    r, report = run_json(tmp_path, "--target", f"exec:node {tmp_path}/example.mjs",
                         f"{SCENARIOS}/rt_rotating_happy.json")
    assert r.returncode == 0, (r.stdout, report and report["runs"][0].get("stderr"))


def helper_adapter(tmp_path, body):
    """An adapter of a few lines on the helper."""
    shutil.copy(JS, tmp_path / "renewlab-exec.mjs")
    path = tmp_path / "a.mjs"
    path.write_text("import { createAdapter } from './renewlab-exec.mjs';\n" + body)
    return f"exec:node {path}"


CLOCK_PROBE = """
const h = createAdapter({ name: 'probe', version: '0', capabilities: ['refresh', 'virtual_clock'],
  handlers: { login: async () => {
    const t0 = Date.now(), d = new Date();
    h.event('logged_in', { detail: `${t0} ${d.getTime()} ${typeof Date()}` });
    await new Promise((r) => setTimeout(r, 3600 * 1000)); // an hour of virtual time
    h.event('renewed', { detail: String(Date.now() - t0) });
    let n = 0; const i = setInterval(() => { if (++n === 3) { clearInterval(i); h.event('renewed', { detail: String(Date.now() - t0) }); } }, 1000);
    // WebCrypto work: neither a fetch nor a timer, and the idle waits for it
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode('x'.repeat(1 << 20)));
    h.event('renewed', { detail: `digest ${digest.byteLength}` });
    return 'RC_OK';
  } } });
"""


def test_the_helper_puts_the_whole_process_on_virtual_time(tmp_path):
    s = json.load(open(f"{SCENARIOS}/rt_rotating_happy.json"))
    s["steps"] = [{"do": "login"}, {"do": "advance", "seconds": 3700}]
    s["targets"] = ["core"]
    s["expect"] = {"severity": "should", "events": {"renewed": 3}}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(s))
    r, report = run_json(tmp_path, "--target", helper_adapter(tmp_path, CLOCK_PROBE), str(path))
    run = report["runs"][0]
    assert run["verdict"] == "pass", (r.stdout, run.get("stderr"))
    ev = {e["event"]: [] for e in run["events"]}
    for e in run["events"]:
        ev[e["event"]].append(e)
    start = s.get("start", 1800000000) * 1000
    assert ev["logged_in"][0]["detail"] == f"{start} {start} string"
    # the digest ends at the instant it began (before the idle), the interval 3 s later
    assert [e["detail"] for e in ev["renewed"]] == ["3600000", "digest 32", "3603000"]
    assert [e["t"] for e in ev["renewed"]] == [3600, 3600, 3603]


def test_a_handler_that_throws_is_a_crash_with_its_stack(tmp_path):
    body = """createAdapter({ name: 'x', version: '0', capabilities: ['refresh', 'virtual_clock'],
  handlers: { hello() { setTimeout(() => { throw new Error('boom in a timer'); }, 0); } } });"""
    r, report = run_json(tmp_path, "--target", helper_adapter(tmp_path, body),
                         f"{SCENARIOS}/rt_rotating_happy.json")
    run = report["runs"][0]
    assert r.returncode == 3 and run["verdict"] == "error"
    assert any("boom in a timer" in l for l in run["stderr"]), run


def test_an_unknown_line_type_is_a_crash_not_a_hang(tmp_path):
    body = """createAdapter({ name: 'x', version: '0', capabilities: ['refresh', 'virtual_clock'],
  handlers: {} });"""
    r, report = run_json(tmp_path, "--target", helper_adapter(tmp_path, body),
                         f"{SCENARIOS}/rt_rotating_happy.json")
    run = report["runs"][0]
    assert run["verdict"] == "error" and any('no handler for "login"' in l for l in run["stderr"])
