#!/usr/bin/env bash
# Runs a test driver (test/vscode/run-in-code-server.mjs, test/e2e/run-e2e.mjs, the demo) so that even if the
# driver itself is killed (SIGKILL, OOM, a CI timeout), the code-server process group it started is ended and its
# temp dirs are removed afterwards. The drivers write code-server's pid to $VSCODE_HARNESS_PIDFILE and the temp
# paths to $VSCODE_HARNESS_PIDFILE.paths (test/lib/codeserver.mjs does that).
#
#   bash test/lib/with-cleanup.sh node test/e2e/run-e2e.mjs [args]
#
# The driver's exit status is passed through.
set -uo pipefail
PIDFILE="$(mktemp "${TMPDIR:-/tmp}/nixgen-harness-XXXXXX")"
export VSCODE_HARNESS_PIDFILE="$PIDFILE"
cleanup() {
  local pg
  pg="$(cat "$PIDFILE" 2>/dev/null)"
  if [ -n "$pg" ] && kill -0 -- "-$pg" 2>/dev/null; then
    kill -TERM -- "-$pg" 2>/dev/null
    sleep 2
    kill -KILL -- "-$pg" 2>/dev/null
  fi
  if [ -f "$PIDFILE.paths" ]; then
    while IFS= read -r p; do
      if [ -n "$p" ] && [ -e "$p" ]; then
        # Nix store dirs of a fixture are read-only: make them writable first.
        chmod -R u+w -- "$p" 2>/dev/null
        rm -rf -- "$p"
      fi
    done <"$PIDFILE.paths"
  fi
  rm -f "$PIDFILE" "$PIDFILE.paths"
}
trap cleanup EXIT
# The driver runs in the background so that a signal to this wrapper is handled at once: it is passed on as
# SIGTERM (the drivers stop code-server and clean up on SIGINT and SIGTERM), then the trap above sweeps up.
"$@" &
child=$!
forward() {
  kill -TERM "$child" 2>/dev/null
  wait "$child"
  exit "$1"
}
trap 'forward 130' INT
trap 'forward 143' TERM
wait "$child"
