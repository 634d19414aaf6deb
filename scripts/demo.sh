#!/usr/bin/env bash
# `npm run demo`: try the extension without NixOS. Builds it, builds a fixture profile of about 30 fake NixOS
# generations in a real (private) Nix store, starts an offline VS Code in the browser (code-server on 127.0.0.1,
# a free port, no auth) with the extension installed and its settings pointing at the fixture, and prints the URL.
# Ctrl-C stops it.
#
#   npm run demo [-- --port 8080] [-- --generations 50] [-- --rebuild-fixture]
#   npm run demo -- --vscode       package a VSIX and install it into your own VS Code (`code` on PATH);
#                                  on NixOS it then shows your real system profile
#
# Needs what the tests need (scripts/install-test-deps.sh: nix-bin, chromium not required, code-server in
# .vscode-test/) and `npm ci`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
[ -x node_modules/.bin/vsce ] || { echo "demo: run 'npm ci' first (vsce and esbuild are devDependencies)" >&2; exit 1; }

if [ "${1:-}" = "--vscode" ]; then
  command -v code >/dev/null || {
    echo "demo: 'code' is not on PATH. Install VS Code (or put its 'code' command on PATH) and re-run," >&2
    echo "      or run 'npm run demo' without --vscode for the browser demo." >&2
    exit 1
  }
  npm run --silent build -- --production
  out="${TMPDIR:-/tmp}/nixos-generations-demo"
  mkdir -p "$out"
  # Relative README links (the screenshot) stay relative: they resolve inside the VSIX; no repository URL needed.
  node_modules/.bin/vsce package --no-dependencies --allow-missing-repository --no-rewrite-relative-links \
    -o "$out/nixos-generations.vsix" </dev/null
  code --install-extension "$out/nixos-generations.vsix" --force
  echo
  echo "Installed. Open VS Code and click 'NixOS Generations' in the activity bar."
  echo "On NixOS it reads /nix/var/nix/profiles/system (and your user and home-manager profiles);"
  echo "elsewhere, point the setting nixosGenerations.profiles at a profile."
  exit 0
fi

if [ ! -x .vscode-test/bin/code-server ] && [ -z "${NIXGEN_TEST_CACHE:-}" ]; then
  echo "demo: the offline VS Code is not installed yet: running scripts/install-test-deps.sh" >&2
  bash scripts/install-test-deps.sh
fi
npm run --silent build
exec node scripts/demo-server.mjs "$@"
