#!/usr/bin/env bash
# `npm test`: static checks, then the four test layers (unit; integration on real Nix, git and sshd; the extension
# host of a real VS Code; end-to-end in headless Chromium). Installs what the tests need first (idempotent, about
# a second when everything is there). Every layer runs even when an earlier one fails; the summary at the end lists
# each with its time, and the exit status is non-zero when any failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-test-deps.sh || exit 1

steps=(check test:unit test:integration test:vscode test:e2e)
results=()
failed=0
for s in "${steps[@]}"; do
  echo
  echo "=== npm run $s"
  t=$(date +%s)
  if npm run --silent "$s"; then
    results+=("ok    $s ($(($(date +%s) - t)) s)")
  else
    results+=("FAIL  $s ($(($(date +%s) - t)) s)")
    failed=$((failed + 1))
  fi
done

echo
echo "=== summary"
printf '  %s\n' "${results[@]}"
echo "test-all: $((${#steps[@]} - failed)) of ${#steps[@]} steps passed"
[ "$failed" -eq 0 ]
