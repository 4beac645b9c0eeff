"""The mock-idp command-line contract (README: exit codes): output line, exit codes, config errors, TLS."""
import json
import signal
import subprocess

import pytest

from conftest import BIN, MockIdp


def run(*args, timeout=10):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout)


def test_help_and_version():
    h = run("--help")
    assert h.returncode == 0 and "--listen HOST:PORT" in h.stdout
    v = run("--version")
    assert v.returncode == 0 and v.stdout.startswith("mock-idp ")


@pytest.mark.parametrize("args,msg", [
    (["--bogus"], "unknown or incomplete option"),
    (["--listen"], "unknown or incomplete option"),
    (["--listen", "nocolon"], "--listen needs HOST:PORT"),
    (["--listen", "127.0.0.1:70000"], "--listen needs HOST:PORT"),
    (["--seed", "-3"], "--seed needs a non-negative integer"),
    (["--seed", "12abc"], "--seed needs a non-negative integer"),
    (["extra"], "unexpected argument"),
    (["--config", "/nonexistent/x.json"], "/nonexistent/x.json: cannot read"),
    (["--tls-cert", "/nonexistent.pem"], "--tls-cert and --tls-key go together"),
    (["--trace-out", "/nonexistent/dir/t.jsonl", "--listen", "127.0.0.1:0"], "cannot open trace file"),
])
def test_bad_arguments_exit_2_with_a_message(args, msg):
    r = run(*args)
    assert r.returncode == 2 and msg in r.stderr, r.stderr


def config_error(tmp_path, text):
    p = tmp_path / "c.json"
    p.write_text(text)
    r = run("--config", str(p))
    assert r.returncode == 2
    return r.stderr.strip().replace(str(p), "FILE")


def test_config_syntax_error_has_line_and_column(tmp_path):
    err = config_error(tmp_path, '{\n  "clients": [\n    {"client_id": "a",}\n  ]\n}\n')
    assert err.startswith("mock-idp: FILE:3:")


def test_config_duplicate_key(tmp_path):
    assert "duplicate" in config_error(tmp_path, '{"issuer": "http://a", "issuer": "http://b"}')


@pytest.mark.parametrize("text,expected", [
    ('{\n"clients": [\n {"client_id": "a"},\n {"client_id": "a"}\n]}', "FILE:4: /clients/1: duplicate client_id"),
    ('{\n"clients": [\n {"client_id": "a",\n  "colour": "red"}\n]}', "FILE:4: /clients/0/colour: unknown key"),
    ('{\n"clients": [\n {"client_id": "a",\n  "refresh": {\n   "rotation": "yes"}}\n]}',
     "FILE:5: /clients/0/refresh/rotation: expected true or false"),
    ('{"signing_alg": "HS256"}', "FILE:1: /signing_alg: unknown algorithm"),
    ('{\n "cookie": {"same_site": "None"}}', "FILE:2: /cookie/same_site: SameSite=None needs"),
    ('{"clients": [{"client_id": "a", "redirect_uris": ["/relative"]}]}',
     "/clients/0/redirect_uris/0: must be an absolute http(s) URL"),
    ('{"clients": [{"client_id": "a", "access_token_lifetime": -5}]}',
     "/clients/0/access_token_lifetime: expected a number of seconds"),
    ('{"users": [{"password": "x"}]}', "/users/0: sub is required"),
    ('[1, 2]', "FILE:1: /: the config must be a JSON object"),
    ('{"clients": [{"client_id": "c", "grant_types": ["password"]}]}',
     "/clients/0/grant_types/0: unknown grant type"),
])
def test_config_semantic_errors_name_file_line_and_pointer(tmp_path, text, expected):
    assert expected in config_error(tmp_path, text)


def test_sigint_and_sigterm_exit_0():
    for sig in (signal.SIGINT, signal.SIGTERM):
        idp = MockIdp()
        idp.proc.send_signal(sig)
        assert idp.proc.wait(timeout=10) == 0


def test_issuer_template_with_port():
    idp = MockIdp("--issuer", "http://localhost:{port}")
    try:
        assert idp.issuer == f"http://localhost:{idp.port}"
        assert idp.discovery()["issuer"] == idp.issuer
        assert idp.discovery()["token_endpoint"] == idp.issuer + "/token"
    finally:
        assert idp.stop() == 0


def test_port_in_use_exits_2():
    idp = MockIdp()
    try:
        r = run("--listen", f"127.0.0.1:{idp.port}")
        assert r.returncode == 2 and "cannot listen" in r.stderr
    finally:
        idp.stop()


def test_https_with_tls_cert_and_key(tmp_path):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
                    "-subj", "/CN=localhost"], check=True, capture_output=True)
    idp = MockIdp("--tls-cert", str(cert), "--tls-key", str(key))
    try:
        assert idp.issuer.startswith("https://127.0.0.1:")
        d = idp.discovery()
        assert d["issuer"] == idp.issuer and d["token_endpoint"].startswith("https://")
        t = idp.code_flow(scope="openid")
        assert idp.verify_id_token(t["id_token"], "demo-spa")["sub"] == "alice"
    finally:
        assert idp.stop() == 0


def test_tls_with_mismatched_key_exits_2(tmp_path):
    for name in ("a", "b"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", str(tmp_path / f"{name}.key"), "-out",
                        str(tmp_path / f"{name}.pem"), "-days", "1", "-subj", "/CN=x"],
                       check=True, capture_output=True)
    r = run("--tls-cert", str(tmp_path / "a.pem"), "--tls-key", str(tmp_path / "b.key"))
    assert r.returncode == 2 and "TLS" in r.stderr


def test_documented_demo_config_file_loads_and_serves_the_demo_clients(tmp_path):
    import os
    from conftest import ROOT
    path = os.path.join(ROOT, "docs", "demo-config.json")
    idp = MockIdp("--config", path)
    builtin = MockIdp()
    try:
        for client in ("demo-spa", "demo-consent", "demo-backend"):
            assert idp.authorize(client_id=client).status == builtin.authorize(client_id=client).status
        assert idp.control("POST", "login", {"sub": "bob"}).status == 200
    finally:
        idp.stop()
        builtin.stop()


def kid_of(idp):
    return idp.get("/jwks").json()["keys"][0]["kid"]


def test_signing_key_cache_reuses_one_key_and_can_be_bypassed(tmp_path):
    import os
    env = dict(os.environ, RENEWLAB_KEY_CACHE=str(tmp_path / "cache"))
    kids = []
    for extra in ([], [], ["--no-key-cache"]):
        idp = MockIdp(*extra, env=env)
        kids.append(kid_of(idp))
        assert idp.stop() == 0
    assert kids[0] == kids[1] != kids[2]
    pem = tmp_path / "cache" / "signing-RS256.pem"
    assert pem.exists() and (pem.stat().st_mode & 0o777) == 0o600


def test_signing_key_flag(tmp_path):
    key = tmp_path / "k.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", str(key)], check=True)
    idp = MockIdp("--signing-key", str(key))
    try:
        k = idp.get("/jwks").json()["keys"][0]
        assert k["kty"] == "OKP" and k["alg"] == "EdDSA"
    finally:
        idp.stop()
    r = run("--signing-key", str(tmp_path / "missing.pem"))
    assert r.returncode == 2 and "missing.pem: cannot read: No such file" in r.stderr


@pytest.mark.parametrize("value", ["0", "x", "-1"])
def test_bad_trace_limit_exits_2(value):
    r = run("--trace-limit", value)
    assert r.returncode == 2 and "--trace-limit" in r.stderr


def test_help_lists_every_option():
    out = run("--help").stdout
    for opt in ["--listen", "--issuer", "--config", "--preset", "--seed", "--trace-out",
                "--trace-limit", "--state-limit", "--control-secret", "--tls-cert", "--tls-key",
                "--signing-key", "--no-key-cache", "--help", "--version"]:
        assert opt in out, opt
