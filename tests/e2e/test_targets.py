"""The target interface from the outside (docs/targets.md): one --target syntax, page
clients as folders with a manifest, and a new browser client added as a folder only."""
import contextlib
import json
import os
import shutil

from conftest import ROOT
from harness_util import renewlab, run_json, scenario, write_scenario

WEB = os.path.join(ROOT, "harness", "web")


def test_one_syntax_and_its_errors_are_usage_errors():
    for spec, says in (("page", "page:DIR"), ("exec:", "exec:COMMAND"), ("core:x", "no argument"),
                       ("exec+faketime", "exec+faketime:COMMAND"),
                       ("bogus", "core, exec:COMMAND, exec+faketime:COMMAND, page:DIR, iframe, oidc-client-ts")):
        r = renewlab("run", "--target", spec)
        assert r.returncode == 2 and says in r.stderr, (spec, r.stderr)


def client_folder(tmp_path, manifest, name="mine"):
    d = tmp_path / name
    d.mkdir()
    (d / "manifest.json").write_text(manifest)
    shutil.copy(os.path.join(WEB, "clients", "iframe", "client.js"), d / "client.js")
    return d


def test_a_bad_manifest_is_a_usage_error_naming_the_file_and_line(tmp_path):
    d = client_folder(tmp_path, '{\n  "name": "mine",\n  "scripts": [client.js]\n}\n')
    r = renewlab("run", "--target", f"page:{d}")
    assert r.returncode == 2 and "manifest.json:3:" in r.stderr, r.stderr
    for body, says in (('{"name": "m", "scripts": ["client.js"], "capabilities": ["teleport"]}',
                        "/capabilities/0: unknown capability"),
                       ('{"name": "m", "scripts": ["../x.js"], "capabilities": []}', "/scripts/0"),
                       ('{"name": "m", "capabilities": []}', "/scripts")):
        (d / "manifest.json").write_text(body)
        r = renewlab("run", "--target", f"page:{d}")
        assert r.returncode == 2 and says in r.stderr, (body, r.stderr)


def test_page_dir_runs_a_client_folder_as_its_name(tmp_path):
    path = write_scenario(tmp_path, scenario("sr_state_mismatch"))
    r, rep = run_json(tmp_path, "--target", f"page:{WEB}/clients/iframe", path)
    assert r.returncode == 0, r.stdout + r.stderr
    run = rep["runs"][0]
    assert run["verdict"] == "pass" and run["clock"] == "browser-virtual", run.get("reason")


def web_with_client(tmp_path, name):
    """A copy of the web folder with one more client, a copy of iframe named @name."""
    web = tmp_path / "web"
    shutil.copytree(WEB, web, ignore=shutil.ignore_patterns("node_modules"))
    os.symlink(os.path.join(WEB, "node_modules"), web / "node_modules")
    d = web / "clients" / name
    shutil.copytree(web / "clients" / "iframe", d)
    m = json.loads((d / "manifest.json").read_text())
    (d / "manifest.json").write_text(json.dumps({**m, "name": name}))
    return web, d


@contextlib.contextmanager
def web_dir(web):
    before = os.environ.get("RENEWLAB_WEB_DIR")
    os.environ["RENEWLAB_WEB_DIR"] = str(web)
    try:
        yield
    finally:
        if before is None:
            del os.environ["RENEWLAB_WEB_DIR"]
        else:
            os.environ["RENEWLAB_WEB_DIR"] = before


def test_a_new_browser_client_is_a_folder_only(tmp_path):
    """A copy of the web folder with one more client in it: no C change, no registry line."""
    web, _ = web_with_client(tmp_path, "my-client")
    scn = scenario("sr_state_mismatch")
    scn["targets"] = ["my-client"]
    path = write_scenario(tmp_path, scn)
    with web_dir(web):
        r, rep = run_json(tmp_path, "--target", "my-client", path)
        listed = renewlab("run", "--target", "nope").stderr
    assert "my-client" in listed
    assert r.returncode == 0, r.stdout + r.stderr
    run = rep["runs"][0]
    assert run["target"] == "my-client" and run["verdict"] == "pass", run.get("reason")


def test_a_client_folder_may_hold_its_own_pages(tmp_path):
    """A folder's silent.html (or app.html) is served instead of the shared one: the
    client's callback page is its own (oidc-client-ts answers with the library's)."""
    web, d = web_with_client(tmp_path, "own-pages")
    shared = (web / "silent.html").read_text()
    (d / "silent.html").write_text(shared.replace(
        "if (!window.renewlabSilent()) return;",
        "if (!window.renewlabSilent()) return;\n  fetch('/event', {method: 'POST', body: "
        "JSON.stringify({event: 'own_silent_page'})});"))
    scn = scenario("sr_success")
    scn["targets"] = ["own-pages", "iframe"]
    path = write_scenario(tmp_path, scn)
    with web_dir(web):
        r, rep = run_json(tmp_path, "--target", "own-pages", "--target", "iframe", path)
    assert r.returncode == 0, r.stdout + r.stderr
    own = {run["target"]: [e for e in run["events"] if e["event"] == "own_silent_page"]
           for run in rep["runs"]}
    assert len(own["own-pages"]) >= 1 and own["iframe"] == [], own
