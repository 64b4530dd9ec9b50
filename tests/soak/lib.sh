# shellcheck shell=bash disable=SC2154,SC2034  # set (and read) by the sourcing script
# tests/soak/lib.sh: what soak.sh and attack.sh share (sourced, not run). Starts and stops the
# server under test, reads its RSS and /metrics, waits for it to be idle, and looks for
# sanitizer reports. Every wait is bounded.
#
# The sourcing script sets, before calling these: tag (the log prefix), server (the binary,
# checked by soak_setup), server_flags (an array), grace_s (the server's --resume-grace, s),
# mode (short or long) and optionally out (the log directory). soak_setup sets asan, out and
# the traps; start_server sets server_pid and port.

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
need_arg() { [ $# -ge 2 ] || { echo "$tag: $1 needs a value" >&2; exit 2; }; }
log() { printf '[%s] %s\n' "$tag" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# soak_setup: the server binary, the sanitizer options, the log directory and the clean-up.
soak_setup() {
  [ -x "$server" ] || die "no server binary at $server (build it: cmake --preset release && cmake --build --preset release)"
  server=$(cd "$(dirname "$server")" && pwd)/$(basename "$server")

  # The options matter only to an ASan/UBSan build.
  asan=0
  grep -qa __asan_init "$server" && asan=1
  # detect_leaks: LeakSanitizer runs at exit. quarantine_size_mb: ASan keeps freed blocks out of
  # reuse to catch use-after-free; the default 256 MiB quarantine fills over minutes of churn and
  # shows as RSS growth that is not a leak, so it is bounded here (16 MiB still spans many
  # thousands of connections' worth of freed blocks).
  export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:quarantine_size_mb=16:${ASAN_OPTIONS:-}"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
  export LSAN_OPTIONS="${LSAN_OPTIONS:-}"

  out=${out:-$(mktemp -d "${TMPDIR:-/tmp}/roomcast-$tag.XXXXXX")}
  mkdir -p "$out"

  server_pid=""
  gen_pid=""
  trap soak_cleanup EXIT
  trap 'exit 130' INT TERM
}

# Processes, killed whatever happens.
soak_cleanup() {
  [ -n "$gen_pid" ] && kill -KILL "$gen_pid" 2>/dev/null || true
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  return 0
}

start_server() {
  log "server: $server$([ "$asan" = 1 ] && echo " (ASan/UBSan build)")"
  : >"$out/server.out"
  : >"$out/server.err"
  "$server" "${server_flags[@]}" >>"$out/server.out" 2>>"$out/server.err" &
  server_pid=$!
  for _ in $(seq 1 600); do
    kill -0 "$server_pid" 2>/dev/null || { cat "$out/server.err" >&2; die "the server exited at start-up"; }
    port=$(sed -n 's|.*listening on http://[^ ]*:\([0-9][0-9]*\)/.*|\1|p' "$out/server.out" "$out/server.err" | head -n 1 || true)
    [ -n "$port" ] && return 0
    sleep 0.05
  done
  die "the server did not report its port within 30 s"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status" 2>/dev/null || echo 0; }

# http_get PATH FILE: the body of a 200 answer, over bash's /dev/tcp (no curl needed); the
# whole exchange, connect included, is bounded by `timeout`.
polls=0
http_get() {
  local rc=0
  timeout 15 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n" "$2" "$1" >&3
    cat <&3' http_get "$port" "$1" >"$2.raw" 2>/dev/null || rc=1
  [ -s "$2.raw" ] && polls=$((polls + 1))  # answered, so accepted: counted by the server too
  [ "$rc" = 0 ] || return 1
  head -n 1 "$2.raw" | grep -q ' 200 ' || return 1
  sed '1,/^\r$/d' "$2.raw" >"$2"
}

# metric FILE NAME: a value from a /metrics text (NAME includes any {labels}).
metric() { awk -v n="$2" '$1 == n { print $2; f = 1; exit } END { if (!f) print "missing" }' "$1"; }

# delta FILE0 FILE1 NAME: how much a counter grew between two /metrics texts.
delta() {
  local a b
  a=$(metric "$1" "$3"); b=$(metric "$2" "$3")
  [[ "$a" =~ ^[0-9]+$ && "$b" =~ ^[0-9]+$ ]] || die "metric $3 missing from /metrics"
  echo $((b - a))
}

# num FILE KEY: a number from a generator's flat JSON line.
num() { grep -o "\"$2\":[0-9.]*" "$1" | head -n 1 | cut -d: -f2; }

# idle FILE: true when a /metrics text shows no WebSocket, member, room, held seat or queued
# byte, and the only open connection is the poll itself.
idle() {
  [ "$(metric "$1" roomcast_websockets)" = 0 ] && [ "$(metric "$1" roomcast_members)" = 0 ] &&
    [ "$(metric "$1" roomcast_seats_held)" = 0 ] && [ "$(metric "$1" roomcast_rooms)" = 0 ] &&
    [ "$(metric "$1" roomcast_connections)" = 1 ] && [ "$(metric "$1" roomcast_queued_bytes)" = 0 ]
}

# wait_idle FILE LABEL: polls /metrics until two idle readings 0.5 s apart agree on every
# counter, and fails after the grace period + 30 s. Two, because the text is not one snapshot:
# expired seats are counted in step with the seats_held gauge (under the registry lock), but a
# session that has just parked or resumed a seat counts it a moment after the registry shows it.
wait_idle() {
  local file=$1 label=$2 deadline=$((SECONDS + grace_s + 30)) prev=""
  while :; do
    kill -0 "$server_pid" 2>/dev/null || die "the server died ($label)"
    if http_get /metrics "$file" && idle "$file"; then
      local now
      now=$(grep -E '^roomcast_seat_events_total' "$file" || true)
      [ -n "$prev" ] && [ "$now" = "$prev" ] && return 0
      prev=$now
      sleep 0.5
      continue
    fi
    prev=""
    if [ "$SECONDS" -ge "$deadline" ]; then
      grep -E '^roomcast_(connections|websockets|rooms|members|seats_held|queued_bytes) ' "$file" >&2 || true
      die "$label: the server did not return to idle within $((grace_s + 30)) s (a stuck connection or seat?)"
    fi
    sleep 0.25
  done
}

# server_state FILE: for a failure report, the server's view (gauges, refusals, closes by reason).
server_state() {
  if http_get /metrics "$1"; then
    grep -E '^roomcast_(connections|websockets|rooms|members|seats_held|connections_rejected_total|protocol_errors_total|frames_dropped_total|closes_total|errors_total|memory_)' "$1" |
      tr '\n' ' ' | sed 's/roomcast_//g' >&2
    echo >&2
  fi
  grep -E '^[0-9T:.-]+ (warn|warning|error|critical) ' "$out/server.out" "$out/server.err" | tail -n 5 >&2 || true
}

# watch_gen LABEL LIMIT_S EVERY_S: waits for the generator $gen_pid, appending "SECONDS RSS_KiB"
# to $out/rss-LABEL.log every EVERY_S seconds (0: every 0.2 s) and, in the long mode, logging it
# once a minute; kills it and fails past LIMIT_S. Leaves its exit status in gen_rc.
watch_gen() {
  local label=$1 deadline=$((SECONDS + $2)) every=$3 next=0 next_log=0 t0=$SECONDS
  gen_rc=0
  : >"$out/rss-$label.log"
  while kill -0 "$gen_pid" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || { kill -KILL "$gen_pid"; die "$label: the generator overran"; }
    if [ "$SECONDS" -ge "$next" ]; then
      echo "$SECONDS $(rss_kib)" >>"$out/rss-$label.log"
      next=$((SECONDS + every))
    fi
    if [ "$mode" = long ] && [ "$SECONDS" -ge "$next_log" ]; then
      log "$label: $((SECONDS - t0)) s, server RSS $(rss_kib) KiB"
      next_log=$((SECONDS + 60))
    fi
    sleep 0.2
  done
  wait "$gen_pid" || gen_rc=$?
  gen_pid=""
}

# rss_peak FILE: the largest RSS sample in a watch_gen log.
rss_peak() { awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$1"; }

# stop_server: SIGTERM, and the server must exit within 60 s; leaves its status in exit_code.
stop_server() {
  kill -TERM "$server_pid"
  exit_code=""
  for _ in $(seq 1 600); do   # 60 s: the shutdown timeout (5 s) + LeakSanitizer's scan
    if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    die "the server did not exit within 60 s of SIGTERM"
  fi
  wait "$server_pid" && exit_code=0 || exit_code=$?
  server_pid=""
}

# check_exit: a clean exit and no sanitizer report; adds to the failures array, sets excerpt
# (the report, for the end) and warnings (the server's warn/error lines).
check_exit() {
  [ "$exit_code" = 0 ] || failures+=("the server exited $exit_code on SIGTERM (not 0)")
  if grep -qE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer|SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer' \
      "$out/server.err" "$out/server.out"; then
    failures+=("sanitizer report in the server's output ($out/server.err):")
    excerpt=$(grep -hE -A6 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$out/server.err" "$out/server.out" | head -n 40)
  fi
  warnings=$(cat "$out/server.out" "$out/server.err" | grep -cE '^[0-9T:.-]+ (warn|warning|error|critical) ' || true)
}

# verdict: prints the failures (and any sanitizer excerpt) and exits 1, or logs PASS.
verdict() {
  if [ ${#failures[@]} -gt 0 ]; then
    for f in "${failures[@]}"; do log "FAIL: $f"; done
    [ -z "${excerpt:-}" ] || printf '%s\n' "$excerpt" >&2
    exit 1
  fi
  log "PASS"
}
