#!/bin/bash
# The image's entrypoint (packaging/Containerfile): mock-idp on 0.0.0.0:9400 with the
# issuer and control secret from the environment; with --healthcheck, one GET of the
# discovery document on loopback (bash's /dev/tcp: the image has no curl), 0 on a 200.
set -euo pipefail
if [ "${1:-}" = --healthcheck ]; then
  exec 3<>/dev/tcp/127.0.0.1/9400
  printf 'GET /.well-known/openid-configuration HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  IFS= read -r -t 3 status <&3
  [[ "$status" == "HTTP/1."?" 200 "* ]]
  exit
fi
args=(--listen 0.0.0.0:9400 --issuer "${MOCK_IDP_ISSUER:-http://localhost:9400}" --no-key-cache)
if [ -n "${MOCK_IDP_CONTROL_SECRET:-}" ]; then
  args+=(--control-secret "$MOCK_IDP_CONTROL_SECRET")
fi
# shellcheck disable=SC2206 # MOCK_IDP_ARGS is split into words on purpose
extra=(${MOCK_IDP_ARGS:-})
exec /usr/local/bin/mock-idp "${args[@]}" "${extra[@]}" "$@"
