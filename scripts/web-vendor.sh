#!/usr/bin/env bash
# Fetches the JavaScript libraries the web page uses (pinned, with their integrity hashes, in
# scripts/web-vendor/package-lock.json) with `npm ci`, and copies the files the page loads into
# web/vendor/ (not committed: .gitignore). Idempotent; run by scripts/run.sh, scripts/test.sh
# and the Dockerfile. Without it the page still works, but draws no QR code (it says so).
#
#   qrcode-generator  web/vendor/qrcode.mjs  the room link's QR code, drawn in the page, so the
#                                            link never goes to the server (docs/PRIVACY.md)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v npm >/dev/null 2>&1 || scripts/install-deps.sh --node
npm ci --prefix scripts/web-vendor --no-audit --no-fund --loglevel=error >/dev/null
mods=scripts/web-vendor/node_modules
mkdir -p web/vendor
copy() { # only when it changed, so the web root's files keep their mtimes
  cmp -s "$1" "$2" 2>/dev/null || cp "$1" "$2"
}
copy "$mods/qrcode-generator/dist/qrcode.mjs" web/vendor/qrcode.mjs
