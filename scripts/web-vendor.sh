#!/usr/bin/env bash
# Fetches the JavaScript libraries the web page uses (pinned, with their integrity hashes, in
# scripts/web-vendor/package-lock.json) with `npm ci`, and copies the files the page loads into
# web/vendor/ (not committed: .gitignore). Idempotent; run by scripts/run.sh, scripts/test.sh
# and the Dockerfile. Without it the page still works, but draws no QR code (it says so).
#
#   qrcode-generator  web/vendor/qrcode.mjs  the room link's QR code, drawn in the page, so the
#                                            link never goes to the server (docs/PRIVACY.md)
#   @noble/curves, @noble/hashes, @noble/ciphers
#                     web/vendor/noble.mjs   X25519, HKDF, HMAC, SHA-256, AES-GCM for web/e2e.js,
#                                            bundled by esbuild (crypto-entry.mjs says what is
#                                            taken): @noble/curves imports @noble/hashes by
#                                            package name, which a browser cannot resolve
set -euo pipefail
cd "$(dirname "$0")/.."
command -v npm >/dev/null 2>&1 || scripts/install-deps.sh --node
mods=scripts/web-vendor/node_modules
# npm ci only when the lockfile changed since the last one (a stamp of its hash): scripts/run.sh
# calls this at every start, which must not need the npm registry once set up.
lock=$(sha256sum scripts/web-vendor/package-lock.json | cut -d' ' -f1)
if [ "$(cat "$mods/.roomcast-lock" 2>/dev/null)" != "$lock" ]; then
  npm ci --prefix scripts/web-vendor --no-audit --no-fund --loglevel=error >/dev/null
  echo "$lock" >"$mods/.roomcast-lock"
fi
mkdir -p web/vendor
copy() { # only when it changed, so the web root's files keep their mtimes
  cmp -s "$1" "$2" 2>/dev/null || cp "$1" "$2"
}
copy "$mods/qrcode-generator/dist/qrcode.mjs" web/vendor/qrcode.mjs
"$mods/.bin/esbuild" scripts/web-vendor/crypto-entry.mjs --bundle --format=esm --target=es2020 \
  --legal-comments=inline --log-level=warning --outfile=web/vendor/noble.mjs.new
copy web/vendor/noble.mjs.new web/vendor/noble.mjs
rm -f web/vendor/noble.mjs.new
