#!/usr/bin/env bash
# `npm test`: static checks, then the test layers (unit; integration on real Nix, git and sshd; security: hostile
# repositories, sizes and values; the extension host of a real VS Code; end-to-end in headless Chromium). Installs what the tests need first (idempotent, about
# a second when everything is there). Every layer runs even when an earlier one fails; the summary at the end lists
# each with its time, and the exit status is non-zero when any failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-test-deps.sh || exit 1

steps=(check test:unit test:integration test:security test:vscode test:e2e)
logs="$(mktemp -d "${TMPDIR:-/tmp}/nixgen-test-all.XXXXXX")"
trap 'rm -rf "$logs"' EXIT
passed_total=0
failed_total=0
# Counts of one step's tests, from its closing lines: mocha's "N passing" / "N failing", or the harness' own
# "N passed, N failed" (extension host, end-to-end). A step that printed neither but failed counts as one failure.
count_tests() {
  local log="$1" ok="$2" p f
  p=$(grep -E '^ *[0-9]+ passing' "$log" | awk '{s+=$1} END {print s+0}')
  f=$(grep -E '^ *[0-9]+ failing' "$log" | awk '{s+=$1} END {print s+0}')
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -n "$line" ]; then
      p=$(echo "$line" | awk '{print $1}')
      f=$(echo "$line" | awk '{print $3}')
    fi
  fi
  if [ "$ok" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed_total=$((passed_total + p))
  failed_total=$((failed_total + f))
}
results=()
failed=0
for s in "${steps[@]}"; do
  echo
  echo "=== npm run $s"
  t=$(date +%s)
  log="$logs/$s.log"
  if npm run --silent "$s" 2>&1 | tee "$log"; then
    results+=("ok    $s ($(($(date +%s) - t)) s)")
    [ "$s" = check ] || count_tests "$log" 0
  else
    results+=("FAIL  $s ($(($(date +%s) - t)) s)")
    if [ "$s" = check ]; then failed_total=$((failed_total + 1)); else count_tests "$log" 1; fi
    failed=$((failed + 1))
  fi
done

echo
echo "=== summary"
printf '  %s\n' "${results[@]}"
echo "test-all: $((${#steps[@]} - failed)) of ${#steps[@]} steps passed"
echo "tests: $passed_total passed, $failed_total failed"
[ "$failed" -eq 0 ]
