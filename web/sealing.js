// The sealing layer of private rooms: every frame the page relays goes out sealed under the
// room key and comes in opened, between the transfer engine (transfer.js) and the connection
// (connection.js). The format is docs/TRANSFER.md, *Sealed frames*; the keys are docs/PRIVACY.md.
//
//   binary "RC" 0x01 0x02 | 16-byte xfer | uint32 BE index | uint32 BE epoch | AES-GCM(chunk ‖ zero
//          padding to a multiple of 4 KiB) ‖ tag, under K_xfer = HKDF(K_room(epoch), xfer), nonce
//          = the index, the 28-byte header as associated data
//   text   the private fields of a message (an offer's `meta`, a device's name, a receipt's
//          size) taken out and sealed as one text message, `{"epoch", "sealed": {id, ct}}`,
//          with the sender's member id inside, checked against the clear `from` on opening
//
// Both directions are one ordered queue each: a frame is sent (or handed on) only after every
// frame before it, whatever each one's sealing costs. What cannot be opened is refused and
// counted, never handed on: a frame in the clear (kind 1 chunks, a plain offer, the tutorial's
// `image`, the first client's frames), a wrong tag, a sender id that does not match. A frame
// sealed under an epoch this page has no key for yet is parked (bounded) until the key comes.
// Nothing here touches the DOM, the network or storage: the page passes what it needs (`io`).

import { HEADER_BYTES, PAD_BYTES, decodeChunk, decodeLegacy } from "./transfer.js";

export const SEALED_KIND = 2;
export const SEALED_HEADER_BYTES = HEADER_BYTES + 4;
const PARK_FRAMES = 64; // frames parked while their epoch's key is on its way…
const PARK_BYTES = 8 * 1024 * 1024; // …and their bytes, at most
const XFER_KEYS = 64; // transfer keys cached (one HKDF per transfer and epoch, not per chunk)

/** The fields of each relayed message type that only the room may read; the rest is routing. */
export const PRIVATE = Object.freeze({
  "file-offer": ["meta"],
  "file-done": ["size"],
  "file-refused": ["need", "free"],
  device: ["device", "name"],
});

const hexBytes = (hex) => Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.substr(i * 2, 2), 16));

/** The 28-byte clear header of a sealed chunk (also its associated data). */
export function sealedHeader(xfer, index, epoch) {
  const h = new Uint8Array(SEALED_HEADER_BYTES);
  h.set([0x52, 0x43, 1, SEALED_KIND]);
  h.set(hexBytes(xfer), 4);
  const v = new DataView(h.buffer);
  v.setUint32(20, index);
  v.setUint32(24, epoch);
  return h;
}

/** A sealed chunk frame's parts (views, no copy), or null when the frame is not one. */
export function readSealed(buffer) {
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < SEALED_HEADER_BYTES) return null;
  const h = new Uint8Array(buffer, 0, SEALED_HEADER_BYTES);
  if (h[0] !== 0x52 || h[1] !== 0x43 || h[2] !== 1 || h[3] !== SEALED_KIND) return null;
  let xfer = "";
  for (let i = 4; i < 20; i++) xfer += h[i].toString(16).padStart(2, "0");
  const v = new DataView(buffer);
  return { xfer, index: v.getUint32(20), epoch: v.getUint32(24), header: h, body: new Uint8Array(buffer, SEALED_HEADER_BYTES) };
}

/** `data` zero-padded to a multiple of PAD_BYTES (a copy; `data` itself when it already is one). */
export function pad(data) {
  const len = Math.ceil(data.byteLength / PAD_BYTES) * PAD_BYTES;
  if (len === data.byteLength) return data;
  const out = new Uint8Array(len);
  out.set(data);
  return out;
}

/**
 * io: crypto() → {e2e, box} (null until loaded); key(epoch) → {epoch, key} of that epoch, or
 * the current one when epoch is undefined (null when this page has none); gen() → a number
 * that changes with every (re)join; transmit(frame, gen) → false when the frame could not go
 * (the socket is not the one it was sealed for); deliverText(msg); deliverChunk(c);
 * missingKey(epoch) (a frame waits for that epoch's key); warn(what, detail).
 */
export class Sealer {
  constructor(io) {
    this.io = io;
    this.out = Promise.resolve();
    this.in = Promise.resolve();
    this.parked = []; // [{frame, bytes}] in arrival order
    this.parkedBytes = 0;
    this.xferKeys = new Map(); // `${epoch}.${xfer}` → {roomKey, key}
    this.stats = { sealed: 0, opened: 0, plain: 0, bad: 0, stale: 0, parked: 0, overflow: 0, unsent: 0 };
  }

  /** A current room key is here: frames can be sealed. */
  canSend() {
    return !!this.io.crypto() && !!this.io.key();
  }

  count(what, detail) {
    this.stats[what]++;
    this.io.warn?.(what, detail);
  }

  xferKey(k, xfer) {
    const id = `${k.epoch}.${xfer}`;
    const hit = this.xferKeys.get(id);
    if (hit && hit.roomKey === k.key) return hit.key;
    const key = this.io.crypto().e2e.transferKey(k.key, hexBytes(xfer));
    this.xferKeys.delete(id);
    this.xferKeys.set(id, { roomKey: k.key, key });
    if (this.xferKeys.size > XFER_KEYS) this.xferKeys.delete(this.xferKeys.keys().next().value);
    return key;
  }

  // ---- out ------------------------------------------------------------------------------

  enqueueOut(make) {
    const gen = this.io.gen();
    this.out = this.out
      .then(async () => {
        const frame = await make();
        if (frame === null) return;
        if (this.io.transmit(frame, gen)) this.stats.sealed++;
        else this.count("unsent", "the connection changed before it could go"); // the engine resends what matters
      })
      .catch((e) => this.count("unsent", e?.message || String(e)));
  }

  /** [crypto, the current room key], or [] after counting the frame unsent (no key: it cannot go). */
  sealingKey() {
    const c = this.io.crypto();
    const k = c && this.io.key();
    if (k) return [c, k];
    this.count("unsent", "no room key");
    return [];
  }

  /** A relayed text message (an object): its private fields sealed, then sent in order. */
  sendText(obj) {
    this.enqueueOut(async () => {
      const [c, k] = this.sealingKey();
      if (!k) return null;
      const fields = PRIVATE[obj.type];
      if (!fields) return JSON.stringify(obj);
      const rest = { ...obj };
      const hidden = { from: obj.from };
      for (const f of fields) {
        if (f in rest) hidden[f] = rest[f];
        delete rest[f];
      }
      return JSON.stringify({ ...rest, epoch: k.epoch, sealed: await c.e2e.sealText(c.box, k.key, hidden) });
    });
  }

  /** Chunk `index` of transfer `xfer` (a Uint8Array; `last` pads it), sealed, then sent in order. */
  sendChunk(xfer, index, data, last) {
    this.enqueueOut(async () => {
      const [c, k] = this.sealingKey();
      if (!k) return null;
      const header = sealedHeader(xfer, index, k.epoch);
      const sealed = await c.e2e.sealChunk(c.box, this.xferKey(k, xfer), index, header, last ? pad(data) : data);
      const frame = new Uint8Array(SEALED_HEADER_BYTES + sealed.byteLength);
      frame.set(header);
      frame.set(sealed, SEALED_HEADER_BYTES);
      return frame;
    });
  }

  // ---- in -------------------------------------------------------------------------------

  /** A relayed text message (parsed) from the connection. */
  text(msg) {
    this.in = this.in.then(() => this.openText(msg)).catch((e) => this.count("bad", e?.message || String(e)));
  }

  /** A relayed binary frame from the connection. */
  binary(buffer) {
    this.in = this.in.then(() => this.openBinary(buffer)).catch((e) => this.count("bad", e?.message || String(e)));
  }

  /** A key arrived: the frames parked for it go through again, in the order they came. */
  keyArrived() {
    const parked = this.parked;
    this.parked = [];
    this.parkedBytes = 0;
    for (const { frame } of parked) {
      if (frame instanceof ArrayBuffer) this.binary(frame);
      else this.text(frame);
    }
  }

  /** A new room, or this page's keys gone: what was parked or cached belongs to the old one. */
  reset() {
    this.parked = [];
    this.parkedBytes = 0;
    this.xferKeys.clear();
  }

  /** The key of `epoch`, or null after parking the frame (a key on its way) or refusing it (an old epoch). */
  keyFor(epoch, frame, bytes) {
    const k = this.io.key(epoch);
    if (k) return k;
    const current = this.io.key();
    if (current && epoch < current.epoch) {
      this.count("stale", `epoch ${epoch}, now ${current.epoch}`);
      return null;
    }
    if (this.parked.length >= PARK_FRAMES || this.parkedBytes + bytes > PARK_BYTES) {
      this.count("overflow", `epoch ${epoch}`);
    } else {
      this.parked.push({ frame, bytes });
      this.parkedBytes += bytes;
      this.stats.parked++;
    }
    this.io.missingKey?.(epoch);
    return null;
  }

  async openText(msg) {
    const fields = PRIVATE[msg.type];
    if (!fields) {
      if (msg.type === "image") this.count("plain", "image"); // the tutorial's, in the clear
      else this.io.deliverText(msg); // routing: acks, cancels, the server's own messages
      return;
    }
    if (!Number.isInteger(msg.epoch) || msg.epoch < 0 || typeof msg.sealed !== "object" || msg.sealed === null) {
      this.count("plain", msg.type);
      return;
    }
    const c = this.io.crypto();
    const k = c && this.keyFor(msg.epoch, msg, 1024);
    if (!k) return;
    const v = await c.e2e.openText(c.box, k.key, msg.sealed);
    if (!v || typeof v !== "object" || Array.isArray(v) || v.from !== msg.from) {
      this.count("bad", msg.type);
      return;
    }
    const open = { ...msg };
    delete open.sealed;
    delete open.epoch;
    for (const f of fields) if (f in v) open[f] = v[f];
    this.stats.opened++;
    this.io.deliverText(open);
  }

  async openBinary(buffer) {
    const s = readSealed(buffer);
    if (!s) {
      this.count("plain", decodeChunk(buffer) ? "chunk" : decodeLegacy(buffer) ? "legacy file" : "binary");
      return;
    }
    const c = this.io.crypto();
    const k = c && this.keyFor(s.epoch, buffer, buffer.byteLength);
    if (!k) return;
    const data = await c.e2e.openChunk(c.box, this.xferKey(k, s.xfer), s.index, s.header, s.body);
    if (!data) {
      this.count("bad", "chunk");
      return;
    }
    this.stats.opened++;
    this.io.deliverChunk({ xfer: s.xfer, index: s.index, data, padded: true });
  }
}
