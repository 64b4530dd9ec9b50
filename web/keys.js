// The page's keys (docs/PRIVACY.md, "Keys and the link"), kept in localStorage: this browser's
// device key pair; on the desktop, each room's single-use link secret and the devices it paired
// with; on the phone, what it paired with per room; on both, each room's key (current and the
// one before, for its overlap), which the desktop makes, rotates and hands out wrapped. Loads web/pairing.js (and
// with it the pinned crypto in web/vendor/) on demand: if that is missing, the page still runs,
// and says the link cannot be made.

import { load, store } from "./ui.js";

const DEVICE_KEY = "roomcast.e2e.device"; // this browser's X25519 secret key, base64url
const pairedKey = (room) => `roomcast.e2e.paired.${room}`; // desktop: {pub_P: K_pair}; phone: {pub_D: K_pair}
const linkKey = (room) => `roomcast.e2e.link.${room}`; // phone: the fragment it was opened with
const memberKey = (room) => `roomcast.e2e.members.${room}`; // desktop: {member id: pub_P}
const roomKeyKey = (room) => `roomcast.e2e.roomkey.${room}`; // both: {epoch, key, prev: {epoch, key, until}}
const PAIRED_MAX = 64;
// After a new room key, frames sealed under the one before are still opened this long (those
// in flight when it changed); after that they are refused as stale.
const OVERLAP_MS = 60_000;
// A fresh room key's epoch is at least the seconds since 2025-01-01, so epochs only grow, also
// after a desktop lost its storage: a device never takes an older key than the one it holds
// (a replayed room-key could otherwise give it back one a removed device knows).
const EPOCH_BASE_MS = Date.UTC(2025, 0, 1);

let lib = null; // { e2e, pairing, box, own }
let cryptoHandle = null; // { e2e, box }: what sealing.js needs

/** Loads the crypto and this browser's key pair (made once). Resolves to true when usable. */
export async function ready() {
  if (lib) return true;
  try {
    const pairing = await import("./pairing.js");
    const e2e = await import("./e2e.js");
    let secret = e2e.fromBase64(load(DEVICE_KEY));
    if (!secret || secret.length !== e2e.KEY_BYTES) {
      secret = e2e.deviceKeys().secret;
      store(DEVICE_KEY, e2e.toBase64(secret));
    }
    lib = { e2e, pairing, box: e2e.aead(), own: e2e.deviceKeys(secret) };
    cryptoHandle = { e2e, box: lib.box };
    return true;
  } catch {
    return false;
  }
}

/** {e2e, box} once ready(), else null. */
export function crypto() {
  return cryptoHandle;
}

const b64 = (bytes) => lib.e2e.toBase64(bytes);
const bytes = (s) => lib.e2e.fromBase64(s);
function readMap(key) {
  try {
    const v = JSON.parse(load(key) || "{}");
    return v && typeof v === "object" && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}
function writeMap(key, map) {
  const entries = Object.entries(map).slice(-PAIRED_MAX);
  store(key, entries.length ? JSON.stringify(Object.fromEntries(entries)) : null);
}
const storage = { get: load, set: store };

// ---- the room key (both sides) ---------------------------------------------------------------

let cached = { room: null, raw: null, cur: null, prev: null }; // decoded once per stored value

function readRoomKeys(room) {
  const raw = load(roomKeyKey(room));
  if (cached.room === room && cached.raw === raw) return cached;
  cached = { room, raw, cur: null, prev: null };
  try {
    const v = JSON.parse(raw || "null");
    const one = (x) => {
      const key = x && bytes(x.key);
      return key && key.length === lib.e2e.KEY_BYTES && Number.isInteger(x.epoch) ? { epoch: x.epoch, key, until: x.until ?? Infinity } : null;
    };
    cached.cur = one(v);
    cached.prev = one(v?.prev);
  } catch {}
  return cached;
}

function writeRoomKeys(room, cur, prev) {
  const one = (x) => ({ epoch: x.epoch, key: b64(x.key), ...(x.until !== undefined && x.until !== Infinity ? { until: x.until } : {}) });
  store(roomKeyKey(room), JSON.stringify({ ...one(cur), ...(prev ? { prev: one(prev) } : {}) }));
}

/** The room key of `epoch` ({epoch, key}), or the current one when `epoch` is undefined; null if none. */
export function roomKey(room, epoch) {
  if (!lib || !room) return null;
  const { cur, prev } = readRoomKeys(room);
  if (!cur) return null;
  if (epoch === undefined || epoch === cur.epoch) return cur;
  if (prev && epoch === prev.epoch && Date.now() < prev.until) return prev;
  return null;
}

/** Desktop: the room's key, made now if it has none. */
export function makeRoomKey(room) {
  if (!lib) return null;
  return roomKey(room) ?? rotateRoomKey(room);
}

/** Desktop: a new room key (a device was removed); the one before stays for OVERLAP_MS. */
export function rotateRoomKey(room) {
  if (!lib) return null;
  const { cur } = readRoomKeys(room);
  const epoch = Math.max((cur?.epoch ?? 0) + 1, Math.floor((Date.now() - EPOCH_BASE_MS) / 1000));
  const next = { epoch, key: lib.e2e.randomBytes(lib.e2e.KEY_BYTES) };
  writeRoomKeys(room, next, cur ? { ...cur, until: Date.now() + OVERLAP_MS } : null);
  return roomKey(room);
}

/** Desktop: the current room key wrapped for one paired device (K_pair in base64url): {epoch, key}. */
async function wrapCurrent(room, kPair) {
  const k = roomKey(room);
  const kp = bytes(kPair);
  if (!k || !kp) return null;
  return { epoch: k.epoch, key: b64(await lib.e2e.wrapRoomKey(lib.box, kp, k.key, k.epoch)) };
}

/** Desktop: the room key for the device `verdict` let in (its knock's K_pair). */
export function wrapForVerdict(room, verdict) {
  return lib && verdict?.ok ? wrapCurrent(room, verdict.kPair) : Promise.resolve(null);
}

/** Desktop: the room key for member `id`, when a knock or its key-please tied it to a paired device. */
export function wrapForMember(room, id) {
  const pub = readMap(memberKey(room))[id];
  const kPair = pub && readMap(pairedKey(room))[pub];
  return lib && kPair ? wrapCurrent(room, kPair) : Promise.resolve(null);
}

const keyPleaseChallenge = (room, id) => new TextEncoder().encode(`roomcast key-please ${room} ${id}`);

/**
 * Desktop: a member's `key-please` ({from, dev, proof}). It is answered only when `dev` is a
 * device paired here and `proof` is that device's MAC under its K_pair over this room and the
 * member id the message comes from; then the member is that device (Remove forgets the right
 * one). True when it may have the key.
 */
export function checkKeyPlease(room, msg) {
  if (!lib || !Number.isSafeInteger(msg.from) || typeof msg.dev !== "string") return false;
  const kPair = bytes(readMap(pairedKey(room))[msg.dev]);
  const proof = bytes(msg.proof);
  if (!kPair || !proof) return false;
  if (!lib.e2e.equalBytes(proof, lib.e2e.rejoinProof(kPair, keyPleaseChallenge(room, msg.from), "phone"))) return false;
  const members = readMap(memberKey(room));
  for (const [m, p] of Object.entries(members)) if (p === msg.dev && Number(m) !== msg.from) delete members[m]; // its old id
  members[msg.from] = msg.dev;
  writeMap(memberKey(room), members);
  return true;
}

// ---- desktop ---------------------------------------------------------------------------------

/** The fragment of room's link now ("k=…&d=…"): its current, unspent secret and our key. */
export function linkFragment(room) {
  if (!lib) return "";
  return lib.pairing.linkFragment(new lib.pairing.LinkSecret(storage, room).current(), lib.own.public);
}

/**
 * What a knock's `name` proves: `{ok, name, code, known, phone, kPair, secret}` (keys in
 * base64url; `secret` the link secret it used, null for a device known before). ok when it was
 * made with the room's current link secret or by a device paired before (known), else not (a
 * wrong or spent link, or a client that does not pair; then `name` is empty).
 */
export async function readKnock(room, name) {
  if (!lib) return { ok: false, name: "" };
  const paired = readMap(pairedKey(room));
  const secret = new lib.pairing.LinkSecret(storage, room).current();
  const seen = await lib.pairing.readKnock(lib.box, { own: lib.own, secrets: [secret], knock: name, paired: Object.entries(paired).map(([pub, k]) => [bytes(pub), bytes(k)]) });
  if (!seen.ok) return { ok: false, name: "" };
  return { ok: true, name: seen.name, code: seen.code, known: !seen.secret, phone: b64(seen.phonePublic), kPair: b64(seen.kPair), secret: seen.secret ? b64(seen.secret) : null };
}

/** The desktop let `verdict`'s device in as member `id`: remember it, and spend the link secret. */
export function admitted(room, id, verdict) {
  if (!lib || !verdict?.ok) return false;
  const paired = readMap(pairedKey(room));
  delete paired[verdict.phone];
  paired[verdict.phone] = verdict.kPair;
  writeMap(pairedKey(room), paired);
  const members = readMap(memberKey(room));
  members[id] = verdict.phone;
  writeMap(memberKey(room), members);
  return verdict.secret ? new lib.pairing.LinkSecret(storage, room).spend(bytes(verdict.secret)) : false;
}

/** What the desktop relays to a device it let in, proving it holds the K_pair (null if none). */
export function desktopConfirm(verdict) {
  if (!lib || !verdict?.ok) return null;
  return lib.pairing.desktopConfirm({ own: lib.own, kPair: bytes(verdict.kPair), phonePublic: bytes(verdict.phone) });
}

/**
 * Member `id` was removed: forget its device, so it must scan a current code to pair again.
 * A device that came back by its admission has a new member id that no knock tied to its key,
 * so when `id` is not placed, every paired device not placed on a member here now (`present`)
 * is forgotten too: better asked to scan again than a removed device known as "paired before".
 */
export function removed(room, id, present = []) {
  const members = readMap(memberKey(room));
  const pub = members[id];
  delete members[id];
  const paired = readMap(pairedKey(room));
  if (pub) delete paired[pub];
  else {
    const placed = new Set(present.map((m) => members[m]).filter(Boolean));
    for (const p of Object.keys(paired)) if (!placed.has(p)) delete paired[p];
    for (const [m, p] of Object.entries(members)) if (!placed.has(p)) delete members[m];
  }
  writeMap(memberKey(room), members);
  writeMap(pairedKey(room), paired);
}

/** member id → device key (base64url) for the members a knock tied to a key: for spotting copies. */
export function memberDevices(room) {
  return readMap(memberKey(room));
}

/** "New room": everything of the old room goes. */
export function forgetRoom(room) {
  store(pairedKey(room), null);
  store(memberKey(room), null);
  store(roomKeyKey(room), null);
  store(`roomcast.e2e.secret.${room}`, null);
}

// ---- phone -----------------------------------------------------------------------------------

/**
 * The phone takes the secret out of the address it was opened with (kept for this room, and
 * taken out of the address bar and its history entry), then makes the `name` of its join:
 * `{name, code}` — a knock that proves the link (or, paired before, the pairing), with the
 * verification code to show; or the plain device name when it has neither.
 */
export async function phoneJoinName(room, deviceName) {
  if (location.hash.includes("k=")) {
    store(linkKey(room), location.hash.replace(/^#/, ""));
    history.replaceState(history.state, "", location.pathname + location.search);
  }
  if (!(await ready())) return { name: deviceName, code: null };
  const paired = readMap(pairedKey(room));
  const [pubD, kPair] = Object.entries(paired).at(-1) ?? [];
  const link = lib.pairing.parseFragment(load(linkKey(room)));
  // A code scanned since this phone paired (its secret is not the one it paired with) wins: the
  // desktop may have forgotten this phone (removed while its tab was closed).
  const fresh = link && b64(link.secret) !== load(`${linkKey(room)}.paired`);
  if (pubD && kPair && !fresh) {
    const k = await lib.pairing.pairedKnock(lib.box, { own: lib.own, kPair: bytes(kPair), desktopPublic: bytes(pubD), name: deviceName });
    return { name: k.knock, code: k.code, known: true };
  }
  if (!link) return { name: deviceName, code: null };
  const k = await lib.pairing.phoneKnock(lib.box, { own: lib.own, secret: link.secret, desktopPublic: link.desktopPublic, name: deviceName });
  pending = { room, pubD: b64(link.desktopPublic), kPair: b64(k.kPair), secret: b64(link.secret) };
  return { name: k.knock, code: k.code, known: false };
}

let pending = null; // the pairing the phone's knock offered, kept once the desktop confirms it

/**
 * The desktop's confirmation arrived: the pairing the phone's knock offered is kept only if it
 * proves the desktop derived the same K_pair (a relay saying "joined" proves nothing). True when
 * it was kept.
 */
export function phoneConfirmed(room, tag) {
  if (!lib || !pending || pending.room !== room) return false;
  if (!lib.pairing.confirmsPairing({ own: lib.own, kPair: bytes(pending.kPair), desktopPublic: bytes(pending.pubD), tag })) return false;
  writeMap(pairedKey(room), { [pending.pubD]: pending.kPair }); // one desktop per room
  store(`${linkKey(room)}.paired`, pending.secret); // the code it paired with (spent now)
  store(linkKey(room), null);
  pending = null;
  return true;
}

/** Phone: it holds a pairing for this room (so its desktop can give it the room key). */
export function phonePaired(room) {
  return Object.keys(readMap(pairedKey(room))).length > 0;
}

/** Phone, member `id`: what asks its desktop for the room key ({dev, proof}); null when not paired. */
export function keyPlease(room, id) {
  if (!lib || !Number.isSafeInteger(id)) return null;
  const [, kPair] = Object.entries(readMap(pairedKey(room))).at(-1) ?? [];
  const kp = kPair && bytes(kPair);
  if (!kp) return null;
  return { dev: b64(lib.own.public), proof: b64(lib.e2e.rejoinProof(kp, keyPleaseChallenge(room, id), "phone")) };
}

/**
 * Phone: a room key the desktop wrapped for this device ({epoch, key}). Kept when it opens
 * under the pairing's K_pair and is not older than the one held (the one before stays for
 * OVERLAP_MS). True when this is now the current key.
 */
export async function phoneTakeKey(room, msg) {
  if (!lib || !Number.isInteger(msg?.epoch) || msg.epoch < 0 || msg.epoch >= 2 ** 32) return false;
  const [, kPair] = Object.entries(readMap(pairedKey(room))).at(-1) ?? [];
  const kp = kPair && bytes(kPair);
  const wrapped = bytes(msg.key);
  if (!kp || !wrapped) return false;
  const key = await lib.e2e.unwrapRoomKey(lib.box, kp, wrapped, msg.epoch);
  if (!key) return false;
  const { cur } = readRoomKeys(room);
  if (cur && msg.epoch < cur.epoch) return false;
  if (cur && msg.epoch === cur.epoch && lib.e2e.equalBytes(cur.key, key)) return true;
  writeRoomKeys(room, { epoch: msg.epoch, key }, cur && cur.epoch !== msg.epoch ? { ...cur, until: Date.now() + OVERLAP_MS } : null);
  return true;
}

/** "Forget this computer", or removed, or a new room: the phone forgets the pairing too. */
export function phoneForget(room) {
  store(roomKeyKey(room), null);
  store(pairedKey(room), null);
  store(linkKey(room), null);
  store(`${linkKey(room)}.paired`, null);
  pending = null;
}
