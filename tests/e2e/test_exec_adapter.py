"""The exec target: a client under test as a child process speaking docs/exec-protocol.md.
The reference adapter (renew_core behind the protocol) must pass the core catalogue; the
harness must grade an adapter like any target, and refuse one that breaks the protocol."""
import http.server
import json
import os
import shlex
import threading

from harness_util import BUILD, run_json

ADAPTER = os.path.join(BUILD, "bin", "renew-adapter")
MULTI_TAB = {"rt_reuse_multi_tab", "rp_logout_other_tabs"}


def exec_target(cmd):
    return "exec:" + cmd


def test_the_reference_adapter_passes_the_core_catalogue(tmp_path):
    r, report = run_json(tmp_path, "--target", exec_target(ADAPTER), "--jobs", "2")
    assert report, r.stderr
    runs = {run["scenario"]: run for run in report["runs"]}
    skipped = {k for k, v in runs.items() if v["verdict"] == "skip"}
    assert skipped == MULTI_TAB
    assert all("several client instances" in runs[k]["reason"] for k in skipped)
    bad = {k: (v["verdict"], v.get("reason")) for k, v in runs.items()
           if v["verdict"] not in ("pass", "skip")}
    assert not bad and len(runs) >= 60 and r.returncode == 0, bad


def test_an_adapter_is_judged_by_what_it_reports(tmp_path):
    # the same client, its "renewed" events filtered out: the expectations must fail
    cmd = f"{shlex.quote(ADAPTER)} | grep --line-buffered -v '\"renewed\"'"
    r, report = run_json(tmp_path, "--target", exec_target(cmd), "--filter", "rt_rotating_happy",
                         "--fail-on", "policy")  # "2 to 4 renewals" is policy
    run = report["runs"][0]
    assert r.returncode == 1 and run["verdict"] == "fail"
    assert [c["name"] for c in run["checks"] if not c["passed"]] == ["renewed"]
    # the IdP saw the renewals all the same: the trace checks still pass
    assert run["figures"]["renewals"] >= 2


def hello(caps):
    return json.dumps({"type": "hello", "protocol": 1, "name": "fake", "capabilities": caps})


def script_adapter(tmp_path, lines, then="cat >/dev/null"):
    """An adapter that writes fixed lines, then does `then` (a shell command)."""
    path = tmp_path / "adapter.sh"
    body = "".join(f"printf '%s\\n' {shlex.quote(l)}\n" for l in lines)
    path.write_text("#!/bin/sh\nread first\n" + body + then + "\n")
    path.chmod(0o755)
    return str(path)


def test_a_missing_capability_skips_with_the_reason(tmp_path):
    idle = json.dumps({"type": "idle", "wake_at": None})
    adapter = script_adapter(tmp_path, [hello(["refresh", "virtual_clock"]), idle])
    r, report = run_json(tmp_path, "--target", exec_target(adapter), "--filter", "sr_success")
    run = report["runs"][0]
    assert run["verdict"] == "skip" and run["reason"] == "needs capability silent"
    assert r.returncode == 0


def error_of(tmp_path, adapter):
    r, report = run_json(tmp_path, "--target", exec_target(adapter), "--filter", "rt_rotating_happy")
    run = report["runs"][0]
    assert r.returncode == 3 and run["verdict"] == "error", r.stdout
    return run["reason"]


def test_a_line_that_is_not_json_is_an_error_naming_the_line(tmp_path):
    assert "line 1 of its output: not JSON" in error_of(tmp_path, script_adapter(tmp_path, ["hello there"]))


def test_a_mistyped_field_is_an_error_naming_it(tmp_path):
    idle = json.dumps({"type": "idle", "wake_at": "soon"})
    reason = error_of(tmp_path, script_adapter(tmp_path, [hello(["refresh", "virtual_clock"]), idle]))
    assert "line 2 of its output: /wake_at" in reason


def test_an_adapter_that_exits_is_an_error_with_its_last_words(tmp_path):
    adapter = script_adapter(tmp_path, [], then="echo 'cannot reach my config' >&2; exit 4")
    reason = error_of(tmp_path, adapter)
    assert "exited" in reason and "cannot reach my config" in reason


def test_a_crashed_adapter_shows_its_last_twenty_lines_of_stderr(tmp_path):
    """Node ends a crash with its version: the cause is further up."""
    crash = ("for i in $(seq 1 24); do echo \"at frame $i\" >&2; done; "
             "echo 'TypeError: digest is not a function' >&2; echo 'Node.js v20.20.2' >&2; exit 1")
    junit = tmp_path / "j.xml"
    r, report = run_json(tmp_path, "--target", exec_target(script_adapter(tmp_path, [], then=crash)),
                         "--filter", "rt_rotating_happy", "--junit", str(junit))
    run = report["runs"][0]
    assert run["verdict"] == "error" and "Node.js v20.20.2" in run["reason"]
    assert run["stderr"][-2:] == ["TypeError: digest is not a function", "Node.js v20.20.2"]
    assert len(run["stderr"]) == 20 and run["stderr"][0] == "at frame 7"
    assert "    | TypeError: digest is not a function" in r.stdout
    assert "<system-err>" in junit.read_text() and "at frame 7" in junit.read_text()


def test_an_adapter_that_never_answers_is_an_error(tmp_path):
    reason = error_of(tmp_path, script_adapter(tmp_path, [], then="sleep 30"))
    assert "no \"hello\"" in reason


PY_ADAPTER = os.path.join(os.path.dirname(__file__), "..", "..", "harness", "adapters", "py_adapter.py")


def test_the_python_adapter_passes_every_refresh_token_scenario(tmp_path):
    """py-adapter (standard library, python3-jwt, python3-cryptography) declares refresh
    but not silent: the scenarios that need silent renew or several tabs are skipped with
    the reason, every other core scenario must pass."""
    import sys
    from harness_util import catalogue
    needs_silent = {s["id"] for _, s in catalogue() if "core" in s["targets"] and
                    "silent" in s.get("client", {}).get("methods", [])}
    r, report = run_json(tmp_path, "--target", exec_target(f"{sys.executable} {PY_ADAPTER}"),
                         "--jobs", "2")
    runs = {run["scenario"]: run for run in report["runs"]}
    skipped = {k: v["reason"] for k, v in runs.items() if v["verdict"] == "skip"}
    assert set(skipped) == needs_silent | MULTI_TAB
    assert all(skipped[k] == "needs capability silent" for k in needs_silent - MULTI_TAB)
    bad = {k: (v["verdict"], v.get("reason")) for k, v in runs.items()
           if v["verdict"] not in ("pass", "skip")}
    assert not bad and len(runs) - len(skipped) >= 50 and r.returncode == 0, bad


def test_a_real_time_adapter_runs_the_short_scenarios_on_the_wall_clock(tmp_path):
    """py-adapter --real-time reads the wall clock and makes its own HTTP requests: the
    harness runs the scenarios that fit in 30 s in real time and skips the others."""
    import sys
    short = ["rt_rotating_happy", "rt_reuse_same_tab", "rt_invalid_grant_expired",
             "revoke_on_signout"]
    paths = [os.path.join(os.path.dirname(__file__), "..", "..", "scenarios", s + ".json")
             for s in short + ["rt_timeout"]]
    r, report = run_json(tmp_path, "--target",
                         exec_target(f"{sys.executable} {PY_ADAPTER} --real-time"), "--jobs", "4",
                         *paths)
    runs = {run["scenario"]: run for run in report["runs"]}
    for s in short:
        assert runs[s]["verdict"] == "pass" and runs[s]["clock"] == "wall", (s, runs[s].get("reason"))
        # the adapter's own requests reached the IdP: the trace has them
        assert any(e["endpoint"] == "token" for e in runs[s]["trace"])
    assert runs["rt_timeout"]["verdict"] == "skip"
    assert "at most 30 s" in runs["rt_timeout"]["reason"]
    assert r.returncode == 0


def test_an_http_line_carries_any_header_and_its_answer_every_header(tmp_path):
    """openid-client sends accept and user-agent, DPoP needs dpop, and its nonce comes back as
    an answer header: requests carry any header (the transport's own and hop-by-hop ones
    left out, docs/exec-protocol.md) and answers every header. The far end records what
    arrived."""
    seen = {}

    class Capture(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.update({k.lower(): v for k, v in self.headers.items()})
            self.send_response(200)
            self.send_header("DPoP-Nonce", "n-1")
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        line = json.dumps({"type": "http", "id": 1, "method": "GET",
                           "url": f"http://127.0.0.1:{server.server_port}/resource",
                           "headers": {"accept": "application/json, application/jwt",
                                       "user-agent": "oauth4webapi/v3", "dpop": "eyJ.proof",
                                       "connection": "upgrade", "host": "elsewhere"}})
        then = "read answer; echo \"$answer\" >&2; exit 1"  # the http_response, then gone
        adapter = script_adapter(tmp_path, [hello(["refresh", "virtual_clock"]), line], then=then)
        r, report = run_json(tmp_path, "--target", exec_target(adapter), "--filter", "rt_rotating_happy")
    finally:
        server.shutdown()
    assert seen["accept"] == "application/json, application/jwt" and seen["dpop"] == "eyJ.proof"
    assert seen["user-agent"] == "oauth4webapi/v3"
    assert seen["connection"] != "upgrade" and seen["host"] == f"127.0.0.1:{server.server_port}"
    assert "stderr" in report["runs"][0], report["runs"][0].get("reason")
    answer = json.loads(report["runs"][0]["stderr"][-1])
    assert answer["status"] == 200 and answer["headers"]["dpop-nonce"] == "n-1", answer


def test_a_header_name_must_be_lower_case(tmp_path):
    line = json.dumps({"type": "http", "id": 1, "method": "GET", "url": "http://127.0.0.1:1/",
                       "headers": {"User-Agent": "x"}})
    reason = error_of(tmp_path, script_adapter(tmp_path, [hello(["refresh", "virtual_clock"]), line]))
    assert "/headers/User-Agent: a header name in lower case" in reason


def test_a_stall_is_reported_at_once_naming_the_command(tmp_path):
    """An adapter idle with nothing to wake it while the login is unanswered can never
    finish: said at once, not after 8 virtual days."""
    idle = json.dumps({"type": "idle", "wake_at": None})
    then = f"read cmd; printf '%s\\n' {shlex.quote(idle)}; cat >/dev/null"
    reason = error_of(tmp_path, script_adapter(tmp_path, [hello(["refresh", "virtual_clock"]), idle], then=then))
    assert 'stalled at virtual second 0.000 with "login" (seq 1) unanswered' in reason, reason
    assert "nothing to wake it" in reason and "8 virtual days" not in reason


def test_output_after_idle_is_named_as_an_early_idle(tmp_path):
    """An async runtime's shortcut: idle goes out, then the work it was waiting for (a PKCE
    digest) ends and the request follows. The error says so."""
    idle = json.dumps({"type": "idle", "wake_at": None})
    late = json.dumps({"type": "http", "id": 1, "method": "GET", "url": "http://127.0.0.1:1/"})
    then = f"read cmd; printf '%s\\n%s\\n' {shlex.quote(idle)} {shlex.quote(late)}; cat >/dev/null"
    reason = error_of(tmp_path, script_adapter(tmp_path, [hello(["refresh", "virtual_clock"]), idle], then=then))
    assert 'it wrote "http"' in reason and 'after its "idle"' in reason, reason
