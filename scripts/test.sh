#!/usr/bin/env bash
# Installs what is missing, then builds and runs every test: unit and integration tests in the
# release build, again under ASan+UBSan (plus a short soak: thousands of connections churning,
# then RSS and every gauge back, no sanitizer report) and under TSan, the libFuzzer targets for
# a bounded time, the browser tests, nginx and Caddy in front of the daemon, the container
# image, and a smoke run of the benchmarks. Stops at the first failure.
#
#   scripts/test.sh                # everything (what CI runs)
#   scripts/test.sh release asan   # only the named stages
# Stages: release asan soak tsan fuzz browser proxy container bench
set -euo pipefail
cd "$(dirname "$0")/.."

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(release asan soak tsan fuzz browser proxy container bench)
# Every stage line says how long the run has taken so far (CI has 90 minutes in all).
say() { printf '=== [%02d:%02d] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }
want() { local s; for s in "${stages[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }

deps=()
if want browser; then deps+=(--browser); fi
if want bench; then deps+=(--node); fi
if want fuzz; then deps+=(--fuzz); fi
if want container; then deps+=(--container); fi
if want proxy; then deps+=(--proxy); fi
scripts/install-deps.sh "${deps[@]}"
# The page's npm libraries into web/vendor/, for the stages that open the page.
if want browser || want proxy; then scripts/web-vendor.sh; fi

ctest_preset() {
  local preset=$1; shift
  say "[$preset] configure + build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  say "[$preset] ctest"
  ctest --preset "$preset" "$@"
}

want release && ctest_preset release
want asan && ctest_preset asan
if want soak; then
  say "[soak] 2 000 connections churning (leaves, FIN/RST drops, resumes) under ASan+UBSan"
  cmake --preset asan >/dev/null
  cmake --build --preset asan --target roomcast
  tests/soak/soak.sh --short --server build/asan/roomcast
  say "[soak] honest pairs beside an attacker mix (partial messages, parked seats, trickle readers)"
  tests/soak/attack.sh --short --server build/asan/roomcast
fi
# TSan: the tests that run threads (the registry under contention, the live server).
want tsan && ctest_preset tsan -L 'unit|integration|adversarial'
if want fuzz; then
  say "[fuzz] each libFuzzer target for ${FUZZ_SECONDS:-20}s"
  FUZZ_SECONDS=${FUZZ_SECONDS:-20} scripts/fuzz.sh
fi
if want browser; then
  say "[browser] the page's key schedule and sealed format against published vectors and node:crypto"
  node --test tests/web/
fi
if want browser && [ -x tests/browser/run.sh ]; then
  say "[browser] chromium + playwright-core"
  tests/browser/run.sh
fi
if want proxy; then
  say "[proxy] nginx and caddy in front of roomcast, with deploy/'s configurations"
  [ -x build/release/roomcast ] || { cmake --preset release >/dev/null && cmake --build --preset release --target roomcast; }
  PROXY_TEST_REQUIRED=1 tests/proxy/proxy_test.sh build/release/roomcast
fi
if want container; then
  say "[container] podman build + smoke test"
  tests/container/smoke.sh
fi
if want bench && [ -x bench/run ]; then
  say "[bench] smoke run (checks the harness works; asserts no timing)"
  bench/run --smoke
fi
say "all requested stages passed: ${stages[*]}"
