#!/usr/bin/env bash
# Installs every Debian package roomcast needs to build and test, idempotently.
# Uses the machine's configured apt sources only. Safe to run again: it installs
# nothing when everything is present.
#
#   scripts/install-deps.sh            # build + unit/integration tests
#   scripts/install-deps.sh --browser  # + chromium and node, for the browser tests
#   scripts/install-deps.sh --node     # + node and npm, for the benchmark peers
#   scripts/install-deps.sh --fuzz     # + clang and its sanitizer runtimes, for libFuzzer
#   scripts/install-deps.sh --container  # + podman, runc, mmdebstrap, for the image smoke test
#   scripts/install-deps.sh --proxy    # + nginx and caddy, for tests/proxy/proxy_test.sh
set -euo pipefail

pkgs=(
  g++ cmake make pkg-config ca-certificates procps
  libboost1.81-dev nlohmann-json3-dev libspdlog-dev libgtest-dev
  libqrencode-dev libssl-dev
)
for arg in "$@"; do
  case "$arg" in
    --browser) pkgs+=(chromium nodejs npm) ;;
    --node) pkgs+=(nodejs npm) ;;
    --container) pkgs+=(podman runc mmdebstrap uidmap python3) ;;
    --fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
    --proxy) pkgs+=(nginx-light caddy python3) ;;
    *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  # node/npm may come from elsewhere on a developer machine; accept what is on PATH
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
