#!/usr/bin/env bash
# The local base image for the package test and the Containerfile, since no image
# registry is reachable: Debian bookworm from the package mirror with mmdebstrap, imported
# into podman as localhost/debian:bookworm-slim. Kept once built (--rebuild builds it
# again). usage: packaging/base-image.sh [--rebuild]
set -euo pipefail
IMAGE=localhost/debian:bookworm-slim
: "${CONTAINERS_CONF:=$(cd "$(dirname "$0")" && pwd)/podman/containers.conf}"
export CONTAINERS_CONF
if [ "${1:-}" != --rebuild ] && podman image exists "$IMAGE"; then
  exit 0
fi
# The mirrors are the build machine's own apt sources (mmdebstrap reads the files), the
# security suite with them, so the root's libraries are as new as the machine's.
SOURCES=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -s "$f" ] && grep -qv '^[[:space:]]*\(#\|$\)' "$f" && SOURCES+=("$f")
done
[ ${#SOURCES[@]} -gt 0 ] || { echo "renewlab: no apt sources on this machine for mmdebstrap" >&2; exit 3; }
echo "renewlab: building $IMAGE with mmdebstrap from ${SOURCES[*]}"
mmdebstrap --quiet --variant=apt --aptopt='APT::Install-Recommends "false"' bookworm - \
  "${SOURCES[@]}" | podman import --change 'CMD ["/bin/bash"]' - "$IMAGE" >/dev/null
echo "renewlab: $IMAGE ready"
