#!/usr/bin/env bash
# tests/soak/attack.sh: the soak under attack. Starts roomcast on 127.0.0.1 with a memory budget,
# the per-address caps on and short timers, and runs tests/soak/attack_mix.py against it: honest
# pairs, each in its own room, relaying binary messages of 1 KiB..256 KiB, beside waves of
# attackers from other addresses: messages announced large and left unfinished (trickled a byte
# at a time, or stalled), oversized headers, seats parked by dropped connections and fed more
# than they may keep, and readers that read slowly or never (some of them in honest rooms).
# It fails unless:
#   * every honest message arrived once, in order and intact, no honest connection was closed,
#     and every attacker the server should cut off was cut off (the driver's verdict);
#   * the server's RSS never passed its start + the budget + slack (tests/soak/README.md);
#   * /metrics shows that each attack met the rule meant for it (1013 at the address cap, 1008
#     for a trickled message, 1009, 429 past the connections per address, held seats refused
#     and overflowed, slow_drain and slow_reader closes), and that none reached the process
#     budget (no 1013, 503 or server-busy for want of memory) or the heartbeat;
#   * the server then returns to idle (no WebSocket, member, room or held seat), exits 0 on
#     SIGTERM, and its output holds no sanitizer report.
#
#   tests/soak/attack.sh                                        # --short, build/release/roomcast
#   tests/soak/attack.sh --short --server build/asan/roomcast   # what CI runs (~17 s)
#   tests/soak/attack.sh --long --server build/asan/roomcast    # 10 min of waves, 40 pairs
#
# Options:
#   --short             15 s of attack waves beside 20 honest pairs, 30 messages a side (default)
#   --long              600 s of waves beside 40 honest pairs, 1 200 messages a side
#   --server PATH       the roomcast binary (default build/release/roomcast)
#   --duration S        override the seconds of attack waves
#   --pairs N           override the number of honest pairs
#   --budget MIB        the server's --memory-budget (default 128)
#   --server-arg ARG    one more server flag, after the others (so it wins; repeatable), e.g.
#                       --server-arg --send-min-rate=0 to see that a check fails without a rule
#   --seed N            the driver's seed (message sizes; default 1)
#   --out DIR           keep logs here (default: a new /tmp/roomcast-attack.XXXXXX)
#
# Needs python3 (standard library only). Everything listens on and connects to 127.0.0.x only;
# every wait is bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

mode=short
server="$ROOT/build/release/roomcast"
duration=""
pairs=""
budget_mib=128
extra_flags=()
seed=1
out=""

tag=attack
# shellcheck source=tests/soak/lib.sh
. "$ROOT/tests/soak/lib.sh"

while [ $# -gt 0 ]; do
  case "$1" in
    --short) mode=short ;;
    --long) mode=long ;;
    --server) need_arg "$@"; server=$2; shift ;;
    --duration) need_arg "$@"; duration=$2; shift ;;
    --pairs) need_arg "$@"; pairs=$2; shift ;;
    --budget) need_arg "$@"; budget_mib=$2; shift ;;
    --server-arg) need_arg "$@"; extra_flags+=("$2"); shift ;;
    --seed) need_arg "$@"; seed=$2; shift ;;
    --out) need_arg "$@"; out=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$tag: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ "$mode" = short ]; then
  duration=${duration:-15}; pairs=${pairs:-20}
else
  duration=${duration:-600}; pairs=${pairs:-40}
fi
for v in duration pairs budget_mib seed; do
  if ! [[ "${!v}" =~ ^[0-9]+$ ]] || [ "${!v}" -eq 0 ]; then
    echo "$tag: --${v%_mib} must be a positive integer" >&2; exit 2
  fi
done
# Honest messages a side: two a second through the waves (30 at least).
messages=$(( duration * 2 > 30 ? duration * 2 : 30 ))

# ---- the server's limits: the caps per address on, smaller than the defaults, and timers short
# enough that each attack is cut off within the run. The driver gets the same numbers and sizes
# its attacks to them. Sizes in bytes, times in seconds.
max_message=$((16 << 20))       # a message (the largest an attacker announces)
message_per_ip=$((8 << 20))     # messages being received or waiting, per address: 1013 past it
conns_per_ip=24                 # open connections per address: 429 past it
high_water=$((1 << 20))         # a recipient's queue past which its senders pause
send_timeout=2                  # no write progress this long: dropped; send-min-rate window
# A recipient its senders wait on must read this fast. Above the default (256 KiB/s): on
# loopback the kernel reports a write's progress only once about a third of the server's send
# buffer has gone (up to 4 MiB: 1.3 MiB), and a write with no progress for --send-timeout is
# dropped before this rule can judge the reader; the driver's slow readers read 1.5 MiB/s,
# enough to progress, and under this. Honest receivers are never judged by it, at any rate:
# their senders keep less than --send-high-water in flight, so no one ever waits on them.
send_min_rate=$((2 << 20))
resume_buffer=$((2 << 20))      # kept for one held seat: overflows past it
held_per_ip=4                   # held seats per address: refused past it
held_bytes_per_ip=$((6 << 20))  # kept in one address's held seats
grace_s=3                       # a held seat's life
ping_s=2                        # heartbeat tick: --message-min-rate is judged at each
budget=$((budget_mib << 20))
server_flags=(--host 127.0.0.1 --port 0 --log-level info --log-format text
  --memory-budget "$budget" --max-message-bytes "$max_message"
  --max-message-bytes-per-ip "$message_per_ip" --max-connections-per-ip "$conns_per_ip"
  --send-high-water "$high_water" --send-timeout "${send_timeout}s" --send-min-rate "$send_min_rate"
  --message-min-rate 8KiB --ping-interval "${ping_s}s" --ping-timeout 4s --close-timeout 1s
  --resume-grace "${grace_s}s" --resume-buffer-bytes "$resume_buffer"
  --max-held-seats-per-ip "$held_per_ip" --max-held-bytes-per-ip "$held_bytes_per_ip"
  --max-joins-per-minute 0 ${extra_flags[@]+"${extra_flags[@]}"})

soak_setup
command -v python3 >/dev/null || die "python3 is needed (standard library only)"
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true  # a few hundred connections at once

started=$SECONDS
start_server
rss_fresh=$(rss_kib)
http_get /metrics "$out/metrics-start.txt" || die "no /metrics from the server"
m0="$out/metrics-start.txt"

log "$pairs honest pairs ($messages messages a side) beside ${duration}s of attack waves; budget ${budget_mib} MiB"
t_mix=$SECONDS
python3 "$ROOT/tests/soak/attack_mix.py" --port "$port" --duration "$duration" --pairs "$pairs" \
  --messages "$messages" --seed "$seed" --max-message-bytes "$max_message" \
  --message-bytes-per-ip "$message_per_ip" --connections-per-ip "$conns_per_ip" \
  --send-high-water "$high_water" --send-timeout "$send_timeout" --send-min-rate "$send_min_rate" \
  --resume-buffer-bytes "$resume_buffer" --held-seats-per-ip "$held_per_ip" \
  --resume-grace "$grace_s" --ping-interval "$ping_s" \
  >"$out/mix.json" 2>"$out/mix.err" &
gen_pid=$!
watch_gen mix $((duration + 90)) 0   # the driver's own hard deadline is duration + 60 s
mix_s=$((SECONDS - t_mix))
j="$out/mix.json"
if [ "$gen_rc" != 0 ] && ! grep -q '"ok":' "$j"; then
  cat "$out/mix.err" >&2
  server_state "$out/metrics-failed.txt"
  die "the driver exited $gen_rc with no result"
fi
rss_peak=$(rss_peak "$out/rss-mix.log")
wait_idle "$out/metrics-end.txt" "after the attacks"
m1="$out/metrics-end.txt"
rss_end=$(rss_kib)

# ---- the server must stop cleanly; LeakSanitizer runs now
stop_server

# ---- verdict
failures=()
grep -q '"ok":true' "$j" ||
  failures+=("the driver reports: $(sed -n 's/.*"problem":"\([^"]*\)".*/\1/p' "$j")")
[ -s "$out/mix.err" ] && failures+=("the driver wrote to stderr ($out/mix.err): $(head -c 300 "$out/mix.err")")

# RSS bound. The budget is what the server may hold for clients (messages being received,
# relayed frames until written, held seats, 16 KiB a connection), and near it new work is
# refused, so the process may grow by the budget over its idle start, plus what the budget does
# not count: the allocator's own overhead and freed memory it keeps for reuse (glibc arenas per
# thread), thread stacks and the 64 KiB read buffer of each I/O thread: 32 MiB of slack. Under
# ASan, also its shadow memory (1/8 of what the heap touches) and the quarantine of freed blocks
# not yet reused (16 MiB: ASAN_OPTIONS above).
bound_kib=$(( rss_fresh + budget / 1024 + 32 * 1024 ))
[ "$asan" = 1 ] && bound_kib=$(( bound_kib + budget / 8 / 1024 + 16 * 1024 ))
[ "$rss_peak" -le "$bound_kib" ] ||
  failures+=("server RSS peaked at $rss_peak KiB, over the bound of $bound_kib KiB (start $rss_fresh + budget $((budget >> 10)) + slack)")

d() { delta "$m0" "$m1" "$1"; }
n() { local v; v=$(num "$j" "$1"); echo "${v:-0}"; }  # a driver's count, 0 if it has none
# Each attack must have met the rule meant for it: a rule that never fired was not tested.
expect_some() {  # expect_some WHAT METRIC...: the sum of the counters grew
  local what=$1 sum=0 m; shift
  for m in "$@"; do sum=$((sum + $(d "$m"))); done
  [ "$sum" -gt 0 ] || failures+=("$what: not exercised ($* did not grow)")
}
expect_some "partial messages at the address cap (1013)" 'roomcast_closes_total{reason="try_again"}'
expect_some "partial messages at the address cap (1013)" 'roomcast_memory_refusals_total{what="message_address_cap"}'
expect_some "messages trickled under --message-min-rate (1008)" 'roomcast_closes_total{reason="slow_sender"}'
expect_some "oversized messages (1009)" 'roomcast_closes_total{reason="too_big"}'
expect_some "connections past the per-address cap (429)" roomcast_connections_rejected_total
expect_some "seats parked" 'roomcast_seat_events_total{event="held"}'
expect_some "seats past --max-held-seats-per-ip" 'roomcast_seat_events_total{event="refused"}'
expect_some "held seats fed past what they keep" 'roomcast_seat_events_total{event="overflowed"}'
expect_some "trickle readers under --send-min-rate (1008)" 'roomcast_closes_total{reason="slow_drain"}'
expect_some "readers that never read (--send-timeout)" 'roomcast_closes_total{reason="slow_reader"}'
# ... and none of it may reach the process budget: the attackers' addresses, each within its
# caps, hold far less than 90 % of it, so a refusal for want of memory means a cap did not hold
# (and honest clients would be refused too). Every client here answers pings or shows life, so
# a heartbeat close means an attacker outlived the rule meant for it, or an honest client stalled.
for m in 'roomcast_memory_refusals_total{what="message_process_budget"}' \
    'roomcast_memory_refusals_total{what="connection"}' 'roomcast_memory_refusals_total{what="join"}' \
    'roomcast_errors_total{code="server-busy"}' 'roomcast_closes_total{reason="heartbeat"}'; do
  [ "$(d "$m")" = 0 ] || failures+=("$m grew by $(d "$m") (expected 0)")
done
# The server counted every connection it refused; the driver, every 429 it was answered (or a
# reset instead: the server answers at accept and closes, maybe before reading the request).
refused=$(d roomcast_connections_rejected_total)
saw=$(( $(n refused_429) + $(n refused_reset) ))
[ "$refused" = "$saw" ] ||
  failures+=("server refused $refused connections, the driver saw $saw (429: $(n refused_429), reset: $(n refused_reset))")

check_exit

closes() { d "roomcast_closes_total{reason=\"$1\"}"; }
seats() { d "roomcast_seat_events_total{event=\"$1\"}"; }
refusals() { d "roomcast_memory_refusals_total{what=\"$1\"}"; }
cat <<EOF
attack ($mode): $server$([ "$asan" = 1 ] && echo " (ASan/UBSan)"): exit $exit_code on SIGTERM, $((SECONDS - started)) s in all (driver ${mix_s} s), logs in $out
  honest       $pairs pairs: sent $(n honest_sent) of $(n honest_expected), received $(n honest_received) ($(( $(n honest_bytes) >> 20 )) MiB), lost $(n honest_lost), dup $(n honest_dup), out of order $(n honest_out_of_order), corrupt $(n honest_corrupt), closed $(n honest_closed)
  attackers    $(n attack_connections) connections ($(n refused_429) answered 429); partial: 1013 $(n partial_1013), 1008 $(n partial_1008); oversize 1009 $(n oversize_1009); parked rooms $(n parked_rooms) (away $(n parked_away), refused at once $(n parked_left)); trickle readers ($(n trickle_in_honest_rooms) in honest rooms) never/crawl/slow: dropped $(n trickle_never_dropped)/$(n trickle_crawl_dropped)/$(n trickle_slow_dropped), 1008 $(n trickle_never_1008)/$(n trickle_crawl_1008)/$(n trickle_slow_1008) of $(n trickle_never_readers)/$(n trickle_crawl_readers)/$(n trickle_slow_readers)
  server       closes: try_again $(closes try_again), slow_sender $(closes slow_sender), too_big $(closes too_big), slow_drain $(closes slow_drain), slow_reader $(closes slow_reader), heartbeat $(closes heartbeat); refused: connections $refused, address cap $(refusals message_address_cap), budget $(refusals message_process_budget)
               seats: held $(seats held), refused $(seats refused), overflowed $(seats overflowed), expired $(seats expired), evicted $(seats evicted); frames dropped $(d roomcast_frames_dropped_total)
  memory       budget $budget_mib MiB; charged peak $(( $(n peak_memory_used) >> 20 )) MiB (partial messages $(( $(n peak_partial) >> 20 )), frames $(( $(n peak_frames) >> 20 )), held seats $(( $(n peak_held_seat_bytes) >> 20 )))
  RSS (KiB)    start $rss_fresh, peak $rss_peak (bound $bound_kib), end $rss_end
  metrics end  connections $(metric "$m1" roomcast_connections) (this poll), websockets $(metric "$m1" roomcast_websockets), rooms $(metric "$m1" roomcast_rooms), members $(metric "$m1" roomcast_members), seats_held $(metric "$m1" roomcast_seats_held), queued_bytes $(metric "$m1" roomcast_queued_bytes)
  server log   $warnings warn/error lines
EOF
verdict
