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
# Its sibling tests/soak/attack.sh runs the server under attack beside honest pairs (its --help).
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

tag=soak
# shellcheck source=tests/soak/lib.sh
. "$ROOT/tests/soak/lib.sh"

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
    *) echo "$tag: unknown option $1 (see --help)" >&2; exit 2 ;;
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
    echo "$tag: --${v//_/-} must be a positive integer" >&2; exit 2
  fi
done
# A count bound besides the time bound: the cycles one round can start at this rate, and some.
max_cycles=$(( cycle_rate * (duration + warm_s + 10) + connections ))

# How the churn ends its cycles (see bench/README.md): half drop the connection, FIN and RST
# alike, a quarter of those halfway through the message; half the rejoins after a drop resume.
churn_flags=(--abrupt-pct 50 --abrupt-mid-pct 25 --resume-pct 50)
# A dropped member's seat is held this long; the final readings come after it has passed.
grace_s=2

soak_setup

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

# churn LABEL SECONDS: one generator run; its JSON result line goes to $out/LABEL.json.
churn() {
  local label=$1 secs=$2 max_rt=$(( $2 + 120 )) every=1
  log "$label: $connections connections, ${secs}s of churn"
  "$bench" --system roomcast --scenario churn --port "$port" --server-pid "$server_pid" \
    --connections "$connections" "${churn_flags[@]}" --cycle-rate "$cycle_rate" \
    --warmup 0.5 --duration "$secs" --drain 20 --settle 0 --setup-timeout 60 \
    --max-runtime "$max_rt" --max-cycles "$max_cycles" --quiet \
    >"$out/$label.json" 2>"$out/$label.err" &
  gen_pid=$!
  [ "$mode" = long ] && every=60
  watch_gen "$label" $((max_rt + 60)) "$every"
  [ "$gen_rc" = 0 ] || { cat "$out/$label.err" >&2; die "$label: the generator exited $gen_rc"; }
  grep -q '"ok":true' "$out/$label.json" || {
    cat "$out/$label.json" >&2
    server_state "$out/metrics-$label-failed.txt"
    die "$label: the generator reports a problem (see \"problem\" above)"
  }
}

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
rss_peak=$(rss_peak "$out/rss-main.log")

# ---- the server must stop cleanly; LeakSanitizer runs now
stop_server

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
d() { delta "$m0" "$m1" "$1"; }
held=$(d 'roomcast_seat_events_total{event="held"}')
res_srv=$(d 'roomcast_seat_events_total{event="resumed"}')
expired=$(d 'roomcast_seat_events_total{event="expired"}')
overflowed=$(d 'roomcast_seat_events_total{event="overflowed"}')
# A resume that arrives before the server has seen its connection drop takes the live seat
# over (the old connection gets 4001): no seat was held, and none resumed (older servers: 0).
taken=0
grep -q 'event="taken_over"' "$m1" && taken=$(d 'roomcast_seat_events_total{event="taken_over"}')
accepted=$(d roomcast_connections_accepted_total)

# The run must have done what it claims: drops of every kind, resumes, many cycles.
[ "$abrupt" -gt 0 ] && [ "$fin" -gt 0 ] && [ "$rst" -gt 0 ] && [ "$mid" -gt 0 ] && [ "$resumed" -gt 0 ] ||
  failures+=("the churn did not exercise every kind of drop and a resume (abrupt $abrupt, fin $fin, rst $rst, mid $mid, resumed $resumed)")
[ "$cycles" -ge "$connections" ] || failures+=("only $cycles cycles for $connections connections")
# Every drop of a joined member holds its seat, unless its resume took the live seat over
# first; so does every anchor the generator closed at its exit. Each held seat is then resumed
# or expires; none may be left or lost.
[ "$held" = $((abrupt + anchors - taken)) ] ||
  failures+=("seats held $held, expected $((abrupt + anchors - taken)) (drops $abrupt + anchors closed at exit $anchors - live seats taken over $taken)")
[ "$res_srv" = $((resumed - taken)) ] ||
  failures+=("server resumed $res_srv seats and took $taken live ones over, the generator resumed $resumed")
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

check_exit

cat <<EOF
soak ($mode): $server$([ "$asan" = 1 ] && echo " (ASan/UBSan)"): exit $exit_code on SIGTERM, $((SECONDS - started)) s in all, logs in $out
  churn        $connections connections at once (peak $peak_open), ${main_s} s measured round: $cycles cycles, $connects TCP connections
               cycles started/s: target $cycle_rate, warm-up $rate_warm, main $rate_main$([ -n "$slow" ] && echo " (below target: the server or machine could not keep up; rounds may differ in peak memory)")
               clean leave+close $clean, dropped $abrupt (FIN $fin, RST $rst; mid-message $mid), resumes $resumed of $tried tried
  seats        held $held, resumed $res_srv, expired $expired, overflowed $overflowed, live seats taken over $taken
  RSS (KiB)    fresh $rss_fresh, after warm-up $rss_start, peak $rss_peak, end $rss_end: growth $growth_kib (allowed $allowed_kib; $(awk -v g="$growth_kib" -v c="$cycles" 'BEGIN { printf "%.1f", (c > 0 ? g * 1024 / c : 0) }') bytes per cycle)
  metrics end  connections $(metric "$m1" roomcast_connections) (this poll), websockets $(metric "$m1" roomcast_websockets), rooms $(metric "$m1" roomcast_rooms), members $(metric "$m1" roomcast_members), seats_held $(metric "$m1" roomcast_seats_held), queued_bytes $(metric "$m1" roomcast_queued_bytes), frames_dropped +$(d roomcast_frames_dropped_total)
  server log   $warnings warn/error lines
EOF
verdict
