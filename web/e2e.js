// The end-to-end key schedule and sealed-message format of private rooms (docs/PRIVACY.md,
// "Keys and the link": that section is the specification, this file its one implementation).
// Standard constructions only: X25519 (RFC 7748), HKDF-SHA-256 (RFC 5869), HMAC-SHA-256
// (RFC 2104) and AES-256-GCM (NIST SP 800-38D). The primitives are the audited @noble
// libraries and base64url is @scure/base's (web/vendor/noble.mjs, pinned and bundled by
// scripts/web-vendor.sh); AES-GCM uses WebCrypto where the page has it (a secure context:
// HTTPS, localhost) and @noble/ciphers where it does not (plain HTTP on a LAN). Both give the same bytes; tests/web/ checks each
// against published vectors and against node:crypto.
//
// Every function here is pure apart from `randomBytes`; keys are Uint8Arrays. Nothing in this
// file touches the network or storage.

import { x25519, hkdf, hmac, sha256, gcm, base64urlnopad } from "./vendor/noble.mjs";

const enc = new TextEncoder();
export const LABELS = Object.freeze({
  pair: "roomcast pair v1",
  confirm: "roomcast confirm v1",
  sas: "roomcast sas v1",
  wrap: "roomcast wrap v1",
  rejoin: "roomcast rejoin v1",
  chunk: "roomcast chunk v1",
  text: "roomcast text v1",
  name: "roomcast name v1",
});
export const KEY_BYTES = 32;
export const SECRET_BYTES = 16; // the pairing secret in the link's fragment, and ids
export const TAG_BYTES = 16;
export const NONCE_BYTES = 12;
/** Chunk indices are below this (uint32 on the wire): each one is its chunk's nonce. */
export const MAX_INDEX = 2 ** 32;

export function randomBytes(n) {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** HKDF-SHA-256 of `ikm` with `salt` (empty when absent) and the label `info` (+ `extra`). */
function derive(ikm, info, { salt = new Uint8Array(0), extra = new Uint8Array(0), length = KEY_BYTES } = {}) {
  return hkdf(sha256, ikm, salt, concat(enc.encode(info), extra), length);
}

/** Constant-time equality of two byte strings of the same length. */
export function equalBytes(a, b) {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

// ---- device identity and pairing -----------------------------------------------------------

/** A device's long-term X25519 key pair: { secret, public } (32 bytes each). */
export function deviceKeys(secret = x25519.utils.randomSecretKey()) {
  return { secret, public: x25519.getPublicKey(secret) };
}

/**
 * K_pair, the key two paired devices share for good: HKDF(ikm = X25519(own secret, other's
 * public), salt = the link's pairing secret S, info = "roomcast pair v1" ‖ pub_D ‖ pub_P).
 * `role` is "desktop" or "phone": it says which of the two public keys is whose, so both sides
 * feed them in the same order. Throws on a low-order public key (X25519 gives all zeros).
 */
export function pairKey({ own, otherPublic, linkSecret, role }) {
  if (!(linkSecret instanceof Uint8Array) || linkSecret.length !== SECRET_BYTES) throw new Error("the link secret is 16 bytes");
  const z = x25519.getSharedSecret(own.secret, otherPublic); // noble refuses an all-zero result
  const [d, p] = role === "desktop" ? [own.public, otherPublic] : [otherPublic, own.public];
  return derive(z, LABELS.pair, { salt: linkSecret, extra: concat(d, p) });
}

/**
 * What each side sends to prove it derived the same K_pair (and so knew S): HMAC-SHA-256 under
 * HKDF(K_pair, "roomcast confirm v1") over the sender's role letter ("D" or "P") ‖ pub_D ‖ pub_P.
 */
export function confirmTag(kPair, role, desktopPublic, phonePublic) {
  const key = derive(kPair, LABELS.confirm);
  return hmac(sha256, key, concat(enc.encode(role === "desktop" ? "D" : "P"), desktopPublic, phonePublic));
}

/** The 6-digit verification code both screens show: HKDF(K_pair, "roomcast sas v1", 8 bytes) mod 10^6. */
export function verificationCode(kPair) {
  const b = derive(kPair, LABELS.sas, { length: 8 });
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return String(v % 1000000n).padStart(6, "0");
}

/** A device's answer to the desktop's fresh 16-byte challenge when it rejoins another day. */
export function rejoinProof(kPair, challenge, role) {
  const key = derive(kPair, LABELS.rejoin);
  return hmac(sha256, key, concat(enc.encode(role === "desktop" ? "D" : "P"), challenge));
}

/**
 * A device's name sealed for the desktop it pairs with: random nonce ‖ AES-GCM(HKDF(K_pair,
 * "roomcast name v1"), aad = the label). A random nonce, since a device may knock many times
 * under one K_pair (same link, same device key) with different names.
 */
export async function sealName(box, kPair, name) {
  const nonce = randomBytes(NONCE_BYTES);
  return concat(nonce, await box.seal(derive(kPair, LABELS.name), nonce, enc.encode(name), enc.encode(LABELS.name)));
}

/** The name back, or null when it was not sealed under this K_pair (or is not UTF-8). */
export async function openName(box, kPair, sealed) {
  if (!(sealed instanceof Uint8Array) || sealed.length < NONCE_BYTES + TAG_BYTES) return null;
  const plain = await box.open(derive(kPair, LABELS.name), sealed.subarray(0, NONCE_BYTES), sealed.subarray(NONCE_BYTES), enc.encode(LABELS.name));
  if (!plain) return null;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(plain);
  } catch {
    return null;
  }
}

// ---- AES-256-GCM: WebCrypto where there is a secure context, else @noble/ciphers ----------

/**
 * The AEAD the page uses. `subtle` is WebCrypto's (absent on plain HTTP); pass null to force
 * the JavaScript one (tests do both). Both seal to ciphertext ‖ 16-byte tag.
 */
export function aead(subtle = globalThis.crypto?.subtle ?? null) {
  if (subtle) {
    const keys = new WeakMap(); // raw key bytes → CryptoKey, imported once
    const imported = async (raw) => {
      let k = keys.get(raw);
      if (!k) {
        k = await subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
        keys.set(raw, k);
      }
      return k;
    };
    return {
      native: true,
      seal: async (key, nonce, plain, aad) =>
        new Uint8Array(await subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: aad, tagLength: 128 }, await imported(key), plain)),
      open: async (key, nonce, sealed, aad) => {
        try {
          return new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv: nonce, additionalData: aad, tagLength: 128 }, await imported(key), sealed));
        } catch {
          return null; // a wrong tag: not ours, or altered
        }
      },
    };
  }
  return {
    native: false,
    seal: async (key, nonce, plain, aad) => gcm(key, nonce, aad).encrypt(plain),
    open: async (key, nonce, sealed, aad) => {
      try {
        return gcm(key, nonce, aad).decrypt(sealed);
      } catch {
        return null;
      }
    },
  };
}

/** The 96-bit nonce for chunk `index` (0 ≤ index < 2^32): big-endian, the top 64 bits zero. */
export function indexNonce(index) {
  if (!Number.isSafeInteger(index) || index < 0 || index >= MAX_INDEX) throw new Error("chunk index out of range");
  const n = new Uint8Array(NONCE_BYTES);
  new DataView(n.buffer).setUint32(8, index);
  return n;
}

// ---- the room key and what is sealed under it ----------------------------------------------

const epochBytes = (epoch) => {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch >= 2 ** 32) throw new Error("epoch out of range");
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, epoch);
  return b;
};

/** K_room sealed for one paired device: random nonce ‖ AES-GCM(HKDF(K_pair, "roomcast wrap v1"), aad = label ‖ epoch). */
export async function wrapRoomKey(box, kPair, roomKey, epoch) {
  const nonce = randomBytes(NONCE_BYTES);
  const aad = concat(enc.encode(LABELS.wrap), epochBytes(epoch));
  return concat(nonce, await box.seal(derive(kPair, LABELS.wrap), nonce, roomKey, aad));
}

/** The room key of `epoch` from `wrapped`, or null when it was not sealed for this K_pair. */
export async function unwrapRoomKey(box, kPair, wrapped, epoch) {
  if (!(wrapped instanceof Uint8Array) || wrapped.length !== NONCE_BYTES + KEY_BYTES + TAG_BYTES) return null;
  const aad = concat(enc.encode(LABELS.wrap), epochBytes(epoch));
  return box.open(derive(kPair, LABELS.wrap), wrapped.subarray(0, NONCE_BYTES), wrapped.subarray(NONCE_BYTES), aad);
}

/**
 * The key of one transfer: HKDF(ikm = K_room, salt = the 16 bytes of `xfer`, info =
 * "roomcast chunk v1"). A fresh random `xfer` per file makes every (key, nonce) pair unique.
 * (No sender is bound in: every holder of K_room could derive any sender's key anyway.)
 */
export function transferKey(roomKey, xfer) {
  if (!(xfer instanceof Uint8Array) || xfer.length !== SECRET_BYTES) throw new Error("xfer ids are 16 bytes");
  return derive(roomKey, LABELS.chunk, { salt: xfer });
}

/**
 * Chunk `index` of a transfer sealed: ciphertext ‖ tag, with the chunk's clear header (the
 * 28 bytes of a sealed chunk frame: docs/TRANSFER.md, web/sealing.js) as associated data, so it cannot be moved to another index or
 * transfer. Re-sending the same chunk after a resume seals the same bytes to the same result.
 */
export function sealChunk(box, xferKey, index, header, plain) {
  return box.seal(xferKey, indexNonce(index), plain, header);
}

/** The plaintext of a sealed chunk, or null when it was altered, moved or not ours. */
export function openChunk(box, xferKey, index, header, sealed) {
  if (!Number.isSafeInteger(index) || index < 0 || index >= MAX_INDEX || sealed.length < TAG_BYTES) return Promise.resolve(null);
  return box.open(xferKey, indexNonce(index), sealed, header);
}

/**
 * A text message (or the private fields of one: an offer's `meta`, a device's name) sealed
 * under its own key, HKDF(K_room, salt = a random 16-byte id, "roomcast text v1"), nonce zero
 * (one message per key, so no nonce can repeat even when the same fields are sealed again):
 * `{id, ct}` in base64url.
 */
export async function sealText(box, roomKey, value) {
  const id = randomBytes(SECRET_BYTES);
  const key = derive(roomKey, LABELS.text, { salt: id });
  const ct = await box.seal(key, new Uint8Array(NONCE_BYTES), enc.encode(JSON.stringify(value)), enc.encode(LABELS.text));
  return { id: toBase64(id), ct: toBase64(ct) };
}

/** The value of a sealed text message, or null. */
export async function openText(box, roomKey, wire) {
  const id = fromBase64(wire?.id);
  const ct = fromBase64(wire?.ct);
  if (!id || id.length !== SECRET_BYTES || !ct || ct.length < TAG_BYTES) return null;
  const plain = await box.open(derive(roomKey, LABELS.text, { salt: id }), new Uint8Array(NONCE_BYTES), ct, enc.encode(LABELS.text));
  return plain ? parseJson(plain) : null;
}

// ---- encodings -------------------------------------------------------------------------------

/** base64url without padding (the link's fragment, and JSON fields): @scure/base's. */
export function toBase64(bytes) {
  return base64urlnopad.encode(bytes);
}

/** Bytes from base64url (no padding); null for anything else, a non-canonical ending included. */
export function fromBase64(s) {
  if (typeof s !== "string") return null;
  try {
    return base64urlnopad.decode(s);
  } catch {
    return null;
  }
}

function parseJson(bytes) {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return null;
  }
}
