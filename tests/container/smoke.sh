#!/usr/bin/env bash
# Builds the roomcast image with podman (runc, lowered ulimits: deploy/podman/containers.conf)
# from a debian:bookworm base made locally with mmdebstrap from this machine's apt sources
# (no registry is reachable), then: /healthz, --healthcheck, a WebSocket frame relayed between
# two clients through the container, SIGTERM → exit 0. Prints the image size.
# The container uses the host network and listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CONTAINERS_CONF="$PWD/deploy/podman/containers.conf"
name=roomcast-smoke-$$
cleanup() { podman rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT

if ! podman image exists docker.io/library/debian:bookworm; then
  sources=/etc/apt/sources.list.d/debian.sources
  [ -f "$sources" ] || sources=/etc/apt/sources.list
  tar=$(mktemp --suffix=.tar)
  mmdebstrap --variant=minbase --mode=root bookworm "$tar" "$sources"
  podman import "$tar" docker.io/library/debian:bookworm >/dev/null
  rm -f "$tar"
fi
# The build fetches the page's npm libraries: it trusts the CAs this host trusts (a host behind a
# TLS-intercepting proxy has that proxy's CA in its bundle; a fresh image does not).
ca=()
[ -r /etc/ssl/certs/ca-certificates.crt ] && ca=(--volume /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro)
podman build --format docker --network=host --build-arg UNIT_TESTS=0 "${ca[@]}" -t roomcast:smoke .
echo "image size: $(podman image inspect roomcast:smoke --format '{{.Size}}') bytes"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
podman run -d --name "$name" --network=host -e PORT="$port" -e HOST=127.0.0.1 roomcast:smoke >/dev/null
for _ in $(seq 1 100); do
  python3 - "$port" <<'PY' && break || sleep 0.2
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=2).read()
PY
done
podman exec "$name" /app/roomcast --healthcheck --port "$port"
python3 tests/container/relay_check.py "$port"
# The page's npm libraries, fetched by the Dockerfile, are in the image and served.
python3 - "$port" <<'PY'
import sys, urllib.request
for path in ("/vendor/qrcode.mjs", "/vendor/noble.mjs", "/e2e.js", "/pairing.js"):
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}{path}", timeout=5) as r:
        body = r.read()
        assert r.status == 200 and len(body) > 1000 and "javascript" in r.headers.get("Content-Type", ""), (path, r.status, len(body))
print("  the page's vendored libraries are served from the image")
PY
podman stop -t 10 "$name" >/dev/null
code=$(podman inspect "$name" --format '{{.State.ExitCode}}')
[ "$code" = 0 ] || { echo "container exited with $code after SIGTERM"; podman logs "$name" | tail -20; exit 1; }
echo "container smoke test passed"
