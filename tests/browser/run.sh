#!/usr/bin/env bash
# Browser tests: Debian chromium + playwright-core (pinned in package-lock.json), against the
# release build of roomcast. Builds it if missing.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
if [ ! -x "$root/build/release/roomcast" ]; then
  (cd "$root" && cmake --preset release >/dev/null && cmake --build --preset release --target roomcast)
fi
(cd "$root" && scripts/web-vendor.sh) # the page's QR encoder into web/vendor/
npm ci --no-audit --no-fund --loglevel=error
node --test --test-concurrency=1 ./*.test.mjs
