#!/usr/bin/env bash
# Builds the root file system of the test machines: minimal Debian with systemd (PID 1), dbus, sshd and iproute2,
# booted by up.sh under systemd-nspawn. Mirrors and suite come from this machine's own apt configuration, so the
# script names no host. About 40 s and 230 MB; install-test-deps.sh keeps it as a tar.zst in the test cache.
#
# Usage: make-rootfs.sh DIR KEY
#   DIR  the root file system to (re)create
#   KEY  an ssh key pair (created when missing); KEY.pub is authorized for root in the machines
set -euo pipefail
DIR=${1:?usage: make-rootfs.sh DIR KEY}
KEY=${2:?usage: make-rootfs.sh DIR KEY}
command -v mmdebstrap >/dev/null || { echo "make-rootfs: mmdebstrap is not installed" >&2; exit 1; }

suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$suite" ] || { echo "make-rootfs: no VERSION_CODENAME in /etc/os-release" >&2; exit 1; }

# apt sources of this machine as one-line "deb URI SUITE COMPONENTS..." entries (deb822 files and sources.list)
sources=()
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  while IFS= read -r line; do sources+=("$line"); done < <(awk '
    function flush() { if (uri != "") { n = split(suites, s, " "); for (i = 1; i <= n; i++) print "deb " uri " " s[i] " " comps } uri = suites = comps = "" }
    /^URIs:/       { uri = $2 }
    /^Suites:/     { $1 = ""; suites = substr($0, 2) }
    /^Components:/ { $1 = ""; comps = substr($0, 2) }
    /^[[:space:]]*$/ { flush() }
    END { flush() }' "$f")
done
if [ -f /etc/apt/sources.list ]; then
  while IFS= read -r line; do sources+=("$line"); done < <(grep -E '^deb ' /etc/apt/sources.list || true)
fi
[ ${#sources[@]} -gt 0 ] || { echo "make-rootfs: no apt sources on this machine" >&2; exit 1; }

# an interrupted build can leave /proc, /sys or /dev mounted inside: never delete through them
if awk -v d="$(realpath -m "$DIR")/" 'index($2, d) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
  echo "make-rootfs: something is still mounted under $DIR; unmount it first" >&2; exit 1
fi
rm -rf "$DIR"
mmdebstrap --quiet --variant=minbase \
  --include=systemd,systemd-sysv,dbus,openssh-server,iproute2,libpam-systemd,procps,nix-bin "$suite" "$DIR" "${sources[@]}"

[ -f "$KEY" ] || ssh-keygen -q -t ed25519 -N '' -C nixgen-test-machines -f "$KEY"
install -d -m700 "$DIR/root/.ssh"
install -m600 "$KEY.pub" "$DIR/root/.ssh/authorized_keys"
# The fixture's private Nix store is reached with these variables (test/lib/machines.ts passes them with SetEnv).
printf '%s\n' 'PermitRootLogin prohibit-password' 'PasswordAuthentication no' 'UseDNS no' \
  'AcceptEnv NIX_STORE_DIR NIX_STATE_DIR NIX_LOG_DIR NIX_CONF_DIR NIX_CONFIG NIXOS_FIXTURE_*' \
  > "$DIR/etc/ssh/sshd_config.d/test.conf"
# Nix as root without build users or sandbox (the tests bind this machine's /nix into the machines), offline
install -d "$DIR/etc/nix"
printf '%s\n' 'build-users-group =' 'sandbox = false' 'substituters =' > "$DIR/etc/nix/nix.conf"
ln -sf /dev/null "$DIR/etc/systemd/system/console-getty.service"
# the host name is the container's name, and every boot gets a fresh machine-id
rm -f "$DIR/etc/hostname" "$DIR/etc/machine-id"
echo "rootfs ready: $DIR"
