#!/usr/bin/env bash
# Install what renewlab needs on a Debian machine, only what is missing.
# Used by `make run` and `make test`; safe to run again. chromium renders the HTML
# report in a test and runs the browser targets; python3-junitparser reads JUnit; npm
# installs the pinned oidc-client-ts for the browser target; pytest-xdist runs the e2e
# files in parallel.
set -euo pipefail

# LemonLDAP::NG, a real IdP the probe is tested against (tests/e2e/peers/lemonldap-ng),
# without its web-server recommends (nginx, a FastCGI server: plackup serves it on
# loopback) but with the Perl modules its portal loads at start (the portal's and common
# library's recommends: an always-loaded captcha needs GD::SecurityImage over Image::Magick,
# the OIDC issuer Crypt::OpenSSL::Bignum and IO::String, sessions String::Random).
LEMONLDAP_NG=(lemonldap-ng libplack-perl libimage-magick-perl
              fonts-urw-base35 libauthen-webauthn-perl libcrypt-openssl-bignum-perl
              libconvert-base32-perl libio-string-perl libipc-run-perl libgd-securityimage-perl
              libmime-tools-perl libnet-ldap-perl libio-socket-timeout-perl
              libunicode-string-perl libapache-session-browseable-perl libemail-sender-perl
              libcookie-baker-xs-perl libdbi-perl libhttp-parser-xs-perl
              liblwp-protocol-https-perl libstring-random-perl)

# Apache with mod_auth_openidc, a real server-side relying party observe mode is tested
# against (tests/e2e/peers/mod-auth-openidc): the tests run it in the foreground from a
# private configuration, so the system service a fresh install starts is stopped again.
APACHE_RP=(apache2 libapache2-mod-auth-openidc)

# libfaketime for exec+faketime (clients that read the wall clock, on the virtual clock);
# faketime is its command, for trying a client by hand.
FAKETIME=(libfaketime faketime)

# make package: CPack's DEB generator reads the binaries' dependencies with dpkg-shlibdeps
# (dpkg-dev) and finds them with file.
PACKAGING=(dpkg-dev file)

PACKAGES=(cmake make gcc pkg-config openssl help2man "${PACKAGING[@]}"
          libevent-dev libjansson-dev libssl-dev libcriterion-dev
          python3 python3-pytest python3-pytest-xdist python3-jwt python3-cryptography python3-junitparser
          python3-yaml python3-jsonschema
          chromium
          "${LEMONLDAP_NG[@]}" "${APACHE_RP[@]}" "${FAKETIME[@]}")

MODE=${1:-all}
case "$MODE" in
  all) ;;
  # `setup-deps.sh package` (make package, and the CI recipes that build the .deb): only
  # what builds renewlab and the npm packages the install tree vendors, none of the test
  # peers (LemonLDAP::NG, Apache, pytest, the IdPs from npm).
  package)
    PACKAGES=(cmake make gcc pkg-config help2man python3 libevent-dev libjansson-dev libssl-dev
              "${PACKAGING[@]}") ;;
  # `setup-deps.sh container` (make package-test, make container-test) adds what builds the
  # clean Debian root and runs the image: podman with runc (crun cannot run containers on
  # hybrid-cgroup hosts), catatonit for --init, and mmdebstrap.
  container) PACKAGES+=(podman runc catatonit mmdebstrap) ;;
  *) echo "usage: setup-deps.sh [all|package|container]" >&2; exit 2 ;;
esac

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "renewlab: installing missing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "renewlab: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if [[ " ${missing[*]} " == *" apache2 "* ]] && [ -d /run/systemd/system ]; then
    echo "renewlab: stopping and disabling the apache2 service the install started (the tests run their own)"
    $SUDO systemctl disable --now apache2 >/dev/null 2>&1 || true
  fi
fi

# Third-party code from npm, pinned in lockfiles: the browser client oidc-client-ts
# (harness/web), openid-client for the third reference exec adapter, the IdP oidc-provider and the permissive mock oauth2-mock-server the
# probe is tested against. Node comes with the
# machine: never Debian's nodejs (18) over it.
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
need_node() {
  command -v node >/dev/null || { echo "renewlab: Node.js >= 20.19 is needed for oidc-client-ts and oidc-provider (not found on PATH)" >&2; exit 1; }
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' ||
    { echo "renewlab: Node.js >= 20.19 is needed for oidc-client-ts and oidc-provider (found $(node --version))" >&2; exit 1; }
}
# A browser client folder with its own package.json (angular-auth-oidc-client) gets its
# own node_modules, and `npm run build` when it has a build script and its output is
# missing or older than its sources (docs/page-protocol.md, "npm dependencies").
CLIENT_DIRS=()
for pj in "$ROOT"/harness/web/clients/*/package.json; do
  [ -f "$pj" ] && CLIENT_DIRS+=("$(dirname "$pj")")
done
NPM_DIRS=("$ROOT/harness/web" "${CLIENT_DIRS[@]}" "$ROOT/harness/adapters/openid-client")
if [ "$MODE" != package ]; then
  NPM_DIRS+=("$ROOT/tests/e2e/peers/oidc-provider" "$ROOT/tests/e2e/peers/oauth2-mock-server")
fi
for dir in "${NPM_DIRS[@]}"; do
  stamp="$dir/node_modules/.renewlab-lock"
  if ! cmp -s "$dir/package-lock.json" "$stamp" 2>/dev/null; then
    need_node
    echo "renewlab: installing the pinned npm packages in ${dir#$ROOT/} (npm ci)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$dir/package-lock.json" "$stamp"
    rm -rf "$dir/dist" # built again below, from these packages
  fi
done
for dir in "${CLIENT_DIRS[@]}"; do
  grep -q '"build"' "$dir/package.json" || continue
  if [ ! -d "$dir/dist" ] || [ -n "$(find "$dir/src" "$dir/build.mjs" "$dir/package.json" -newer "$dir/dist" 2>/dev/null | head -1)" ]; then
    echo "renewlab: building the browser client ${dir#$ROOT/} (npm run build)"
    (cd "$dir" && npm run --silent build) && touch "$dir/dist"
  fi
done
