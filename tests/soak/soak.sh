#!/usr/bin/env bash
# tests/soak/soak.sh: "never crash, never leak". Starts roomcast on 127.0.0.1 and churns
# thousands of WebSocket connections through it with roomcast-bench (connect, join, send, then
# leave cleanly or drop the TCP connection without a close frame, FIN or RST, sometimes halfway
# through a message; reconnect, sometimes taking the held seat back with its resume token).
# Then, once every held seat has expired, it fails unless:
#   * the server's RSS is back within the tolerance of its start (after a warm-up round),
#   * /metrics shows no WebSocket, member, room or held seat left, and the seat counters add
#     up with what the generator did (every drop held a seat; each was resumed or expired),
#   * the generator saw no lost, duplicated, misrouted or corrupt message and no failed cycle,
#   * the server exits 0 on SIGTERM, and its output holds no sanitizer report (under an
#     ASan/UBSan build, LeakSanitizer runs at that exit).
#
#   tests/soak/soak.sh                                   # --short against build/release/roomcast
#   tests/soak/soak.sh --short --server build/asan/roomcast    # what CI runs (~30 s)
#   tests/soak/soak.sh --long --server build/asan/roomcast     # 10 000 connections, 30 min
#
# Options:
#   --short               2 000 connections, 12 s measured at 1 500 cycles/s, ~30 s in all (default)
#   --long                10 000 connections, 30 min at 1 000 cycles/s
#   --server PATH         the roomcast binary (default build/release/roomcast)
#   --bench PATH          the roomcast-bench binary (default: built here, see below)
#   --connections N       override the connection count (anchors + churners open at once)
#   --duration S          override the seconds of measured churn
#   --cycle-rate N        churn cycles started per second (short 1500, long 1000)
#   --tolerance-pct P     allowed RSS growth, percent of the start (default 10)
#   --tolerance-mib M     ... but at least this many MiB (default 8)
#   --out DIR             keep logs here (default: a new /tmp/roomcast-soak.XXXXXX)
#   --no-build            do not build roomcast-bench
#
# The generator: --bench, else build/release/bench/roomcast-bench when build/release is
# configured (cmake --build build/release --target roomcast-bench), else a standalone build in
# bench/build. Everything listens on and connects to 127.0.0.x only; every wait is bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

mode=short
server="$ROOT/build/release/roomcast"
bench=""
connections=""
duration=""
cycle_rate=""
tol_pct=10
tol_mib=8
out=""
build=1

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
need_arg() { [ $# -ge 2 ] || { echo "soak: $1 needs a value" >&2; exit 2; }; }

while [ $# -gt 0 ]; do
  case "$1" in
    --short) mode=short ;;
    --long) mode=long ;;
    --server) need_arg "$@"; server=$2; shift ;;
    --bench) need_arg "$@"; bench=$2; shift ;;
    --connections) need_arg "$@"; connections=$2; shift ;;
    --duration) need_arg "$@"; duration=$2; shift ;;
    --cycle-rate) need_arg "$@"; cycle_rate=$2; shift ;;
    --tolerance-pct) need_arg "$@"; tol_pct=$2; shift ;;
    --tolerance-mib) need_arg "$@"; tol_mib=$2; shift ;;
    --out) need_arg "$@"; out=$2; shift ;;
    --no-build) build=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "soak: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# Per mode: connections, cycles per second, seconds of warm-up and of measured churn, and a
# bound on the cycles. The rate is fixed, below what an ASan build sustains on two cores
# (~3 000/s), so that both rounds put the same load on the server: the seats held at once (and
# with them the server's peak memory) grow with the rate of drops, so a round faster than the
# warm-up would raise the high-water mark of the heap and look like a leak.
if [ "$mode" = short ]; then
  connections=${connections:-2000}; cycle_rate=${cycle_rate:-1500}; warm_s=3
  duration=${duration:-12}
else
  connections=${connections:-10000}; cycle_rate=${cycle_rate:-1000}; warm_s=30
  duration=${duration:-1800}
fi
for v in connections duration cycle_rate tol_pct tol_mib; do
  if ! [[ "${!v}" =~ ^[0-9]+$ ]] || [ "${!v}" -eq 0 ]; then
    echo "soak: --${v//_/-} must be a positive integer" >&2; exit 2
  fi
done
# A count bound besides the time bound: the cycles one round can start at this rate, and some.
max_cycles=$(( cycle_rate * (duration + warm_s + 10) + connections ))

# How the churn ends its cycles (see bench/README.md): half drop the connection, FIN and RST
# alike, a quarter of those halfway through the message; half the rejoins after a drop resume.
churn_flags=(--abrupt-pct 50 --abrupt-mid-pct 25 --resume-pct 50)
# A dropped member's seat is held this long; the final readings come after it has passed.
grace_s=2

log() { printf '[soak] %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

[ -x "$server" ] || die "no server binary at $server (build it: cmake --preset release && cmake --build --preset release)"
server=$(cd "$(dirname "$server")" && pwd)/$(basename "$server")

# ---- descriptors: the server and the generator each hold every connection
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
fd_limit=$(ulimit -Sn)
if [ "$fd_limit" != unlimited ] && [ "$fd_limit" -lt $((connections + 512)) ]; then
  new=$(( (fd_limit - 512) / 2 * 2 ))
  [ "$new" -ge 200 ] || die "open-file limit $fd_limit is too low for a soak"
  log "WARNING: open-file limit $fd_limit (hard limit reached): $new connections instead of $connections"
  connections=$new
fi

# ---- the generator
if [ -z "$bench" ]; then
  if [ -f "$ROOT/build/release/CMakeCache.txt" ]; then
    bench="$ROOT/build/release/bench/roomcast-bench"
    if [ "$build" = 1 ]; then
      log "building roomcast-bench (build/release)"
      cmake --build "$ROOT/build/release" --target roomcast-bench >&2
    fi
  else
    bench="$ROOT/bench/build/roomcast-bench"
    if [ "$build" = 1 ]; then
      log "building roomcast-bench (bench/build)"
      [ -f "$ROOT/bench/build/CMakeCache.txt" ] ||
        cmake -S "$ROOT/bench" -B "$ROOT/bench/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >&2
      cmake --build "$ROOT/bench/build" --target roomcast-bench >&2
    fi
  fi
fi
[ -x "$bench" ] || die "no generator at $bench"
grep -q -- --cycle-rate <<<"$("$bench" --help 2>&1 || true)" || die "$bench has no --cycle-rate: rebuild it"

# ---- sanitizers: the options matter only to an ASan/UBSan build
asan=0
grep -qa __asan_init "$server" && asan=1
# detect_leaks: LeakSanitizer runs at exit. quarantine_size_mb: ASan keeps freed blocks out of
# reuse to catch use-after-free; the default 256 MiB quarantine fills over minutes of churn and
# shows as RSS growth that is not a leak, so it is bounded here (16 MiB still spans many
# thousands of connections' worth of freed blocks).
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:quarantine_size_mb=16:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-}"

out=${out:-$(mktemp -d "${TMPDIR:-/tmp}/roomcast-soak.XXXXXX")}
mkdir -p "$out"

# ---- processes, cleaned up whatever happens
server_pid=""
gen_pid=""
cleanup() {
  [ -n "$gen_pid" ] && kill -KILL "$gen_pid" 2>/dev/null || true
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Options the server may not have yet: only passed when its --help lists them.
help_text=$("$server" --help 2>&1 || true)
server_flags=(--host 127.0.0.1 --port 0 --log-level info --log-format text
  --resume-grace "${grace_s}s")
# Each churner rejoins many times a minute from the same few loopback addresses.
grep -q -- --max-joins-per-minute <<<"$help_text" && server_flags+=(--max-joins-per-minute 0)
# ... and stands for many clients: per-address caps on connections and held seats are off, so
# that every drop holds a seat (the counters must add up); the memory budget stays on.
grep -q -- --max-held-seats-per-ip <<<"$help_text" &&
  server_flags+=(--max-connections-per-ip 100000 --max-held-seats-per-ip 0
    --max-held-bytes-per-ip 0 --max-message-bytes-per-ip 0)

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
    grep -E '^roomcast_(connections|websockets|rooms|members|seats_held|connections_rejected_total|protocol_errors_total|frames_dropped_total|closes_total|errors_total)' "$1" |
      tr '\n' ' ' | sed 's/roomcast_//g' >&2
    echo >&2
  fi
  grep -E '^[0-9T:.-]+ (warn|error|critical) ' "$out/server.out" "$out/server.err" | tail -n 5 >&2 || true
}

# churn LABEL SECONDS: one generator run; its JSON result line goes to $out/LABEL.json.
churn() {
  local label=$1 secs=$2 rc=0 max_rt=$(( $2 + 120 )) t0=$SECONDS
  log "$label: $connections connections, ${secs}s of churn"
  "$bench" --system roomcast --scenario churn --port "$port" --server-pid "$server_pid" \
    --connections "$connections" "${churn_flags[@]}" --cycle-rate "$cycle_rate" \
    --warmup 0.5 --duration "$secs" --drain 20 --settle 0 --setup-timeout 60 \
    --max-runtime "$max_rt" --max-cycles "$max_cycles" --quiet \
    >"$out/$label.json" 2>"$out/$label.err" &
  gen_pid=$!
  local deadline=$((SECONDS + max_rt + 60)) next=0 every=1
  [ "$mode" = long ] && every=60
  : >"$out/rss-$label.log"
  while kill -0 "$gen_pid" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || { kill -KILL "$gen_pid"; die "$label: the generator overran"; }
    if [ "$SECONDS" -ge "$next" ]; then
      echo "$SECONDS $(rss_kib)" >>"$out/rss-$label.log"
      next=$((SECONDS + every))
      if [ "$mode" = long ]; then log "$label: $((SECONDS - t0)) s, server RSS $(rss_kib) KiB"; fi
    fi
    sleep 0.2
  done
  wait "$gen_pid" || rc=$?
  gen_pid=""
  [ "$rc" = 0 ] || { cat "$out/$label.err" >&2; die "$label: the generator exited $rc"; }
  grep -q '"ok":true' "$out/$label.json" || {
    cat "$out/$label.json" >&2
    server_state "$out/metrics-$label-failed.txt"
    die "$label: the generator reports a problem (see \"problem\" above)"
  }
}

# num FILE KEY: a number from the generator's flat JSON line.
num() { grep -o "\"$2\":[0-9.]*" "$1" | head -n 1 | cut -d: -f2; }

started=$SECONDS
start_server
rss_fresh=$(rss_kib)

# Warm-up: the first round at this concurrency grows what is sized by the peak, not by the
# number of connections served (glibc's per-thread arenas, Asio's and the registry's tables,
# the ASan allocator's and quarantine's regions). RSS is measured from after it, so the check
# asks what a leak is: does serving many more connections at the same peak cost memory.
churn warmup "$warm_s"
wait_idle "$out/metrics-start.txt" "after the warm-up"
rss_start=$(rss_kib)
m0="$out/metrics-start.txt"
polls_at_start=$polls

t_main=$SECONDS
churn main "$duration"
main_s=$((SECONDS - t_main))
wait_idle "$out/metrics-end.txt" "after the main round"
rss_end=$(rss_kib)
m1="$out/metrics-end.txt"
rss_peak=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$out/rss-main.log")

# ---- the server must stop cleanly; LeakSanitizer runs now
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

# ---- verdict
failures=()
j="$out/main.json"
cycles=$(num "$j" cycles); abrupt=$(num "$j" abrupt); fin=$(num "$j" abrupt_fin)
rst=$(num "$j" abrupt_rst); mid=$(num "$j" abrupt_mid); connects=$(num "$j" connects)
resumed=$(num "$j" resumed); tried=$(num "$j" resume_tried); anchors=$(num "$j" open_at_end)
peak_open=$(num "$j" peak_open); clean=$(num "$j" clean_cycles)
rate_warm=$(num "$out/warmup.json" started_per_s); rate_main=$(num "$j" started_per_s)
slow=""
for r in "$rate_warm" "$rate_main"; do
  awk -v r="$r" -v t="$cycle_rate" 'BEGIN { exit !(r < 0.9 * t) }' && slow=1
done

# d NAME: how much a counter grew over the main round.
d() {
  local a b
  a=$(metric "$m0" "$1"); b=$(metric "$m1" "$1")
  [[ "$a" =~ ^[0-9]+$ && "$b" =~ ^[0-9]+$ ]] || die "metric $1 missing from /metrics"
  echo $((b - a))
}
held=$(d 'roomcast_seat_events_total{event="held"}')
res_srv=$(d 'roomcast_seat_events_total{event="resumed"}')
expired=$(d 'roomcast_seat_events_total{event="expired"}')
overflowed=$(d 'roomcast_seat_events_total{event="overflowed"}')
accepted=$(d roomcast_connections_accepted_total)

# The run must have done what it claims: drops of every kind, resumes, many cycles.
[ "$abrupt" -gt 0 ] && [ "$fin" -gt 0 ] && [ "$rst" -gt 0 ] && [ "$mid" -gt 0 ] && [ "$resumed" -gt 0 ] ||
  failures+=("the churn did not exercise every kind of drop and a resume (abrupt $abrupt, fin $fin, rst $rst, mid $mid, resumed $resumed)")
[ "$cycles" -ge "$connections" ] || failures+=("only $cycles cycles for $connections connections")
# Every drop of a joined member holds its seat; so does every anchor the generator closed at
# its exit. Each held seat is then resumed or expires; none may be left or lost.
[ "$held" = $((abrupt + anchors)) ] ||
  failures+=("seats held $held, expected $((abrupt + anchors)) (drops $abrupt + anchors closed at exit $anchors)")
[ "$res_srv" = "$resumed" ] || failures+=("server resumed $res_srv seats, the generator $resumed")
[ "$expired" = $((held - res_srv)) ] ||
  failures+=("seats expired $expired, expected held - resumed = $((held - res_srv)) (overflowed $overflowed)")
# Every TCP connection the generator opened reached the server (plus this script's polls).
[ "$accepted" = $((connects + polls - polls_at_start)) ] ||
  failures+=("server accepted $accepted connections, generator opened $connects (+ $((polls - polls_at_start)) polls)")

allowed_kib=$(( rss_start * tol_pct / 100 ))
[ "$allowed_kib" -ge $((tol_mib * 1024)) ] || allowed_kib=$((tol_mib * 1024))
growth_kib=$((rss_end - rss_start))
[ "$growth_kib" -le "$allowed_kib" ] ||
  failures+=("RSS grew $growth_kib KiB ($rss_start -> $rss_end), more than the $allowed_kib KiB allowed")

[ "$exit_code" = 0 ] || failures+=("the server exited $exit_code on SIGTERM (not 0)")
if grep -qE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer|SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer' \
    "$out/server.err" "$out/server.out"; then
  failures+=("sanitizer report in the server's output ($out/server.err):")
  excerpt=$(grep -hE -A6 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$out/server.err" "$out/server.out" | head -n 40)
fi
warnings=$(cat "$out/server.out" "$out/server.err" | grep -cE '^[0-9T:.-]+ (warn|error|critical) ' || true)

cat <<EOF
soak ($mode): $server$([ "$asan" = 1 ] && echo " (ASan/UBSan)"): exit $exit_code on SIGTERM, $((SECONDS - started)) s in all, logs in $out
  churn        $connections connections at once (peak $peak_open), ${main_s} s measured round: $cycles cycles, $connects TCP connections
               cycles started/s: target $cycle_rate, warm-up $rate_warm, main $rate_main$([ -n "$slow" ] && echo " (below target: the server or machine could not keep up; rounds may differ in peak memory)")
               clean leave+close $clean, dropped $abrupt (FIN $fin, RST $rst; mid-message $mid), resumes $resumed of $tried tried
  seats        held $held, resumed $res_srv, expired $expired, overflowed $overflowed
  RSS (KiB)    fresh $rss_fresh, after warm-up $rss_start, peak $rss_peak, end $rss_end: growth $growth_kib (allowed $allowed_kib; $(awk -v g="$growth_kib" -v c="$cycles" 'BEGIN { printf "%.1f", (c > 0 ? g * 1024 / c : 0) }') bytes per cycle)
  metrics end  connections $(metric "$m1" roomcast_connections) (this poll), websockets $(metric "$m1" roomcast_websockets), rooms $(metric "$m1" roomcast_rooms), members $(metric "$m1" roomcast_members), seats_held $(metric "$m1" roomcast_seats_held), queued_bytes $(metric "$m1" roomcast_queued_bytes), frames_dropped +$(d roomcast_frames_dropped_total)
  server log   $warnings warn/error lines
EOF
if [ ${#failures[@]} -gt 0 ]; then
  for f in "${failures[@]}"; do log "FAIL: $f"; done
  [ -z "${excerpt:-}" ] || printf '%s\n' "$excerpt" >&2
  exit 1
fi
log "PASS"
