#!/usr/bin/env bash
# Builds the libFuzzer targets (clang) and runs each for FUZZ_SECONDS (default 30) from its seed
# corpus in fuzz/corpus/<target>. New inputs go to build/fuzz/corpus/<target>, not the repo.
# Longer runs: FUZZ_SECONDS=3600 scripts/fuzz.sh codec
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --fuzz
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
seconds=${FUZZ_SECONDS:-30}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(codec envelope frame_reader target config session)
for t in "${targets[@]}"; do
  work=build/fuzz/corpus/$t
  mkdir -p "$work"
  dict=()
  case $t in codec | envelope) dict=(-dict=fuzz/json.dict) ;; esac
  echo "=== fuzz $t for ${seconds}s"
  build/fuzz/fuzz/${t}_fuzz "$work" "fuzz/corpus/$t" "${dict[@]}" -max_total_time="$seconds" \
    -max_len=131072 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 2>&1 | tail -n 12
  # libFuzzer exits non-zero on a crash; pipefail carries it out.
done
