#!/usr/bin/env bash
# Installs what is missing, builds the release binary and runs roomcast on http://localhost:3000
# (PORT / HOST and every ROOMCAST_* variable are honoured; extra arguments go to roomcast).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --node
scripts/web-vendor.sh # the page's npm libraries (QR encoder) into web/vendor/
cmake --preset release >/dev/null
cmake --build --preset release --target roomcast
exec build/release/roomcast "$@"
