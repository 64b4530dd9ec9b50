// Pairing a phone with the desktop, as docs/PRIVACY.md ("Keys and the link", Pairing) says: the
// secret and the desktop's public key in the room link's fragment (never sent to the server),
// the proof a phone puts in the name of its knock (a newcomer in the lobby can send nothing
// else), what the desktop makes of a knock, and the single-use link secret. Pure: keys and
// strings in, strings and keys out; the storage is given. Built on web/e2e.js; not yet used by
// the page (docs/PRIVACY.md, Status).

import * as e2e from "./e2e.js";

export const KNOCK_PREFIX = "e2e1";
/** The server's cap on a knock's name, in bytes (ROOMCAST's max_knock_name). */
export const KNOCK_MAX = 256;

/** The room link's fragment: "k=<S>&d=<pub_D>", base64url. */
export function linkFragment(secret, desktopPublic) {
  return `k=${e2e.toBase64(secret)}&d=${e2e.toBase64(desktopPublic)}`;
}

/** S and pub_D from a location.hash ("#k=…&d=…"), or null when it has no valid pair of them. */
export function parseFragment(hash) {
  const q = new URLSearchParams(String(hash ?? "").replace(/^#/, ""));
  const secret = e2e.fromBase64(q.get("k"));
  const desktopPublic = e2e.fromBase64(q.get("d"));
  if (!secret || secret.length !== e2e.SECRET_BYTES || !desktopPublic || desktopPublic.length !== e2e.KEY_BYTES) return null;
  return { secret, desktopPublic };
}

/** `s` cut to at most `max` bytes of UTF-8, at a character boundary. */
export function cutUtf8(s, max) {
  const enc = new TextEncoder();
  let out = "";
  let bytes = 0;
  for (const ch of String(s)) {
    const n = enc.encode(ch).length;
    if (bytes + n > max) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/**
 * The phone's side: the `name` for its join ("e2e1.<pub_P>.<confirm_P>.<sealed name>", at most
 * KNOCK_MAX bytes: the name is cut to fit), and K_pair and the verification code to show while
 * it waits.
 */
export async function phoneKnock(box, { own, secret, desktopPublic, name }) {
  const kPair = e2e.pairKey({ own, otherPublic: desktopPublic, linkSecret: secret, role: "phone" });
  return pairedKnock(box, { own, kPair, desktopPublic, name });
}

/**
 * The same knock from a phone paired before (its K_pair kept), when its admission is gone (a
 * server restart): the desktop knows it by its key and K_pair, with no link secret. (The
 * confirmation is the same each time, so the relay could replay it: it gets a knock shown as
 * the known device, which the person still has to allow, and no key.)
 */
export async function pairedKnock(box, { own, kPair, desktopPublic, name }) {
  const tag = e2e.confirmTag(kPair, "phone", desktopPublic, own.public);
  const head = `${KNOCK_PREFIX}.${e2e.toBase64(own.public)}.${e2e.toBase64(tag)}.`;
  const roomFor = Math.floor(((KNOCK_MAX - head.length) * 3) / 4) - e2e.NONCE_BYTES - e2e.TAG_BYTES;
  const sealed = await e2e.sealName(box, kPair, cutUtf8(name, roomFor));
  return { knock: head + e2e.toBase64(sealed), kPair, code: e2e.verificationCode(kPair) };
}

/**
 * The desktop's side of a knock: with the link secrets it accepts now and the devices it paired
 * with before (`paired`: [pub_P, K_pair] pairs), `{ok: true, phonePublic, kPair, code, name,
 * secret}` when the knock proves the link (the phone derived the same K_pair, so it had S;
 * `secret` is that S) or a pairing (`secret` null), else `{ok: false}` — a device with a wrong
 * or old link, or a client that does not pair.
 */
export async function readKnock(box, { own, secrets, knock, paired = [] }) {
  const parts = typeof knock === "string" ? knock.split(".") : [];
  if (parts.length !== 4 || parts[0] !== KNOCK_PREFIX) return { ok: false };
  const phonePublic = e2e.fromBase64(parts[1]);
  const tag = e2e.fromBase64(parts[2]);
  const sealed = e2e.fromBase64(parts[3]);
  if (!phonePublic || phonePublic.length !== e2e.KEY_BYTES || !tag || tag.length !== 32 || !sealed) return { ok: false };
  const candidates = paired.filter(([pub]) => e2e.equalBytes(pub, phonePublic)).map(([, kPair]) => [kPair, null]);
  for (const secret of secrets) {
    try {
      candidates.push([e2e.pairKey({ own, otherPublic: phonePublic, linkSecret: secret, role: "desktop" }), secret]);
    } catch {
      return { ok: false }; // a low-order point: no key at all
    }
  }
  for (const [kPair, secret] of candidates) {
    if (!(kPair instanceof Uint8Array) || kPair.length !== e2e.KEY_BYTES) continue;
    if (!e2e.equalBytes(tag, e2e.confirmTag(kPair, "phone", own.public, phonePublic))) continue;
    const name = await e2e.openName(box, kPair, sealed);
    if (name === null) return { ok: false };
    return { ok: true, phonePublic, kPair, code: e2e.verificationCode(kPair), name, secret };
  }
  return { ok: false };
}

/**
 * The desktop's confirmation for a phone it let in (relayed to it after the server's peer-joined):
 * base64url of HMAC(HKDF(K_pair, "roomcast confirm v1"), "D" ‖ pub_D ‖ pub_P).
 */
export function desktopConfirm({ own, kPair, phonePublic }) {
  return e2e.toBase64(e2e.confirmTag(kPair, "desktop", own.public, phonePublic));
}

/**
 * The phone's check of it: true only for the desktop that derived the same K_pair — the one
 * holding the key in the link — not for a relay that said "joined" on its own.
 */
export function confirmsPairing({ own, kPair, desktopPublic, tag }) {
  const t = e2e.fromBase64(tag);
  return !!t && e2e.equalBytes(t, e2e.confirmTag(kPair, "desktop", desktopPublic, own.public));
}

/**
 * The desktop's link secret for one room, single-use: `current()` is the one in the link and
 * QR code; `spend(S)` (a device paired with it) replaces it, so a photo of the screen taken
 * before, a proxy log or a history entry opens nothing. `store` is get(key)/set(key, value|null).
 */
export class LinkSecret {
  constructor(store, room, random = e2e.randomBytes) {
    this.store = store;
    this.key = `roomcast.e2e.secret.${room}`;
    this.random = random;
  }
  current() {
    let s = e2e.fromBase64(this.store.get(this.key));
    if (!s || s.length !== e2e.SECRET_BYTES) {
      s = this.random(e2e.SECRET_BYTES);
      this.store.set(this.key, e2e.toBase64(s));
    }
    return s;
  }
  /** True when `secret` was the current one (now replaced by a fresh one); false when spent already. */
  spend(secret) {
    if (!e2e.equalBytes(secret, this.current())) return false;
    this.store.set(this.key, e2e.toBase64(this.random(e2e.SECRET_BYTES)));
    return true;
  }
  forget() {
    this.store.set(this.key, null);
  }
}
