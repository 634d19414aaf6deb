#!/usr/bin/env bash
# The fault campaign of the fleet safe switch, on real machines (test/lib/machines): TRIALS trials (default 20) of
# each fault, a system that removes the machine's address and one that stops sshd, each activated by
# `nixos-generations switch --safe` over ssh. Every trial must lose the machine, see it put the previous system back
# by itself, and reach it again over ssh; the revert time after the deadline (watchdog's own clock) is printed per
# fault. CI runs the same test with 2 trials.
#   bash bench/fleet-faults.sh [TRIALS]      (needs root and scripts/install-test-deps.sh)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TRIALS=${1:-20}
npm run --silent compile
NIXGEN_FLEET_TRIALS=$TRIALS npx mocha --timeout 3600000 --grep 'reverts by itself|backstop' out/test/integration/fleet-switch.test.js
