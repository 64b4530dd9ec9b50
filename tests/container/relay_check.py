"""Two raw WebSocket clients on 127.0.0.1:PORT join a room; a frame from one reaches the other.
Every socket operation has a 5 s timeout."""
import os, socket, struct, sys

port = int(sys.argv[1])

def connect():
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    # Host as a browser would send it: the server answers only names it knows.
    s.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    head, rest = buf.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return s, rest

def send(s, payload):
    key = os.urandom(4)
    n = len(payload)
    hdr = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n))
    s.sendall(hdr + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload)))

def recv(s, buf):
    def need(k):
        nonlocal buf
        while len(buf) < k:
            chunk = s.recv(65536)
            if not chunk:
                raise SystemExit("connection closed")
            buf += chunk
    need(2)
    n, off = buf[1] & 0x7F, 2
    if n == 126:
        need(4)
        n, off = struct.unpack(">H", buf[2:4])[0], 4
    need(off + n)
    return buf[off:off + n], buf[off + n:]

a, ba = connect()
b, bb = connect()
send(a, b'{"type":"join","room":"container-smoke"}')
msg, ba = recv(a, ba)
assert b'"joined"' in msg, msg
send(b, b'{"type":"join","room":"container-smoke"}')
msg, bb = recv(b, bb)
assert b'"joined"' in msg, msg
frame = b'{"type":"image","data":"through the container"}'
send(a, frame)
msg, bb = recv(b, bb)
assert msg == frame, msg
print("relay through the container: ok")
