"""tests/soak/attack_mix.py: honest pairs and attackers against one roomcast, standard library only.

  attack_mix.py --port PORT --duration S --pairs N --messages K [limits] [--seed N]

Run by tests/soak/attack.sh, which passes the server's limits so that every attack is sized to
them. Everything connects to 127.0.0.1:PORT, each kind of client from its own loopback
addresses, so the server's per-address caps fall on the attackers and never on the honest pairs:

  honest pairs     127.0.1.P and 127.0.2.P, one room a pair. Each side sends K binary messages of
                   1 KiB..256 KiB (sequence number, length and CRC-32 in a header), paced over the
                   run and never more than 3/4 of --send-high-water in flight, so an honest
                   receiver never keeps its sender waiting. Every message must arrive at the
                   other side once, in order and intact, and no honest connection may be closed.
  partial messages 127.0.9.1-4: each wave, every address opens --connections-per-ip + 4
                   connections (the surplus gets 429); each joins a room of its own and sends a
                   frame header announcing --max-message-bytes, then a quarter of
                   --message-bytes-per-ip of it, then one byte every 0.5 s or nothing. They must
                   be closed with 1013 (the address cap) or 1008 (--message-min-rate).
                   127.0.9.5: headers announcing more than a connection may send (before a join:
                   over 4096 bytes; after: over --max-message-bytes); they must get 1009.
  seat parkers     127.0.9.20 and .21: each wave, 3 x --held-seats-per-ip rooms; .21 joins each
                   beside .20 and drops (RST or FIN, no close frame) in all rooms at once, then .20
                   sends 1.5 x --resume-buffer-bytes to each away seat, and drops too.
  trickle readers  127.0.9.31, with a 4 KiB receive buffer and 536-byte segments, joins rooms
                   where 127.0.9.41-46 send, and some of the honest pairs' rooms. Some never
                   read, some read 4 KiB/s, some read at 3/4 of --send-min-rate; all show they
                   are alive (an unsolicited pong a second), so only --send-timeout or
                   --send-min-rate can cut them off, and they must (see "trickle readers" below).

Attacks come in waves through --duration; honest pairs run through all of it. Prints one JSON
line (flat, for the shell) and exits 1 on any problem: an honest message lost, duplicated, out
of order or corrupt, an honest connection closed, an attacker the server should have cut off
still open, or the hard deadline (--duration + 60 s) passed. 2 on bad usage."""
import argparse
import asyncio
import base64
import collections
import hashlib
import json
import os
import random
import socket
import struct
import sys
import time
import weakref
import zlib

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
ZERO_KEY = b"\0\0\0\0"  # attackers' garbage goes out as it is: masking it would only cost time
IO_TIMEOUT = 10         # any single connect, handshake or join
KiB = 1 << 10

HONEST_A, HONEST_B = "127.0.1.{}", "127.0.2.{}"
PARTIAL = [f"127.0.9.{i}" for i in range(1, 5)]
OVERSIZE = "127.0.9.5"
PARKER_SENDER, PARKER_SEAT = "127.0.9.20", "127.0.9.21"
TRICKLE_SENDER, TRICKLE_READER = "127.0.9.4{}", "127.0.9.31"

# An honest message: magic, pair, side, sequence number, total length, CRC-32 of what follows.
HEADER = struct.Struct(">4sHBIII")
MAGIC = b"RCAH"


def mask(payload, key):
    n = len(payload)
    if n == 0 or key == ZERO_KEY:
        return payload
    k = int.from_bytes((key * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(payload, "big") ^ k).to_bytes(n, "big")


def frame_header(opcode, length, fin=True, key=ZERO_KEY):
    b0 = (0x80 if fin else 0) | opcode
    if length < 126:
        hdr = struct.pack(">BB", b0, 0x80 | length)
    elif length < 1 << 16:
        hdr = struct.pack(">BBH", b0, 0x80 | 126, length)
    else:
        hdr = struct.pack(">BBQ", b0, 0x80 | 127, length)
    return hdr + key


def frame(opcode, payload, key=None):
    key = os.urandom(4) if key is None else key
    return frame_header(opcode, len(payload), key=key) + mask(payload, key)


class FrameParser:
    """Server frames from a byte stream, fed in pieces of any size; messages reassembled."""

    def __init__(self):
        self.buf = bytearray()
        self.parts = None  # (opcode, [payloads]) of a fragmented message under way

    def feed(self, data):
        self.buf += data
        out = []
        while True:
            b = self.buf
            if len(b) < 2:
                return out
            n, off = b[1] & 0x7F, 2
            if b[1] & 0x80:
                raise ValueError("masked frame from the server")
            if n == 126:
                if len(b) < 4:
                    return out
                n, off = int.from_bytes(b[2:4], "big"), 4
            elif n == 127:
                if len(b) < 10:
                    return out
                n, off = int.from_bytes(b[2:10], "big"), 10
            if len(b) < off + n:
                return out
            fin, opcode = b[0] & 0x80, b[0] & 0x0F
            payload = bytes(b[off:off + n])
            del b[:off + n]
            if opcode >= OP_CLOSE:
                out.append((opcode, payload))
            elif opcode == OP_CONT:
                if self.parts is None:
                    raise ValueError("continuation frame with no message under way")
                self.parts[1].append(payload)
            else:
                self.parts = (opcode, [payload])
            if fin and opcode < OP_CLOSE and self.parts is not None:
                out.append((self.parts[0], b"".join(self.parts[1])))
                self.parts = None


class Client:
    """One WebSocket connection. A pump task reads it: it answers pings, records the server's
    text messages (by type) and its close code, and hands binary messages to on_binary."""

    def __init__(self, reader, writer):
        self.r, self.w = reader, writer
        self.parser = FrameParser()
        self.types = []         # the type of every text message, in order
        self.joined = None      # the last joined (or error) reply
        self.close_code = None  # the server's close code (1005: a close frame without one)
        self.ended = None       # "close", "eof" or "reset" once the connection is over
        self.closing = False    # we sent a close frame (or dropped the connection)
        self.on_binary = None
        self.binary = 0
        self.rate = None        # bytes a second the pump reads at most (None: all there is)
        self.bucket = (0.0, 0)  # since when, and how much, it has read at that rate
        self.reading = asyncio.Event()  # reads stop while it is clear
        self.reading.set()
        self.changed = asyncio.Event()
        self.pump = asyncio.create_task(self._pump())

    def set_rate(self, rate):
        self.rate, self.bucket = rate, (time.monotonic(), 0)

    async def _pump(self):
        try:
            while True:
                await self.reading.wait()
                size = 1 << 20
                if self.rate:  # a budget that refills steadily, so a late wake-up catches up
                    since, consumed = self.bucket
                    allowed = int(self.rate * (time.monotonic() - since)) - consumed
                    if allowed < KiB:
                        await asyncio.sleep(KiB / self.rate)
                        continue
                    size = min(size, allowed)
                data = await self.r.read(size)
                self.bucket = (self.bucket[0], self.bucket[1] + len(data))
                if not data:
                    self.ended = "eof"
                    return
                for opcode, payload in self.parser.feed(data):
                    self._handle(opcode, payload)
                    if self.ended:
                        return
                self.changed.set()
        except (ConnectionError, OSError):
            self.ended = self.ended or "reset"
        except asyncio.CancelledError:
            self.ended = self.ended or "cancelled"
        except ValueError as e:
            self.ended = f"protocol error: {e}"
        finally:
            self.changed.set()

    def _handle(self, opcode, payload):
        if opcode == OP_PING:
            self.write(frame(OP_PONG, payload))
        elif opcode == OP_CLOSE:
            self.close_code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
            if not self.closing:  # echo it (RFC 6455 5.5.1); the server closes the TCP side
                self.write(frame(OP_CLOSE, payload[:2]))
                self.closing = True
            self.ended = "close"
        elif opcode == OP_TEXT:
            msg = json.loads(payload)
            self.types.append(msg.get("type"))
            if msg.get("type") in ("joined", "error"):
                self.joined = msg
        elif opcode == OP_BINARY:
            self.binary += 1
            if self.on_binary:
                self.on_binary(payload)

    def write(self, data):
        if not self.w.is_closing():
            self.w.write(data)

    async def send(self, opcode, payload, key=None, timeout=None):
        """Writes one message; False if the connection is over or the write did not finish."""
        if self.ended or self.closing:
            return False
        self.write(frame(opcode, payload, key))
        try:
            await asyncio.wait_for(self.w.drain(), timeout)
            return True
        except (ConnectionError, OSError, asyncio.TimeoutError):
            return False

    async def wait(self, pred, timeout):
        """Until pred() holds or the connection ends; returns pred()."""
        deadline = time.monotonic() + timeout
        while not pred() and not self.ended:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except asyncio.TimeoutError:
                break
        return pred()

    async def join(self, room):
        self.joined = None
        await self.send(OP_TEXT, json.dumps({"type": "join", "room": room}).encode())
        await self.wait(lambda: self.joined is not None, IO_TIMEOUT)
        return self.joined or {}

    async def close(self, timeout=5):
        """A close frame with 1000, then the server's answer (or the timeout), then the socket."""
        if not self.ended and not self.closing:
            self.closing = True
            self.write(frame(OP_CLOSE, struct.pack(">H", 1000)))
            await self.wait(lambda: False, timeout)
        self.abort()

    def drop(self, rst):
        """Ends the TCP connection with no close frame: FIN, or RST (SO_LINGER 0)."""
        self.closing = True
        if rst:
            sock = self.w.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.abort()

    def abort(self):
        self.w.transport.abort()
        self.pump.cancel()

    def outcome(self):
        """How the server ended the connection: "1013", "1008", ..., "dropped", or "open"."""
        if self.close_code is not None:
            return str(self.close_code)
        if self.ended in ("eof", "reset"):
            return "dropped"  # no close frame (the client sees 1006)
        return "open" if not self.ended else self.ended


async def open_ws(port, src, limit=1 << 20, small_window=False):
    """A Client, or the HTTP status (429, 503, ...) or "reset" if the upgrade was refused.
    small_window: a 4 KiB receive buffer and 536-byte segments, set before connecting. The
    segment size matters: the server's kernel sizes its send buffer by it (0.5 MiB instead of
    the 4 MiB it grows to on loopback), so what the server queues for a slow reader reaches its
    queue, and its rules, within seconds."""
    loop = asyncio.get_running_loop()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    if small_window:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * KiB)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    try:
        s.bind((src, 0))
        await asyncio.wait_for(loop.sock_connect(s, ("127.0.0.1", port)), IO_TIMEOUT)
        r, w = await asyncio.open_connection(sock=s, limit=max(limit, 4 * KiB))
    except BaseException:
        s.close()
        raise
    key = base64.b64encode(os.urandom(16)).decode()
    try:
        w.write((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                 f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), IO_TIMEOUT)
    except (ConnectionError, OSError, asyncio.IncompleteReadError):
        w.transport.abort()
        return "reset"
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    if status != 101:
        w.transport.abort()
        return status
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    if headers.get("sec-websocket-accept") != accept:
        w.transport.abort()
        raise RuntimeError(f"bad Sec-WebSocket-Accept {headers.get('sec-websocket-accept')!r}")
    return Client(r, w)


class Run:
    """The shared state of one run: arguments, counters, problems, open connections."""

    def __init__(self, args):
        self.a = args
        self.t0 = time.monotonic()
        self.rng = random.Random(args.seed)
        self.tag = f"{args.seed:x}{os.getpid():x}"
        self.pool = self.rng.randbytes(2 * 256 * KiB)  # honest message bodies are cut from it
        self.count = collections.Counter()
        self.problems = []
        self.clients = weakref.WeakSet()  # the open ones, to abort at the end
        self.honest = []         # Direction objects
        self.honest_rooms = []   # rooms whose pair has joined: trickle readers may join them
        self.honest_ready = asyncio.Event()
        self.peak = collections.Counter()

    def now(self):
        return time.monotonic() - self.t0

    def problem(self, text):
        if len(self.problems) < 5:
            self.problems.append(text)
        self.count["problems"] += 1

    async def open(self, src, kind, **kw):
        if kind != "honest":
            self.count["attack_connections"] += 1
        try:
            c = await open_ws(self.a.port, src, **kw)
        except (OSError, asyncio.TimeoutError, RuntimeError) as e:
            self.count[f"{kind}_connect_failed"] += 1
            if kind == "honest":
                self.problem(f"honest connection from {src} failed: {e!r}")
            return None
        if not isinstance(c, Client):
            self.count[f"refused_{c}"] += 1
            if kind == "honest":
                self.problem(f"honest upgrade from {src} refused: {c}")
            return None
        self.clients.add(c)
        return c

    def closed(self, kind, c):
        """Counts how the server ended an attacker's connection."""
        self.count[f"{kind}_{c.outcome()}"] += 1
        if c.close_code is not None:
            self.count[f"closes_{c.close_code}"] += 1


async def sleep_until(run, t):
    d = t - run.now()
    if d > 0:
        await asyncio.sleep(d)


# ---- honest pairs ---------------------------------------------------------------------------

class Direction:
    """One side's messages to the other: what was sent, and what the other side received."""

    def __init__(self, run, pair, side, sizes):
        self.run, self.pair, self.side, self.sizes = run, pair, side, sizes
        self.sent = self.sent_bytes = 0
        self.received = self.recv_bytes = self.next_seq = 0
        self.dup = self.out_of_order = self.corrupt = 0
        self.progress = asyncio.Event()

    def payload(self, seq):
        size = self.sizes[seq]
        n = size - HEADER.size
        off = (seq * 7919 + self.pair * 104729 + self.side * 31) % (len(self.run.pool) - n)
        body = self.run.pool[off:off + n]
        return HEADER.pack(MAGIC, self.pair, self.side, seq, size, zlib.crc32(body)) + body

    def check(self, data):
        """A binary message at the receiving side."""
        if len(data) < HEADER.size or data[:4] != MAGIC:
            self.corrupt += 1
            return
        _, pair, side, seq, size, crc = HEADER.unpack_from(data)
        if (pair, side) != (self.pair, self.side) or size != len(data) or \
                zlib.crc32(memoryview(data)[HEADER.size:]) != crc:
            self.corrupt += 1
            return
        if seq < self.next_seq:
            self.dup += 1
            return
        if seq > self.next_seq:
            self.out_of_order += 1  # the ones skipped are missing, and counted lost at the end
        self.next_seq = seq + 1
        self.received += 1
        self.recv_bytes += size
        self.progress.set()

    def done(self):
        return self.received >= len(self.sizes)


def honest_sizes(rng, k):
    """K sizes over 1 KiB..256 KiB, starting with both ends of the range: half of the others
    uniform (photos in 256 KiB chunks, and their last pieces), half log-uniform (small ones)."""
    sizes = [256 * KiB, KiB]
    for i in range(k - 2):
        sizes.append(rng.randint(KiB, 256 * KiB) if i % 2 else int(KiB * 2 ** rng.uniform(0, 8)))
    return sizes[:k]


async def honest_send(run, c, d, start, interval):
    # In flight (sent, not yet received by the other side) stays under 3/4 of the high-water
    # mark: the receiver's queue never reaches it, so an honest receiver never holds its sender
    # back and cannot be judged slow (the bundled web client keeps 2 MiB in flight for 4 MiB).
    window = run.a.send_high_water * 3 // 4
    for seq, size in enumerate(d.sizes):
        await sleep_until(run, start + seq * interval)
        while d.sent_bytes > d.recv_bytes and d.sent_bytes - d.recv_bytes + size > window:
            if c.ended:
                return
            d.progress.clear()
            try:
                await asyncio.wait_for(d.progress.wait(), 1)
            except asyncio.TimeoutError:
                pass
        if not await c.send(OP_BINARY, d.payload(seq)):
            return
        d.sent += 1
        d.sent_bytes += size


async def honest_pair(run, p, ready):
    k = run.a.messages
    ab = Direction(run, p, 0, honest_sizes(run.rng, k))
    ba = Direction(run, p, 1, honest_sizes(run.rng, k))
    run.honest += [ab, ba]
    try:
        a = await run.open(HONEST_A.format(p + 1), "honest")
        b = await run.open(HONEST_B.format(p + 1), "honest")
        if not a or not b:
            return
        room = f"honest-{p}-{run.tag}"
        for c in (a, b):
            j = await c.join(room)
            if j.get("type") != "joined":
                run.problem(f"honest pair {p}: join answered {j}")
                return
        b.on_binary, a.on_binary = ab.check, ba.check
        run.honest_rooms.append(room)
    finally:
        ready()
    await run.honest_ready.wait()
    start = run.now()
    interval = run.a.duration * 0.8 / k
    await asyncio.gather(honest_send(run, a, ab, start, interval),
                         honest_send(run, b, ba, start, interval))
    for c, d in ((b, ab), (a, ba)):  # what was sent must arrive: wait for it, bounded
        await c.wait(d.done, run.a.duration + 30)
    for c in (a, b):
        if c.ended:
            run.count["honest_closed"] += 1
            run.problem(f"honest pair {p}: the server ended a connection ({c.outcome()})")
    if "error" in a.types + b.types:
        run.problem(f"honest pair {p}: the server sent an error: {a.types + b.types}")
    await asyncio.gather(a.close(), b.close())


# ---- partial messages -----------------------------------------------------------------------

async def partial_conn(run, src, room, how):
    """how: "trickle" (a byte every 0.5 s after its chunk), "stall" (nothing after it),
    "oversize" (after the join, a header over --max-message-bytes: 1009) or "prejoin" (before
    any join, a header over 4096 bytes: 1009)."""
    a = run.a
    c = await run.open(src, "partial")
    if not c:
        return
    big = a.max_message_bytes + 1
    if how == "prejoin":
        big = 4097  # before a join, over 4096 bytes is too big
    else:
        j = await c.join(room)
        if j.get("type") != "joined":
            run.count["partial_join_refused"] += 1
    if how in ("oversize", "prejoin"):
        c.write(frame_header(OP_BINARY, big))
        await c.wait(lambda: False, IO_TIMEOUT)
        run.closed("oversize", c)
        if c.outcome() != "1009":
            run.problem(f"{how} message from {src}: ended {c.outcome()}, expected 1009")
        c.abort()
        return
    # A quarter of the address cap: it takes three such messages to pass it (each holds 1.5 x
    # what arrived + 64 KiB), so two per address are left for the min-rate rule to cut off.
    chunk, piece = a.message_bytes_per_ip // 4, 256 * KiB
    c.write(frame_header(OP_BINARY, a.max_message_bytes))
    for _ in range(chunk // piece):
        if c.ended or c.closing:
            break
        c.write(bytes(piece))
        try:
            await asyncio.wait_for(c.w.drain(), IO_TIMEOUT)
        except (ConnectionError, OSError, asyncio.TimeoutError):
            break
    # Cut off within two heartbeat ticks (the min-rate check), plus the close handshake.
    until = time.monotonic() + 3 * a.ping_interval + 5
    while not c.ended and time.monotonic() < until:
        if how == "trickle":
            c.write(b"\0")
        await c.wait(lambda: False, 0.5)
    run.closed("partial", c)
    if c.outcome() not in ("1013", "1008"):
        run.problem(f"partial message from {src}: ended {c.outcome()}, expected 1013 or 1008")
    c.abort()


async def partial_wave(run, w):
    conns = []
    for src in PARTIAL:
        for i in range(run.a.connections_per_ip + 4):
            room = f"partial-{w}-{src.replace('.', '_')}-{i}-{run.tag}"
            conns.append(partial_conn(run, src, room, "trickle" if i % 2 else "stall"))
    for i, how in enumerate(("prejoin", "oversize")):
        conns.append(partial_conn(run, OVERSIZE, f"oversize-{w}-{i}-{run.tag}", how))
    await asyncio.gather(*conns)


# ---- seat parkers ---------------------------------------------------------------------------

async def parker_wave(run, w):
    a = run.a
    n = 3 * a.held_seats_per_ip
    rooms = [f"park-{w}-{i}-{run.tag}" for i in range(n)]
    senders = await asyncio.gather(*(run.open(PARKER_SENDER, "parker") for _ in rooms))
    seats = await asyncio.gather(*(run.open(PARKER_SEAT, "parker") for _ in rooms))
    pairs = [(s, p, r) for s, p, r in zip(senders, seats, rooms) if s and p]
    for s, p, r in pairs:
        await s.join(r)
        await p.join(r)
    for s, _, _ in pairs:
        await s.wait(lambda s=s: "peer-joined" in s.types, IO_TIMEOUT)
    for i, (_, p, _) in enumerate(pairs):  # all at once: more than an address may hold
        p.drop(rst=i % 2 == 0)
    for s, _, _ in pairs:
        await s.wait(lambda s=s: "peer-away" in s.types or "peer-left" in s.types, IO_TIMEOUT)
        run.count["parked_away" if "peer-away" in s.types else "parked_left"] += 1

    async def fill(s):  # more than the seat may keep: it overflows
        piece = 512 * KiB
        for _ in range(a.resume_buffer_bytes * 3 // 2 // piece + 1):
            if not await s.send(OP_BINARY, bytes(piece), ZERO_KEY, IO_TIMEOUT):
                break
        await s.wait(lambda: s.types.count("peer-left") > 0, 2)
        if s.close_code is not None:
            run.closed("parker", s)
        s.drop(rst=True)  # its own seat is parked too
    await asyncio.gather(*(fill(s) for s, _, _ in pairs))
    run.count["parked_rooms"] += len(pairs)


# ---- trickle readers ------------------------------------------------------------------------
# Three kinds, each in a room of its own with a sender. "never" reads nothing and "crawl" reads
# 4 KiB/s; their sender sends --send-high-water in all, which the kernel's buffer cannot take:
# the server's write to them stalls, so --send-timeout drops them (no one waits on them, so
# that is the only rule that can). "slow" reads steadily at 3/4 of --send-min-rate, enough for
# the writes to progress, while its sender sends without pause and waits on it: --send-min-rate
# closes it (1008). On loopback the kernel's writes progress in steps of about a third of its
# send buffer, so the script raises --send-min-rate for that step to fit in a send-timeout.
# Readers that never read or crawl sit in some honest pairs' rooms too; there either rule may
# cut them off (the pair waits on them once its messages fill their queue).

async def trickle_reader(run, room, kind, slow_s, joined=None):
    a = run.a
    c = await run.open(TRICKLE_READER, "trickle", limit=64 * KiB if kind == "slow" else 4 * KiB,
                       small_window=True)
    if c:
        await c.join(room)
    if joined:
        joined.set()
    if not c:
        return
    if kind == "never":
        c.reading.clear()
    c.set_rate({"crawl": 4 * KiB, "slow": a.send_min_rate * 3 // 4}.get(kind))
    until = time.monotonic() + slow_s
    while time.monotonic() < until and not c.ended:
        c.write(frame(OP_PONG, b""))  # alive: only the send rules may cut it off
        await asyncio.sleep(1)
    # Now read at full speed: what the server still had in flight for it, then its close frame
    # (1008, send-min-rate) or the end of the TCP connection (send-timeout: dropped).
    c.set_rate(None)
    c.reading.set()
    await c.wait(lambda: False, a.ping_interval + 8)
    run.closed(f"trickle_{kind}", c)
    run.count[f"trickle_{kind}_readers"] += 1
    if c.outcome() not in ("1008", "dropped"):
        run.problem(f"trickle reader ({kind}) in {room}: {c.outcome()}, expected cut off "
                    "(1008 or dropped)")
    c.abort()


async def trickle_sender(run, src, room, joined, until, total):
    """Sends total bytes (None: without end) while the reader is in the room, until `until`."""
    c = await run.open(src, "trickle_sender")
    if not c:
        joined.set()
        return
    await c.join(room)
    await joined.wait()
    piece, sent = bytes(256 * KiB), 0
    # A message whenever asyncio's buffer is below its mark (the server stops reading us while
    # the reader's queue is over --send-high-water).
    while run.now() < until and not c.ended and \
            "peer-left" not in c.types and "peer-away" not in c.types:
        if total is not None and sent >= total:
            await c.wait(lambda: False, 0.5)
            continue
        if c.w.transport.get_write_buffer_size() <= 64 * KiB:
            c.write(frame(OP_BINARY, piece, ZERO_KEY))
            sent += len(piece)
        try:
            await asyncio.wait_for(c.w.drain(), 0.5)
        except (asyncio.TimeoutError, ConnectionError, OSError):
            pass
    if c.close_code is not None:
        run.closed("trickle_sender", c)
    await c.close()


async def trickle_wave(run, w, slow_s):
    tasks = []
    for i, kind in enumerate(("never", "crawl", "slow") * 2):
        room = f"trickle-{w}-{i}-{run.tag}"
        joined = asyncio.Event()
        # A sender address each: what waits in the reader's queue counts against the sender's
        # --max-message-bytes-per-ip, and must not reach it.
        tasks.append(trickle_sender(run, TRICKLE_SENDER.format(i + 1), room, joined,
                                    run.now() + slow_s,
                                    None if kind == "slow" else run.a.send_high_water))
        tasks.append(trickle_reader(run, room, kind, slow_s, joined))
    # Some honest pairs' rooms too: their senders are held back until the reader is cut off.
    # (Only the kinds that stall: an honest pair sends slower than a "slow" reader reads.)
    rooms = run.honest_rooms
    for i in range(min(4, len(rooms) // 4)):
        room = rooms[(w * 4 + i) * 3 % len(rooms)]
        tasks.append(trickle_reader(run, room, ("never", "crawl")[i % 2], slow_s))
        run.count["trickle_in_honest_rooms"] += 1
    await asyncio.gather(*tasks)


# ---- the run --------------------------------------------------------------------------------

async def waves(run, fn, every, last_start, *args):
    """fn(run, w, *args) at attack_t0 + w * every, for every such time up to last_start (at
    least once), each wave running while the next ones start."""
    tasks, w = [], 0
    while w == 0 or run.attack_t0 + w * every <= last_start:
        await sleep_until(run, run.attack_t0 + w * every)
        tasks.append(asyncio.create_task(fn(run, w, *args)))
        w += 1
    await asyncio.gather(*tasks)
    run.count[f"{fn.__name__}s"] = w


async def poll_metrics(run):
    """Peaks of the server's memory gauges, every 0.5 s."""
    names = {'roomcast_memory_used_bytes{kind="partial_messages"}': "partial",
             'roomcast_memory_used_bytes{kind="frames"}': "frames",
             'roomcast_memory_used_bytes{kind="connections"}': "connections",
             "roomcast_held_seat_bytes": "held_seat_bytes", "roomcast_queued_bytes": "queued",
             "roomcast_websockets": "websockets", "roomcast_seats_held": "seats_held"}
    while True:
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", run.a.port), 5)
            w.write(f"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{run.a.port}\r\n"
                    "Connection: close\r\n\r\n".encode())
            text = (await asyncio.wait_for(r.read(-1), 5)).decode("latin-1")
            w.close()
            vals = {}
            for line in text.splitlines():
                name, _, v = line.partition(" ")
                if name in names:
                    vals[names[name]] = float(v)
            vals["memory_used"] = sum(vals.get(k, 0) for k in ("partial", "frames", "connections"))
            for k, v in vals.items():
                run.peak[k] = max(run.peak[k], int(v))
        except (OSError, asyncio.TimeoutError):
            run.count["metrics_poll_failed"] += 1
        await asyncio.sleep(0.5)


async def main_run(run):
    a = run.a
    poller = asyncio.create_task(poll_metrics(run))
    left = [a.pairs]

    def ready():
        left[0] -= 1
        if left[0] == 0:
            run.honest_ready.set()
    pairs = [asyncio.create_task(honest_pair(run, p, ready)) for p in range(a.pairs)]
    await asyncio.wait_for(run.honest_ready.wait(), 60)
    run.count["honest_setup_ms"] = int(run.now() * 1000)
    run.attack_t0 = run.now()
    end = run.attack_t0 + a.duration
    # Each trickle reader reads slowly long enough for its senders to fill its queue past the
    # high-water mark and for two send-timeout windows after that.
    slow_s = 4 * a.send_timeout + 6
    attacks = [waves(run, partial_wave, 5, end - 5),
               waves(run, parker_wave, a.resume_grace + 4, end - a.resume_grace - 4),
               waves(run, trickle_wave, slow_s + 10, end - slow_s - 6, slow_s)]
    await asyncio.gather(*attacks, *pairs)
    run.count["honest_s"] = int(run.now() - run.attack_t0)
    poller.cancel()


def report(run, timed_out):
    c, h = run.count, run.honest
    if timed_out:
        run.problem(f"the hard deadline ({run.a.duration + 60} s) passed")
    res = {
        "honest_pairs": run.a.pairs,
        "honest_sent": sum(d.sent for d in h),
        "honest_expected": sum(len(d.sizes) for d in h),
        "honest_received": sum(d.received for d in h),
        "honest_bytes": sum(d.recv_bytes for d in h),
        "honest_lost": sum(len(d.sizes) - d.received for d in h),
        "honest_dup": sum(d.dup for d in h),
        "honest_out_of_order": sum(d.out_of_order for d in h),
        "honest_corrupt": sum(d.corrupt for d in h),
    }
    for key in ("honest_lost", "honest_dup", "honest_out_of_order", "honest_corrupt"):
        if res[key]:
            run.problem(f"{res[key]} honest messages {key[7:].replace('_', ' ')}")
    res.update(sorted(c.items()))
    res.update({f"peak_{k}": v for k, v in sorted(run.peak.items())})
    res["seconds"] = round(run.now(), 1)
    res["ok"] = not run.problems
    more = c["problems"] - len(run.problems)
    res["problem"] = "; ".join(run.problems) + (f"; and {more} more" if more > 0 else "")
    print(json.dumps(res, separators=(",", ":")), flush=True)
    return 0 if res["ok"] else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--duration", type=float, default=15, help="seconds of attack waves")
    p.add_argument("--pairs", type=int, default=20)
    p.add_argument("--messages", type=int, default=30, help="honest messages per side")
    p.add_argument("--seed", type=int, default=1)
    # The server's limits (its flags of the same names), which the attacks are sized to.
    p.add_argument("--max-message-bytes", type=int, required=True)
    p.add_argument("--message-bytes-per-ip", type=int, required=True)
    p.add_argument("--connections-per-ip", type=int, required=True)
    p.add_argument("--send-high-water", type=int, required=True)
    p.add_argument("--send-timeout", type=float, required=True)
    p.add_argument("--send-min-rate", type=int, required=True)
    p.add_argument("--resume-buffer-bytes", type=int, required=True)
    p.add_argument("--held-seats-per-ip", type=int, required=True)
    p.add_argument("--resume-grace", type=float, required=True)
    p.add_argument("--ping-interval", type=float, required=True)
    args = p.parse_args()
    if args.pairs < 1 or args.pairs > 250 or args.messages < 2:
        p.error("--pairs must be 1..250 and --messages at least 2")

    async def run_all():
        run = Run(args)
        try:
            await asyncio.wait_for(main_run(run), args.duration + 60)
            timed_out = False
        except asyncio.TimeoutError:
            timed_out = True
        for c in list(run.clients):
            c.abort()
        return report(run, timed_out)
    sys.exit(asyncio.run(run_all()))


if __name__ == "__main__":
    main()
