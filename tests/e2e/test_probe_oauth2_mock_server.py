"""renewlab probe against a permissive mock: npm oauth2-mock-server 8.2.3 (pinned in
tests/e2e/peers/oauth2-mock-server/package-lock.json), which stores nothing. Its expected
matrix is written from hand checks with curl and its source at that version
(dist/oauth2-server-*.mjs: the refresh_token grant takes any token or none and returns a
new random one; /revoke answers 200 to anything; /introspect says active; /userinfo
accepts any bearer; /authorize returns a code whatever prompt says; bound to 127.0.0.1 it
announces http://localhost:PORT as its issuer; grant_types_supported lists no
refresh_token). The probe must not be fooled: every claim is checked against a
counterfeit."""
import json
import os
import subprocess

import pytest

from harness_util import RENEWLAB

PEER = os.path.join(os.path.dirname(__file__), "peers", "oauth2-mock-server")

EXPECTED = {
    "discovery": "inconsistent",  # grant_types_supported lists no refresh_token
    "revocation_endpoint": "advertised", "introspection_endpoint": "advertised",
    "end_session_endpoint": "advertised", "check_session_iframe": "not advertised",
    "jwks": "usable", "refresh": "works",
    "refresh_rejects_unknown_token": "no",
    "id_token_on_refresh": "yes, conforms",
    "rotation": "meaningless", "reuse_detection": "meaningless", "grace_window": "meaningless",
    "family_revocation": "meaningless",
    "offline_access_required": "no",
    "revocation_unknown_token": "200 to anything", "revocation": "does not work",
    "revocation_cascade": "not measured", "introspection": "meaningless",
    "prompt_none_without_session": "ignored (a code without a session)",
    "prompt_none_with_session": "not measured",  # the mock has no session to hand back
    "refresh_lifetime": "not advertised",
}
PROBLEMS = {"discovery", "refresh_rejects_unknown_token", "revocation_unknown_token",
            "revocation", "introspection", "prompt_none_without_session"}


@pytest.fixture(scope="module")
def mock_server():
    p = subprocess.Popen(["node", os.path.join(PEER, "server.mjs")], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("listening issuer="):
        p.kill()
        raise RuntimeError(f"oauth2-mock-server did not start: {line!r} {p.stderr.read()}")
    yield line.split()[2].split("=")[1]
    p.terminate()
    assert p.wait(timeout=10) == 0


def probe(issuer, tmp_path):
    out = tmp_path / "m.json"
    r = subprocess.run([RENEWLAB, "probe", "--issuer", issuer, "--client-id", "probe",
                        "--client-secret", "any", "--login-command",
                        f"node {os.path.join(PEER, 'login.mjs')}",
                        "--redirect-uri", "http://127.0.0.1:8080/callback", "--json", str(out)],
                       capture_output=True, text=True, timeout=120)
    return r, {row["capability"]: row for row in json.loads(out.read_text())["capabilities"]}


def test_a_mock_that_accepts_any_token_is_reported_so(mock_server, tmp_path):
    r, rows = probe(f"http://localhost:{mock_server}", tmp_path)
    assert {k: v["value"] for k, v in rows.items()} == EXPECTED
    assert {k for k, v in rows.items() if v["ok"] is False} == PROBLEMS
    assert r.returncode == 1
    assert "a garbage refresh token: 200; none at all: 200" in rows["refresh_rejects_unknown_token"]["evidence"]
    assert "an empty request: 200" in rows["revocation_unknown_token"]["evidence"]


def test_an_issuer_announced_under_another_name_shows_both(mock_server, tmp_path):
    r, rows = probe(f"http://127.0.0.1:{mock_server}", tmp_path)
    said = rows["discovery"]["evidence"]
    assert (f'expected "http://127.0.0.1:{mock_server}"' in said
            and f'got "http://localhost:{mock_server}"' in said), said
    assert rows["id_token_on_refresh"]["value"] == "yes, refused by the core"
    assert "RC_EJWT_ISS" in rows["id_token_on_refresh"]["evidence"]
