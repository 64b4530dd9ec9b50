#!/usr/bin/env bash
# Builds the libFuzzer targets (clang) and runs each for FUZZ_SECONDS (default 30) from its seed
# corpus in fuzz/corpus/<target>. New inputs go to build/fuzz/corpus/<target>, not the repo;
# a crashing input to build/fuzz/<target>-crash-*, the whole output to build/fuzz/<target>.log.
# Longer runs: FUZZ_SECONDS=3600 scripts/fuzz.sh codec
# `seat` inputs are scripts (see fuzz/seat_fuzz.cpp): a few hundred ops are plenty, so its inputs
# are capped at 1 KiB; the others take up to 128 KiB of raw bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --fuzz
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
seconds=${FUZZ_SECONDS:-30}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(codec envelope frame_reader target config session seat)
for t in "${targets[@]}"; do
  work=build/fuzz/corpus/$t
  mkdir -p "$work"
  max_len=131072
  [ "$t" != seat ] || max_len=1024
  dict=()
  case $t in codec | envelope) dict=(-dict=fuzz/json.dict) ;; esac
  log=build/fuzz/$t.log
  echo "=== fuzz $t for ${seconds}s"
  status=0
  "build/fuzz/fuzz/${t}_fuzz" "$work" "fuzz/corpus/$t" "${dict[@]}" -max_total_time="$seconds" \
    -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="build/fuzz/$t-" >"$log" 2>&1 || status=$?
  tail -n 12 "$log"
  if [ "$status" -ne 0 ]; then
    # The final stats push the sanitizer's summary out of the tail: name it here.
    grep -m 2 -E '^(==[0-9]+==ERROR|SUMMARY)' "$log" || true
    echo "fuzz $t failed (exit $status): full report in $log, input in build/fuzz/$t-*"
    exit "$status"
  fi
done
