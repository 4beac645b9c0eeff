#!/usr/bin/env bash
# The main job until the harness lands: run mock-idp with its demo config and show how to use it.
set -euo pipefail
BIN=${1:-build/bin/mock-idp}
LISTEN=${RENEWLAB_LISTEN:-127.0.0.1:9400}
ISSUER="http://${LISTEN}"
cat <<TXT
renewlab mock-idp — demo configuration (README.md, "Demo configuration")
  clients: demo-spa (public, PKCE, rotation + reuse detection), demo-consent (needs consent),
           demo-backend (secret demo-secret; all grants; may introspect any token)
  users:   alice / alice, bob / bob
Try, in another terminal:
  curl -s ${ISSUER}/.well-known/openid-configuration
  curl -s -X POST ${ISSUER}/_mock/login -H 'Content-Type: application/json' -d '{"sub":"alice"}'
  curl -s -u demo-backend:demo-secret -d grant_type=client_credentials ${ISSUER}/token
  curl -s -X POST ${ISSUER}/_mock/clock -H 'Content-Type: application/json' -d '{"advance":3600}'
  curl -s ${ISSUER}/_mock/trace
Control API: docs/control-api.md. Stop with Ctrl-C.
TXT
exec "$BIN" --listen "$LISTEN" "${@:2}"
