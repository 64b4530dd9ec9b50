"""Checks for tests/proxy/proxy_test.sh, standard library only, raw sockets.

  ws_check.py wait PORT SECONDS [PID]
      until 127.0.0.1:PORT accepts a TCP connection (exit 1 when SECONDS pass, or at once
      when process PID has exited).
  ws_check.py relay PORT ORIGIN [--tls] [--expect-origin-check]
      through the proxy on 127.0.0.1:PORT: GET / and /healthz answer 200, /api/origins names
      ORIGIN, GET /ws without an upgrade answers 426, two WebSocket clients (Origin: ORIGIN)
      join one room and a 1 MiB binary frame and a text frame relay intact both ways. With
      --expect-origin-check, an upgrade with a foreign Origin must answer 403.
  ws_check.py headers PORT UPSTREAM_PORT ORIGIN [--tls]
      listens on 127.0.0.1:UPSTREAM_PORT (where the proxy sends requests) and checks what the
      proxy forwards: Host, X-Forwarded-For, X-Forwarded-Proto, and Upgrade/Connection/Origin
      on an upgrade but not on a plain request.

Clients connect from 127.0.0.2 (the proxies listen on 127.0.0.1), so the client's address
differs from the proxy's, and send a spoofed "X-Forwarded-For: 203.0.113.7" that roomcast must
not believe. Every socket operation has a timeout (TIMEOUT seconds); any failure exits
non-zero."""
import base64
import hashlib
import http.server
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time

TIMEOUT = 10
CLIENT = "127.0.0.2"
SPOOF = "203.0.113.7"
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def connect(port, tls):
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT,
                                 source_address=(CLIENT, 0))
    s.settimeout(TIMEOUT)
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
        s = ctx.wrap_socket(s, server_hostname="localhost")
    return s


def read_head(s):
    """Reads up to the end of an HTTP response head; returns (status, headers, rest)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            fail(f"connection closed before the response head ended: {buf[:200]!r}")
        buf += chunk
        if len(buf) > 65536:
            fail("response head too long")
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, rest


def http_get(port, host, path, tls, extra=""):
    """One GET with Connection: close; returns (status, headers, body)."""
    s = connect(port, tls)
    try:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n"
                  .encode())
        status, headers, body = read_head(s)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
    finally:
        s.close()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out, rest = b"", body
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            n = int(size_line.split(b";")[0], 16)
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2:]
        body = out
    return status, headers, body


class WebSocket:
    def __init__(self, port, host, origin, tls):
        self.s = connect(port, tls)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n"
                        f"X-Forwarded-For: {SPOOF}\r\n\r\n").encode())
        self.status, headers, self.buf = read_head(self.s)
        if self.status != 101:
            return
        want = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != want:
            fail(f"bad Sec-WebSocket-Accept {headers.get('sec-websocket-accept')!r}")

    def send(self, payload, opcode):
        n = len(payload)
        if n < 126:
            hdr = struct.pack(">BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            hdr = struct.pack(">BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            hdr = struct.pack(">BBQ", 0x80 | opcode, 0x80 | 127, n)
        key = os.urandom(4)
        mask = (key * (n // 4 + 1))[:n]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(n, "big")
        self.s.sendall(hdr + key + masked)

    def _need(self, k):
        while len(self.buf) < k:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                fail("WebSocket closed by the other side")
            self.buf += chunk

    def recv(self):
        """The next data message as (opcode, payload); answers pings, fails on close."""
        while True:
            self._need(2)
            b0, b1 = self.buf[0], self.buf[1]
            if b1 & 0x80:
                fail("server frame is masked")
            n, off = b1 & 0x7F, 2
            if n == 126:
                self._need(4)
                n, off = struct.unpack(">H", self.buf[2:4])[0], 4
            elif n == 127:
                self._need(10)
                n, off = struct.unpack(">Q", self.buf[2:10])[0], 10
            self._need(off + n)
            payload, self.buf = bytes(self.buf[off:off + n]), self.buf[off + n:]
            opcode = b0 & 0x0F
            if not b0 & 0x80:
                fail("fragmented message from the server (not expected here)")
            if opcode == 0x9:
                self.send(payload, 0xA)
            elif opcode == 0x8:
                fail(f"server closed the WebSocket: {payload!r}")
            elif opcode in (0x1, 0x2):
                return opcode, payload

    def recv_json(self):
        opcode, payload = self.recv()
        if opcode != 0x1:
            fail(f"expected a text message, got opcode {opcode}")
        return json.loads(payload)

    def close(self):
        try:
            self.send(struct.pack(">H", 1000), 0x8)
        except OSError:
            pass
        self.s.close()


def running(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def cmd_wait(port, seconds, pid=None):
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        if pid is not None and not running(pid):
            fail(f"process {pid} exited before 127.0.0.1:{port} accepted connections")
        try:
            socket.create_connection(("127.0.0.1", int(port)), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    fail(f"nothing accepted connections on 127.0.0.1:{port} within {seconds} s")


def cmd_relay(port, origin, tls, expect_origin_check):
    host = origin.split("://", 1)[1]

    status, _, body = http_get(port, host, "/", tls)
    if status != 200 or b"<title>roomcast</title>" not in body:
        fail(f"GET / answered {status}: {body[:200]!r}")
    status, _, body = http_get(port, host, "/healthz", tls)
    if status != 200 or json.loads(body).get("status") != "ok":
        fail(f"GET /healthz answered {status}: {body!r}")
    status, _, body = http_get(port, host, "/api/origins", tls)
    if status != 200 or json.loads(body).get("public_url") != origin:
        fail(f"GET /api/origins answered {status}: {body!r} (expected public_url {origin})")
    status, _, _ = http_get(port, host, "/ws", tls)
    if status != 426:
        fail(f"GET /ws without an upgrade answered {status}, expected 426")
    print(f"  GET / 200, /healthz 200, /api/origins public_url={origin}, /ws plain 426")

    if expect_origin_check:
        ws = WebSocket(port, host, "http://foreign.example", tls)
        if ws.status != 403:
            fail(f"upgrade with a foreign Origin answered {ws.status}, expected 403")
        ws.s.close()
        print("  upgrade with a foreign Origin: 403")

    room = "proxy-" + os.urandom(16).hex()
    a = WebSocket(port, host, origin, tls)
    b = WebSocket(port, host, origin, tls)
    for ws in (a, b):
        if ws.status != 101:
            fail(f"WebSocket upgrade answered {ws.status}, expected 101")
    a.send(json.dumps({"type": "join", "room": room}).encode(), 0x1)
    ja = a.recv_json()
    b.send(json.dumps({"type": "join", "room": room}).encode(), 0x1)
    jb = b.recv_json()
    if ja.get("type") != "joined" or jb.get("type") != "joined" or jb.get("peers") != [ja["id"]]:
        fail(f"join replies: {ja} / {jb}")
    pj = a.recv_json()
    if pj != {"type": "peer-joined", "id": jb["id"]}:
        fail(f"expected peer-joined for {jb['id']}, got {pj}")

    blob = os.urandom(1 << 20)
    a.send(blob, 0x2)
    opcode, got = b.recv()
    if opcode != 0x2 or got != blob:
        fail(f"1 MiB binary frame: opcode {opcode}, {len(got)} bytes, "
             f"equal={got == blob}")
    text = json.dumps({"type": "note", "text": "back through the proxy"}).encode()
    b.send(text, 0x1)
    opcode, got = a.recv()
    if opcode != 0x1 or got != text:
        fail(f"text frame came back as opcode {opcode}: {got[:100]!r}")
    a.close()
    b.close()
    print("  two WebSockets joined one room; 1 MiB binary frame and a text frame relayed intact")


def cmd_headers(port, upstream_port, origin, tls):
    host = origin.split("://", 1)[1]
    seen = {}

    class Recorder(http.server.BaseHTTPRequestHandler):
        timeout = TIMEOUT

        def do_GET(self):
            seen[self.path] = {k.lower(): v for k, v in self.headers.items()}
            body = b"recorded\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    http.server.HTTPServer.allow_reuse_address = True
    srv = http.server.HTTPServer(("127.0.0.1", int(upstream_port)), Recorder)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        # A client that sends its own X-Forwarded-For (a spoof, or another proxy in front).
        status, _, _ = http_get(port, host, "/plain", tls, f"X-Forwarded-For: {SPOOF}\r\n")
        if status != 200:
            fail(f"GET /plain through the proxy answered {status}")
        ws = WebSocket(port, host, origin, tls)
        if ws.status != 200:
            fail(f"upgrade to the recording upstream answered {ws.status}")
        ws.s.close()
    finally:
        srv.shutdown()
        srv.server_close()

    proto = "https" if tls else "http"
    for path in ("/plain", "/ws"):
        h = seen.get(path)
        if h is None:
            fail(f"the upstream never saw {path}")
        if h.get("host") != host:
            fail(f"{path}: upstream saw Host {h.get('host')!r}, expected {host!r}")
        xff = [x.strip() for x in h.get("x-forwarded-for", "").split(",")]
        if xff[-1] != CLIENT:
            fail(f"{path}: X-Forwarded-For {h.get('x-forwarded-for')!r} does not end in the "
                 f"client's address {CLIENT}")
        if h.get("x-forwarded-proto") != proto:
            fail(f"{path}: X-Forwarded-Proto {h.get('x-forwarded-proto')!r}, expected {proto}")
    up = seen["/ws"]
    if up.get("upgrade", "").lower() != "websocket" or \
            "upgrade" not in up.get("connection", "").lower():
        fail(f"upgrade not passed on: Upgrade={up.get('upgrade')!r} "
             f"Connection={up.get('connection')!r}")
    if up.get("origin") != origin:
        fail(f"Origin {up.get('origin')!r} not passed on unchanged")
    if "upgrade" in seen["/plain"] or "upgrade" in seen["/plain"].get("connection", "").lower():
        fail(f"a plain request was forwarded with upgrade headers: {seen['/plain']}")
    print(f"  upstream saw Host {host}, X-Forwarded-For "
          f"{seen['/plain'].get('x-forwarded-for')!r}, X-Forwarded-Proto {proto}; "
          "Upgrade/Connection/Origin passed on an upgrade only")


def main(argv):
    if len(argv) in (3, 4) and argv[0] == "wait":
        return cmd_wait(*argv[1:])
    flags = {a for a in argv if a.startswith("--")}
    args = [a for a in argv if not a.startswith("--")]
    if len(args) == 3 and args[0] == "relay":
        return cmd_relay(int(args[1]), args[2], "--tls" in flags,
                         "--expect-origin-check" in flags)
    if len(args) == 4 and args[0] == "headers":
        return cmd_headers(int(args[1]), int(args[2]), args[3], "--tls" in flags)
    print(__doc__, file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
