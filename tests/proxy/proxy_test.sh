#!/usr/bin/env bash
# Proves deploy/nginx.conf and deploy/Caddyfile work, as shipped: each is rendered with only its
# listen address and upstream port rewritten (and, for the nginx TLS case, its commented TLS
# server uncommented with a throwaway self-signed certificate), and through each proxy:
# GET / and /healthz answer 200, two WebSocket clients join one room and a 1 MiB binary frame
# relays intact, with Origin and ROOMCAST_PUBLIC_URL both the proxy's origin; then a recording
# upstream checks what the proxy forwards (Host, X-Forwarded-For/-Proto, Upgrade/Connection).
#
#   tests/proxy/proxy_test.sh [path/to/roomcast]     (default build/release/roomcast)
#
# Needs nginx and caddy on PATH (Debian 12: apt-get install nginx-light caddy); without them it
# prints SKIP and exits 0, unless PROXY_TEST_REQUIRED=1 (then it fails). Installs nothing.
# Everything listens on 127.0.0.1, runs as the current user with its files in one temporary
# directory, every wait is bounded, and every process started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
bin=${1:-build/release/roomcast}
PATH="$PATH:/usr/sbin:/sbin"  # Debian puts nginx in /usr/sbin, often not on a user's PATH

missing=()
command -v nginx >/dev/null 2>&1 || missing+=("nginx (Debian: nginx-light or nginx)")
command -v caddy >/dev/null 2>&1 || missing+=("caddy (Debian: caddy)")
command -v python3 >/dev/null 2>&1 || missing+=("python3")
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${PROXY_TEST_REQUIRED:-0}" = 1 ]; then
    echo "proxy test: FAIL: not found: ${missing[*]}" >&2
    exit 1
  fi
  echo "proxy test: SKIP: not found: ${missing[*]} (install them, e.g." \
    "scripts/install-deps.sh --proxy; PROXY_TEST_REQUIRED=1 makes this a failure)"
  exit 0
fi
case "$bin" in /*) ;; *) bin=$repo/$bin ;; esac
[ -x "$bin" ] || { echo "proxy test: FAIL: no roomcast binary at $bin" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/roomcast-proxy-test.XXXXXX")
pids=()
failed_step=""

alive() {  # running and not a zombie
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$st" ] && [ "$st" != Z ]
}
stop() {  # TERM the process group started as $1, wait at most 5 s, then KILL; forget it
  local pid=$1 p keep=()
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true  # a zombie still holds its id: nothing reused it
  wait "$pid" 2>/dev/null || true
  for p in "${pids[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  pids=("${keep[@]}")
}
cleanup() {
  local rc=$? pid
  for pid in "${pids[@]}"; do stop "$pid"; done
  if [ $rc -ne 0 ]; then
    echo "proxy test: FAIL${failed_step:+ in $failed_step}; last log lines:" >&2
    for f in "$tmp"/*.log "$tmp"/nginx/*.log; do
      [ -f "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }
    done
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
check() { timeout 60 python3 "$repo/tests/proxy/ws_check.py" "$@"; }

# With --allowed-origins in the binary, a foreign Origin must be refused through the proxy too;
# with --trusted-proxies, roomcast must name the client by X-Forwarded-For (127.0.0.2, which
# only the proxy's header carries) and never by the client's own spoofed one.
help=$("$bin" --help) || { echo "$bin --help failed: not a roomcast binary?" >&2; exit 1; }
origin_flag=()
grep -q -- '--allowed-origins' <<<"$help" && origin_flag=(--expect-origin-check)
xff_check=0
grep -q -- '--trusted-proxies' <<<"$help" && xff_check=1

# Starts roomcast on 127.0.0.1 with a free port and ROOMCAST_PUBLIC_URL=$1; sets rc_pid, rc_port.
start_roomcast() {
  local log=$tmp/roomcast-$2.log
  : >"$log"  # exists before the background job's redirection runs
  env -i PATH="$PATH" ROOMCAST_PUBLIC_URL="$1" ROOMCAST_TRUSTED_PROXIES=127.0.0.1 \
    setsid "$bin" --host 127.0.0.1 --port 0 --web-root "$repo/web" --log-format text \
    --log-level debug \
    >"$log" 2>&1 &
  rc_pid=$!
  pids+=("$rc_pid")
  rc_port=""
  for _ in $(seq 100); do
    rc_port=$(sed -n 's/.*(bound 127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$log" | head -n 1 || true)
    [ -n "$rc_port" ] && return 0
    alive "$rc_pid" || { echo "roomcast exited at start" >&2; return 1; }
    sleep 0.1
  done
  echo "roomcast did not log its port within 10 s" >&2
  return 1
}

# deploy/nginx.conf with its listen port(s), upstream and (with $3) TLS server rewritten.
render_nginx() {  # $1 http port, $2 upstream port, $3 https port or empty
  local out=$tmp/nginx/roomcast.conf
  local -a tls=()
  if [ -n "$3" ]; then
    tls=(-e '/^# server {/,/^# }/ s/^#\( \|$\)//'
         -e "s/^\( *\)listen 443 ssl http2;/\1listen 127.0.0.1:$3 ssl http2;/"
         -e '/listen \[::\]:443 ssl http2;/d'
         -e "s#ssl_certificate .*#ssl_certificate $tmp/nginx/cert.pem;#"
         -e "s#ssl_certificate_key .*#ssl_certificate_key $tmp/nginx/key.pem;#")
  fi
  sed -e "s/^\( *\)listen 80;/\1listen 127.0.0.1:$1;/" \
      -e '/listen \[::\]:80;/d' \
      -e "s/server 127\.0\.0\.1:3000;/server 127.0.0.1:$2;/" \
      "${tls[@]}" "$repo/deploy/nginx.conf" >"$out"
  # The rewrites must have hit: if deploy/nginx.conf changed shape, fix them here.
  if ! { grep -q "listen 127.0.0.1:$1;" "$out" && grep -q "server 127.0.0.1:$2;" "$out" &&
          { [ -z "$3" ] || grep -q "listen 127.0.0.1:$3 ssl" "$out"; }; }; then
    echo "the rewrites of deploy/nginx.conf did not apply; update render_nginx" >&2
    return 1
  fi
  {
    # As root, nginx would switch its workers to "nobody"; keep them as the current user.
    [ "$(id -u)" = 0 ] && echo "user $(id -un) $(id -gn);"
    echo "worker_processes 1; daemon off; pid $tmp/nginx/nginx.pid;"
    echo "error_log $tmp/nginx/error.log info;"
    echo "events { worker_connections 256; }"
    echo "http {"
    echo "  access_log $tmp/nginx/access.log;"
    echo "  client_body_temp_path $tmp/nginx/body;"
    echo "  proxy_temp_path $tmp/nginx/proxy;"
    local m
    for m in fastcgi uwsgi scgi; do
      nginx -V 2>&1 | grep -q -- "--without-http_${m}_module" ||
        echo "  ${m}_temp_path $tmp/nginx/$m;"
    done
    echo "  include $out;"
    echo "}"
  } >"$tmp/nginx/nginx.conf"
}

start_nginx() {
  local -a args=(-p "$tmp/nginx/" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf")
  nginx -t -q "${args[@]}"
  setsid nginx "${args[@]}" >"$tmp/nginx-stdout.log" 2>&1 &
  px_pid=$!
  pids+=("$px_pid")
}

# deploy/Caddyfile with its site address and upstream rewritten; admin API off, 127.0.0.1 only.
render_caddy() {  # $1 port, $2 upstream port
  local out=$tmp/caddy/Caddyfile
  {
    printf '{\n\tadmin off\n\tauto_https off\n}\n\n'
    sed -e "s#^photos\.example\.com {#http://127.0.0.1:$1 {\n\tbind 127.0.0.1#" \
        -e "s#reverse_proxy 127\.0\.0\.1:3000#reverse_proxy 127.0.0.1:$2#" \
        "$repo/deploy/Caddyfile"
  } >"$out"
  if ! { grep -q "^http://127.0.0.1:$1 {" "$out" &&
          grep -q "reverse_proxy 127.0.0.1:$2\$" "$out"; }; then
    echo "the rewrites of deploy/Caddyfile did not apply; update render_caddy" >&2
    return 1
  fi
}

start_caddy() {
  mkdir -p "$tmp/caddy/home"
  env -i PATH="$PATH" HOME="$tmp/caddy/home" XDG_CONFIG_HOME="$tmp/caddy/home/config" \
    XDG_DATA_HOME="$tmp/caddy/home/data" \
    setsid caddy run --config "$tmp/caddy/Caddyfile" --adapter caddyfile \
    >"$tmp/caddy.log" 2>&1 &
  px_pid=$!
  pids+=("$px_pid")
}

# One proxy: roomcast behind it, the relay checks, then the recording upstream in its place.
run_case() {  # $1 nginx|nginx-tls|caddy
  local name=$1 port tls_port="" scheme=http tls_flag=() origin
  failed_step=$name
  echo "== $name"
  port=$(free_port)
  case "$name" in
    nginx-tls) tls_port=$(free_port); scheme=https; tls_flag=(--tls) ;;
  esac
  origin=$scheme://127.0.0.1:${tls_port:-$port}
  start_roomcast "$origin" "$name"
  case "$name" in
    nginx|nginx-tls) render_nginx "$port" "$rc_port" "$tls_port"; start_nginx ;;
    caddy) render_caddy "$port" "$rc_port"; start_caddy ;;
  esac
  check wait "${tls_port:-$port}" 15 "$px_pid"
  check relay "${tls_port:-$port}" "$origin" "${tls_flag[@]}" "${origin_flag[@]}"
  stop "$rc_pid"  # its port now goes to the recording upstream
  if [ $xff_check = 1 ]; then
    grep -q '127\.0\.0\.2' "$tmp/roomcast-$name.log" ||
      { echo "roomcast never named the client 127.0.0.2 (X-Forwarded-For not used)" >&2; return 1; }
    ! grep -q '203\.0\.113\.7' "$tmp/roomcast-$name.log" ||
      { echo "roomcast believed the client's spoofed X-Forwarded-For" >&2; return 1; }
    echo "  roomcast named the client 127.0.0.2 from the proxy's X-Forwarded-For, not the spoof"
  fi
  check headers "${tls_port:-$port}" "$rc_port" "$origin" "${tls_flag[@]}"
  stop "$px_pid"
}

mkdir -p "$tmp/nginx" "$tmp/caddy"
echo "proxy test: $bin; $(nginx -v 2>&1); caddy $(caddy version | cut -d' ' -f1)"
[ ${#origin_flag[@]} -gt 0 ] || echo "(this roomcast has no --allowed-origins: foreign-Origin check skipped)"
[ $xff_check = 1 ] || echo "(this roomcast has no --trusted-proxies: X-Forwarded-For check skipped)"
run_case nginx
if command -v openssl >/dev/null 2>&1; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
    -keyout "$tmp/nginx/key.pem" -out "$tmp/nginx/cert.pem" >/dev/null 2>&1
  run_case nginx-tls
else
  echo "== nginx-tls: skipped (no openssl to make a certificate)"
fi
run_case caddy
failed_step=""
echo "proxy test: passed"
