#!/usr/bin/env python3
"""Server RSS per idle WSS connection: opens N TLS WebSockets to a roomcast on 127.0.0.1 and
reads the server's VmRSS before and after. Bounded: N <= 20000, 120 s in all.

    roomcast --host 127.0.0.1 --port 3443 --tls-self-signed --state-dir /tmp/rc-state \\
             --max-connections-per-ip 100000 &
    bench/tls-idle.py 3443 2000 $!
"""
import base64
import os
import socket
import ssl
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    port, n, pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    if not 0 < n <= 20000:
        sys.exit("N must be 1..20000")
    deadline = time.monotonic() + 120
    ctx = ssl.create_default_context()
    ctx.check_hostname = False  # a throwaway self-signed certificate; only memory is measured
    ctx.verify_mode = ssl.CERT_NONE
    before = rss_kib(pid)
    conns = []
    for _ in range(n):
        if time.monotonic() > deadline:
            sys.exit(f"deadline passed after {len(conns)} connections")
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        tls = ctx.wrap_socket(raw)
        key = base64.b64encode(os.urandom(16)).decode()
        tls.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                     f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = tls.recv(4096)
            if not chunk:
                sys.exit("connection closed during the upgrade")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            sys.exit("upgrade refused: " + head.split(b"\r\n", 1)[0].decode(errors="replace"))
        conns.append(tls)
    time.sleep(1.0)  # let the server finish its side of every upgrade
    after = rss_kib(pid)
    print(f"{n} idle WSS connections: server RSS {before} -> {after} KiB, "
          f"{(after - before) * 1024 / n:.0f} B each")


if __name__ == "__main__":
    main()
