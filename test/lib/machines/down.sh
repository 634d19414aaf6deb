#!/usr/bin/env bash
# Stops a machine started by up.sh (SIGTERM to systemd-nspawn: an orderly poweroff, KILL after 10 s) and removes its
# network namespace, veth pair, cgroups and state directory. Safe to run for a machine that is not (fully) up.
# Usage: down.sh NAME
NAME=${1:?name}
STATE=${NIXGEN_MACHINE_STATE:-${TMPDIR:-/tmp}/nixgen-machine-$NAME}
pid=$(cat "$STATE/pid" 2>/dev/null || true)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
fi
ip link del "vh-$NAME" 2>/dev/null
ip netns del "$NAME" 2>/dev/null
for h in systemd unified; do
  [ -d "/sys/fs/cgroup/$h/$NAME" ] && find "/sys/fs/cgroup/$h/$NAME" -depth -type d -exec rmdir {} \; 2>/dev/null
done
rm -rf "$STATE"
true
