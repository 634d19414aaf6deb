#!/usr/bin/env bash
# The fault campaign of the PostgreSQL transition: every fault of test/integration/transition-faults.test.ts tried
# N times (default 10) on real servers with real rows, one JSON line per trial, then a summary per fault.
# CI runs the same file with one trial per fault; this is the long run the figures in the report come from.
#
#   bash scripts/transition-fault-trials.sh [N]     # needs root (tmpfs mounts, servers run as the test user)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N="${1:-10}"
report="$(mktemp "${TMPDIR:-/tmp}/nixgen-fault-trials.XXXXXX")"
npm run --silent compile || exit 1
start=$(date +%s)
NIXGEN_TRIALS="$N" NIXGEN_TRIALS_REPORT="$report" npx mocha --timeout 3600000 --enable-source-maps \
  out/test/integration/transition-faults.test.js
status=$?
echo
echo "=== fault trials ($N per fault, $(($(date +%s) - start)) s), one line per trial in $report"
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map(JSON.parse);
const by = {};
for (const r of rows) (by[r.fault] ??= []).push(r);
for (const [fault, rs] of Object.entries(by)) {
  const extra = rs.filter((r) => r.resumed || r.failedThenRetried).length;
  console.log(`${fault.padEnd(22)} ${rs.filter((r) => r.ok).length}/${rs.length} passed (zero rows lost, old data intact)` +
    `; resumed or recovered+retried: ${extra}`);
}
' "$report"
exit $status
