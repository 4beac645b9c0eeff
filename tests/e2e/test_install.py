"""The install tree (docs/install.md): cmake --install puts everything a user runs under
one prefix, the tools find their data from their own path, and no binary carries the
source or build path. The tree is moved after installation and used from a working
directory outside the checkout with no RENEWLAB_* variable set."""
import json
import os
import subprocess
import urllib.request

import pytest

from conftest import ROOT
from harness_util import BUILD, catalogue, clean_env, install_tree

BROWSER_CLIENTS = ["iframe", "oidc-client-ts", "axa-oidc-client", "angular-auth-oidc-client"]


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    return install_tree(tmp_path_factory)


def run(prefix, tool, *args, cwd, timeout=300):
    return subprocess.run([str(prefix / "bin" / tool), *args], capture_output=True,
                          text=True, cwd=cwd, env=clean_env(), timeout=timeout)


def test_the_tree_holds_what_a_user_runs(prefix):
    share = prefix / "share/renewlab"
    want = ["bin/mock-idp", "bin/renewlab", "bin/renew-adapter",
            "share/renewlab/scenarios/_refs.json", "share/renewlab/findings/oidc-client-ts.json",
            "share/renewlab/web/harness-link.js",
            "share/renewlab/web/node_modules/oidc-client-ts/package.json",
            "share/renewlab/web/node_modules/@axa-fr/oidc-client/dist/index.umd.cjs",
            "share/renewlab/web/clients/angular-auth-oidc-client/dist/angular-client.js",
            "share/renewlab/adapters/py_adapter.py", "share/renewlab/adapters/js/renewlab-exec.mjs",
            "share/renewlab/adapters/openid-client/node_modules/openid-client/package.json",
            "share/renewlab/docs/install.md", "share/renewlab/docs/README.md",
            "share/renewlab/docs/CHANGELOG.md",
            "include/renew_core/renew_core.h", "lib/librenew_core.so", "lib/pkgconfig/renew_core.pc"]
    if os.path.exists(os.path.join(BUILD, "man")):
        want += ["share/man/man1/renewlab.1.gz", "share/man/man1/mock-idp.1.gz"]
    missing = [w for w in want if not (prefix / w).exists()]
    assert not missing
    for name in sorted(os.listdir(os.path.join(ROOT, "scenarios"))):
        assert (share / "scenarios" / name).is_file(), name
    assert os.access(share / "adapters/py_adapter.py", os.X_OK)
    # The Angular client's build-time packages stay out: only the library's version is kept.
    ng = share / "web/clients/angular-auth-oidc-client/node_modules"
    assert sorted(os.listdir(ng)) == ["angular-auth-oidc-client"]
    for p in prefix.rglob("*"):
        assert not p.is_symlink() or not os.path.isabs(os.readlink(p)), p


@pytest.mark.skipif(bool(os.environ.get("RENEWLAB_SANITIZED")),
                    reason="GCC writes ASan/UBSan source locations unmapped by -ffile-prefix-map; "
                           "no installed or packaged build is a sanitizer build")
def test_no_binary_or_library_names_the_source_or_build_tree(prefix):
    paths = {os.path.realpath(ROOT), os.path.realpath(BUILD), ROOT, BUILD}
    offenders = []
    for sub in ("bin", "lib"):
        for p in sorted((prefix / sub).rglob("*")):
            if p.is_file() and not p.is_symlink():
                data = p.read_bytes()
                offenders += [f"{p.name}: {d}" for d in paths if d.encode() in data]
    assert not offenders


def test_the_installed_renewlab_runs_the_catalogue_from_anywhere(prefix, tmp_path):
    r = run(prefix, "renewlab", "run", "--jobs", "2", "--json", "report.json", cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    ran = {x["scenario"] for x in report["runs"]}
    core = {s["id"] for _, s in catalogue() if "core" in s.get("targets", ["core"])}
    assert ran == core


def test_the_installed_renewlab_reads_its_findings_and_explains_from_its_share(prefix, tmp_path):
    r = run(prefix, "renewlab", "explain", "rt_rotating_happy", cwd=tmp_path)
    assert r.returncode == 0 and "rt_rotating_happy" in r.stdout, r.stderr
    r = run(prefix, "renewlab", "list", cwd=tmp_path)
    assert r.returncode == 0
    assert len(r.stdout.splitlines()) >= len(catalogue())


@pytest.mark.parametrize("client", BROWSER_CLIENTS)
def test_the_installed_browser_clients_resolve_at_their_pinned_versions(prefix, tmp_path, client):
    # A filter matching nothing: the target (manifest, pinned package) is checked, and no
    # Chromium starts.
    r = run(prefix, "renewlab", "run", "--target", client, "--filter", "no-such-scenario*",
            cwd=tmp_path)
    assert "not installed" not in r.stderr and "pins" not in r.stderr, r.stderr
    assert r.returncode in (0, 2), r.stderr


def test_a_missing_share_tree_is_named(prefix, tmp_path):
    env = clean_env(RENEWLAB_SHARE_DIR=str(tmp_path / "nowhere"))
    r = subprocess.run([str(prefix / "bin/renewlab"), "run"], capture_output=True, text=True,
                       cwd=tmp_path, env=env)
    assert r.returncode == 2
    assert str(tmp_path / "nowhere") in r.stderr


def test_the_installed_mock_idp_serves_discovery(prefix, tmp_path):
    p = subprocess.Popen([str(prefix / "bin/mock-idp"), "--listen", "127.0.0.1:0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
                         env=clean_env())
    try:
        line = p.stdout.readline().decode()
        issuer = line.strip().split("issuer=", 1)[1]
        doc = json.load(urllib.request.urlopen(issuer + "/.well-known/openid-configuration",
                                               timeout=10))
        assert doc["issuer"] == issuer
    finally:
        p.terminate()
        p.wait(timeout=10)
