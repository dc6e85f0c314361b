#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs Node 24 + pnpm (scripts/bootstrap.sh), the
# dependencies, builds, lints, then runs every unit and end-to-end test. The test harness
# downloads and caches Kafka's jars (.cache/) and starts the real peers on free 127.0.0.1 ports,
# Kafka and ElasticMQ as Docker containers when scripts/docker.sh finds or starts an engine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh || exit 1
# Checked before the install and build so a machine without Go fails at once, not minutes later
# in the test harness (which builds the Pub/Sub fake and the Kubernetes test cluster with it).
if ! command -v go >/dev/null 2>&1; then
  echo "scripts/test.sh: Go 1.26 or newer is required: the test harness builds the Pub/Sub fake (pstest) and the" >&2
  echo "Kubernetes test cluster (kube-apiserver, etcd, kwok, kubectl, helm) with it. Install it from" >&2
  echo "https://go.dev/dl/ (or the distribution's golang package) and put \`go\` on the PATH." >&2
  exit 1
fi
# Kafka and ElasticMQ run as containers where a Docker engine answers or can be started
# (scripts/docker.sh; EDDY_TEST_DOCKER=0|1|auto), else from their jars on the host.
echo "== docker" >&2
source scripts/docker.sh || exit 1
# Headless Chromium for the dashboard's browser tests (scripts/chromium.sh; they skip without it).
source scripts/chromium.sh || exit 1
echo "== install" >&2
pnpm install --frozen-lockfile --prefer-offline --reporter=append-only >&2
echo "== build" >&2
pnpm run build >&2
echo "== lint" >&2
pnpm run lint >&2
echo "== test" >&2
mkdir -p .cache
status=0
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json=.cache/vitest-report.json "$@" || status=$?
node scripts/test-summary.ts .cache/vitest-report.json || status=1
exit $status
