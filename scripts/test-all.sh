#!/usr/bin/env bash
# `npm test`: static checks, then the four test layers (unit, integration on real Nix, extension host in a
# real VS Code, end-to-end in headless Chromium). Installs what the tests need first (idempotent).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-test-deps.sh
npm run check
npm run test:unit
npm run test:integration
npm run test:vscode
npm run test:e2e
