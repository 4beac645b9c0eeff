"""renewlab probe against an IdP nobody here wrote: npm oidc-provider (panva's certified
OpenID provider, pinned in tests/e2e/peers/oidc-provider/package-lock.json), started on
loopback with refresh-token rotation on and off. The matrix must report each correctly."""
import json
import os
import subprocess

import pytest

from harness_util import RENEWLAB

PEER = os.path.join(os.path.dirname(__file__), "peers", "oidc-provider")


@pytest.fixture(params=["on", "off"])
def oidc_provider(request):
    p = subprocess.Popen(["node", os.path.join(PEER, "server.mjs")], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, ROTATION=request.param))
    line = p.stdout.readline()
    if not line.startswith("listening issuer="):
        p.kill()
        raise RuntimeError(f"oidc-provider did not start: {line!r} {p.stderr.read()}")
    yield request.param, line.strip().split("=", 1)[1]
    p.terminate()
    assert p.wait(timeout=10) == 0


def test_the_matrix_is_right_for_oidc_provider(oidc_provider, tmp_path):
    rotation, issuer = oidc_provider
    login = f"node {os.path.join(PEER, 'login.mjs')}"
    out = tmp_path / "m.json"
    # the session for the prompt=none rows comes from the login's session_cookie
    r = subprocess.run([RENEWLAB, "probe", "--issuer", issuer, "--client-id", "probe",
                        "--client-secret", "probe-secret", "--login-command", login,
                        "--redirect-uri", "http://127.0.0.1:8080/callback", "--json", str(out)],
                       capture_output=True, text=True, timeout=180)
    values = {row["capability"]: row["value"] for row in json.loads(out.read_text())["capabilities"]}
    assert r.returncode == 0, r.stdout
    common = {"discovery": "consistent", "jwks": "usable", "refresh": "works",
              "id_token_on_refresh": "yes, conforms", "offline_access_required": "yes",
              "refresh_rejects_unknown_token": "yes",
              "revocation_unknown_token": "200", "revocation": "works",
              "introspection": "works", "revocation_cascade": "yes",
              "prompt_none_without_session": "supported (error)",
              "prompt_none_with_session": "supported (code)",
              "end_session_endpoint": "advertised", "check_session_iframe": "not advertised"}
    if rotation == "on":
        want = dict(common, rotation="yes", reuse_detection="yes", grace_window="no",
                    family_revocation="yes")
    else:
        want = dict(common, rotation="no", reuse_detection="not applicable",
                    grace_window="not applicable", family_revocation="not applicable")
    assert {k: values.get(k) for k in want} == want
