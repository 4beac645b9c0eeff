"""renew_core as other programs use it: installed by cmake --install, found with
pkg-config, linked from C, loaded from Python with ctypes, and the example program run
against the real mock-idp."""
import os
import subprocess

import pytest

from conftest import ROOT, MockIdp

BUILD = os.environ.get("RENEWLAB_BUILD", os.path.join(ROOT, "build"))


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    dest = tmp_path_factory.mktemp("prefix")
    subprocess.run(["cmake", "--install", BUILD, "--prefix", str(dest)], check=True,
                   capture_output=True)
    return dest


def test_install_puts_headers_libraries_and_pc_file(prefix):
    for rel in ["include/renew_core/renew_core.h", "include/renew_core/cm_clock.h", "include/renew_core/cm_rng.h",
                "lib/librenew_core.a", "lib/librenew_core.so", "lib/pkgconfig/renew_core.pc"]:
        assert (prefix / rel).exists(), rel


def asan_runtime(so):
    """The ASan runtime a sanitizer build of the library needs, or None."""
    deps = subprocess.run(["ldd", so], capture_output=True, text=True).stdout
    found = [l.split("=>")[1].split()[0] for l in deps.splitlines() if "libasan" in l]
    return found[0] if found else None


def test_a_c_program_builds_against_the_installed_library_with_pkg_config(prefix, tmp_path):
    src = tmp_path / "use.c"
    src.write_text('#include <renew_core.h>\n#include <stdio.h>\n'
                   'int main(void) { printf("%s|%s\\n", rc_err_name(RC_EINVALID_GRANT),'
                   ' rc_strerror(RC_EJWT_ALG)); return rc_is_transient(RC_ETIMEOUT) ? 0 : 1; }\n')
    env = dict(os.environ, PKG_CONFIG_PATH=str(prefix / "lib/pkgconfig"))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "renew_core"], env=env,
                           capture_output=True, text=True, check=True).stdout.split()
    exe = tmp_path / "use"
    if asan_runtime(str(prefix / "lib/librenew_core.so")):
        flags.append("-fsanitize=address,undefined")
    subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", str(src), "-o", str(exe), *flags],
                   check=True, capture_output=True)
    out = subprocess.run([str(exe)], env=dict(env, LD_LIBRARY_PATH=str(prefix / "lib")),
                         capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.strip() == "RC_EINVALID_GRANT|JWT algorithm not allowed"


CTYPES_CHECK = """
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.rc_err_name.restype = ctypes.c_char_p
lib.rc_strerror.restype = ctypes.c_char_p
assert lib.rc_err_name(-8) == b"RC_EINVALID_GRANT"
assert lib.rc_strerror(-4) == b"request timed out"
assert lib.rc_is_transient(-5) == 1 and lib.rc_is_transient(-8) == 0
print("ok")
"""


def test_python_ctypes_loads_the_shared_library(prefix):
    so = str(prefix / "lib/librenew_core.so")
    env = dict(os.environ)
    runtime = asan_runtime(so)  # a sanitizer build needs its runtime loaded before Python
    if runtime:
        env.update(LD_PRELOAD=runtime, ASAN_OPTIONS="detect_leaks=0")
    out = subprocess.run(["/usr/bin/python3", "-c", CTYPES_CHECK, so], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_example_keeps_a_session_fresh_against_mock_idp():
    idp = MockIdp()
    try:
        idp.control("PATCH", "clients/demo-spa", {"access_token_lifetime": 61})
        out = subprocess.run([os.path.join(BUILD, "bin", "renew-example"), idp.issuer, "demo-spa",
                              "http://127.0.0.1:8080/callback", "2"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert lines[0].startswith("logged in") and lines[-1] == "logged out (ok)"
        assert sum(l.startswith("renewed") for l in lines) == 2
        calls = [(e["endpoint"], e.get("grant_type"), e.get("presented")) for e in idp.trace()]
        assert ("token", "refresh_token", "rt#1") in calls and ("token", "refresh_token", "rt#2") in calls
        assert calls[-2:] == [("revoke", None, "rt#3"), ("revoke", None, "at#3")]
        assert not any(e.get("reuse_detected") for e in idp.trace())
    finally:
        assert idp.stop() == 0


def tls_pair(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def run_example(idp, renewals, **env):
    return subprocess.run([os.path.join(BUILD, "bin", "renew-example"), idp.issuer, "demo-spa",
                           "http://127.0.0.1:8080/callback", str(renewals)],
                          capture_output=True, text=True, timeout=60, env=dict(os.environ, **env))


def test_https_issuer_verified_against_a_ca_file_and_refused_without_it(tmp_path):
    cert, key = tls_pair(tmp_path)
    idp = MockIdp("--tls-cert", str(cert), "--tls-key", str(key))
    try:
        idp.control("PATCH", "clients/demo-spa", {"access_token_lifetime": 61})
        untrusted = run_example(idp, 1)
        assert untrusted.returncode == 1 and "discovery failed" in untrusted.stderr
        assert idp.trace() == [], "certificate verification refused the connection"
        trusted = run_example(idp, 1, RENEW_CA_FILE=str(cert), RENEW_BLOCKING="1")
        assert trusted.returncode == 0, trusted.stderr
        assert "blocking call: ok" in trusted.stdout
        assert trusted.stdout.splitlines()[-1] == "logged out (ok)"
    finally:
        assert idp.stop() == 0


def test_the_shared_library_exports_exactly_its_public_api(prefix):
    """nm -D against renew_core/exports.txt: the rc_ functions of renew_core.h and the
    cm_ clock and RNG functions it documents, nothing of the internals."""
    out = subprocess.run(["nm", "-D", "--defined-only", str(prefix / "lib/librenew_core.so")],
                         capture_output=True, text=True, check=True).stdout
    names = (line.split()[-1] for line in out.splitlines() if line.strip())
    exported = sorted(n for n in names if not n.startswith("_"))  # sanitizer runtime glue
    want = open(os.path.join(ROOT, "renew_core", "exports.txt")).read().split()
    assert exported == want
