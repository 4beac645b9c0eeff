"""make container-test: the CI image of packaging/Containerfile, built with
podman build --pull=never on the local base image, run with its port published on
loopback only, and driven from the host as a CI job drives a service container: discovery,
the control API with the secret (refused without it), a code flow and a refresh, the
healthcheck, the non-root user, and a prompt stop (docs/ci.md)."""
import base64
import hashlib
import http.client
import json
import os
import secrets
import time
import urllib.parse

import pytest

from podman_util import ROOT, Container, base_image, podman

IMAGE = "localhost/renewlab/mock-idp:test"
ISSUER = "http://mock-idp:9400"  # as a CI service is named; the host reaches it by the port
SECRET = "ci-" + secrets.token_hex(8)
REDIRECT = "http://127.0.0.1:8080/callback"


@pytest.fixture(scope="module")
def image():
    base_image()
    podman("build", "--pull=never", "--format", "docker", "-q", "-f",
           os.path.join(ROOT, "packaging", "Containerfile"), "-t", IMAGE, ROOT, timeout=1200)
    return IMAGE


@pytest.fixture(scope="module")
def service(image):
    # a free host port on loopback only (podman 4.3 spells 127.0.0.1:0:9400 with an empty
    # host port; it refuses 0)
    c = Container(image, "-p", "127.0.0.1::9400", "-e", f"MOCK_IDP_ISSUER={ISSUER}",
                  "-e", f"MOCK_IDP_CONTROL_SECRET={SECRET}", "-e", "MOCK_IDP_ARGS=--seed 7",
                  command=())
    try:
        c.port = published_port(c)
        yield c
    finally:
        c.remove()


def published_port(c):
    """The host port of the container's 9400, once discovery answers there."""
    port = int(podman("port", c.name, "9400/tcp").stdout.strip().rsplit(":", 1)[1])
    wait_for_port(port)
    return port


def wait_for_port(port, limit_s=30):
    """Poll the published port until discovery answers (the process starts after the
    container does)."""
    deadline = time.monotonic() + limit_s
    while True:
        try:
            if request(port, "GET", "/.well-known/openid-configuration")[0] == 200:
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)  # polling a socket that is not yet open: no event to wait on


def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = dict(headers or {})
    if isinstance(body, dict):
        body = urllib.parse.urlencode(body)
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    out = r.status, dict(r.getheaders()), data
    conn.close()
    return out


def control(port, method, path, doc=None, secret=SECRET):
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-Mock-Control-Secret"] = secret
    status, _, data = request(port, method, path, json.dumps(doc) if doc is not None else None,
                              headers)
    return status, (json.loads(data) if data else None)


def test_discovery_from_the_host_names_the_services_issuer(service):
    status, _, data = request(service.port, "GET", "/.well-known/openid-configuration")
    doc = json.loads(data)
    assert status == 200 and doc["issuer"] == ISSUER
    assert doc["token_endpoint"] == ISSUER + "/token"


def test_the_control_api_needs_the_secret_from_outside(service):
    assert control(service.port, "GET", "/_mock/state", secret=None)[0] == 401
    assert control(service.port, "GET", "/_mock/state", secret="wrong")[0] == 401
    status, state = control(service.port, "GET", "/_mock/state")
    assert status == 200 and "grants" in state


def pkce():
    verifier = secrets.token_urlsafe(32)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_a_code_flow_and_a_refresh_through_the_published_port(service):
    status, login = control(service.port, "POST", "/_mock/login", {"sub": "alice"})
    assert status == 200
    verifier, challenge = pkce()
    q = urllib.parse.urlencode({"client_id": "demo-spa", "redirect_uri": REDIRECT,
                                "response_type": "code", "scope": "openid offline_access",
                                "state": "s", "nonce": "n", "code_challenge": challenge,
                                "code_challenge_method": "S256"})
    status, headers, _ = request(service.port, "GET", "/authorize?" + q,
                                 headers={"Cookie": login["cookie"].split(";")[0]})
    assert status == 302
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(headers["Location"]).query)["code"][0]
    status, _, data = request(service.port, "POST", "/token", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier, "client_id": "demo-spa"})
    tokens = json.loads(data)
    assert status == 200 and tokens["refresh_token"]
    status, _, data = request(service.port, "POST", "/token", {
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": "demo-spa"})
    assert status == 200 and json.loads(data)["access_token"] != tokens["access_token"]
    status, trace = control(service.port, "GET", "/_mock/trace")
    assert [e["endpoint"] for e in trace["requests"]].count("token") == 2


def test_a_fault_rule_set_from_the_host_applies(service):
    status, rule = control(service.port, "POST", "/_mock/faults",
                           {"match": {"endpoint": "jwks"},
                            "action": {"type": "status", "status": 503}, "times": 1})
    assert status == 201, rule
    assert request(service.port, "GET", "/jwks")[0] == 503
    assert request(service.port, "GET", "/jwks")[0] == 200


def test_the_healthcheck_passes_and_the_user_is_not_root(service):
    assert podman("healthcheck", "run", service.name, check=False).returncode == 0
    assert service.exec("id -u").stdout.strip() == "9400"
    user = podman("image", "inspect", "--format", "{{.Config.User}}", IMAGE).stdout.strip()
    assert user == "renewlab"


def test_renewlab_judges_a_trace_inside_the_image(service):
    status, trace = control(service.port, "GET", "/_mock/trace")
    assert status == 200 and trace["format_version"] == "1.0" and trace["requests"]
    r = podman("exec", "-i", service.name, "bash", "-c",
               "cat > /tmp/trace.json && renewlab judge /tmp/trace.json", input=json.dumps(trace),
               check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 passed, 0 failed" in r.stdout


def test_without_a_secret_the_control_api_is_loopback_only_and_the_service_stops_cleanly(image):
    c = Container(image, "-p", "127.0.0.1::9400", command=())
    try:
        port = published_port(c)  # serving, its signal handlers installed
        # the host is not the container's loopback
        assert control(port, "GET", "/_mock/state", secret=None)[0] == 403
        assert c.exec("exec 3<>/dev/tcp/127.0.0.1/9400 && printf 'GET /_mock/state HTTP/1.0\\r\\n"
                      "\\r\\n' >&3 && head -1 <&3").stdout.split()[1] == "200"
        started = time.monotonic()
        podman("stop", "-t", "10", c.name)
        assert time.monotonic() - started < 5  # SIGTERM reaches mock-idp (--init)
        code = podman("inspect", "--format", "{{.State.ExitCode}}", c.name).stdout.strip()
        assert code == "0"
    finally:
        c.remove()
