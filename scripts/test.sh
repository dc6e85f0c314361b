#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs Node 24 + pnpm (scripts/bootstrap.sh), the
# dependencies, builds, lints, then runs every unit and end-to-end test. The test harness
# downloads and caches Kafka's jars (.cache/) and starts the real peers on free 127.0.0.1 ports.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh || exit 1
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
