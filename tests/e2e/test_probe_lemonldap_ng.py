"""renewlab probe against LemonLDAP::NG 2.16 (Debian `lemonldap-ng`), a real IdP from
Debian's archive with the "absent" paths oidc-provider never takes: refresh tokens do not
rotate, and there is no RFC 7009 revocation endpoint. Started on loopback by
peers/lemonldap-ng/server.py (plackup, a private copy of the package's Demo configuration),
stopped by PID; the login command goes through its real login form.

The expected matrix is written from hand checks with curl against the running portal and
from its source at 2.16.1 (/usr/share/perl5/Lemonldap/NG/Portal/Issuer/OpenIDConnect.pm):
- discovery lists no revocation_endpoint nor check_session_iframe; /oauth2/revoke answers
  the portal's HTML page with 200, which the probe must not take for an endpoint;
- a refresh answers no refresh_token (the old one keeps working) and a new ID token with the
  login's iss, sub, aud and auth_time, without nonce;
- `refresh_token=this-is-garbage` and no refresh_token at all: 400 invalid_request;
- a login with scope `openid` gets a refresh token too (an online one, tied to the SSO
  session; `offline_access` gives an offline one);
- introspection (client_secret_basic) says active for a live token, {"active":false} for a
  garbage one; userinfo answers 401 to `Bearer garbage`;
- refresh answers carry no refresh_expires_in;
- prompt=none with the SSO cookie and id_token_hint: a 302 with a code; without the cookie:
  the login form with 200 (the issuer has no login_required path at all). Asked with
  `Accept: application/json` instead of a browser's Accept, the portal answers JSON (200
  with error -2, a redirect it does not make), so the probe must ask as a browser does."""
import json
import os
import subprocess

import pytest

from harness_util import RENEWLAB

PEER = os.path.join(os.path.dirname(__file__), "peers", "lemonldap-ng")
LOGIN = f"/usr/bin/python3 {os.path.join(PEER, 'login.py')}"

EXPECTED = {
    "discovery": "consistent",
    "revocation_endpoint": "not advertised", "introspection_endpoint": "advertised",
    "end_session_endpoint": "advertised", "check_session_iframe": "not advertised",
    "jwks": "usable", "refresh": "works", "refresh_rejects_unknown_token": "yes",
    "id_token_on_refresh": "yes, conforms",
    "rotation": "no", "reuse_detection": "not applicable", "grace_window": "not applicable",
    "family_revocation": "not applicable",
    "offline_access_required": "no",
    "revocation_unknown_token": "not applicable", "revocation": "not applicable",
    "revocation_cascade": "not applicable",
    "introspection": "works",
    "prompt_none_without_session": "ignored (answers a page)",
    "prompt_none_with_session": "supported (code)",
    "refresh_lifetime": "not advertised",
}


@pytest.fixture(scope="module")
def lemonldap():
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(PEER, "server.py")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("listening issuer="):
        p.kill()
        raise RuntimeError(f"lemonldap-ng did not start: {line!r} {p.stderr.read()}")
    yield line.strip().split("=", 1)[1]
    p.terminate()
    assert p.wait(timeout=10) == 0


def probe(issuer, tmp_path, *extra):
    out = tmp_path / "m.json"
    r = subprocess.run([RENEWLAB, "probe", "--issuer", issuer, "--client-id", "probe",
                        "--client-secret", "probesecret", "--login-command", LOGIN,
                        "--redirect-uri", "http://127.0.0.1:8080/callback", "--json", str(out),
                        *extra], capture_output=True, text=True, timeout=120)
    return r, {row["capability"]: row for row in json.loads(out.read_text())["capabilities"]}


def test_the_matrix_is_right_for_lemonldap_ng(lemonldap, tmp_path):
    r, rows = probe(lemonldap, tmp_path)
    assert {k: v["value"] for k, v in rows.items()} == EXPECTED, r.stderr
    # an IdP that answers a silent renewal without a session with its login page leaves a
    # hidden iframe waiting for its timeout: the one problem
    assert {k for k, v in rows.items() if v["ok"] is False} == {"prompt_none_without_session"}
    assert r.returncode == 1
    assert "text/html" in rows["prompt_none_without_session"]["evidence"]
    assert rows["refresh_rejects_unknown_token"]["evidence"] == (
        "a garbage refresh token: 400 invalid_request; none at all: 400 invalid_request")
    assert "no refresh token in the answer" in rows["rotation"]["evidence"]
    assert "code=" in rows["prompt_none_with_session"]["evidence"]


def test_the_session_cookie_can_come_from_the_command_line(lemonldap, tmp_path):
    """--session-cookie instead of the login's session_cookie: the SSO cookie of a login
    made beforehand, through the same form."""
    env = dict(os.environ, RENEWLAB_PROBE_ISSUER=lemonldap, RENEWLAB_PROBE_CLIENT_ID="probe",
               RENEWLAB_PROBE_CLIENT_SECRET="probesecret", RENEWLAB_PROBE_SCOPE="openid")
    login = subprocess.run(LOGIN.split(), env=env, capture_output=True, text=True, timeout=30)
    cookie = json.loads(login.stdout)["session_cookie"]
    assert cookie.startswith("lemonldap=")
    r, rows = probe(lemonldap, tmp_path, "--session-cookie", cookie)
    assert rows["prompt_none_with_session"]["value"] == "supported (code)", r.stderr


def test_a_wrong_password_is_a_failed_login_not_a_verdict(lemonldap, tmp_path):
    out = tmp_path / "m.json"
    r = subprocess.run([RENEWLAB, "probe", "--issuer", lemonldap, "--client-id", "probe",
                        "--client-secret", "probesecret", "--login-command",
                        "RENEWLAB_LLNG_PASSWORD=wrong " + LOGIN, "--redirect-uri",
                        "http://127.0.0.1:8080/callback", "--json", str(out)],
                       capture_output=True, text=True, timeout=120)
    rows = {row["capability"]: row for row in json.loads(out.read_text())["capabilities"]}
    assert r.returncode == 3
    assert "exited with 3" in r.stderr
    assert rows["refresh"]["value"] == "not measured"
    assert rows["discovery"]["value"] == "consistent"
