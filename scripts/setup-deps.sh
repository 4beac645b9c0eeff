#!/usr/bin/env bash
# Install what renewlab needs on a Debian machine, only what is missing.
# Used by `make run` and `make test`; safe to run again. chromium renders the HTML
# report in a test (and drives the browser targets); python3-junitparser reads JUnit.
set -euo pipefail

PACKAGES=(cmake make gcc pkg-config openssl
          libevent-dev libjansson-dev libssl-dev libcriterion-dev
          python3 python3-pytest python3-jwt python3-cryptography python3-junitparser
          chromium)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "renewlab: installing missing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "renewlab: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
