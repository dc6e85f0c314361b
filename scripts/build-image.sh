#!/usr/bin/env bash
# Builds the `eddy` container image (Dockerfile) from this repository:
#   scripts/build-image.sh            -> eddy:<version> and eddy:latest
#   EDDY_IMAGE=registry/eddy scripts/build-image.sh   another repository name
# The Debian base comes from scripts/debian-base-image.sh (debootstrap, cached), Node.js and pnpm from
# .tools/ (scripts/bootstrap.sh installs them). Docker's layer cache makes a rebuild of unchanged
# sources a matter of seconds. Prints the image reference on the last line of stdout. Needs a running
# Docker engine (scripts/docker.sh starts one) and, the first time, root for debootstrap.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh >&2 || exit 1
name="${EDDY_IMAGE:-eddy}"
version=$(node -p 'require("./packages/cli/package.json").version')

base=$(bash scripts/debian-base-image.sh)
mkdir -p .cache/image-build
# The build talks to the npm registry; where TLS goes through an intercepting proxy, its CA is in the
# bundle Node is told about here (NODE_EXTRA_CA_CERTS) or at least in the machine's own CA bundle
# (local CAs are added there), and the build stage needs it as well.
ca_bundle=""
for f in "${NODE_EXTRA_CA_CERTS:-}" /etc/ssl/certs/ca-certificates.crt; do
  if [ -n "$f" ] && [ -r "$f" ]; then ca_bundle=$f; break; fi
done
if [ -n "$ca_bundle" ]; then
  cp "$ca_bundle" .cache/image-build/extra-ca.crt
else
  : >.cache/image-build/extra-ca.crt
fi
echo "[image] building $name:$version from $base" >&2
started=$(date +%s)
# The classic builder: Debian's engine comes without the BuildKit client plugin. A low CPU weight
# (default 1024) lets the build yield to whatever else runs, e.g. the tests beside the image test.
DOCKER_BUILDKIT=0 docker build --cpu-shares 256 --build-arg "BASE_IMAGE=$base" \
  -t "$name:$version" -t "$name:latest" . >&2
echo "[image] $name:$version built in $(($(date +%s) - started)) s" >&2
echo "$name:$version"
