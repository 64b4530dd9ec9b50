// The page's keys for pairing (docs/PRIVACY.md, "Keys and the link"), kept in localStorage:
// this browser's device key pair; on the desktop, each room's single-use link secret and the
// devices it paired with; on the phone, what it paired with per room. Loads web/pairing.js (and
// with it the pinned crypto in web/vendor/) on demand: if that is missing, the page still runs,
// and says the link cannot be made.

import { load, store } from "./ui.js";

const DEVICE_KEY = "roomcast.e2e.device"; // this browser's X25519 secret key, base64url
const pairedKey = (room) => `roomcast.e2e.paired.${room}`; // desktop: {pub_P: K_pair}; phone: {pub_D: K_pair}
const linkKey = (room) => `roomcast.e2e.link.${room}`; // phone: the fragment it was opened with
const memberKey = (room) => `roomcast.e2e.members.${room}`; // desktop: {member id: pub_P}
const PAIRED_MAX = 64;

let lib = null; // { e2e, pairing, box, own }

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
    return true;
  } catch {
    return false;
  }
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

/** "Forget this computer", or removed, or a new room: the phone forgets the pairing too. */
export function phoneForget(room) {
  store(pairedKey(room), null);
  store(linkKey(room), null);
  store(`${linkKey(room)}.paired`, null);
  pending = null;
}
