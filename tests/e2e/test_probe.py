"""renewlab probe against the real mock-idp, one preset at a time: the matrix must report
each preset's behaviour. (oidc-provider, an IdP nobody here wrote: test_probe_oidc_provider.py)"""
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from harness_util import RENEWLAB

LOGIN = os.path.join(os.path.dirname(__file__), "peers", "mock_login.py")


def documented_rows():
    """The rows of docs/probe.md's table, in order: the matrix always has exactly these."""
    names, inside = [], False
    for line in open(os.path.join(ROOT, "docs", "probe.md")):
        if line.startswith("## "):
            inside = line.strip() == "## The matrix"
        elif inside and line.startswith("| `"):
            names.append(line.split("`")[1])
    return names


DOCUMENTED_ROWS = documented_rows()


def probe(idp, tmp_path, *extra):
    out = tmp_path / "matrix.json"
    r = subprocess.run([RENEWLAB, "probe", "--issuer", idp.issuer, "--client-id", "demo-spa",
                        "--login-command", f"{sys.executable} {LOGIN}",
                        "--redirect-uri", "http://127.0.0.1:8080/callback", "--json", str(out),
                        *extra], capture_output=True, text=True, timeout=120)
    assert out.exists(), r.stderr
    rows = {row["capability"]: row for row in json.loads(out.read_text())["capabilities"]}
    return r, {k: v["value"] for k, v in rows.items()}, rows


@pytest.mark.parametrize("preset,expect", [
    ("strict-rotation", {"rotation": "yes", "reuse_detection": "yes", "grace_window": "no",
                         "family_revocation": "yes"}),
    ("non-rotating", {"rotation": "no", "reuse_detection": "not applicable"}),
    ("offline-access-required", {"offline_access_required": "yes", "refresh": "works"}),
    ("dex-no-prompt-none", {"prompt_none_without_session": "ignored (answers a page)",
                            "prompt_none_with_session": "ignored (answers a page)"}),
    ("no-refresh-tokens", {"refresh": "no refresh tokens", "offline_access_required": "not applicable",
                           "prompt_none_with_session": "supported (code)"}),
    ("short-idle-lifetime", {"refresh_lifetime": "idle (sliding)", "refresh": "works"}),
    ("rotation-with-grace", {"rotation": "yes", "reuse_detection": "not seen",
                             "grace_window": "not measured"}),
])
def test_the_matrix_reports_each_preset(start_idp, tmp_path, preset, expect):
    idp = start_idp("--preset", preset)
    r, values, _ = probe(idp, tmp_path, "--session-cookie", idp.login())
    for k, v in expect.items():
        assert values[k] == v, (k, values)
    assert values["discovery"] == "consistent" and values["jwks"] == "usable"
    # the dex-style IdP is a problem for silent renew: the exit status says so
    assert r.returncode == (1 if preset == "dex-no-prompt-none" else 0), r.stdout


def test_the_default_demo_client(idp, tmp_path):
    r, values, rows = probe(idp, tmp_path, "--session-cookie", idp.login())
    assert values["refresh"] == "works" and values["rotation"] == "yes"
    assert values["offline_access_required"] == "no"
    assert values["id_token_on_refresh"] == "yes, conforms"
    assert values["revocation"] == "works" and values["revocation_unknown_token"] == "200"
    assert values["revocation_cascade"] == "yes"
    assert values["refresh_lifetime"] == "absolute"  # one day from the login, counting down
    assert values["prompt_none_with_session"] == "supported (code)"
    assert values["prompt_none_without_session"] == "supported (error)"
    assert "login_required" in rows["prompt_none_without_session"]["evidence"]
    assert r.returncode == 0, r.stdout


def test_a_grace_window_is_told_apart_from_missing_reuse_detection(start_idp, tmp_path):
    idp = start_idp("--preset", "rotation-with-grace")  # 10 s of grace
    _, values, rows = probe(idp, tmp_path, "--grace-wait", "11")
    assert values["grace_window"] == "yes" and values["reuse_detection"] == "yes", rows


def test_an_id_token_violating_12_2_on_refresh_is_a_problem(idp, tmp_path):
    idp.control("POST", "faults", {"match": {"endpoint": "token", "grant_type": "refresh_token"},
                                   "action": {"type": "id_token", "fault": "other_sub"}})
    r, values, rows = probe(idp, tmp_path)
    assert values["id_token_on_refresh"] == "yes, refused by the core"
    assert "RC_EJWT_SUB" in rows["id_token_on_refresh"]["evidence"] and r.returncode == 1


def test_one_given_refresh_token_is_used_once_and_the_rest_says_why(idp, tmp_path):
    tokens = idp.code_flow()
    out = tmp_path / "m.json"
    r = subprocess.run([RENEWLAB, "probe", "--issuer", idp.issuer, "--client-id", "demo-spa",
                        "--refresh-token", tokens["refresh_token"], "--json", str(out),
                        "--html", str(tmp_path / "m.html")], capture_output=True, text=True)
    rows = {row["capability"]: row for row in json.loads(out.read_text())["capabilities"]}
    assert rows["refresh"]["value"] == "works"
    assert rows["revocation"]["value"] == "not measured"
    assert "--login-command" in rows["revocation"]["evidence"]
    assert 'data-capability="rotation"' in (tmp_path / "m.html").read_text()


def test_an_unreachable_issuer_is_an_infrastructure_error():
    r = subprocess.run([RENEWLAB, "probe", "--issuer", "http://127.0.0.1:9", "--client-id", "x"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 3 and "discovery" in r.stderr


@pytest.mark.parametrize("args", [[], ["--issuer", "http://x"], ["--client-id", "x"],
                                  ["--issuer", "http://x/", "--client-id", "x"]])
def test_probe_usage_errors_exit_2(args):
    assert subprocess.run([RENEWLAB, "probe", *args], capture_output=True).returncode == 2


def test_help_prints_the_usage_and_exits_0():
    r = subprocess.run([RENEWLAB, "probe", "--help"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and r.stdout.startswith("usage: renewlab probe"), r.stderr


def probe_failing_login(idp, tmp_path, command, *extra):
    out = tmp_path / "m.json"
    r = subprocess.run([RENEWLAB, "probe", "--issuer", idp.issuer, "--client-id", "demo-spa",
                        "--login-command", command, "--json", str(out), *extra],
                       capture_output=True, text=True, timeout=60)
    rows = {row["capability"]: row for row in json.loads(out.read_text())["capabilities"]}
    return r, rows


@pytest.mark.parametrize("command,says", [
    ("echo ran >> {log}; exit 3", "the login command `echo ran >> {log}; exit 3` exited with 3"),
    ("echo ran >> {log}; echo not-json", "printed no token response"),
    ("echo ran >> {log}; kill -9 $$", "was killed by signal 9"),
])
def test_a_failing_login_command_leaves_rows_unmeasured_and_exits_3(idp, tmp_path, command, says):
    """Exit 3 and a message naming the command and how it failed (an exit code, never a
    wait status); every row is still there, those that needed a login "not measured" with
    the same words; the command is run once, not once per probe."""
    log = tmp_path / "runs"
    command, says = command.format(log=log), says.format(log=log)
    r, rows = probe_failing_login(idp, tmp_path, command)
    assert r.returncode == 3 and says in r.stderr and "768" not in r.stderr, r.stderr
    assert "issuer unreachable" not in r.stderr
    for name in ("refresh", "offline_access_required", "revocation", "refresh_lifetime",
                 "rotation", "family_revocation"):
        assert rows[name]["value"] == "not measured" and says in rows[name]["evidence"], rows[name]
    assert log.read_text().count("ran") == 1
    assert list(rows) == DOCUMENTED_ROWS


def _pgrp(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[2])
    except (OSError, ValueError, IndexError):
        return None  # gone while listed


def test_a_hung_login_command_is_killed_at_the_login_timeout(idp, tmp_path):
    """The command and what it started are killed; the probe ends (a hang fails the test
    through the subprocess timeout) and the rows say why."""
    out, group = tmp_path / "m.json", tmp_path / "pgid"
    cmd = f"echo $$ > {group}; sleep 300 | cat"
    r = subprocess.run([RENEWLAB, "probe", "--issuer", idp.issuer, "--client-id", "demo-spa",
                        "--login-command", cmd, "--login-timeout", "0.3",
                        "--json", str(out)], capture_output=True, text=True, timeout=60)
    said = " ".join(row["evidence"] for row in json.loads(out.read_text())["capabilities"])
    assert "did not finish within 0.3 s" in said, said
    assert r.returncode == 3 and "sleep 300 | cat" in r.stderr, r.stderr
    # the moment the probe is back, no member of the command's process group exists: none
    # left running, none dying, none a zombie
    pgid = int(group.read_text())
    left = [pid for pid in os.listdir("/proc") if pid.isdigit() and _pgrp(pid) == pgid]
    assert left == [], f"members of the command's group outlived the probe: {left}"
    for bad in ("0", "x", "1e9"):
        r = subprocess.run([RENEWLAB, "probe", "--issuer", idp.issuer, "--client-id", "demo-spa",
                            "--login-command", "true", "--login-timeout", bad],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 2 and "--login-timeout" in r.stderr, (bad, r.stderr)


def test_an_idp_insisting_on_id_token_hint_is_no_problem(idp, tmp_path):
    """With require_id_token_hint_for_prompt_none the probe's prompt=none carries the newest
    ID token it was given; the session comes from the login's session_cookie."""
    assert idp.control("PATCH", "clients/demo-spa",
                       {"require_id_token_hint_for_prompt_none": True}).status == 200
    r, values, rows = probe(idp, tmp_path)
    assert r.returncode == 0 and "PROBLEM" not in r.stdout, r.stdout
    assert values["prompt_none_with_session"] == "supported (code)", rows
    assert "id_token_hint" in rows["prompt_none_with_session"]["evidence"]
    assert list(values) == DOCUMENTED_ROWS
    assert "probe: prompt_none_with_session" in r.stderr  # told as soon as known
