// The key schedule and sealed-message format of web/e2e.js: each primitive against its
// published vectors (RFC 7748, RFC 5869, RFC 4231, the GCM specification), then every derived
// key recomputed independently with node:crypto (OpenSSL) from the text of docs/PRIVACY.md,
// then fixed vectors of our own format, then what must fail (altered, moved, wrong key).
// Both AES-GCM paths (WebCrypto and the JavaScript one for plain-HTTP pages) are checked.
import { test } from "node:test";
import assert from "node:assert/strict";
import nodeCrypto from "node:crypto";
import { hkdf, hmac, sha256, gcm, x25519 } from "../../web/vendor/noble.mjs";
import * as e2e from "../../web/e2e.js";

const hex = (s) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const toHex = (b) => Buffer.from(b).toString("hex");
// Our own vectors (computed once by this implementation; every test below also recomputes them
// independently with node:crypto from the documented construction).
const FIXED = {
  kPair: "da731c05567503364c3a032d32c55ff07ad5a68549d185a30ce181930e90c072",
  code: "205693",
};
const boxes = [["WebCrypto", e2e.aead(globalThis.crypto.subtle)], ["JavaScript (no secure context)", e2e.aead(null)]];

// ---- the primitives, against their published vectors ----------------------------------------

test("X25519: RFC 7748 section 6.1 (Alice and Bob) and section 5.2", () => {
  const a = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const b = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  assert.equal(toHex(e2e.deviceKeys(a).public), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  assert.equal(toHex(e2e.deviceKeys(b).public), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const k = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  assert.equal(toHex(x25519.getSharedSecret(a, e2e.deviceKeys(b).public)), k);
  assert.equal(toHex(x25519.getSharedSecret(b, e2e.deviceKeys(a).public)), k);
  assert.equal(
    toHex(x25519.getSharedSecret(hex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"), hex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"))),
    "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
});

test("HKDF-SHA-256: RFC 5869 test case 1", () => {
  const okm = hkdf(sha256, hex("0b".repeat(22)), hex("000102030405060708090a0b0c"), hex("f0f1f2f3f4f5f6f7f8f9"), 42);
  assert.equal(toHex(okm), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
});

test("HMAC-SHA-256: RFC 4231 test case 2", () => {
  const mac = hmac(sha256, new TextEncoder().encode("Jefe"), new TextEncoder().encode("what do ya want for nothing?"));
  assert.equal(toHex(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
});

for (const [name, box] of boxes) {
  test(`AES-256-GCM (${name}): the GCM specification's test case 16, sealed and opened`, async () => {
    const key = hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
    const iv = hex("cafebabefacedbaddecaf888");
    const plain = hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
    const aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
    const sealed = await box.seal(key, iv, plain, aad);
    assert.equal(toHex(sealed),
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662" +
      "76fc6ece0f4e1768cddf8853bb2d551b");
    assert.deepEqual(await box.open(key, iv, sealed, aad), plain);
    const bad = Uint8Array.from(sealed);
    bad[3] ^= 1;
    assert.equal(await box.open(key, iv, bad, aad), null, "an altered byte does not open");
    assert.equal(await box.open(key, iv, sealed, hex("00")), null, "other associated data does not open");
  });
}

// ---- the key schedule, recomputed from the document with node:crypto -------------------------

const nodeHkdf = (ikm, salt, info, len = 32) => new Uint8Array(nodeCrypto.hkdfSync("sha256", ikm, salt, info, len));
const nodeHmac = (key, data) => new Uint8Array(nodeCrypto.createHmac("sha256", key).update(data).digest());
const label = (s) => Buffer.from(s, "utf8");
const nodeX25519 = (secret, pub) => {
  const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b656e04220420", "hex"), secret]);
  const spki = Buffer.concat([Buffer.from("302a300506032b656e032100", "hex"), pub]);
  return new Uint8Array(nodeCrypto.diffieHellman({
    privateKey: nodeCrypto.createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }),
    publicKey: nodeCrypto.createPublicKey({ key: spki, format: "der", type: "spki" }),
  }));
};

// Fixed inputs: the RFC 7748 keys as the desktop (Alice) and the phone (Bob).
const D = e2e.deviceKeys(hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
const P = e2e.deviceKeys(hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
const S = hex("000102030405060708090a0b0c0d0e0f");

test("K_pair: both sides derive the same key, and it is HKDF(X25519, salt = S, info = label ‖ pub_D ‖ pub_P) as documented", () => {
  const kd = e2e.pairKey({ own: D, otherPublic: P.public, linkSecret: S, role: "desktop" });
  const kp = e2e.pairKey({ own: P, otherPublic: D.public, linkSecret: S, role: "phone" });
  assert.deepEqual(kd, kp);
  const z = nodeX25519(Buffer.from(D.secret), Buffer.from(P.public));
  assert.deepEqual(kd, nodeHkdf(z, S, Buffer.concat([label("roomcast pair v1"), D.public, P.public])));
  // Our own fixed vector, so a change of the format is a deliberate one.
  assert.equal(toHex(kd), FIXED.kPair);
  // Another link secret, or the keys in the other order, give another key.
  assert.notDeepEqual(e2e.pairKey({ own: D, otherPublic: P.public, linkSecret: hex("ff".repeat(16)), role: "desktop" }), kd);
  assert.notDeepEqual(e2e.pairKey({ own: D, otherPublic: P.public, linkSecret: S, role: "phone" }), kd);
  assert.throws(() => e2e.pairKey({ own: D, otherPublic: new Uint8Array(32), linkSecret: S, role: "desktop" }), /invalid/, "a low-order point is refused");
  assert.throws(() => e2e.pairKey({ own: D, otherPublic: P.public, linkSecret: S.subarray(1), role: "desktop" }), /16 bytes/);
});

test("confirmation tags, the verification code and the rejoin proof, as documented", () => {
  const k = hex(FIXED.kPair);
  const kc = nodeHkdf(k, Buffer.alloc(0), label("roomcast confirm v1"));
  assert.deepEqual(e2e.confirmTag(k, "desktop", D.public, P.public), nodeHmac(kc, Buffer.concat([label("D"), D.public, P.public])));
  assert.deepEqual(e2e.confirmTag(k, "phone", D.public, P.public), nodeHmac(kc, Buffer.concat([label("P"), D.public, P.public])));
  assert.notDeepEqual(e2e.confirmTag(k, "desktop", D.public, P.public), e2e.confirmTag(k, "phone", D.public, P.public), "a tag cannot be reflected");

  const sas = nodeHkdf(k, Buffer.alloc(0), label("roomcast sas v1"), 8);
  assert.equal(e2e.verificationCode(k), String(Buffer.from(sas).readBigUInt64BE() % 1000000n).padStart(6, "0"));
  assert.match(e2e.verificationCode(k), /^\d{6}$/);
  assert.equal(e2e.verificationCode(k), FIXED.code);

  const challenge = hex("a0".repeat(16));
  const kr = nodeHkdf(k, Buffer.alloc(0), label("roomcast rejoin v1"));
  assert.deepEqual(e2e.rejoinProof(k, challenge, "phone"), nodeHmac(kr, Buffer.concat([label("P"), challenge])));
});

test("transfer keys and chunk nonces, as documented; the chunk header is bound as associated data", async () => {
  const room = hex("42".repeat(32));
  const xfer = hex("0123456789abcdef0123456789abcdef");
  const kx = e2e.transferKey(room, xfer);
  assert.deepEqual(kx, nodeHkdf(room, xfer, label("roomcast chunk v1")));
  assert.equal(toHex(e2e.indexNonce(0)), "000000000000000000000000");
  assert.equal(toHex(e2e.indexNonce(258)), "000000000000000000000102");
  assert.equal(toHex(e2e.indexNonce(2 ** 32 - 1)), "0000000000000000ffffffff");
  assert.throws(() => e2e.indexNonce(-1));
  assert.throws(() => e2e.indexNonce(2 ** 32), /out of range/, "indices are uint32 on the wire");
  assert.throws(() => e2e.indexNonce(1.5));

  // The sealed frame's header: "RC" 01 02 | xfer | index | epoch (sealing.js), all of it bound.
  const header = hex("52430102" + "0123456789abcdef0123456789abcdef" + "00000007" + "0000002a");
  const plain = new TextEncoder().encode("chunk seven of a photo");
  const want = nodeCrypto.createCipheriv("aes-256-gcm", kx, e2e.indexNonce(7)).setAAD(header);
  const ref = Buffer.concat([want.update(plain), want.final(), want.getAuthTag()]);
  for (const [name, box] of boxes) {
    const sealed = await e2e.sealChunk(box, kx, 7, header, plain);
    assert.equal(toHex(sealed), ref.toString("hex"), `${name}: AES-256-GCM as OpenSSL does it`);
    assert.deepEqual(await e2e.openChunk(box, kx, 7, header, sealed), plain);
    assert.equal(await e2e.openChunk(box, kx, 8, header, sealed), null, `${name}: moved to another index`);
    const other = Uint8Array.from(header);
    other[5] ^= 1;
    assert.equal(await e2e.openChunk(box, kx, 7, other, sealed), null, `${name}: moved to another transfer`);
    const epoch = Uint8Array.from(header);
    epoch[27] ^= 1;
    assert.equal(await e2e.openChunk(box, kx, 7, epoch, sealed), null, `${name}: relabelled with another epoch`);
    assert.equal(await e2e.openChunk(box, e2e.transferKey(room, hex("00".repeat(16))), 7, header, sealed), null, `${name}: another transfer's key`);
    assert.equal(await e2e.openChunk(box, kx, 2 ** 32, header, sealed), null, `${name}: an index past uint32`);
    assert.equal(await e2e.openChunk(box, kx, 7, header, sealed.subarray(0, 10)), null, `${name}: shorter than a tag`);
  }
  assert.throws(() => e2e.transferKey(room, xfer.subarray(1)), /16 bytes/);
});

for (const [name, box] of boxes) {
  test(`${name}: the room key wrapped for a paired device, text messages round-trip and refuse the wrong key`, async () => {
    const k = hex(FIXED.kPair);
    const roomKey = e2e.randomBytes(32);
    const wrapped = await e2e.wrapRoomKey(box, k, roomKey, 3);
    assert.equal(wrapped.length, 12 + 32 + 16);
    assert.deepEqual(await e2e.unwrapRoomKey(box, k, wrapped, 3), roomKey);
    assert.equal(await e2e.unwrapRoomKey(box, k, wrapped, 4), null, "bound to its epoch");
    assert.equal(await e2e.unwrapRoomKey(box, hex("11".repeat(32)), wrapped, 3), null, "only for this K_pair");
    const kw = nodeHkdf(k, Buffer.alloc(0), label("roomcast wrap v1"));
    const d = nodeCrypto.createDecipheriv("aes-256-gcm", kw, wrapped.subarray(0, 12));
    d.setAAD(Buffer.concat([label("roomcast wrap v1"), Buffer.from([0, 0, 0, 3])]));
    d.setAuthTag(wrapped.subarray(44));
    assert.deepEqual(new Uint8Array(Buffer.concat([d.update(wrapped.subarray(12, 44)), d.final()])), roomKey, "as documented");

    // An offer's private fields are sealed as a text value (sealing.js).
    const meta = { from: 3, meta: { name: "IMG_2041.HEIC", mime: "image/heic", size: 3141592, modified: 1700000000000 } };
    const wire = await e2e.sealText(box, roomKey, meta);
    assert.deepEqual(Object.keys(wire).sort(), ["ct", "id"]);
    assert.doesNotMatch(JSON.stringify(wire), /IMG_2041|heic|3141592/, "nothing of the file in the clear");
    assert.deepEqual(await e2e.openText(box, roomKey, wire), meta);
    assert.equal(await e2e.openText(box, e2e.randomBytes(32), wire), null);
    assert.equal(await e2e.openText(box, roomKey, { id: wire.id, ct: "not base64!" }), null);
    assert.equal(await e2e.openText(box, roomKey, null), null);

    const text = await e2e.sealText(box, roomKey, { type: "note", text: "the door code is 4711" });
    assert.doesNotMatch(JSON.stringify(text), /4711/);
    assert.deepEqual(await e2e.openText(box, roomKey, text), { type: "note", text: "the door code is 4711" });
    assert.equal(await e2e.openText(box, e2e.randomBytes(32), text), null);
    const nodeOpen = (key, nonce, sealed, aad) => {
      const d = nodeCrypto.createDecipheriv("aes-256-gcm", key, nonce).setAAD(aad);
      d.setAuthTag(sealed.subarray(sealed.length - 16));
      return JSON.parse(Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]).toString("utf8"));
    };
    const tid = Buffer.from(text.id, "base64url");
    assert.deepEqual(nodeOpen(nodeHkdf(roomKey, tid, label("roomcast text v1")), Buffer.alloc(12), Buffer.from(text.ct, "base64url"), label("roomcast text v1")),
      { type: "note", text: "the door code is 4711" }, "text as documented");
    const sealedName = await e2e.sealName(box, k, "Anna's Pixel");
    const nd = nodeCrypto.createDecipheriv("aes-256-gcm", nodeHkdf(k, Buffer.alloc(0), label("roomcast name v1")), sealedName.subarray(0, 12));
    nd.setAAD(label("roomcast name v1"));
    nd.setAuthTag(sealedName.subarray(sealedName.length - 16));
    assert.equal(Buffer.concat([nd.update(sealedName.subarray(12, sealedName.length - 16)), nd.final()]).toString("utf8"), "Anna's Pixel", "name as documented");
    assert.equal(await e2e.openName(box, k, sealedName), "Anna's Pixel");
    assert.equal(await e2e.openName(box, hex("11".repeat(32)), sealedName), null);
    assert.notDeepEqual(await e2e.sealName(box, k, "Anna's Pixel"), sealedName, "a random nonce each time");
    const twice = await e2e.sealText(box, roomKey, { type: "note", text: "the door code is 4711" });
    assert.notEqual(twice.ct, text.ct, "each message its own key: the same text seals differently");
  });
}

test("base64url: round-trips every length, refuses padding, other alphabets and non-canonical endings", () => {
  for (let n = 0; n < 40; n++) {
    const b = e2e.randomBytes(n);
    const s = e2e.toBase64(b);
    assert.equal(s, Buffer.from(b).toString("base64url"));
    assert.deepEqual(e2e.fromBase64(s), b);
  }
  for (const bad of ["A", "AA==", "A+B/", "AB", "AAB", " AAA", null, 7]) assert.equal(e2e.fromBase64(bad), null, String(bad));
  assert.deepEqual(e2e.fromBase64("AA"), new Uint8Array([0]));
  assert.ok(e2e.equalBytes(hex("0102"), hex("0102")));
  assert.ok(!e2e.equalBytes(hex("0102"), hex("0103")));
  assert.ok(!e2e.equalBytes(hex("0102"), hex("010203")));
});

