// The sealing layer (web/sealing.js) between two pages, in node, with the real crypto (WebCrypto
// and the pinned noble fallback): what goes on the wire, what comes out, and what is refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as e2e from "../../web/e2e.js";
import { Sealer, SEALED_HEADER_BYTES, PRIVATE, readSealed, pad } from "../../web/sealing.js";
import { encodeChunk, PAD_BYTES } from "../../web/transfer.js";

const boxes = [
  ["WebCrypto", e2e.aead(globalThis.crypto.subtle)],
  ["noble", e2e.aead(null)],
];

/** A page: its sealer, the room keys it holds (epoch → key), what it sent and what it was handed. */
function page(box, keys, { id = 1 } = {}) {
  const p = { keys, current: null, gen: 0, wire: [], texts: [], chunks: [], missing: [], warnings: [] };
  p.sealer = new Sealer({
    crypto: () => ({ e2e, box }),
    key: (epoch) => {
      const e = epoch ?? p.current;
      return p.keys.has(e) ? { epoch: e, key: p.keys.get(e) } : null;
    },
    gen: () => p.gen,
    transmit: (frame, gen) => (gen === p.gen ? (p.wire.push(frame), true) : false),
    deliverText: (m) => p.texts.push(m),
    deliverChunk: (c) => p.chunks.push(c),
    missingKey: (epoch) => p.missing.push(epoch),
    warn: (what) => p.warnings.push(what),
  });
  p.id = id;
  p.settle = async () => {
    for (let i = 0; i < 3; i++) {
      await p.sealer.out;
      await p.sealer.in;
    }
  };
  return p;
}

/** What b receives of what a put on the wire (as the relay would hand it: text parsed, binary as an ArrayBuffer). */
async function relay(a, b) {
  await a.settle();
  for (const f of a.wire.splice(0)) {
    if (typeof f === "string") b.sealer.text(JSON.parse(f));
    else b.sealer.binary(f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength));
  }
  await b.settle();
}

const xfer = "00112233445566778899aabbccddeeff";

for (const [name, box] of boxes) {
  test(`${name}: chunks and private fields go sealed, come out whole, in order`, async () => {
    const K = e2e.randomBytes(32);
    const a = page(box, new Map([[7, K]]));
    const b = page(box, new Map([[7, K]]));
    a.current = b.current = 7;
    const photo = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 2654435761) >>> 24);
    a.sealer.sendText({ type: "file-offer", v: 1, xfer, from: 1, to: [2], chunk_size: 65536, chunks: 2, meta: { name: "IMG_2041.HEIC", mime: "image/heic", size: 70_000 } });
    a.sealer.sendChunk(xfer, 0, photo.subarray(0, 65536), false);
    a.sealer.sendChunk(xfer, 1, photo.subarray(65536), true);
    a.sealer.sendText({ type: "device", from: 1, device: "ab".repeat(16), name: "Anna's Pixel" });
    a.sealer.sendText({ type: "file-ack", xfer, from: 1, next: 2 });
    await a.settle();

    const [offer, c0, c1, device, ack] = a.wire;
    const clear = JSON.stringify(a.wire.filter((f) => typeof f === "string"));
    assert.doesNotMatch(clear, /IMG_2041|heic|70000|Anna|abababab/, "no name, type, size or device in the clear");
    assert.equal(JSON.parse(offer).epoch, 7);
    assert.deepEqual(Object.keys(JSON.parse(offer)).sort(), ["chunk_size", "chunks", "epoch", "from", "sealed", "to", "type", "v", "xfer"]);
    assert.equal(JSON.parse(ack).sealed, undefined, "routing messages stay as they are");
    assert.equal(c0.byteLength, SEALED_HEADER_BYTES + 65536 + e2e.TAG_BYTES);
    assert.equal(c1.byteLength, SEALED_HEADER_BYTES + 2 * PAD_BYTES + e2e.TAG_BYTES, "the last chunk (4464 bytes) padded to 8 KiB");
    const h = readSealed(c1.buffer.slice(c1.byteOffset));
    assert.deepEqual([h.xfer, h.index, h.epoch], [xfer, 1, 7]);
    assert.equal(Buffer.from(c0).indexOf(Buffer.from(photo.subarray(0, 64))), -1, "no photo bytes");
    assert.ok(typeof device === "string");

    await relay(a, b);
    assert.deepEqual(b.texts.map((m) => m.type), ["file-offer", "device", "file-ack"], "in the order sent");
    assert.deepEqual(b.texts[0].meta, { name: "IMG_2041.HEIC", mime: "image/heic", size: 70_000 });
    assert.equal(b.texts[0].epoch, undefined);
    assert.equal(b.texts[1].name, "Anna's Pixel");
    assert.equal(b.chunks.length, 2);
    assert.deepEqual(b.chunks[0].data, photo.subarray(0, 65536));
    assert.equal(b.chunks[1].padded, true);
    assert.deepEqual(b.chunks[1].data.subarray(0, 70_000 - 65536), photo.subarray(65536));
    assert.equal(b.chunks[1].data.byteLength, 2 * PAD_BYTES);
    assert.deepEqual(b.sealer.stats, { sealed: 0, opened: 4, plain: 0, bad: 0, stale: 0, parked: 0, overflow: 0, unsent: 0 });
    assert.equal(a.sealer.stats.sealed, 5);
  });

  test(`${name}: what is not sealed by a holder of the key is refused and counted, never handed on`, async () => {
    const K = e2e.randomBytes(32);
    const a = page(box, new Map([[7, K]]));
    const b = page(box, new Map([[7, K]]));
    const stranger = page(box, new Map([[7, e2e.randomBytes(32)]]));
    a.current = b.current = stranger.current = 7;

    // In the clear: the tutorial's image, a plain offer, a plain device, a kind-1 chunk, the first client's frame.
    b.sealer.text({ type: "image", data: "data:image/png;base64,AAAA" });
    b.sealer.text({ type: "file-offer", xfer, from: 5, meta: { name: "x" } });
    b.sealer.text({ type: "device", from: 5, device: "ab".repeat(16), name: "Mallory" });
    b.sealer.text({ type: "file-offer", xfer, from: 5, epoch: 7, sealed: "nope" });
    b.sealer.binary(encodeChunk(xfer, 0, new Uint8Array(100)).buffer);
    b.sealer.binary(new Uint8Array([1, 2, 3]).buffer);
    await b.settle();
    assert.equal(b.sealer.stats.plain, 6);

    // Sealed under another key (a stranger with the link, a removed device after rotation).
    stranger.sealer.sendText({ type: "device", from: 5, device: "ab".repeat(16), name: "Mallory" });
    stranger.sealer.sendChunk(xfer, 0, new Uint8Array(100), true);
    await relay(stranger, b);
    assert.equal(b.sealer.stats.bad, 2);

    // A sealed frame moved: to another index, another transfer, another epoch label; a sender id changed.
    a.sealer.sendChunk(xfer, 3, new Uint8Array(4096), false);
    a.sealer.sendText({ type: "device", from: 1, device: "ab".repeat(16), name: "Anna" });
    await a.settle();
    const [chunk, device] = a.wire.splice(0);
    for (const at of [20 + 3, 4, 27]) {
      const moved = Uint8Array.from(chunk);
      moved[at] ^= 1;
      b.sealer.binary(moved.buffer);
    }
    const flipped = Uint8Array.from(chunk);
    flipped[flipped.length - 1] ^= 1;
    b.sealer.binary(flipped.buffer);
    b.sealer.text({ ...JSON.parse(device), from: 9 }); // another member replaying Anna's name as its own
    await b.settle();
    assert.equal(b.sealer.stats.bad, 2 + 3 + 1, "moved, altered, or claimed by another member");
    assert.equal(b.sealer.stats.stale, 1, "relabelled with an older epoch: no key for it, refused");
    assert.equal(b.texts.length + b.chunks.length, 0, "nothing handed on");
    assert.ok(b.warnings.length >= 13, "each one is told (the page rate-limits the log)");

    // Routing and the server's own messages pass as they are.
    b.sealer.text({ type: "peer-joined", id: 4 });
    await b.settle();
    assert.deepEqual(b.texts, [{ type: "peer-joined", id: 4 }]);
  });

  test(`${name}: a frame under a key on its way is parked and opened once it comes; an old epoch is stale; the park is bounded`, async () => {
    const K1 = e2e.randomBytes(32);
    const K2 = e2e.randomBytes(32);
    const desk = page(box, new Map([[1, K1], [2, K2]]));
    const phone = page(box, new Map([[1, K1]]));
    desk.current = 2;
    phone.current = 1;
    desk.sealer.sendText({ type: "device", from: 1, device: "ab".repeat(16), name: "Desk" });
    desk.sealer.sendChunk(xfer, 0, new Uint8Array(5000), true);
    await relay(desk, phone);
    assert.deepEqual(phone.missing, [2, 2]);
    assert.equal(phone.sealer.stats.parked, 2);
    assert.equal(phone.texts.length + phone.chunks.length, 0);
    phone.keys.set(2, K2);
    phone.current = 2;
    phone.sealer.keyArrived();
    await phone.settle();
    assert.deepEqual(phone.texts.map((m) => m.name), ["Desk"]);
    assert.equal(phone.chunks.length, 1, "the parked frames, in their order");

    // Epoch 1 dropped (its overlap over): a frame still sealed under it is stale.
    desk.current = 1;
    desk.sealer.sendText({ type: "device", from: 1, device: "ab".repeat(16), name: "Old" });
    phone.keys.delete(1);
    await relay(desk, phone);
    assert.equal(phone.sealer.stats.stale, 1);

    // A flood under an epoch nobody gives out: 64 frames parked at most, the rest counted.
    desk.keys.set(99, e2e.randomBytes(32));
    desk.current = 99;
    for (let i = 0; i < 80; i++) desk.sealer.sendText({ type: "file-done", xfer, from: 1, size: i });
    await relay(desk, phone);
    assert.equal(phone.sealer.parked.length, 64);
    assert.equal(phone.sealer.stats.overflow, 16);
    phone.sealer.reset();
    assert.equal(phone.sealer.parked.length, 0);
  });

  test(`${name}: a frame sealed for one connection is not sent on the next; nothing without a key`, async () => {
    const K = e2e.randomBytes(32);
    const a = page(box, new Map([[1, K]]));
    a.current = 1;
    a.sealer.sendChunk(xfer, 0, new Uint8Array(1 << 20), false);
    a.gen++; // rejoined while it was being sealed
    await a.settle();
    assert.equal(a.wire.length, 0);
    assert.equal(a.sealer.stats.unsent, 1);
    a.current = null;
    assert.equal(a.sealer.canSend(), false);
    a.sealer.sendText({ type: "device", from: 1, device: "ab".repeat(16), name: "x" });
    await a.settle();
    assert.equal(a.wire.length, 0);
    assert.equal(a.sealer.stats.unsent, 2);
  });
}

test("padding: to a multiple of 4 KiB, unchanged when it is one; every private field listed", () => {
  assert.equal(pad(new Uint8Array(1)).byteLength, PAD_BYTES);
  assert.equal(pad(new Uint8Array(PAD_BYTES + 1)).byteLength, 2 * PAD_BYTES);
  const exact = new Uint8Array(PAD_BYTES);
  assert.equal(pad(exact), exact);
  assert.deepEqual(Object.keys(PRIVATE).sort(), ["device", "file-done", "file-offer", "file-refused"]);
});
