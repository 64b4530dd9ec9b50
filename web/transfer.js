// Chunked, acknowledged file transfers over the roomcast relay (docs/TRANSFER.md). In the
// bundled page every frame goes through sealing.js on its way (sendText / sendChunk).
//
// The daemon relays every frame unchanged to the other members of the room and never looks
// inside, so everything here is a convention between browsers:
//   text   {"type":"file-offer", "xfer", "from", "to":[ids], "ask", "chunk_size", "chunks", "meta":{name,mime,size,modified}}
//   binary "RC" 0x01 0x01 | 16-byte transfer id | uint32 BE chunk index | chunk bytes
//   text   {"type":"file-ack",  "xfer", "from", "to", "next"[, "ask"]}  receiver holds chunks [0, next)
//   text   {"type":"file-done", "xfer", "from", "to", "size"}     receiver reassembled the file
//   text   {"type":"file-unknown", "xfer", "from"}               receiver has no state for this transfer
//   text   {"type":"file-cancel", "xfer", "from"}                sender gave up on it (or finished without it)
// A sender keeps at most WINDOW unacknowledged chunks in flight and reads each chunk from the
// File lazily, so neither the phone's memory nor the server's queues hold more than that.

export const CHUNK_SIZE = 256 * 1024;
export const WINDOW = 16;
const READ_AHEAD = 4; // chunks read from the File at once (≤ WINDOW)
const BATCH = 4; // chunks a receiver writes to storage in one transaction (≤ WINDOW / 2)
const BATCH_WAIT_MS = 15; // ... or fewer, when no more came for this long
export const HEADER_BYTES = 24;
export const PAD_BYTES = 4096; // a sealed file's last chunk is padded to a multiple of this (sealing.js)
const MAX_CHUNK_SIZE = 8 * 1024 * 1024;
const MIN_CHUNK_SIZE = 16 * 1024; // an offer sets what the receiver allocates per chunk: not 1 byte
const MAX_MEMORY_KEPT = 64 * 1024 * 1024; // a file storage will not take is kept in memory up to this
const MAX_FILE_SIZE = 2 ** 42; // 4 TiB: keeps chunk counts well inside uint32
const STALL_MS = 8_000; // no acknowledgement this long while chunks are in flight: probe the link
const GIVE_UP_MS = 120_000; // no progress at all this long: fail (the user can retry)
const SPEED_WINDOW_MS = 3000; // speed: acknowledged bytes over this much of the recent past
const SPEED_MIN_SPAN_MS = 500; // ... once the samples span at least this much

/** `bytes` random bytes as lowercase hex (getRandomValues works without a secure context). */
export function randomHex(bytes) {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

const HEX32 = /^[0-9a-f]{32}$/;

/** Blob.arrayBuffer() where there is one (Safari 14+), FileReader before that. */
function readBlob(blob) {
  if (typeof blob.arrayBuffer === "function") return blob.arrayBuffer();
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.readAsArrayBuffer(blob);
  });
}

/** One binary chunk frame: 24-byte header (magic, version, kind, transfer id, index), then data. */
export function encodeChunk(xfer, index, data) {
  const body = data instanceof Uint8Array ? data : new Uint8Array(data);
  const out = new Uint8Array(HEADER_BYTES + body.byteLength);
  out[0] = 0x52; // 'R'
  out[1] = 0x43; // 'C'
  out[2] = 1; // version
  out[3] = 1; // kind: file chunk
  for (let i = 0; i < 16; i++) out[4 + i] = parseInt(xfer.substr(i * 2, 2), 16);
  new DataView(out.buffer).setUint32(20, index);
  out.set(body, HEADER_BYTES);
  return out;
}

/** Parses a chunk frame; null when the frame is not one. `data` is a Uint8Array view into it (no copy). */
export function decodeChunk(buffer) {
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < HEADER_BYTES) return null;
  const h = new Uint8Array(buffer, 0, HEADER_BYTES);
  if (h[0] !== 0x52 || h[1] !== 0x43 || h[2] !== 1 || h[3] !== 1) return null;
  let xfer = "";
  for (let i = 4; i < 20; i++) xfer += h[i].toString(16).padStart(2, "0");
  const index = new DataView(buffer).getUint32(20);
  return { xfer, index, data: new Uint8Array(buffer, HEADER_BYTES) };
}

/** The first web client's frame: uint32 BE length N, N bytes of JSON metadata, the file. */
export function decodeLegacy(buffer) {
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < 4) return null;
  const n = new DataView(buffer).getUint32(0);
  if (4 + n > buffer.byteLength || n > 65536) return null;
  let meta;
  try {
    meta = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, n)));
  } catch {
    return null;
  }
  if (!meta || meta.kind !== "file") return null;
  return { meta, bytes: buffer.slice(4 + n) };
}

// Control, direction-changing and zero-width characters would let "invoice\u202Efdp.exe" show
// as "invoiceexe.pdf": they are replaced, like path separators.
const cleanName = (s) =>
  (typeof s === "string" && s.trim() ? s : "file")
    .replace(/[\u0000-\u001f\u007f-\u009f/\\\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/g, "_")
    .slice(0, 200);
const cleanMime = (s) => (typeof s === "string" && /^[\w.+-]+\/[\w.+-]+$/.test(s) ? s.toLowerCase() : "");

/**
 * Sends and receives files. It knows nothing of the DOM; the page gives it:
 *   send(textOrBytes), ready() → bool, selfId() → id, peers() → [ids] (present or away),
 *   optionally sendText(obj) and sendChunk(xfer, index, data, last) in place of send (the
 *   sealing layer, sealing.js: it frames them itself, and hands chunks back `padded`),
 *   present(id) → bool (not away),
 *   onOutgoing(t), onIncoming(r), onStall(), onChunkSent(t, index) (tests),
 *   onReceived(item) → a promise that settles once the page has stored the file: only then
 *     does the receiver send file-done, so "Delivered" means "kept", not just "arrived";
 *   and, to keep files still arriving across a reload (all optional, all promises):
 *   keepPartial(r), keepChunks(r, [[index, data]…]) (one write; rejects with a
 *   QuotaExceededError when storage is full), readParts(r) → Map index → Blob, dropPartial(xfer),
 *   storageFree() → bytes this page may still store, or null when the browser does not say.
 * Incoming records: state "receiving" | "interrupted" (the sender went away mid-transfer) |
 * "no-space" (this browser's storage cannot hold it; `noSpace` = {need, free}) | "storing" |
 * "done" | "cancelled" | "dismissed".
 */
export class TransferEngine {
  constructor(io) {
    this.io = io;
    this.outgoing = []; // every outgoing record, oldest first (the UI lists them)
    this.current = null; // the one being sent; transfers go one at a time
    this.incoming = new Map(); // xfer → partial incoming transfer (kept across reconnects)
    this.completed = new Map(); // xfer → { from, size } of transfers received in full
    this.ignored = new Set(); // offers addressed to other members
    this.reportedUnknown = new Set();
    this.pumping = false;
    this.repump = false;
    this.gen = 0; // bumped on every (re)join: an await that spans one must not send
    this.paused = false; // tests: hold the chunks back
    this.timer = setInterval(() => this.watchdog(), 1000);
  }

  // ---- outgoing -------------------------------------------------------------------------

  /**
   * Queues `file` (a File or Blob) for every other member of the room; returns its record.
   * `extra` holds the page's own fields; `xfer` and `created` there resume a kept transfer.
   */
  send(file, name = file.name, mime = file.type, extra = {}) {
    const size = file.size;
    // A file kept across a reload goes again under its own id (extra.xfer), so a receiver
    // that stored part of it answers with what it has.
    if (extra.xfer !== undefined && (typeof extra.xfer !== "string" || !HEX32.test(extra.xfer) || this.outgoing.some((x) => x.xfer === extra.xfer))) {
      const { xfer, ...rest } = extra;
      extra = rest;
    }
    const t = {
      xfer: randomHex(16),
      file,
      name: cleanName(name),
      mime: cleanMime(mime) || "application/octet-stream",
      size,
      chunks: Math.ceil(size / CHUNK_SIZE),
      targets: new Map(), // peer id → { acked: chunks it holds, known: answered our last offer, done }
      sendNext: 0,
      ask: 0, // numbers our offers; the receiver's answer echoes it
      rewind: false, // after a reconnect: go on from what the receivers say they hold
      resumedFrom: [], // the chunk each reconnect went on from (tests look at it)
      state: "queued", // queued | sending | waiting | delivered | failed | cancelled
      error: "",
      created: Date.now(),
      started: 0,
      finished: 0,
      progressAt: 0,
      lastAckAt: 0,
      samples: [], // [time, bytes] for the speed
      speed: 0,
      waitingSince: 0,
      ...extra, // the page's own fields (its list item)
    };
    if (size > MAX_FILE_SIZE) {
      t.state = "failed";
      t.error = "file too large";
    }
    this.outgoing.push(t);
    this.changed(t);
    this.pump();
    return t;
  }

  /** A failed or cancelled transfer goes again as a new one (new id), from the start. */
  retry(t) {
    if (t.state !== "failed" && t.state !== "cancelled") return t;
    const again = this.send(t.file, t.name, t.mime, { ui: t.ui });
    t.replacedBy = again;
    this.outgoing.splice(this.outgoing.indexOf(t), 1);
    this.changed(t);
    return again;
  }

  cancel(t) {
    if (t.state === "delivered" || t.state === "failed" || t.state === "cancelled") return;
    if (t.started && this.io.ready()) this.text({ type: "file-cancel", xfer: t.xfer, from: this.io.selfId() });
    this.finish(t, "cancelled", "cancelled");
  }

  /**
   * The receivers the chunks are paced by: present and not done. A receiver whose seat is held
   * (away) is offered the file and gets what the daemon keeps for it, but never holds back the
   * others; when it comes back it is asked again what it holds (onPeerBack).
   */
  pacing(t) {
    const present = (id) => (this.io.present ? this.io.present(id) : true);
    return [...t.targets].filter(([id, x]) => !x.done && present(id)).map(([, x]) => x);
  }

  /** Acknowledged bytes of the receivers being sent to (what the speed is measured on). */
  pacedBytes(t) {
    const tg = this.pacing(t);
    if (tg.length === 0) return null;
    return Math.min(t.size, Math.min(...tg.map((x) => x.acked)) * CHUNK_SIZE);
  }

  /** Speed from the acknowledged bytes over the last SPEED_WINDOW_MS; never negative. */
  sampleSpeed(t) {
    const now = Date.now();
    const bytes = this.pacedBytes(t);
    if (bytes === null) return;
    const last = t.samples[t.samples.length - 1];
    if (!last || bytes < last[1] || now < last[0]) {
      this.resetSpeed(t, bytes); // a rewind (a receiver starting over, a new receiver): start again
      return;
    }
    t.samples.push([now, bytes]);
    while (t.samples.length > 2 && now - t.samples[1][0] >= SPEED_WINDOW_MS) t.samples.shift();
    const [t0, b0] = t.samples[0];
    if (now - t0 >= SPEED_MIN_SPAN_MS) t.speed = Math.max(0, ((bytes - b0) * 1000) / (now - t0));
  }

  resetSpeed(t, bytes = this.pacedBytes(t) ?? 0) {
    t.samples = [[Date.now(), bytes]];
    t.speed = 0;
  }

  /** Acknowledged bytes: the least any target has confirmed. */
  ackedBytes(t) {
    if (t.state === "delivered") return t.size;
    const tg = [...t.targets.values()];
    if (tg.length === 0) return t.lastAcked || 0;
    const n = Math.min(...tg.map((x) => x.acked));
    return Math.min(t.size, n * CHUNK_SIZE);
  }

  finish(t, state, error = "") {
    t.state = state;
    t.error = error;
    t.finished = Date.now();
    t.readAhead = null;
    if (this.current === t) this.current = null;
    this.changed(t);
    this.pump();
  }

  fail(t, why) {
    if (t.started && this.io.ready()) this.text({ type: "file-cancel", xfer: t.xfer, from: this.io.selfId() });
    this.finish(t, "failed", why);
  }

  offer(t, to) {
    t.ask++;
    // Each receiver's answer is matched against the offer it was sent last: a later offer to
    // another receiver does not make this one's answer stale.
    for (const id of to) {
      const x = t.targets.get(id);
      if (x) x.ask = t.ask;
    }
    this.text({
      type: "file-offer",
      v: 1,
      xfer: t.xfer,
      from: this.io.selfId(),
      to,
      ask: t.ask,
      chunk_size: CHUNK_SIZE,
      chunks: t.chunks,
      // Everything about the file itself stays in `meta`, so it can be sealed end to end later.
      meta: { name: t.name, mime: t.mime, size: t.size, modified: t.file.lastModified || 0 },
    });
  }

  adoptPeers(t) {
    const ids = this.io.peers();
    for (const id of ids) if (!t.targets.has(id)) t.targets.set(id, { acked: 0, known: false, done: false });
    const fresh = ids.filter((id) => !t.targets.get(id).known);
    if (fresh.length) this.offer(t, fresh);
    if (t.targets.size) t.waitingSince = 0;
  }

  startNext() {
    if (this.current || !this.io.ready() || this.io.peers().length === 0) return null;
    const t = this.outgoing.find((x) => x.state === "queued");
    if (!t) return null;
    this.current = t;
    t.state = "sending";
    t.started = t.progressAt = t.lastAckAt = Date.now();
    this.adoptPeers(t);
    this.resetSpeed(t, 0);
    this.changed(t);
    return t;
  }

  async pump() {
    if (this.pumping) {
      this.repump = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.repump = false;
        await this.pumpOnce();
      } while (this.repump);
    } finally {
      this.pumping = false;
    }
  }

  async pumpOnce() {
    const t = this.current || this.startNext();
    if (!t) return;
    for (;;) {
      if (this.current !== t || t.state !== "sending" || !this.io.ready() || this.paused) return;
      const tg = this.pacing(t);
      if (tg.length === 0) return; // every receiver left is away: the daemon keeps what we sent
      if (tg.some((x) => !x.known)) return; // wait for the offer's answer
      const base = Math.min(...tg.map((x) => x.acked));
      if (t.rewind) {
        // Chunks sent into a dying socket may be lost: go on from what every receiver holds.
        t.rewind = false;
        t.sendNext = base;
        t.resumedFrom.push(base);
      }
      if (t.sendNext < base) t.sendNext = base;
      if (t.sendNext >= t.chunks || t.sendNext >= base + WINDOW) return;
      const i = t.sendNext;
      const gen = this.gen;
      let data;
      try {
        data = await this.readChunk(t, i);
      } catch (e) {
        this.fail(t, "could not read the file");
        return;
      }
      if (gen !== this.gen || this.current !== t || t.state !== "sending" || t.sendNext !== i || !this.io.ready())
        continue;
      if (this.io.sendChunk) this.io.sendChunk(t.xfer, i, data, i === t.chunks - 1);
      else this.io.send(encodeChunk(t.xfer, i, data));
      t.firstChunk ??= i; // where this page started sending it (a kept file: not 0)
      t.sendNext = i + 1;
      this.io.onChunkSent?.(t, i);
    }
  }

  /**
   * Chunk i of t's file. Reading a File costs a round trip to the browser per read, so chunks
   * are read READ_AHEAD at a time and cut from that buffer (which is all this holds: a window's
   * worth at most).
   */
  async readChunk(t, i) {
    let ra = t.readAhead;
    if (!ra || i < ra.first || i >= ra.first + ra.count) {
      const count = Math.min(READ_AHEAD, t.chunks - i);
      const buf = await readBlob(t.file.slice(i * CHUNK_SIZE, Math.min(t.size, (i + count) * CHUNK_SIZE)));
      ra = t.readAhead = { first: i, count, buf };
    }
    const start = (i - ra.first) * CHUNK_SIZE;
    const view = new Uint8Array(ra.buf, start, Math.min(CHUNK_SIZE, ra.buf.byteLength - start));
    if (i === ra.first + ra.count - 1) t.readAhead = null; // the last one: let it go
    return view;
  }

  onAck(msg) {
    const t = this.outgoing.find((x) => x.xfer === msg.xfer);
    if (!t || (t.state !== "sending" && t.state !== "waiting")) return;
    const tg = t.targets.get(msg.from);
    if (!tg || !Number.isInteger(msg.next) || msg.next < 0 || msg.next > t.chunks) return;
    const now = Date.now();
    t.lastAckAt = now;
    if (msg.ask !== undefined && msg.ask === tg.ask && !tg.known) {
      // The answer to our latest offer is what the receiver holds now, even if that is less
      // than it said before (a reloaded page that has nothing): go on from there.
      tg.known = true;
      if (msg.next < tg.acked) {
        tg.acked = msg.next;
        t.rewind = true;
        t.lastAcked = this.ackedBytes(t);
        this.resetSpeed(t);
      }
      // A receiver (new, or back under a new id) holds less than was sent: go back for it.
      if (msg.next < t.sendNext) t.rewind = true;
    }
    if (msg.next > tg.acked) {
      tg.acked = msg.next;
      t.progressAt = now;
      t.lastAcked = this.ackedBytes(t);
      this.sampleSpeed(t);
    }
    this.changed(t);
    this.pump();
  }

  /**
   * Every receiver still being sent to has the file: delivered. Receivers that are away and
   * have not finished do not hold the transfer (and the queue behind it) for the seat's grace
   * period: they get file-cancel (kept for them by the daemon), so a partial file does not
   * linger on them, and the record says who missed it.
   */
  maybeDelivered(t) {
    const tg = [...t.targets];
    if (!tg.some(([, x]) => x.done) || this.pacing(t).length > 0) return false;
    t.missed = tg.filter(([, x]) => !x.done).map(([id]) => id);
    if (t.missed.length) this.text({ type: "file-cancel", xfer: t.xfer, from: this.io.selfId() });
    const elapsed = (Date.now() - t.started) / 1000;
    if (elapsed > 0) t.speed = t.size / elapsed;
    this.finish(t, "delivered");
    return true;
  }

  onDone(msg) {
    const t = this.outgoing.find((x) => x.xfer === msg.xfer);
    if (!t || (t.state !== "sending" && t.state !== "waiting")) return;
    const tg = t.targets.get(msg.from);
    if (!tg) return;
    tg.done = tg.known = true;
    tg.acked = t.chunks;
    t.lastAcked = this.ackedBytes(t);
    t.progressAt = Date.now();
    if (!this.maybeDelivered(t)) this.changed(t);
  }

  onUnknown(msg) {
    // The receiver lost its state (a reload): offer again to it and start over for it.
    const t = this.outgoing.find((x) => x.xfer === msg.xfer);
    if (!t || t.state !== "sending") return;
    const tg = t.targets.get(msg.from);
    if (!tg || tg.done) return;
    tg.acked = 0;
    tg.known = false;
    t.rewind = true;
    this.offer(t, [msg.from]);
    this.resetSpeed(t);
    this.changed(t);
  }

  /**
   * A receiver cannot hold the file (its browser's storage is too small): stop sending it there.
   * The others go on; with none left the transfer fails and says why.
   */
  onRefused(msg) {
    const t = this.outgoing.find((x) => x.xfer === msg.xfer);
    if (!t || (t.state !== "sending" && t.state !== "waiting")) return;
    if (!t.targets.delete(msg.from)) return;
    const need = Number.isSafeInteger(msg.need) && msg.need >= 0 ? msg.need : t.size;
    const free = Number.isSafeInteger(msg.free) && msg.free >= 0 ? msg.free : null;
    t.refused = [...(t.refused || []), { id: msg.from, need, free }];
    if (t.targets.size === 0) {
      const mb = (n) => `${Math.ceil(n / 1e6)} MB`;
      this.fail(t, `not enough space on the receiver (${mb(need)} needed${free === null ? "" : `, ${mb(free)} free`})`);
      return;
    }
    if (!this.maybeDelivered(t)) {
      this.resetSpeed(t);
      this.changed(t);
      this.pump();
    }
  }

  // ---- incoming -------------------------------------------------------------------------

  onOffer(msg) {
    const me = this.io.selfId();
    if (typeof msg.xfer !== "string" || !HEX32.test(msg.xfer)) return;
    if (!Array.isArray(msg.to) || !msg.to.includes(me)) {
      if (!this.incoming.has(msg.xfer)) this.ignored.add(msg.xfer);
      return;
    }
    const done = this.completed.get(msg.xfer);
    if (done) {
      done.from = msg.from;
      this.text({ type: "file-done", xfer: msg.xfer, from: me, to: msg.from, size: done.size });
      return;
    }
    const meta = msg.meta || {};
    const size = meta.size;
    const cs = msg.chunk_size;
    if (!Number.isSafeInteger(size) || size < 0 || size > MAX_FILE_SIZE) return;
    if (!Number.isInteger(cs) || cs < MIN_CHUNK_SIZE || cs > MAX_CHUNK_SIZE) return;
    if (msg.chunks !== Math.ceil(size / cs)) return;
    this.ignored.delete(msg.xfer);
    this.reportedUnknown.delete(msg.xfer);
    let r = this.incoming.get(msg.xfer);
    if (!r) {
      r = this.newIncoming({
        xfer: msg.xfer,
        from: msg.from,
        name: meta.name,
        mime: meta.mime,
        size,
        chunkSize: cs,
        chunks: msg.chunks,
        started: Date.now(),
        state: "receiving",
      });
      this.incoming.set(msg.xfer, r);
      this.keepPartial(r);
      this.checkSpace(r);
    }
    if (r.size !== size || r.chunkSize !== cs || r.chunks !== msg.chunks) return; // not the same file
    r.from = msg.from;
    if (r.state === "no-space") {
      this.text({ type: "file-refused", xfer: r.xfer, from: me, to: r.from, reason: "no-space", ...r.noSpace });
      return;
    }
    if (r.state === "interrupted") r.state = "receiving"; // the sender is back with it
    if (r.state !== "receiving") return; // being stored: file-done follows
    this.text({ type: "file-ack", xfer: r.xfer, from: me, to: r.from, next: r.next, ask: msg.ask });
    this.io.onIncoming?.(r);
    if (r.next === r.chunks) this.complete(r);
  }

  /**
   * A record for a file being received. Chunk states in `have`: 0 missing, 1 arrived and being
   * written (its bytes in `pending`), 2 stored (only in storage), 3 kept in memory (`mem`: this
   * browser could not store it). Only stored or kept chunks count towards `next`, the prefix the
   * receiver acknowledges, so the sender's window bounds what this page holds in memory
   * (WINDOW chunks), whatever the size of the file.
   */
  newIncoming(f) {
    return {
      ...f,
      name: cleanName(f.name),
      mime: cleanMime(f.mime),
      have: new Uint8Array(f.chunks),
      pending: new Map(), // index → bytes arrived and not yet written
      mem: new Map(), // index → bytes this browser could not store
      flushing: false,
      next: 0,
      bytes: 0,
      stored: 0,
      writing: Promise.resolve(), // the writes in flight, in order (dropStored waits for them)
      noSpace: null, // {need, free} once this browser has said it cannot hold the file
    };
  }

  onChunk(c) {
    const r = this.incoming.get(c.xfer);
    if (!r) {
      if (this.completed.has(c.xfer) || this.ignored.has(c.xfer) || this.reportedUnknown.has(c.xfer)) return;
      this.reportedUnknown.add(c.xfer);
      this.text({ type: "file-unknown", xfer: c.xfer, from: this.io.selfId() });
      return;
    }
    if (c.index >= r.chunks || (r.state !== "receiving" && r.state !== "interrupted")) return;
    if (r.state === "interrupted") r.state = "receiving";
    const want = c.index === r.chunks - 1 ? r.size - c.index * r.chunkSize : r.chunkSize;
    // A sealed chunk (sealing.js) comes padded to a multiple of PAD_BYTES: the padding goes.
    const room = c.padded ? Math.ceil(want / PAD_BYTES) * PAD_BYTES : want;
    if (c.data.byteLength < want || c.data.byteLength > room) return;
    if (c.data.byteLength !== want) c = { ...c, data: c.data.subarray(0, want) };
    if (r.have[c.index] !== 0) return; // a duplicate after a reconnect is dropped here
    // No honest sender runs more than a window ahead of what this receiver acknowledged; what
    // does is dropped (sent again once the window reaches it), so memory stays bounded.
    if (c.index >= r.next + WINDOW) {
      r.beyondWindow = (r.beyondWindow || 0) + 1;
      return;
    }
    r.have[c.index] = 1;
    r.bytes += want;
    r.pending.set(c.index, c.data);
    this.maybeFlush(r);
  }

  /**
   * Storage costs per transaction more than per byte, so chunks are written BATCH at a time,
   * or sooner when the file is complete or nothing more came for BATCH_WAIT_MS.
   */
  maybeFlush(r) {
    if (r.flushing || r.pending.size === 0) return;
    const all = r.bytes === r.size; // every chunk has arrived: nothing to wait for
    if (r.pending.size >= BATCH || all) {
      clearTimeout(r.batchTimer);
      r.batchTimer = 0;
      this.flush(r);
    } else if (!r.batchTimer) {
      r.batchTimer = setTimeout(() => {
        r.batchTimer = 0;
        if (!r.flushing) this.flush(r);
      }, BATCH_WAIT_MS);
    }
  }

  /**
   * Writes the chunks that arrived (all of them, one transaction), then acknowledges the new
   * prefix. Without storage (`keepChunks` missing or failing) they are kept in memory instead;
   * a full storage stops the file (noSpace) rather than fill the memory.
   */
  async flush(r) {
    if (r.flushing || r.pending.size === 0) return;
    r.flushing = true;
    const batch = [...r.pending];
    r.pending = new Map();
    let kept = false;
    let full = false;
    const write = (async () => {
      if (!this.io.keepChunks) return;
      try {
        await this.io.keepChunks(r, batch);
        kept = true;
      } catch (e) {
        full = e?.name === "QuotaExceededError";
      }
    })();
    r.writing = r.writing.then(() => write);
    await write;
    r.flushing = false;
    if (this.incoming.get(r.xfer) !== r || (r.state !== "receiving" && r.state !== "interrupted")) return;
    if (full || (!kept && (r.memBytes || 0) + batch.reduce((n, [, d]) => n + d.byteLength, 0) > MAX_MEMORY_KEPT)) {
      // Storage is full, or fails and the file would not fit in the memory we allow instead.
      this.refuse(r, { need: r.size, free: null });
      return;
    }
    for (const [i, data] of batch) {
      if (kept) {
        r.have[i] = 2;
        r.stored++;
      } else {
        r.have[i] = 3;
        r.mem.set(i, data);
        r.memBytes = (r.memBytes || 0) + data.byteLength;
      }
    }
    const before = r.next;
    while (r.next < r.chunks && r.have[r.next] >= 2) r.next++;
    if (r.next !== before) this.text({ type: "file-ack", xfer: r.xfer, from: this.io.selfId(), to: r.from, next: r.next });
    this.io.onIncoming?.(r);
    if (r.next === r.chunks) this.complete(r);
    else this.maybeFlush(r); // what arrived meanwhile
  }

  /**
   * This browser cannot hold the file (its storage would overflow): the receiver drops what it
   * has and tells the sender, who stops sending it here; the row says why until dismissed.
   */
  refuse(r, { need, free }) {
    r.noSpace = { need, free };
    r.state = "no-space";
    r.pending = new Map();
    r.mem = new Map();
    this.dropStored(r);
    this.reportedUnknown.add(r.xfer); // late chunks: ignored, not "unknown"
    this.text({ type: "file-refused", xfer: r.xfer, from: this.io.selfId(), to: r.from, reason: "no-space", need, free });
    this.io.onIncoming?.(r);
  }

  /** Checks, where the browser says, that the file fits in the storage it grants this page. */
  async checkSpace(r) {
    if (!this.io.storageFree) return;
    let free = null;
    try {
      free = await this.io.storageFree();
    } catch {}
    if (free === null || free === undefined || this.incoming.get(r.xfer) !== r) return;
    const need = r.size - r.stored * r.chunkSize;
    if (need > free && (r.state === "receiving" || r.state === "interrupted")) this.refuse(r, { need, free });
  }

  /**
   * Every chunk is stored (or kept): hand the page the file. Stored chunks stay where they are
   * and the page keeps the file as those chunks (`chunked`), so a big file is neither read into
   * memory nor copied; only then is file-done sent.
   */
  async complete(r) {
    r.state = "storing";
    this.io.onIncoming?.(r);
    let disk = new Map();
    if (r.stored > 0) {
      try {
        disk = await r.writing.then(() => this.io.readParts(r));
      } catch {}
    }
    const parts = new Array(r.chunks);
    for (let i = 0; i < r.chunks; i++) parts[i] = r.have[i] === 3 ? r.mem.get(i) : disk.get(i);
    disk = null;
    if (parts.some((p) => p === undefined)) {
      // Storage lost some: start this file over rather than deliver a broken one.
      this.forgetPartial(r);
      this.reportedUnknown.add(r.xfer);
      this.text({ type: "file-unknown", xfer: r.xfer, from: this.io.selfId() });
      this.io.onIncoming?.(r);
      return;
    }
    const blob = new Blob(parts, { type: r.mime || "application/octet-stream" });
    const chunked = r.mem.size === 0 && r.stored === r.chunks && r.chunks > 0;
    r.mem = new Map();
    if (blob.size !== r.size) {
      this.forgetPartial(r);
      this.io.onIncoming?.(r);
      return;
    }
    try {
      await this.io.onReceived?.({ blob, chunked, name: r.name, mime: r.mime, size: r.size, from: r.from, xfer: r.xfer, time: new Date() });
    } catch {} // the page shows it even when it could not keep it (no storage): see TRANSFER.md
    this.incoming.delete(r.xfer);
    if (!chunked) this.dropStored(r); // kept as one blob (or not at all): the chunks can go
    this.completed.set(r.xfer, { from: r.from, size: r.size });
    r.state = "done";
    this.text({ type: "file-done", xfer: r.xfer, from: this.io.selfId(), to: r.from, size: r.size });
    this.io.onIncoming?.(r);
  }

  keepPartial(r) {
    const { xfer, from, name, mime, size, chunkSize, chunks, started } = r;
    this.io.keepPartial?.({ xfer, from, name, mime, size, chunkSize, chunks, started })?.catch?.(() => {});
  }

  /** Drops what storage holds of a partial file, once its pending writes are done. */
  dropStored(r) {
    if (!this.io.dropPartial) return;
    r.writing = r.writing.then(() => this.io.dropPartial(r.xfer)).catch(() => {});
  }

  forgetPartial(r) {
    this.incoming.delete(r.xfer);
    r.pending = new Map();
    r.mem = new Map();
    r.state = "cancelled";
    this.dropStored(r);
  }

  /**
   * A partial file an earlier page stored (`indexes`: the chunks it holds). It shows as
   * interrupted until its sender offers it again; the answer is what is stored.
   */
  restore(meta, indexes) {
    if (this.incoming.has(meta.xfer) || this.completed.has(meta.xfer)) return;
    if (!Number.isSafeInteger(meta.size) || !Number.isInteger(meta.chunks) || !Number.isInteger(meta.chunkSize)) return;
    if (meta.chunks < 0 || meta.chunks > MAX_FILE_SIZE / meta.chunkSize + 1) return;
    const r = this.newIncoming({ ...meta, started: meta.started || Date.now(), state: "interrupted" });
    for (const i of indexes) {
      if (!Number.isInteger(i) || i < 0 || i >= r.chunks || r.have[i] !== 0) continue;
      r.have[i] = 2;
      r.stored++;
      r.bytes += i === r.chunks - 1 ? r.size - i * r.chunkSize : r.chunkSize;
    }
    while (r.next < r.chunks && r.have[r.next] >= 2) r.next++;
    this.incoming.set(r.xfer, r);
    this.io.onIncoming?.(r);
  }

  /** A file received before (this page or an earlier one, from storage): offers get file-done. */
  remember(xfer, size) {
    if (typeof xfer === "string" && HEX32.test(xfer)) this.completed.set(xfer, { from: null, size });
  }

  /** The sender of these partial files went away (its seat held, or gone): say so. */
  senderGone(id) {
    for (const r of this.incoming.values()) {
      if (r.from !== id || r.state !== "receiving") continue;
      r.state = "interrupted";
      this.io.onIncoming?.(r);
    }
  }

  /** The user dropped a partial file. If its sender offers it again, it starts from chunk 0. */
  dismiss(xfer) {
    const r = this.incoming.get(xfer);
    if (!r || (r.state !== "interrupted" && r.state !== "receiving" && r.state !== "no-space")) return;
    this.forgetPartial(r);
    r.state = "dismissed";
    this.io.onIncoming?.(r);
  }

  onCancel(msg) {
    const r = this.incoming.get(msg.xfer);
    // A refused file keeps its row (it says why) until dismissed; its data is already gone.
    if (!r || r.state === "storing" || r.state === "no-space") return;
    this.forgetPartial(r);
    this.io.onIncoming?.(r);
  }

  // ---- wiring ---------------------------------------------------------------------------

  /** Handles a relayed text message; true when it was a transfer message. */
  handleText(msg) {
    switch (msg.type) {
      case "file-offer": this.onOffer(msg); return true;
      case "file-ack": if (msg.to === this.io.selfId()) this.onAck(msg); return true;
      case "file-done": if (msg.to === this.io.selfId()) this.onDone(msg); return true;
      case "file-unknown": this.onUnknown(msg); return true;
      case "file-cancel": this.onCancel(msg); return true;
      case "file-refused": if (msg.to === this.io.selfId()) this.onRefused(msg); return true;
    }
    return false;
  }

  /** Handles a relayed binary frame; true when it was a chunk. */
  handleBinary(buffer) {
    const c = decodeChunk(buffer);
    if (!c) return false;
    this.onChunk(c);
    return true;
  }

  /**
   * After every (re)join. Chunks sent just before the socket died may be lost, and a resumed
   * seat also gets the acknowledgements it missed replayed, so ask: offer the current transfer
   * again; each receiver answers with the chunks it holds (after any replayed frames), and the
   * sending goes on from there. With a new id (the seat was gone) the same offer re-introduces us.
   */
  onJoined(resumed) {
    this.gen++;
    const peers = new Set(this.io.peers());
    const t = this.current;
    if (t) {
      for (const id of [...t.targets.keys()]) if (!peers.has(id)) t.targets.delete(id);
      const again = [];
      for (const [id, x] of t.targets) {
        if (x.done) continue;
        x.known = false;
        again.push(id);
      }
      t.rewind = true;
      if (again.length) this.offer(t, again);
      if (t.targets.size === 0) this.adoptPeers(t);
      if (t.targets.size === 0) this.toWaiting(t);
      else if (t.state === "waiting") t.state = "sending";
      t.lastAckAt = t.progressAt = Date.now();
      t.resumed = resumed;
      this.resetSpeed(t);
      this.changed(t);
    }
    this.pump();
  }

  onPeerJoined(id) {
    const t = this.current;
    if (t && t.targets.size === 0) {
      t.state = "sending";
      this.adoptPeers(t);
      this.changed(t);
    }
    this.pump();
  }

  /** A receiver's seat is held: the others go on without it (pacing); a sender's: interrupted. */
  onPeerAway(id) {
    this.senderGone(id);
    const t = this.current;
    if (t && t.targets.has(id)) {
      if (!this.maybeDelivered(t)) this.changed(t);
      this.pump();
    }
  }

  /**
   * A receiver took its seat back: what it holds now is what the daemon kept for it, and the
   * others may be far ahead. Ask it again; the sending goes on from what every receiver holds.
   */
  onPeerBack(id) {
    const t = this.current;
    const x = t && t.targets.get(id);
    if (x && !x.done && t.state === "sending") {
      x.known = false;
      t.rewind = true;
      this.offer(t, [id]);
      this.resetSpeed(t);
      this.changed(t);
    }
    this.pump();
  }

  onPeerLeft(id) {
    this.senderGone(id);
    const t = this.current;
    if (t && t.targets.delete(id)) {
      if (t.targets.size === 0) this.toWaiting(t);
      else if (!this.maybeDelivered(t)) this.resetSpeed(t);
      this.changed(t);
      this.pump();
    }
  }

  toWaiting(t) {
    t.state = "waiting";
    t.waitingSince = Date.now();
  }

  watchdog() {
    const t = this.current;
    if (!t) return;
    const now = Date.now();
    // A transfer with no receiver ("waiting") waits for as long as the page is open: the other
    // device may be closed and opened again much later (same room); the user can cancel it.
    if (t.state !== "sending" || !this.io.ready()) return;
    if (this.io.present && ![...t.targets.keys()].some((id) => this.io.present(id))) {
      // Every receiver is away (its seat held): not a stall; the daemon replays on its return.
      t.progressAt = t.lastAckAt = now;
      return;
    }
    if (now - t.progressAt > GIVE_UP_MS) {
      this.fail(t, "no progress for two minutes");
      return;
    }
    if (now - t.lastAckAt > STALL_MS) {
      t.lastAckAt = now;
      this.io.onStall?.();
    }
  }

  text(obj) {
    if (!this.io.ready()) return;
    if (this.io.sendText) this.io.sendText(obj);
    else this.io.send(JSON.stringify(obj));
  }

  changed(t) {
    this.io.onOutgoing?.(t);
  }
}
