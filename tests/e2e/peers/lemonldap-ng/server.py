#!/usr/bin/python3
"""LemonLDAP::NG (Debian `lemonldap-ng`) as an OpenID provider on loopback, headless, for
the probe's tests: a private copy of the package's Demo configuration (users dwho/dwho,
rtyler/rtyler) in a temporary directory, served by `plackup` with no web server and no
/etc/hosts entry. Nothing under /etc or /var/lib is touched.

The relying party `probe` (secret `probesecret`, redirect http://127.0.0.1:8080/callback)
is confidential, requires PKCE, gets refresh tokens (online and offline_access) and skips
consent. Prints `listening issuer=URL` once the portal answers; on SIGTERM it stops the
portal (by its PID) and removes the directory, exit 0."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from peer_util import ready, serve  # noqa: E402

SHARE = "/usr/share/lemonldap-ng"
DEMO_CONF = "/var/lib/lemonldap-ng/conf/lmConf-1.json"
CLIENT, SECRET = "probe", "probesecret"  # alphanumeric: client_secret_basic breaks on + and /
REDIRECT = "http://127.0.0.1:8080/callback"

INI = """[all]
logLevel = error
checkTime = 1
[configuration]
type = File
dirName = {d}/conf
[portal]
staticPrefix = /static
templateDir = {share}/portal/templates
languages = en
[handler]
status = 0
[manager]
staticPrefix = /static
templateDir = {share}/manager/htdocs/templates
languages = en
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def key_pair():
    out = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                          "rsa_keygen_bits:2048"], capture_output=True, text=True, check=True)
    pub = subprocess.run(["openssl", "pkey", "-pubout"], input=out.stdout,
                         capture_output=True, text=True, check=True)
    return out.stdout, pub.stdout


def storage(d, name):
    path = os.path.join(d, name)
    os.makedirs(os.path.join(path, "lock"))
    return {"Directory": path, "LockDirectory": os.path.join(path, "lock")}


def configure(d, issuer):
    with open(DEMO_CONF) as f:
        conf = json.load(f)
    private, public = key_pair()
    sessions = dict(storage(d, "sessions"),
                    generateModule=conf["globalStorageOptions"]["generateModule"])
    conf.update({
        "reloadUrls": {}, "portal": issuer + "/", "domain": "127.0.0.1", "securedCookie": 0,
        "issuerDBOpenIDConnectActivation": 1, "oidcServiceMetaDataIssuer": issuer,
        "oidcServicePrivateKeySig": private, "oidcServicePublicKeySig": public,
        "oidcServiceKeyIdSig": "probe-key",
        "globalStorageOptions": sessions, "oidcStorageOptions": storage(d, "oidc"),
        "persistentStorageOptions": storage(d, "psessions"),
        "localSessionStorageOptions": dict(conf["localSessionStorageOptions"],
                                           cache_root=os.path.join(d, "cache")),
        "notificationStorageOptions": {"dirName": os.path.join(d, "notifications")},
        "oidcRPMetaDataOptions": {CLIENT: {
            "oidcRPMetaDataOptionsClientID": CLIENT,
            "oidcRPMetaDataOptionsClientSecret": SECRET,
            "oidcRPMetaDataOptionsRedirectUris": REDIRECT,
            "oidcRPMetaDataOptionsRequirePKCE": 1, "oidcRPMetaDataOptionsRefreshToken": 1,
            "oidcRPMetaDataOptionsAllowOffline": 1, "oidcRPMetaDataOptionsBypassConsent": 1,
            # the Manager would default to HS512 (signed with the client secret)
            "oidcRPMetaDataOptionsIDTokenSignAlg": "RS256"}},
        "oidcRPMetaDataExportedVars": {CLIENT: {"email": "mail", "name": "cn",
                                                "preferred_username": "uid"}},
    })
    os.makedirs(os.path.join(d, "conf"))
    os.makedirs(os.path.join(d, "notifications"))
    with open(os.path.join(d, "conf", "lmConf-1.json"), "w") as f:
        json.dump(conf, f, indent=1)
    with open(os.path.join(d, "lemonldap-ng.ini"), "w") as f:
        f.write(INI.format(d=d, share=SHARE))


def start(d):
    """The portal on a free port; a port taken between the choice and the bind is retried."""
    for _ in range(3):
        issuer = f"http://127.0.0.1:{free_port()}"
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        configure(d, issuer)
        env = dict(os.environ, LLNG_DEFAULTCONFFILE=os.path.join(d, "lemonldap-ng.ini"))
        port = issuer.rsplit(":", 1)[1]
        portal = subprocess.Popen(["plackup", "-E", "development", "--no-default-middleware",
                                   "-o", "127.0.0.1", "-p", port,
                                   SHARE + "/portal/htdocs/index.psgi"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # plackup says so once it accepts connections (development mode, without middleware)
        if ready(portal, "Accepting connections", open(d + ".log", "w", buffering=1)):
            return issuer, portal
        portal.kill()
        portal.wait()
    sys.exit(f"lemonldap-ng did not start: see {d}.log")


def main():
    if not os.path.exists(DEMO_CONF) or not shutil.which("plackup"):
        sys.exit("lemonldap-ng is not installed (apt-get install lemonldap-ng)")
    d = tempfile.mkdtemp(prefix="renewlab-llng-")
    issuer, portal = start(d)
    serve(portal, f"listening issuer={issuer}", d)
    os.unlink(d + ".log")


if __name__ == "__main__":
    main()
