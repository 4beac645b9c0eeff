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
    clients = ", ".join(sorted(os.listdir(os.path.join(WEB, "clients"))))
    for spec, says in (("page", "page:DIR"), ("exec:", "exec:COMMAND"), ("core:x", "no argument"),
                       ("exec+faketime", "exec+faketime:COMMAND"),
                       ("bogus", "core, exec:COMMAND, exec+faketime:COMMAND, page:DIR, " + clients)):
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


def test_bad_settings_and_library_fields_name_the_field(tmp_path):
    d = client_folder(tmp_path, "{}")
    base = {"name": "m", "scripts": ["client.js"], "capabilities": ["silent"]}
    for extra, says in (({"settings": {"warp": "x"}}, "/settings/warp: not a scenario setting"),
                        ({"settings": {"renew_before": 5}}, "/settings/renew_before: an option"),
                        ({"settings": {"renew_before": {"option": "x", "scale": 2}}},
                         "/settings/renew_before: an option"),
                        ({"settings": {"renew_before": [{"times": 1000}]}},
                         "/settings/renew_before: an option"),
                        ({"library": {"package": "x"}}, "/library"),
                        ({"library": {"package": "../x", "version": "1"}}, "/library/package"),
                        ({"options": []}, "/options")):
        (d / "manifest.json").write_text(json.dumps({**base, **extra}))
        r = renewlab("run", "--target", f"page:{d}")
        assert r.returncode == 2 and "manifest.json" in r.stderr and says in r.stderr, \
            (extra, r.stderr)
    os.remove(d / "manifest.json")
    r = renewlab("run", "--target", f"page:{d}")
    assert r.returncode == 2 and str(d / "manifest.json") in r.stderr, r.stderr


def copy_client(tmp_path, name, edit=None):
    """A copy of a built-in client folder outside the repository, its manifest edited."""
    d = tmp_path / f"my-{name}"
    shutil.copytree(os.path.join(WEB, "clients", name), d)
    m = json.loads((d / "manifest.json").read_text())
    (d / "manifest.json").write_text(json.dumps(edit(m) if edit else m))
    return d


def test_an_adapter_that_never_connects_is_an_infrastructure_error_with_the_page_log(tmp_path):
    path = write_scenario(tmp_path, scenario("sr_success"))
    d = client_folder(tmp_path, json.dumps({"name": "m", "scripts": ["client.js"],
                                            "capabilities": ["silent"]}))
    for js, logged in (("console.log('adapter loaded, never connects');", None),
                       ("throw new Error('the adapter breaks');", "the adapter breaks")):
        (d / "client.js").write_text(js)
        if logged is None:  # the folder's own app page, without the harness link
            (d / "app.html").write_text("<!doctype html><script>console.log('no link here')"
                                        "</script>")
            logged = "no link here"
        r = renewlab("run", "--target", f"page:{d}", path)
        os.path.exists(d / "app.html") and os.remove(d / "app.html")
        assert r.returncode == 3 and "the page logged" in r.stdout and logged in r.stdout, r.stdout


def test_the_manifest_pins_the_library_version(tmp_path):
    d = copy_client(tmp_path, "oidc-client-ts",
                    lambda m: {**m, "library": {**m["library"], "version": "0.0.1"}})
    r = renewlab("run", "--target", f"page:{d}", write_scenario(tmp_path, scenario("sr_success")))
    assert r.returncode == 3 and "pins oidc-client-ts 0.0.1, the installed one is 3.5.0" in r.stdout, \
        r.stdout


def test_a_folders_own_node_modules_come_first(tmp_path):
    """DIR/node_modules/PKG is used before the installed share tree's: here a stand-in
    for the library that only logs, so the page never connects and says so."""
    d = copy_client(tmp_path, "oidc-client-ts")
    pkg = d / "node_modules" / "oidc-client-ts"
    (pkg / "dist" / "browser").mkdir(parents=True)
    (pkg / "package.json").write_text('{"name": "oidc-client-ts", "version": "3.5.0"}')
    (pkg / "dist" / "browser" / "oidc-client-ts.js").write_text(
        "console.log('the folder\\'s own oidc-client-ts');")
    r = renewlab("run", "--target", f"page:{d}", write_scenario(tmp_path, scenario("sr_success")))
    assert r.returncode == 3 and "the folder's own oidc-client-ts" in r.stdout, r.stdout


def test_grade_your_own_configuration(tmp_path):
    """The walkthrough of docs/page-protocol.md: copy oidc-client-ts, change one setting
    (no id_token_hint on silent renewal), run it with page:. Its verdict changes where the
    setting matters (an IdP that insists on the hint) and nowhere else."""
    mine = copy_client(tmp_path, "oidc-client-ts", lambda m: {
        **m, "options": {**m["options"], "includeIdTokenInSilentRenew": False}})
    paths = [os.path.join(ROOT, "scenarios", n + ".json")
             for n in ("sr_id_token_hint_required", "sr_success")]
    verdicts = {}
    for d in (os.path.join(WEB, "clients", "oidc-client-ts"), str(mine)):
        _, rep = run_json(tmp_path, "--target", f"page:{d}", *paths)
        verdicts[d] = {run["scenario"]: run["verdict"] for run in rep["runs"]}
    assert verdicts[str(mine)] == {"sr_id_token_hint_required": "fail", "sr_success": "pass"}
    assert set(verdicts[os.path.join(WEB, "clients", "oidc-client-ts")].values()) == {"pass"}


def test_page_dir_outside_the_repository_runs_the_browser_catalogue(tmp_path):
    d = copy_client(tmp_path, "iframe")
    r, rep = run_json(tmp_path, "--target", f"page:{d}", "--filter", "sr_s*")
    names = {run["scenario"] for run in rep["runs"]}
    assert {"sr_success", "sr_state_mismatch"} <= names, names
    assert r.returncode == 0 and all(run["verdict"] == "pass" for run in rep["runs"]), r.stdout
