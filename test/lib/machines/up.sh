#!/usr/bin/env bash
# Boots a test machine: real systemd as PID 1 under systemd-nspawn, from ROOTFS (make-rootfs.sh) kept read-only
# (--volatile=overlay, so many machines share one tree), in a network namespace of its own named NAME, joined to
# this machine by a veth pair: this side 10.99.IDX.1/24 on vh-NAME, the machine 10.99.IDX.2/24 on host0, sshd on
# port 22. Returns once root can log in over ssh (about 1.5 s). Options after the fourth argument go to
# systemd-nspawn (e.g. --bind=/tmp/fixture). The addresses exist only in namespaces this script made; nothing is
# routed anywhere else.
#
# Usage: up.sh NAME IDX ROOTFS KEY [systemd-nspawn options...]
# State (pid, console.log): $NIXGEN_MACHINE_STATE/NAME (default ${TMPDIR:-/tmp}/nixgen-machine-NAME)
set -euo pipefail
NAME=${1:?name}; IDX=${2:?index 1..250}; ROOT=${3:?rootfs}; KEY=${4:?ssh key}; shift 4
[[ $NAME =~ ^[a-z][a-z0-9-]{0,10}$ ]] || { echo "up.sh: NAME must be 1-11 of [a-z0-9-] (veth names are short)" >&2; exit 2; }
[[ $IDX =~ ^[0-9]+$ ]] && [ "$IDX" -ge 1 ] && [ "$IDX" -le 250 ] || { echo "up.sh: IDX must be 1..250" >&2; exit 2; }
STATE=${NIXGEN_MACHINE_STATE:-${TMPDIR:-/tmp}/nixgen-machine-$NAME}
mkdir -p "$STATE"

ip netns add "$NAME"
ip link add "vh-$NAME" type veth peer name host0 netns "$NAME"
ip addr add "10.99.$IDX.1/24" dev "vh-$NAME"
ip link set "vh-$NAME" up
ip -n "$NAME" link set lo up
ip -n "$NAME" addr add "10.99.$IDX.2/24" dev host0
ip -n "$NAME" link set host0 up

# CAP_NET_ADMIN: the machine's activations change its own addresses (only inside its namespace).
# This machine's PID 1 is not systemd: nspawn needs --register=no --keep-unit, and a cgroup of its own per machine
# (it creates payload/ and supervisor/ under the cgroup it starts in; two machines in one cgroup collide).
for h in systemd unified; do [ -d "/sys/fs/cgroup/$h" ] && mkdir -p "/sys/fs/cgroup/$h/$NAME"; done
setsid bash -c '
  name=$1 root=$2; shift 2
  for h in systemd unified; do [ -d "/sys/fs/cgroup/$h/$name" ] && echo $$ > "/sys/fs/cgroup/$h/$name/cgroup.procs"; done
  exec systemd-nspawn -D "$root" -b -M "$name" --register=no --keep-unit --volatile=overlay --capability=CAP_NET_ADMIN \
    --network-namespace-path="/run/netns/$name" "$@"' up "$NAME" "$ROOT" "$@" \
  </dev/null >"$STATE/console.log" 2>&1 &
echo $! > "$STATE/pid"

for _ in $(seq 1 300); do
  if ssh -F /dev/null -i "$KEY" -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
      -o LogLevel=ERROR -o ConnectTimeout=1 -o BatchMode=yes "root@10.99.$IDX.2" true 2>/dev/null; then
    echo "$NAME up: pid $(cat "$STATE/pid"), ssh root@10.99.$IDX.2"; exit 0
  fi
  kill -0 "$(cat "$STATE/pid")" 2>/dev/null || { echo "up.sh: systemd-nspawn for $NAME exited:" >&2; tail -20 "$STATE/console.log" >&2; exit 1; }
  sleep 0.1
done
echo "up.sh: no ssh to $NAME (root@10.99.$IDX.2) after 30 s" >&2; exit 1
