#!/usr/bin/env python3
"""Writes the seed scripts of fuzz/seat_fuzz.cpp into fuzz/corpus/seat/ (the language is
described in that file's header). Each seed is spelled out below in the ops' own words, so a
seed can be read and changed here rather than in a hex dump. Run from anywhere:
    fuzz/seat_seeds.py            # (re)writes the seeds listed in SEEDS
    fuzz/seat_seeds.py --print F  # decodes a script file (a crash input, say) into this form
Inputs libFuzzer found are kept as found, not written here: uaf-park-inflight (minimized).
"""
import os
import sys

OPS = ["connect", "data", "ping", "close", "drop", "window", "run", "raw", "join", "leave",
       "expire"]
CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4000, 4999]

# connect / join flags
UNLIMITED = 0x80  # connect: reads without limit from the start
BARE = 0x40       # connect: sends nothing
NO_JOIN = 0x20    # connect: the upgrade only
ROOM_G = 0x10


def resume_from(i):
    return 1 | (i << 1)


def size_byte(n):
    """The smallest size byte b whose size(b) is at least n (see log_size in seat_fuzz.cpp)."""
    for b in range(256):
        if ((16 | (b & 15)) << (b >> 4)) >> 2 >= n:
            return b
    raise ValueError(n)


def log_size(b):
    return ((16 | (b & 15)) << (b >> 4)) >> 2


def connect(flags=0):
    return [0, flags]


def data(i, n, binary=True, fragmented=False, ping_between=False):
    f = (1 if binary else 0) | (2 if fragmented else 0) | (4 if ping_between else 0)
    return [1, i, f, size_byte(n)]


def ping(i, n=0):
    return [2, i, n]


def close(i, code):
    return [3, i, CLOSE_CODES.index(code)]


def drop(i, how):
    return [4, i, {"close": 0, "shut_wr": 1, "shut_rdwr": 2}[how]]


def window(i, n):
    if n == "closed":
        return [5, i, 0]
    if n == "unlimited":
        return [5, i, 255]
    return [5, i, size_byte(n)]


def run(k=0):
    return [6, k]


def raw(i, b):
    return [7, i, len(b)] + list(b)


def join(i, flags=0):
    return [8, i, flags]


def leave(i):
    return [9, i]


def expire(all_seats=False):
    return [10, 1 if all_seats else 0]


A, B, C, D = 0, 1, 2, 3

SEEDS = {
    # Plain relaying both ways, then a leave.
    "relay": [connect(UNLIMITED), run(), connect(UNLIMITED), run(),
              data(A, 1000, binary=False), data(B, 20000), run(), leave(B), run()],
    # Fragments with a ping between, pings, a switch of rooms.
    "fragments": [connect(UNLIMITED), connect(UNLIMITED), run(),
                  data(A, 3000, fragmented=True, ping_between=True), ping(B, 10), run(),
                  join(B, ROOM_G), run(), data(A, 100, binary=False), run()],
    # A fifth member is refused (room-full), a message past max_message_bytes closes with 1009.
    "full": [connect(UNLIMITED), connect(UNLIMITED), connect(UNLIMITED), connect(UNLIMITED),
             connect(UNLIMITED), run(), data(A, 120000), run()],
    # A slow reader: its queue passes send_max_bytes and it is closed with 1008.
    # (each sender pauses once its message is queued behind B, so it takes three of them).
    "slow_reader": [connect(UNLIMITED), connect(), connect(UNLIMITED), connect(UNLIMITED), run(),
                    data(A, 90000), data(C, 90000), data(D, 90000), run(), window(B, 4000),
                    run()],
    # A clean resume: B closes with 1001, A relays to its seat, C takes the seat back.
    "resume": [connect(UNLIMITED), connect(UNLIMITED), run(), close(B, 1001), run(),
               data(A, 4000), run(), connect(UNLIMITED | resume_from(B)), run(),
               data(C, 100, binary=False), run()],
    # The seat overflows and the reaper releases it; a resume then is a fresh join.
    "seat_overflow": [connect(UNLIMITED), connect(UNLIMITED), run(), close(B, 4000), run(),
                      data(A, 90000), data(A, 90000), run(), expire(), run(),
                      connect(UNLIMITED | resume_from(B)), run()],
    # Near misses of the in-flight use-after-free: each lacks one ingredient.
    # B's write is stalled half done and B closes, but with 1000: no seat.
    "near_inflight_1000": [connect(UNLIMITED), connect(UNLIMITED), run(), window(B, "closed"),
                           data(A, 60000), run(), close(B, 1000), run(), data(A, 90000),
                           data(A, 90000), run(), window(B, "unlimited"), run()],
    # B closes with 1001 while its write is stalled, but the seat never overflows.
    "near_inflight_small": [connect(UNLIMITED), connect(UNLIMITED), run(), window(B, "closed"),
                            data(A, 30000), run(), close(B, 1001), run(), data(A, 20000),
                            run(), window(B, "unlimited"), run()],
    # B's window is open, so no write is in flight when it closes with 1001.
    "near_overflow_reading": [connect(UNLIMITED), connect(UNLIMITED), run(), data(A, 60000),
                              run(), close(B, 1001), run(), data(A, 90000), data(A, 90000),
                              run(), window(B, "unlimited"), run()],
    # The resume path: B drops (TCP) mid-write, C resumes the seat with B's token and drains.
    "near_resume_drop": [connect(UNLIMITED), connect(UNLIMITED), run(), window(B, "closed"),
                         data(A, 60000), run(), drop(B, "shut_wr"), run(),
                         connect(UNLIMITED | resume_from(B)), run(), window(B, "unlimited"),
                         run()],
    # The use-after-free of a frame in flight when its connection parks (the review's finding),
    # one seed per way the parked frame is freed while the old socket still writes from it.
    # The seat overflows: B's write is stalled in A's 60 KB message, B closes with 1001, A's
    # next 90 KB passes resume_buffer_bytes and the seat drops the message; B's window opens.
    "uaf-park-overflow": [connect(UNLIMITED), connect(UNLIMITED), run(), window(B, "closed"),
                          data(A, 60000), run(), close(B, 1001), run(), data(A, 90000), run(),
                          window(B, "unlimited"), run()],
    # The seat is resumed: C takes B's seat with B's token, is replayed the message and sends
    # it, and its send queue lets it go; then B's window opens.
    "uaf-resume-inflight": [connect(UNLIMITED), connect(UNLIMITED), run(), window(B, "closed"),
                            data(A, 60000), run(), close(B, 1001), run(),
                            connect(UNLIMITED | resume_from(B)), run(), window(B, "unlimited"),
                            run()],
    # A private reply in flight: B's second batch is [A's message, B's `joined`] (B joined
    # again while the first batch was stalled); park_seat keeps only data frames, so the
    # `joined` is freed at once.
    "uaf-park-reply": [connect(UNLIMITED), connect(UNLIMITED), run(), window(B, "closed"),
                       data(A, 20000), run(), data(A, 20000), run(), join(B), run(),
                       window(B, 16384), run(), close(B, 1001), run(), window(B, "unlimited"),
                       run()],
}


def decode(b):
    out, p = [], 0
    n_clients = 0
    while p < len(b):
        op = OPS[b[p] % 11]
        p += 1
        nargs = {"connect": 1, "data": 3, "ping": 2, "close": 2, "drop": 2, "window": 2,
                 "run": 1, "raw": 2, "join": 2, "leave": 1, "expire": 1}[op]
        args = list(b[p:p + nargs])
        p += nargs
        if len(args) < nargs:
            out.append(f"({op}: input ends)")
            break
        if op == "connect":
            n_clients += 1
        if op == "raw":
            body = b[p:p + args[1]]
            p += len(body)
            out.append(f"raw {args[0]} {bytes(body)!r}")
        elif op == "data":
            out.append(f"data {args[0]} flags {args[1]:#x} size {log_size(args[2])}")
        elif op == "window":
            w = {0: "closed", 255: "unlimited"}.get(args[1], f"+{log_size(args[1])}")
            out.append(f"window {args[0]} {w}")
        elif op == "close":
            k = args[1] & 15
            code = CLOSE_CODES[k] if k < 12 else ["no code", "1006", "999", "1-byte"][k - 12]
            out.append(f"close {args[0]} {code}")
        else:
            out.append(f"{op} " + " ".join(f"{a:#04x}" for a in args))
    return out


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--print":
        with open(sys.argv[2], "rb") as f:
            print("\n".join(decode(f.read())))
        return
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "seat")
    os.makedirs(here, exist_ok=True)
    for name, ops in SEEDS.items():
        with open(os.path.join(here, name), "wb") as f:
            f.write(bytes(x for op in ops for x in op))


if __name__ == "__main__":
    main()
