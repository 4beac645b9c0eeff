"""make package-test: the Debian package installed into a clean Debian root (the local
base image of packaging/base-image.sh, where no source tree exists), its tools used
there, then purged (docs/install.md, "The Debian package")."""
import glob
import json
import os
import subprocess

import pytest

from podman_util import ROOT, Container, base_image

DEB = os.environ.get("RENEWLAB_DEB") or (sorted(glob.glob(os.path.join(
    ROOT, "build-package", "renewlab_*_amd64.deb"))) or [None])[-1]
# Not package files: what the system itself changes as packages come and go.
SYSTEM = ("/var/", "/tmp/", "/root/", "/run/", "/etc/ld.so.cache", "/pkg", "/out")
LIST_FILES = ("find / -xdev \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -print"
              " | sort")


def deb_dependencies():
    """The package names of the .deb's Depends and Recommends."""
    fields = subprocess.run(["dpkg-deb", "--field", DEB, "Depends", "Recommends"],
                            capture_output=True, text=True, check=True).stdout
    names = []
    for line in fields.splitlines():
        for dep in line.split(":", 1)[1].split(","):
            names.append(dep.split("|")[0].split("(")[0].strip())
    return [n for n in names if n]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """The clean root with the package installed. Its dependencies and recommends are
    installed first, and the file list taken then: what purging renewlab must return to."""
    assert DEB and os.path.exists(DEB), "no .deb: run make package first"
    out = tmp_path_factory.mktemp("out")
    c = Container(base_image(), "--shm-size=512m", "-v", f"{os.path.dirname(DEB)}:/pkg:ro",
                  "-v", f"{out}:/out")
    c.out = out
    try:
        c.exec("apt-get update -qq")
        c.exec("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq " +
               " ".join(deb_dependencies()) + " >/tmp/apt.log 2>&1 || (tail -30 /tmp/apt.log; exit 1)",
               timeout=1200)
        c.exec(f"{LIST_FILES} > /tmp/before")
        c.exec(f"DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /pkg/{os.path.basename(DEB)}"
               " >/tmp/apt.log 2>&1 || (tail -30 /tmp/apt.log; exit 1)")
        yield c
    finally:
        c.remove()


def test_the_package_is_named_and_depends_as_debian_expects():
    name = os.path.basename(DEB)
    assert name.startswith("renewlab_") and name.endswith("_amd64.deb")
    info = subprocess.run(["dpkg-deb", "--field", DEB, "Depends", "Recommends"],
                          capture_output=True, text=True, check=True).stdout
    depends = info.split("Recommends:")[0]
    for lib in ("libevent", "libjansson4", "libssl3", "libc6"):
        assert lib in depends, info
    assert "chromium" in info.split("Recommends:")[1]
    changelog = subprocess.run(["dpkg-deb", "--fsys-tarfile", DEB], capture_output=True,
                               check=True).stdout
    assert b"usr/share/doc/renewlab/changelog.gz" in changelog


def test_no_source_tree_in_the_root(root):
    r = root.exec(f"test ! -e {ROOT} && command -v renewlab mock-idp renew-adapter")
    assert r.stdout.split() == ["/usr/bin/renewlab", "/usr/bin/mock-idp", "/usr/bin/renew-adapter"]


def test_renewlab_run_runs_the_catalogue(root):
    r = root.exec("mkdir -p /tmp/w && cd /tmp/w && renewlab run --jobs 2 --json /out/core.json",
                  check=False)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    report = json.loads((root.out / "core.json").read_text())
    want = [n for n in os.listdir(os.path.join(ROOT, "scenarios"))
            if n.endswith(".json") and not n.startswith("_")]
    targets = [json.load(open(os.path.join(ROOT, "scenarios", n))).get("targets", ["core"])
               for n in want]
    assert len(report["runs"]) == sum("core" in t for t in targets)


def test_the_iframe_target_runs_in_the_roots_chromium(root):
    r = root.exec("cd /tmp/w && renewlab run --target iframe --jobs 2 --json /out/iframe.json",
                  check=False, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    report = json.loads((root.out / "iframe.json").read_text())
    ran = [x for x in report["runs"] if x["verdict"] != "skip"]
    assert len(ran) >= 15 and all(x["verdict"] == "pass" for x in ran)
    assert all(x.get("browser_launched") is not None for x in ran)
    assert root.exec("dpkg -s chromium | grep -c '^Status: install ok installed'").stdout.strip() == "1"


MOCK_IDP_DISCOVERY = r"""
import json, subprocess, urllib.request
p = subprocess.Popen(["mock-idp", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE)
issuer = p.stdout.readline().decode().strip().split("issuer=", 1)[1]
doc = json.load(urllib.request.urlopen(issuer + "/.well-known/openid-configuration"))
p.terminate(); p.wait()
print(json.dumps({"issuer": issuer, "doc": doc["issuer"], "rc": p.returncode}))
"""


def test_mock_idp_serves_discovery(root):
    out = json.loads(root.exec(f"python3 -c '{MOCK_IDP_DISCOVERY}'").stdout)
    assert out["doc"] == out["issuer"] and out["issuer"].startswith("http://127.0.0.1:")
    assert out["rc"] == 0


def test_man_pages_and_help(root):
    root.exec("test -s /usr/share/man/man1/renewlab.1.gz -o -s /usr/share/man/man1/renewlab.1")
    for cmd in ("renewlab --help", "renewlab run --help", "mock-idp --help", "renew-adapter --help"):
        assert root.exec(cmd).stdout.strip(), cmd


def test_purge_leaves_no_file_behind(root):
    owned = [p for p in root.exec("dpkg -L renewlab").stdout.split("\n") if p.strip()]
    root.exec("DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq renewlab >/dev/null")
    root.exec(f"{LIST_FILES} > /tmp/after")
    changed = root.exec("diff /tmp/before /tmp/after; true").stdout.splitlines()
    changed = [l for l in changed if l[:2] in ("< ", "> ") and not l[2:].startswith(SYSTEM)]
    assert not changed
    assert any(p.startswith("/usr/share/renewlab/") for p in owned)
    root.exec("test ! -e /usr/share/renewlab && test ! -e /usr/share/doc/renewlab")
