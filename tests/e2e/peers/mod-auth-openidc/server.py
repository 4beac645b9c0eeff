#!/usr/bin/python3
"""Apache with mod_auth_openidc (Debian `apache2`, `libapache2-mod-auth-openidc` 2.4.12), a
real server-side relying party, on loopback for observe mode's tests: a private
configuration in a temporary directory, run in the foreground (`apache2 -f CONF
-DFOREGROUND`), nothing under /etc touched and no service started.

    server.py PORT ISSUER CLIENT_ID CLIENT_SECRET

`/app/` is protected: a request without a session is redirected to the IdP, and
`/app/redirect_uri` is the callback. Access tokens are refreshed with
`OIDCRefreshAccessTokenBeforeExpiry` (RENEWLAB_OIDC_REFRESH_BEFORE seconds before expiry,
default 60: longer than the access token's life, so every request finds the window open).
Prints `listening url=http://127.0.0.1:PORT` once Apache says it is resuming normal
operations; on SIGTERM it stops Apache (by its PID) and removes the directory, exit 0."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from peer_util import ready, serve  # noqa: E402

MODULES = "/usr/lib/apache2/modules"

CONF = """ServerRoot {d}
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {d}/httpd.pid
DefaultRuntimeDir {d}
Mutex file:{d} default
ErrorLog /dev/stderr
LogLevel warn auth_openidc:info
{user}
LoadModule mpm_event_module {mods}/mod_mpm_event.so
LoadModule authn_core_module {mods}/mod_authn_core.so
LoadModule authz_core_module {mods}/mod_authz_core.so
LoadModule authz_user_module {mods}/mod_authz_user.so
LoadModule dir_module {mods}/mod_dir.so
LoadModule auth_openidc_module {mods}/mod_auth_openidc.so
StartServers 1
ServerLimit 1
ThreadsPerChild 16
MinSpareThreads 1
MaxSpareThreads 16
MaxRequestWorkers 16
DocumentRoot {d}/htdocs
DirectoryIndex index.html

OIDCProviderMetadataURL {issuer}/.well-known/openid-configuration
OIDCClientID {client}
OIDCClientSecret {secret}
OIDCProviderTokenEndpointAuth client_secret_basic
OIDCRedirectURI http://127.0.0.1:{port}/app/redirect_uri
OIDCCryptoPassphrase {passphrase}
OIDCScope "openid offline_access"
OIDCPKCEMethod S256
OIDCSessionType server-cache
OIDCCacheType shm

<Location /app/>
    AuthType openid-connect
    Require valid-user
    OIDCRefreshAccessTokenBeforeExpiry {before}
</Location>
"""


def configure(d, port, issuer, client, secret):
    os.makedirs(os.path.join(d, "htdocs", "app"))
    with open(os.path.join(d, "htdocs", "app", "index.html"), "w") as f:
        f.write("<p>the protected page</p>\n")
    user = "User www-data\nGroup www-data" if os.getuid() == 0 else ""
    with open(os.path.join(d, "httpd.conf"), "w") as f:
        f.write(CONF.format(d=d, port=port, issuer=issuer, client=client, secret=secret,
                            user=user, mods=MODULES, passphrase=os.urandom(12).hex(),
                            before=os.environ.get("RENEWLAB_OIDC_REFRESH_BEFORE", "60")))
    os.chmod(d, 0o755)  # the worker user reads the document root


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: server.py PORT ISSUER CLIENT_ID CLIENT_SECRET")
    if not os.path.exists(os.path.join(MODULES, "mod_auth_openidc.so")):
        sys.exit("mod_auth_openidc is not installed (apt-get install libapache2-mod-auth-openidc)")
    port, issuer, client, secret = sys.argv[1:]
    d = tempfile.mkdtemp(prefix="renewlab-apache-")
    configure(d, port, issuer, client, secret)
    log_path = os.environ.get("RENEWLAB_APACHE_LOG", d + ".log")
    log = open(log_path, "w", buffering=1)
    apache = subprocess.Popen(["apache2", "-f", os.path.join(d, "httpd.conf"), "-DFOREGROUND"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # Apache says so on its error log (stderr here); the tests read the rest of it
    if not ready(apache, "resuming normal operations", log):
        apache.wait()
        sys.exit(f"apache2 did not start: see {log_path}")
    serve(apache, f"listening url=http://127.0.0.1:{port}", d)


if __name__ == "__main__":
    main()
