// roomcast web client. The page opened without a room is the desktop: it makes a room, shows
// its link as a QR code, and collects what the phone sends. The room link (/?room=R) is the
// phone: camera first, every photo sent with its own progress. Files go both ways as chunked,
// acknowledged transfers (transfer.js, docs/TRANSFER.md) over a connection that keeps its seat
// in the room while the phone's camera or photo picker has the socket dropped (connection.js).
// What arrives is kept in this browser (store.js) until the user removes it. Beside it: ui.js
// (small shared helpers), filekind.js (what a file is: image only once it decodes, else a
// card), devices.js (who is who: names), notice.js (telling the person: title, favicon,
// notifications, live region, arrow keys), qr.js (the link's QR code, drawn in the page),
// knocks.js (who waits in the lobby, Allow and Deny), keys.js (the pairing's keys).
//
// Private rooms (docs/PROTOCOL.md, *Private rooms*): the desktop is its room's host. It names
// the room from a host token (GET /api/room), locks it as soon as it is in, and shows the link
// only then; a device that opens the link waits in the lobby until the desktop's "Allow". An
// allowed device keeps the admission the server gives it and comes back by itself; "Remove"
// and "New room" close devices out (the phone says why). Pairing (keys.js, pairing.js): the
// link carries a single-use secret and the desktop's key in its fragment; the phone's knock
// proves it, and both screens show the same 6-digit code; a knock without that proof cannot be
// allowed. Every frame the page relays is sealed under the room key (sealing.js,
// docs/PRIVACY.md): the desktop makes it and hands it, wrapped under each device's K_pair, to
// the devices it let in (with its pair-confirm, or when a paired device asks with key-please);
// "Remove" makes a new one, handed to the devices that stay. What comes in the clear is refused.

import { Connection } from "./connection.js";
import { TransferEngine } from "./transfer.js";
import { Sealer } from "./sealing.js";
import { putFile, listFiles, removeFile, clearFiles, putPartial, putChunks, storageFree, listPartials, readChunks, dropPartial, putOutgoing, listOutgoing, removeOutgoing, clearOutgoing } from "./store.js";
import { $, el, extension, formatBytes, formatTime, isImage, load, store } from "./ui.js";
import { decodes, fileCard, typeName } from "./filekind.js";
import { announce, arrived, setupArrivals } from "./notice.js";
import { announceDevice, deviceName, forgetMember, joinedRoom, nameOf, onDevice, renderDevices, setupDevices } from "./devices.js";
import { clearQr, drawQr } from "./qr.js";
import * as keys from "./keys.js";
import { addKnock, knocks, letIn, renderKnocks, setupKnocks, spaced } from "./knocks.js";
const ROOM_RE = /^[A-Za-z0-9_-]{1,128}$/;
const TOKEN_RE = /^[A-Za-z0-9_-]{1,128}$/;
// A room named by its host token (GET /api/room): the server keeps it for that token's holder
// alone, so nobody who learnt the name can create and hold it while the desktop is away.
const HOST_ROOM_RE = /^p[0-9a-f]{32}$/;
const DESKTOP_ROOM_KEY = "roomcast.desktop.room";
const ORIGIN_KEY = "roomcast.desktop.origin";
const hostKey = (r) => `roomcast.host.${r}`; // the desktop's host token for room r
const admissionKey = (r) => `roomcast.admission.${r}`; // this device's pass back into r
const membersKey = (r) => `roomcast.members.${r}`; // ids the desktop let into r (New room removes them)
const MEMBERS_MAX = 64;

// ---- mode, room, connection ---------------------------------------------------------------

const params = new URLSearchParams(location.search);
const mode = params.has("room") ? "phone" : "desktop";
let room;
if (mode === "phone") {
  room = params.get("room");
} else {
  room = load(DESKTOP_ROOM_KEY);
  // A room this browser cannot prove it hosts (none yet, or one from before private rooms):
  // a fresh one, named from a new host token (below).
  if (!room || !HOST_ROOM_RE.test(room) || !TOKEN_RE.test(load(hostKey(room)) || "")) room = null;
}

/**
 * A fresh room for the desktop: GET /api/room mints a host token T and the room named from it
 * (128 bits each); the server keeps nothing, and T makes this browser the room's host in every
 * later join, across a restart of the server. Tries until the server answers.
 */
async function freshRoom() {
  for (let wait = 250; ; wait = Math.min(wait * 2, 5000)) {
    try {
      const r = await fetch("/api/room", { cache: "no-store" });
      const j = r.ok ? await r.json() : null;
      if (j && HOST_ROOM_RE.test(j.room) && TOKEN_RE.test(j.host_token)) {
        store(hostKey(j.room), j.host_token);
        store(DESKTOP_ROOM_KEY, j.room);
        return j.room;
      }
    } catch {}
    await new Promise((res) => setTimeout(res, wait));
  }
}
const roomReady = mode === "desktop" && !room ? freshRoom().then((r) => (room = r)) : Promise.resolve(room);
const roomValid = mode === "desktop" || ROOM_RE.test(room || "");

const peers = new Map(); // id → "present" | "away"
// The seat of this browser in room r, as desktop or as phone: {id, resume} (connection.js).
const seatKey = (r) => `roomcast.seat.${mode}.${r}`;
const fileScope = mode; // the desktop's gallery and a phone page's received files are apart
let conn = null;
setupDevices({ conn: () => conn, peers, changed: () => showPeers(), remove: (id) => removeDevice(id), sendText: (obj) => sealer.sendText(obj), ready: () => !!conn?.ready && sealer.canSend() });
setupKnocks({ conn: () => conn, room: () => room, peers, changed: () => showPeers(), linkChanged: () => showLink() });
let testCutAfterChunk = -1; // tests: drop the socket right after sending this chunk
let testPauseAfterChunk = -1; // tests: stop sending right after this chunk

// Every (re)join and room switch starts a new generation: a frame sealed for one is not sent on
// another's socket (the engine offers again after each join, and resends what is not acknowledged).
let joinGen = 0;
const sealer = new Sealer({
  crypto: () => keys.crypto(),
  key: (epoch) => keys.roomKey(room, epoch),
  gen: () => joinGen,
  transmit: (frame, gen) => {
    if (gen !== joinGen || !conn?.ready) return false;
    conn.send(frame);
    // tests: the socket dies right after this chunk has gone (not when the engine handed it over)
    if (testCutAfterChunk >= 0 && typeof frame !== "string" && new DataView(frame.buffer, frame.byteOffset).getUint32(20) === testCutAfterChunk) {
      testCutAfterChunk = -1;
      conn.drop({ hold: true });
    }
    return true;
  },
  deliverText: (msg) => onRelayed(msg),
  deliverChunk: (c) => engine.onChunk(c),
  missingKey: () => askForKey(),
  warn: (what, detail) => warnSealing(what, detail),
});
const warned = new Map(); // what → when last logged: a flood is counted (sealer.stats), logged once a second
function warnSealing(what, detail) {
  if (Date.now() - (warned.get(what) ?? 0) < 1000) return;
  warned.set(what, Date.now());
  console.warn(`roomcast: refused a frame (${what}): ${detail}`);
}

const engine = new TransferEngine({
  send: (data) => conn.send(data), // unused: sendText and sendChunk seal every frame
  sendText: (obj) => sealer.sendText(obj),
  sendChunk: (xfer, index, data, last) => sealer.sendChunk(xfer, index, data, last),
  ready: () => !!conn && conn.ready && sealer.canSend(),
  selfId: () => conn?.id,
  peers: () => [...peers.keys()],
  present: (id) => peers.get(id) === "present",
  onOutgoing: (t) => {
    keepOutgoing(t);
    renderOutgoing(t);
  },
  onIncoming: (r) => renderIncoming(r),
  onReceived: (item) => addReceived(item), // resolves once stored: then file-done
  keepPartial: (meta) => putPartial(fileScope, meta),
  keepChunks: (r, batch) => putChunks(r.xfer, batch),
  storageFree: () => storageFree(),
  readParts: (r) => readChunks(r.xfer),
  dropPartial: (xfer) => dropPartial(xfer),
  onStall: () => conn?.probe(),
  onChunkSent: (t, i) => {
    if (i === testPauseAfterChunk) {
      testPauseAfterChunk = -1;
      engine.paused = true;
    }
  },
});

function onJoined(msg, { resumed, probe }) {
  if (typeof msg.admission === "string" && TOKEN_RE.test(msg.admission)) store(admissionKey(room), msg.admission);
  if (mode === "desktop" && !onDesktopJoined(msg)) return;
  const before = new Map(peers);
  peers.clear();
  const away = new Set(Array.isArray(msg.away) ? msg.away : []);
  for (const id of Array.isArray(msg.peers) ? msg.peers : []) peers.set(id, away.has(id) ? "away" : "present");
  for (const id of away) if (!peers.has(id)) peers.set(id, "away");
  showPeers();
  if (probe) {
    // A liveness probe's answer: only reconcile who is here.
    for (const id of before.keys()) if (!peers.has(id)) engine.onPeerLeft(id);
    for (const id of peers.keys()) if (!before.has(id)) engine.onPeerJoined(id);
    if ([...peers.keys()].some((id) => !before.has(id))) announceDevice();
    return;
  }
  joinGen++;
  joinedRoom(msg.room);
  engine.onJoined(resumed);
  announceDevice(); // after every (re)join: who this is, for the others' screens
  askForKey(true); // a phone asks on every join: the key may have changed while it was away
}

/** Every text message from the connection goes through the sealing layer, in order. */
function onText(msg) {
  sealer.text(msg);
}

/** …and every binary one: only sealed chunks come out of it (engine.onChunk). */
function onBinary(buf) {
  sealer.binary(buf);
}

// ---- the room key (keys.js): the desktop hands it out, a phone asks for it ----------------

let askedAt = -Infinity;
/** Phone: ask the desktop for the room key (at most every 2 s unless `now`); its proof ties it to our pairing. */
function askForKey(now = false) {
  if (mode !== "phone" || !conn?.ready || conn.id == null) return;
  if (!now && Date.now() - askedAt < 2000) return;
  const please = keys.keyPlease(room, conn.id);
  if (!please) return; // not paired (yet): the pair-confirm brings the key
  askedAt = Date.now();
  conn.send(JSON.stringify({ type: "key-please", from: conn.id, ...please }));
}

const answeredAt = new Map(); // desktop: member id → when its key-please was last answered
/** Desktop: send member `to` the current room key, wrapped under its K_pair (when it has one). */
async function sendRoomKey(to) {
  const wrapped = await keys.wrapForMember(room, to);
  if (wrapped && conn?.ready) conn.send(JSON.stringify({ type: "room-key", from: conn.id, to: [to], ...wrapped }));
}

function onKeyPlease(msg) {
  if (mode !== "desktop" || !hosting || !peers.has(msg.from)) return;
  if (Date.now() - (answeredAt.get(msg.from) ?? -Infinity) < 1000) return; // one a second per member
  if (!keys.checkKeyPlease(room, msg)) {
    warnSealing("key-please", `member ${msg.from} is not a device paired here`);
    return;
  }
  answeredAt.set(msg.from, Date.now());
  sendRoomKey(msg.from);
}

/** Phone: a room key (a room-key, or with the pair-confirm). */
async function onRoomKey(msg) {
  const had = !!keys.roomKey(room);
  if (!(await keys.phoneTakeKey(room, msg))) return;
  sealer.keyArrived();
  if (!had && conn?.ready) {
    engine.onJoined(true); // now it can offer, and answer offers
    announceDevice();
  }
  engine.pump();
  showPeers();
}

function onRelayed(msg) {
  if (engine.handleText(msg)) return;
  switch (msg.type) {
    case "peer-joined":
      if (mode === "desktop") letIn(msg.id);
      knocks.delete(msg.id); // let in (our admit, or an unlock)
      rememberMember(msg.id);
      peers.set(msg.id, "present");
      showPeers();
      engine.onPeerJoined(msg.id);
      announceDevice(); // so the newcomer learns this device's name
      break;
    case "peer-back":
      peers.set(msg.id, "present");
      showPeers();
      engine.onPeerBack(msg.id);
      announceDevice();
      break;
    case "peer-away":
      if (peers.has(msg.id)) peers.set(msg.id, "away");
      showPeers();
      engine.onPeerAway(msg.id);
      break;
    case "peer-left":
      peers.delete(msg.id);
      forgetMember(msg.id);
      showPeers();
      engine.onPeerLeft(msg.id);
      break;
    case "device":
      onDevice(msg);
      break;
    case "knock":
    case "knock-withdrawn":
    case "denied":
    case "removed":
    case "host":
    case "locked":
    case "unlocked":
      if (mode === "desktop") onAccess(msg);
      break;
    case "pair-confirm": // the desktop holds our K_pair: keep the pairing, knock with it from now on
      if (mode !== "phone" || !Array.isArray(msg.to) || !msg.to.includes(conn?.id)) break;
      if (keys.phoneConfirmed(room, msg.tag)) preparePhoneJoin();
      if (msg.key) onRoomKey(msg); // the room key comes with it (a device paired before: only that)
      break;
    case "room-key":
      if (mode === "phone" && Array.isArray(msg.to) && msg.to.includes(conn?.id)) onRoomKey(msg);
      break;
    case "key-please":
      onKeyPlease(msg);
      break;
  }
}

function onConnState(state) {
  const text = {
    connecting: "Connecting…",
    joined: "Connected",
    reconnecting: "Reconnecting…",
    offline: "Offline — waiting for the network…",
    replaced: "Open in another tab",
    lobby: "Waiting to be let in",
    denied: "Not let in",
    removed: "Removed",
    closed: "Room closed",
  }[state];
  $("conn").dataset.state = state;
  $("conn-text").textContent = text;
  $("replaced").hidden = state !== "replaced";
  // Forgetting is done where the seat is: a tab that another tab replaced holds nothing to leave.
  if (mode === "phone") $("forget").hidden = state === "replaced";
  if (mode === "phone") showEnded(state);
  if (mode === "desktop") $("new-room").disabled = state !== "joined";
  showPeers();
}

function startConnection() {
  conn = new Connection({
    room,
    seatKey,
    joinFields,
    onJoined,
    onText,
    onBinary,
    onState: onConnState,
    onError: (msg) => {
      $("conn-text").textContent = `Server: ${msg.message || msg.code}`;
    },
  });
  conn.start();
}

// ---- private rooms: host, lobby, admissions (the knocks themselves: knocks.js) -------------

const ENDED = ["denied", "removed", "closed"];
let keysReady = false; // desktop: the link secret and our key are loaded (the link needs them)
let locked = false; // desktop: the server said the room is locked (the link is shown only then)
let hosting = false; // desktop: the server said we host this room with our token

// phone: the `name` of its joins (a knock proving the link, or its pairing) and the code to show
let phoneJoin = { name: deviceName(), code: null };
async function preparePhoneJoin() {
  phoneJoin = await keys.phoneJoinName(room, deviceName());
  showPeers();
}

/** What this page's joins carry: the desktop its host token; a phone its admission and name. */
function joinFields() {
  if (mode === "desktop") {
    const t = load(hostKey(room));
    return TOKEN_RE.test(t || "") ? { host_token: t } : {};
  }
  const a = load(admissionKey(room));
  return { name: phoneJoin.name, ...(TOKEN_RE.test(a || "") ? { admission: a } : {}) };
}

/** The desktop's `joined`: it must be the host; it locks the room and reads who knocks. */
function onDesktopJoined(msg) {
  if (msg.host_token !== load(hostKey(room)) || msg.host !== msg.id) {
    // We do not host this room with our token (the server would not say so to anyone else):
    // it is not ours to show, nor its members ours to trust.
    switchRoom();
    return false;
  }
  hosting = true;
  locked = msg.locked === true;
  keys.makeRoomKey(room); // the room's key, made once (keys.js keeps it)
  knocks.clear();
  for (const k of Array.isArray(msg.lobby) ? msg.lobby : []) if (Number.isSafeInteger(k?.id)) addKnock(k.id, k.name);
  for (const id of Array.isArray(msg.peers) ? msg.peers : []) rememberMember(id);
  if (!locked) conn.send(JSON.stringify({ type: "lock" }));
  showLink();
  return true;
}

function onAccess(msg) {
  switch (msg.type) {
    case "knock":
      if (!Number.isSafeInteger(msg.id)) return;
      addKnock(msg.id, msg.name, true);
      break;
    case "knock-withdrawn":
    case "denied": // the answer to our deny
      knocks.delete(msg.id);
      break;
    case "removed": // the answer to our remove
      if (peers.delete(msg.id)) {
        forgetMember(msg.id);
        engine.onPeerLeft(msg.id);
      }
      forgetRemembered(msg.id);
      break;
    case "host": // another connection proved our token (a tab of ours without this seat)
      if (msg.id !== conn?.id) {
        // Not the host here any more: show no link, answer no knock (the server would refuse).
        hosting = false;
        knocks.clear();
        showLink();
      }
      break;
    case "locked":
      locked = true;
      showLink();
      break;
    case "unlocked": // not ours (the page never unlocks): lock again
      locked = false;
      showLink();
      if (hosting) conn.send(JSON.stringify({ type: "lock" }));
      break;
  }
  showPeers();
}

/** "Remove" on a device: the server closes it, revokes its seat and admission. */
function removeDevice(id) {
  if (!conn?.ready) return;
  // Forgotten: to pair again it must scan the code shown now.
  const stay = [...peers.keys()].filter((p) => p !== id);
  keys.removed(room, id, stay);
  conn.send(JSON.stringify({ type: "remove", id }));
  // A new room key, for the devices that stay: what is sent from now on the removed one cannot read.
  keys.rotateRoomKey(room);
  sealer.reset();
  for (const p of stay) sendRoomKey(p);
}

function members(r) {
  const list = (() => {
    try {
      return JSON.parse(load(membersKey(r)) || "[]");
    } catch {
      return [];
    }
  })();
  return Array.isArray(list) ? list.filter(Number.isSafeInteger) : [];
}
function rememberMember(id) {
  if (mode !== "desktop" || !Number.isSafeInteger(id)) return;
  const list = members(room).filter((m) => m !== id);
  list.push(id);
  store(membersKey(room), JSON.stringify(list.slice(-MEMBERS_MAX)));
}
function forgetRemembered(id) {
  store(membersKey(room), JSON.stringify(members(room).filter((m) => m !== id)));
}

/**
 * "New room": every device the desktop let in is removed with the reason "room-ended" (closed,
 * its seat and admission revoked, here or away; the server tells it why), and the desktop
 * leaves; then a fresh room with a fresh link.
 */
async function newRoom() {
  const old = room;
  dropOutgoing(old);
  if (conn?.ready) {
    for (const id of new Set([...peers.keys(), ...members(old)])) conn.send(JSON.stringify({ type: "remove", id, reason: "room-ended" }));
  }
  conn?.leave();
  conn = null;
  store(hostKey(old), null);
  store(membersKey(old), null);
  store(admissionKey(old), null);
  keys.forgetRoom(old);
  await switchRoom();
}

let switching = null;
function switchRoom() {
  switching ??= (async () => {
    conn?.leave();
    conn = null;
    joinGen++;
    sealer.reset();
    peers.clear();
    knocks.clear();
    locked = hosting = false;
    room = null;
    showLink();
    room = await freshRoom();
    showLink();
    startConnection();
    switching = null;
  })();
  return switching;
}

/** The phone's panel when the room is over for it: why, and "Ask again". */
function showEnded(state) {
  const ended = ENDED.includes(state);
  $("ended").hidden = !ended;
  if (!$("left-room").hidden) return; // forgotten: that panel says it
  $("phone").hidden = ended;
  if (!ended) return;
  store(admissionKey(room), null); // revoked by the server
  if (state === "removed") keys.phoneForget(room); // the desktop forgot this phone too
  const [title, why] = {
    denied: ["Not let in", "Your computer did not let this phone in."],
    removed: conn?.reason === "room-ended" // the server's word: no member can say it
      ? ["Your computer started a new room", "Scan the new code on your computer to send again."]
      : ["Removed from the room", "Your computer removed this phone. Ask again, or scan its code, to send again."],
    closed: ["This room is closed", "Scan the code on your computer again."],
  }[state];
  $("ended-title").textContent = title;
  $("ended-why").textContent = why;
  announce(title);
}

// ---- presence -----------------------------------------------------------------------------

function peerSummary() {
  const present = [...peers].filter(([, s]) => s === "present").map(([id]) => id);
  const away = [...peers].filter(([, s]) => s === "away").map(([id]) => id);
  return { present, away };
}

function showPeers() {
  for (const t of engine.outgoing) renderOutgoing(t);
  const { present, away } = peerSummary();
  if (mode === "desktop") {
    const p = $("pair-state");
    let state, text;
    const names = (ids) => ids.map(nameOf).join(", ");
    if (present.length === 1 && away.length === 0) [state, text] = ["connected", `Phone connected · ${nameOf(present[0])}`];
    else if (present.length > 0) [state, text] = ["connected", `${present.length + away.length} devices connected · ${names([...present, ...away])}`];
    else if (away.length > 0) [state, text] = ["reconnecting", `Phone reconnecting… · ${names(away)}`];
    else [state, text] = ["waiting", "Waiting for a device…"];
    if (conn && conn.state === "replaced") [state, text] = ["replaced", "Open in another tab"];
    p.dataset.state = state;
    p.textContent = text;
    $("pairing").classList.toggle("paired", state !== "waiting");
    renderDevices();
    renderKnocks();
  } else {
    const p = $("phone-state");
    let state, text;
    if (!roomValid) [state, text] = ["error", "This room link is not valid. Scan the code on your computer again."];
    else if (conn && conn.state === "replaced") [state, text] = ["replaced", "Open in another tab"];
    else if (conn && conn.state === "lobby")
      [state, text] = ["lobby", phoneJoin.code
        ? `Waiting for your computer to let this phone in — check that it shows the code ${spaced(phoneJoin.code)}.`
        : "Waiting for your computer to let this phone in — this link has no pairing code: scan the code on your computer again."];
    else if (conn && ENDED.includes(conn.state)) [state, text] = ["ended", "Not connected"];
    else if (conn && conn.state !== "joined") [state, text] = ["reconnecting", "Reconnecting… your photos will wait."];
    else if (conn && !sealer.canSend())
      // joined, but without the room key: nothing can be sealed, so nothing goes (docs/PRIVACY.md)
      [state, text] = keys.phonePaired(room)
        ? ["keyless", "Connected — waiting for your computer's key. Your photos will wait."]
        : ["keyless", "This phone is not paired with your computer: scan the code on your computer to send."];
    else if (present.length > 0) [state, text] = ["connected", "Connected to your computer"];
    else if (away.length > 0) [state, text] = ["reconnecting", "Your computer is reconnecting…"];
    else [state, text] = ["waiting", "Waiting for your computer — keep roomcast open on it."];
    p.dataset.state = state;
    p.textContent = text;
  }
}

// ---- outgoing transfers (both pages) ------------------------------------------------------

// What was picked and not yet delivered is kept in storage (store.js), so a reload or a closed
// tab sends it on when the page is open again. Files above this size are not copied into the
// browser's storage (they would double the disk used and may not fit): their rows say so.
const KEEP_OUTGOING_MAX = 1024 ** 3;

let keepSeq = 0;
function keepOutgoing(t) {
  if (t.replacedBy || t.state === "delivered" || t.state === "cancelled") {
    if (t.kept) removeOutgoing(t.xfer).catch(() => {});
    t.kept = false;
    return;
  }
  if (t.kept || t.keeping || t.size > KEEP_OUTGOING_MAX || !t.xfer) return;
  t.keeping = true;
  // `order`: the pick order, even for files picked in the same millisecond.
  const rec = { xfer: t.xfer, room, name: t.name, mime: t.mime, size: t.size, created: t.created, order: t.order ?? Date.now() + (keepSeq++ % 1000) / 1000, blob: t.file };
  putOutgoing(fileScope, rec).then(
    () => {
      t.keeping = false;
      t.kept = true;
      // Delivered or cancelled while it was being written: it must not come back.
      if (t.state === "delivered" || t.state === "cancelled" || t.replacedBy) keepOutgoing(t);
    },
    () => (t.keeping = false),
  );
}

/** Files an earlier page of this browser picked and did not deliver: they go again. */
async function restoreOutgoing() {
  let recs = [];
  try {
    recs = await listOutgoing(fileScope);
  } catch {
    return;
  }
  for (const rec of recs) {
    if (rec.room !== room) continue; // picked for another room: it waits for that one
    if (!(rec.blob instanceof Blob) || rec.blob.size !== rec.size) {
      removeOutgoing(rec.xfer).catch(() => {});
      continue;
    }
    engine.send(rec.blob, rec.name, rec.mime, { xfer: rec.xfer, created: rec.created, order: rec.order, kept: true });
  }
}

/** Something is being sent or waits to be (or is still being resized): leaving asks first. */
let preparing = 0;
function sending() {
  return preparing > 0 || engine.outgoing.some((t) => ["queued", "sending", "waiting"].includes(t.state));
}

/** Stops sending to this room, in this page and from storage (New room, Forget this computer). */
function dropOutgoing(r) {
  for (const t of engine.outgoing) engine.cancel(t);
  clearOutgoing(fileScope, r).catch(() => {});
}
addEventListener("beforeunload", (ev) => {
  if (!sending()) return;
  ev.preventDefault();
  ev.returnValue = ""; // older browsers need it set to ask
});

const outgoingList = () => $(mode === "desktop" ? "desktop-outgoing" : "phone-outgoing");

function transferItem(name, file) {
  const li = el("li", "xfer");
  li.tabIndex = -1; // the list's roving tabindex picks one row (keyboard: arrows, Home, End)
  const badge = el("span", "xfer-thumb file-badge", extension(name));
  li.append(badge);
  // A thumbnail only for what decodes; the badge stays for anything else.
  decodes(file, file?.type).then((ok) => {
    if (!ok || badge.parentNode !== li) return;
    const img = el("img", "xfer-thumb");
    img.alt = "";
    img.src = URL.createObjectURL(file);
    badge.replaceWith(img);
  });
  const body = el("div", "xfer-body");
  const top = el("div", "xfer-top");
  top.append(el("span", "xfer-name", name), el("span", "xfer-size muted", ""));
  const bar = el("progress", "xfer-bar");
  bar.max = 100;
  bar.value = 0;
  bar.setAttribute("aria-label", `Progress of ${name}`);
  const status = el("div", "xfer-status");
  const text = el("span", "xfer-text", "");
  const retry = el("button", "retry", "Retry");
  retry.type = "button";
  retry.hidden = true;
  const dismiss = el("button", "retry dismiss", "Dismiss");
  dismiss.type = "button";
  dismiss.hidden = true;
  dismiss.setAttribute("aria-label", `Dismiss ${name}`);
  status.append(text, retry, dismiss);
  body.append(top, bar, status);
  li.append(body);
  return li;
}

function renderOutgoing(t) {
  if (t.replacedBy) return;
  let li = t.ui;
  if (!li) {
    li = t.ui = transferItem(t.name, t.file);
    outgoingList().prepend(li);
  }
  if (!li.isConnected) outgoingList().prepend(li);
  if (mode === "phone") $("sent-empty").hidden = true;
  li.dataset.state = t.state;
  li.dataset.xfer = t.xfer || "";
  li.querySelector(".xfer-name").textContent = t.name;
  li.querySelector(".xfer-size").textContent = formatBytes(t.size || 0);
  const bar = li.querySelector("progress");
  const text = li.querySelector(".xfer-text");
  const retry = li.querySelector(".retry");
  const acked = t.state === "preparing" ? 0 : engine.ackedBytes(t);
  const pct = t.size ? Math.floor((acked * 100) / t.size) : t.state === "delivered" ? 100 : 0;
  bar.value = pct;
  retry.hidden = t.state !== "failed";
  retry.onclick = () => engine.retry(t);
  const offline = conn && conn.state !== "joined";
  const receiver = mode === "phone" ? "your computer" : "your phone";
  switch (t.state) {
    case "preparing": text.textContent = "Preparing…"; break;
    case "queued": text.textContent = peers.size ? "Queued" : `Waiting for ${receiver}…`; break;
    case "sending": {
      const away = t.targets.size > 0 && [...t.targets.keys()].every((id) => peers.get(id) === "away");
      if (conn?.state === "replaced") text.textContent = `${pct} % · paused: open in another tab`;
      else if (offline) text.textContent = `${pct} % · reconnecting…`;
      else if (away) text.textContent = `${pct} % · ${receiver} is reconnecting…`;
      else text.textContent = `${pct} %${t.speed > 0 ? ` · ${formatBytes(Math.round(t.speed))}/s` : ""}`;
      break;
    }
    case "waiting": text.textContent = `${pct} % · waiting for ${receiver} to come back…`; break;
    case "delivered": {
      if (!t.announced) {
        t.announced = true;
        announce(`Delivered ${t.name}`);
      }
      const secs = (t.finished - t.started) / 1000;
      const missed = t.missed?.length ? ` · not to ${t.missed.map(nameOf).join(", ")} (away)` : "";
      text.textContent = `Delivered ✓${secs > 0.05 ? ` in ${secs < 10 ? secs.toFixed(1) : Math.round(secs)} s` : ""}${missed}`;
      break;
    }
    case "failed": text.textContent = `Failed: ${t.error}`; break;
    case "cancelled": text.textContent = "Cancelled"; break;
  }
}

async function sendFiles(files, { resize = 0, quality = 0.85 } = {}) {
  preparing += files.length; // until each is the engine's (and kept): leaving asks first
  for (const file of files) {
    try {
      if (resize > 0 && isImage(file.type)) {
        const pending = { name: file.name, size: file.size, state: "preparing", file };
        renderOutgoing(pending);
        let out = file;
        try {
          out = await downscale(file, resize, quality);
        } catch {}
        engine.send(out, out.name, out.type, { ui: pending.ui });
      } else engine.send(file);
    } finally {
      preparing--;
    }
  }
}

/** Longest side ≤ maxSide, as JPEG, the right way up (EXIF orientation applied). */
async function downscale(file, maxSide, quality) {
  let src, w, h;
  try {
    src = await createImageBitmap(file, { imageOrientation: "from-image" });
    w = src.width;
    h = src.height;
  } catch {
    // Older Safari: an <img> applies the EXIF orientation, and so does drawing it.
    const url = URL.createObjectURL(file);
    try {
      src = new Image();
      src.src = url;
      await src.decode();
      w = src.naturalWidth;
      h = src.naturalHeight;
    } finally {
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    }
  }
  const scale = Math.min(1, maxSide / Math.max(w, h));
  if (scale >= 1) {
    src.close?.();
    return file; // already small enough: the original bytes
  }
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(w * scale));
  canvas.height = Math.max(1, Math.round(h * scale));
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(src, 0, 0, canvas.width, canvas.height);
  src.close?.();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
  if (!blob) return file;
  const name = `${file.name.replace(/\.[^.]*$/, "") || "photo"}.jpg`;
  return new File([blob], name, { type: "image/jpeg", lastModified: file.lastModified });
}

// ---- incoming transfers -------------------------------------------------------------------

const incomingViews = new Map();

function renderIncoming(r) {
  let li = incomingViews.get(r.xfer);
  if (!["receiving", "interrupted", "storing", "no-space"].includes(r.state)) {
    li?.remove();
    incomingViews.delete(r.xfer);
    return;
  }
  if (!li) {
    li = transferItem(r.name, null);
    li.dataset.state = "receiving";
    incomingViews.set(r.xfer, li);
    $(mode === "desktop" ? "desktop-incoming" : "phone-incoming").prepend(li);
    if (mode === "phone") $("received-section").hidden = false;
  }
  const pct = Math.min(100, r.size ? Math.floor((r.next * r.chunkSize * 100) / r.size) : 0);
  li.dataset.state = r.state;
  li.querySelector("progress").value = pct;
  li.querySelector(".xfer-size").textContent = formatBytes(r.size);
  const sender = mode === "desktop" ? "your phone" : "your computer";
  li.querySelector(".xfer-text").textContent = {
    receiving: `Receiving… ${pct} %`,
    interrupted: `Interrupted at ${pct} % · waiting for ${sender}…`,
    storing: "Saving…",
    "no-space": `Not enough space in this browser: ${formatBytes(r.noSpace?.need ?? r.size)} needed${r.noSpace?.free != null ? `, ${formatBytes(r.noSpace.free)} free` : ""}. Free some space (remove files here) and send it again.`,
  }[r.state];
  const dismiss = li.querySelector(".dismiss");
  dismiss.hidden = r.state !== "interrupted" && r.state !== "no-space";
  dismiss.onclick = () => engine.dismiss(r.xfer);
}

// ---- received files -----------------------------------------------------------------------

const received = []; // oldest first
let selected = null;

/**
 * A file has arrived: keep it (IndexedDB), then show it. Resolves once it is stored, which is
 * when the engine sends file-done; a browser that cannot store it still shows it, for this page.
 */
async function addReceived(item) {
  item.mime = item.mime || item.blob.type || "";
  item.time = item.time || new Date();
  try {
    item.key = await putFile(fileScope, item);
  } catch (e) {
    item.key = null;
    console.warn("roomcast: could not keep the file in this browser", e);
  }
  showReceived(item, { select: true });
  arrived(item);
}

function showReceived(item, { select: pick = false } = {}) {
  item.url = URL.createObjectURL(item.blob);
  received.push(item);
  if (mode === "desktop") {
    addThumb(item);
    if (pick || !selected) select(item);
  } else addPhoneReceived(item);
  countReceived();
}

/** What an earlier page kept, oldest first (the newest ends up on top, as when they arrived). */
async function loadReceived() {
  let items = [];
  try {
    items = await listFiles(fileScope);
  } catch {
    return;
  }
  for (const rec of items) {
    engine.remember(rec.xfer, rec.size); // an offer of it again is answered with file-done
    showReceived({ key: rec.key, xfer: rec.xfer, name: rec.name, mime: rec.mime, size: rec.size, time: new Date(rec.time), blob: rec.blob });
  }
  // Files that were still arriving: shown interrupted, going on from what is stored.
  let partials = [];
  try {
    partials = await listPartials(fileScope);
  } catch {}
  for (const { meta, indexes } of partials) {
    if (engine.completed.has(meta.xfer)) dropPartial(meta.xfer).catch(() => {});
    else engine.restore(meta, indexes);
  }
}

async function removeReceived(item) {
  if (item.key != null) {
    try {
      await removeFile(item.key);
    } catch {}
  }
  forget(item);
}

function forget(item) {
  const i = received.indexOf(item);
  if (i < 0) return;
  received.splice(i, 1);
  item.view?.remove();
  URL.revokeObjectURL(item.url);
  if (selected === item) {
    selected = null;
    const next = received[Math.min(i, received.length - 1)];
    if (next) select(next);
    else $("preview").hidden = true;
  }
  countReceived();
}

async function clearReceived() {
  try {
    await clearFiles(fileScope);
  } catch {}
  for (const item of [...received]) forget(item);
}

function countReceived() {
  if (mode === "desktop") {
    const n = received.length;
    $("gallery-empty").hidden = n > 0;
    $("download-all").disabled = n === 0;
    $("clear-all").disabled = n === 0;
    $("gallery-count").textContent = n ? `(${n})` : "";
    if (n === 0) $("clear-confirm").hidden = true;
  } else $("received-section").hidden = received.length === 0 && incomingViews.size === 0;
}

function addThumb(item) {
  const li = el("li", "thumb-item");
  const b = el("button", "thumb");
  b.type = "button";
  b.tabIndex = -1; // roving tabindex (see roving())
  b.setAttribute("aria-label", `Show ${item.name}`);
  b.append(fileCard(item, "thumb-card"));
  // The card until the picture has decoded; a file that never decodes keeps it.
  decodes(item.blob, item.mime).then((ok) => {
    item.decoded = ok;
    if (!ok || !b.isConnected) return;
    const img = el("img");
    img.src = item.url;
    img.alt = item.name;
    b.replaceChildren(img);
  });
  b.addEventListener("click", () => select(item));
  const rm = el("button", "thumb-remove", "×");
  rm.type = "button";
  rm.title = "Remove";
  rm.tabIndex = -1;
  rm.setAttribute("aria-label", `Remove ${item.name}`);
  rm.addEventListener("click", () => removeReceived(item));
  li.append(b, rm);
  $("gallery").prepend(li);
  item.thumb = b;
  item.view = li;
}

const canCopyImages = () =>
  typeof ClipboardItem === "function" && !!navigator.clipboard && typeof navigator.clipboard.write === "function";

function select(item) {
  selected = item;
  for (const it of received) it.thumb?.setAttribute("aria-current", it === item ? "true" : "false");
  $("preview").hidden = false;
  const media = $("preview-media");
  $("preview-name").textContent = item.name;
  $("preview-info").textContent = `${formatBytes(item.size)} · ${formatTime(item.time)}`;
  const a = $("preview-download");
  a.href = item.url;
  a.download = item.name;
  resetCopy();
  const copy = $("preview-copy");
  copy.hidden = true; // only for a picture that decoded, once it has
  const show = (ok) => {
    if (selected !== item) return;
    media.removeAttribute("aria-busy");
    if (ok) {
      const img = el("img", "preview-img");
      img.src = item.url;
      img.alt = item.name;
      media.replaceChildren(img);
    } else media.replaceChildren(previewCard(item));
    copy.hidden = !(ok && canCopyImages());
  };
  if (item.decoded !== undefined) return show(item.decoded);
  media.replaceChildren(); // a moment's blank rather than a card that turns into a picture
  media.setAttribute("aria-busy", "true");
  decodes(item.blob, item.mime).then((ok) => {
    item.decoded = ok;
    show(ok);
  });
}

function previewCard(item) {
  const card = el("div", "preview-file");
  card.append(
    el("span", "file-badge big-badge", extension(item.name)),
    el("strong", "preview-file-name", item.name),
    el("span", "preview-file-type", `${typeName(item.mime, item.name)} · ${formatBytes(item.size || 0)}`),
  );
  if (item.mime) card.append(el("code", "preview-file-mime", item.mime));
  card.append(el("span", "muted", "This browser cannot show this file. Download it to open it."));
  return card;
}

// "Copy image": the PNG encoding of a large photo takes seconds, so the button says at once
// that it is working, then how it went, and is itself again 2 s later.
let copyRun = 0;
let copyTimer = 0;

function resetCopy() {
  copyRun++;
  clearTimeout(copyTimer);
  const b = $("preview-copy");
  b.textContent = "Copy image";
  b.removeAttribute("aria-disabled");
  delete b.dataset.state;
}

async function copyImage() {
  const item = selected;
  const b = $("preview-copy");
  if (!item || b.getAttribute("aria-disabled") === "true") return;
  const run = ++copyRun;
  clearTimeout(copyTimer);
  // aria-disabled, not disabled: a disabled button would drop the keyboard focus.
  b.setAttribute("aria-disabled", "true");
  b.dataset.state = "busy";
  b.textContent = "Copying…";
  let ok = false;
  try {
    await navigator.clipboard.write([new ClipboardItem({ "image/png": toPng(item.blob) })]);
    ok = true;
  } catch {}
  if (run !== copyRun) return; // another file was picked meanwhile: its button is fresh
  b.removeAttribute("aria-disabled");
  b.dataset.state = ok ? "done" : "failed";
  b.textContent = ok ? "Copied ✓" : "Copy failed";
  copyTimer = setTimeout(() => run === copyRun && resetCopy(), 2000);
}

async function toPng(blob) {
  if (blob.type === "image/png") return blob;
  const bmp = await createImageBitmap(blob);
  const c = document.createElement("canvas");
  c.width = bmp.width;
  c.height = bmp.height;
  c.getContext("2d").drawImage(bmp, 0, 0);
  bmp.close?.();
  return new Promise((resolve, reject) => c.toBlob((b) => (b ? resolve(b) : reject(new Error("encode"))), "image/png"));
}

function addPhoneReceived(item) {
  $("received-section").hidden = false;
  const li = el("li");
  li.tabIndex = -1; // roving tabindex (see roving())
  const row = el("div", "received-row");
  const badge = el("span", "file-badge received-badge", extension(item.name));
  const text = el("span", "received-text");
  const facts = el("span", "muted", `${typeName(item.mime, item.name)} · ${formatBytes(item.size)}`);
  text.append(el("span", "received-name", item.name), facts);
  const a = el("a", "button", "Save");
  a.href = item.url;
  a.download = item.name;
  a.setAttribute("aria-label", `Save ${item.name}`);
  const rm = el("button", "quiet", "Remove");
  rm.type = "button";
  rm.setAttribute("aria-label", `Remove ${item.name}`);
  rm.addEventListener("click", () => removeReceived(item));
  row.append(badge, text, a, rm);
  li.append(row);
  decodes(item.blob, item.mime).then((ok) => {
    item.decoded = ok;
    if (!ok || !li.isConnected) return;
    const img = el("img");
    img.src = item.url;
    img.alt = item.name;
    li.prepend(img);
    badge.remove();
  });
  $("received").prepend(li);
  item.view = li;
}

// ---- desktop page -------------------------------------------------------------------------

const LOOPBACK = /^(localhost|.*\.localhost|127(\.\d+){3}|\[::1\])$/i;

const UNREACHABLE = {
  "loopback-only":
    "roomcast listens only on this computer's own loopback address (127.0.0.1), so no other device can open a link to it.",
  "no-lan-address":
    "This computer has no network address a phone could use (no Wi-Fi or Ethernet connection is up).",
  "not-lan": "roomcast listens on an address that is not on your local network.",
};

/**
 * The origins a phone can open the room at: {choices, note, unreachable}. With none (roomcast
 * on 127.0.0.1 and no public URL) `choices` is empty and `unreachable` says why: the page then
 * shows no link at all rather than one where nothing listens.
 */
async function originChoices() {
  let info = null;
  try {
    const r = await fetch("/api/origins", { cache: "no-store" });
    if (r.ok) info = await r.json();
  } catch {}
  const good = (s) => typeof s === "string" && /^https?:\/\/[^\s/?#]+/.test(s);
  if (info && good(info.public_url)) return { choices: [info.public_url], note: "" };
  if (LOOPBACK.test(location.hostname)) {
    const lan = (info && Array.isArray(info.lan) ? info.lan : []).filter(good);
    if (lan.length) return { choices: lan, note: "" };
    const why = info && UNREACHABLE[info.lan_unreachable];
    if (why) return { choices: [], note: "", unreachable: why, listensEverywhere: info.lan_unreachable === "no-lan-address" };
    return {
      choices: [location.origin],
      note:
        "This link uses this computer's own name, which your phone cannot reach. Open this page " +
        "at the computer's network address, or start roomcast with ROOMCAST_PUBLIC_URL.",
    };
  }
  return { choices: [location.origin], note: "" };
}

/** The room link: the room in the query, the single-use secret and our key in the fragment (never sent). */
function roomLink(origin) {
  const base = origin.endsWith("/") ? origin : `${origin}/`;
  const url = new URL(`?room=${encodeURIComponent(room)}`, base);
  url.hash = keys.linkFragment(room);
  return url.href;
}

let origins = [location.origin];
let link = "";

let shownLink = "";
/** The link and its QR code: once the room is locked (before, a stranger could walk in). */
function showLink() {
  const none = origins.length === 0;
  $("unreachable").hidden = !none;
  $("qr-box").hidden = none;
  $("link-row").hidden = none;
  $("pairing").querySelector(".hint").hidden = none;
  const ready = !none && !!room && locked && hosting && keysReady;
  $("qr-box").classList.toggle("pending", !none && !ready);
  if (!ready) {
    link = none || !room ? "" : roomLink(origins[0]);
    shownLink = "";
    $("link").value = "";
    $("qr-error").hidden = true;
    clearQr($("qr"));
    return;
  }
  const chosen = load(ORIGIN_KEY);
  const origin = origins.includes(chosen) ? chosen : origins[0];
  link = roomLink(origin);
  $("link").value = link;
  if (shownLink === link) return;
  shownLink = link;
  const qr = $("qr");
  drawQr(qr, link).then((ok) => {
    if (shownLink !== link) return;
    qr.hidden = !ok;
    $("qr-error").hidden = ok;
  });
}

async function setupDesktop() {
  document.title = "roomcast — pair your phone";
  $("desktop").hidden = false;
  $("qr").addEventListener("error", () => {
    $("qr").hidden = true;
    $("qr-error").hidden = false;
  });
  $("link").addEventListener("focus", () => $("link").select());
  $("copy-link").addEventListener("click", () => copyText($("link"), $("copy-link")));
  $("new-room").addEventListener("click", () => newRoom());
  $("origin").addEventListener("change", () => {
    store(ORIGIN_KEY, $("origin").value);
    showLink();
  });
  $("download-all").addEventListener("click", () => {
    received.forEach((item, i) =>
      setTimeout(() => {
        const a = el("a");
        a.href = item.url;
        a.download = item.name;
        document.body.append(a);
        a.click();
        a.remove();
      }, i * 250),
    );
  });
  $("preview-remove").addEventListener("click", () => selected && removeReceived(selected));
  $("clear-all").addEventListener("click", () => {
    $("clear-confirm-text").textContent = `Remove all ${received.length} files from this browser?`;
    $("clear-confirm").hidden = false;
    $("clear-yes").focus();
  });
  $("clear-no").addEventListener("click", () => ($("clear-confirm").hidden = true));
  $("clear-yes").addEventListener("click", async () => {
    $("clear-confirm").hidden = true;
    await clearReceived();
  });
  $("preview-copy").addEventListener("click", copyImage);
  $("desktop-files").addEventListener("change", (ev) => {
    sendFiles(Array.from(ev.target.files));
    ev.target.value = "";
  });
  // Drag and drop anywhere on the page.
  let depth = 0;
  const hasFiles = (ev) => Array.from(ev.dataTransfer?.types || []).includes("Files");
  addEventListener("dragenter", (ev) => {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    depth++;
    document.body.classList.add("dragging");
  });
  addEventListener("dragover", (ev) => {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    ev.dataTransfer.dropEffect = "copy";
  });
  addEventListener("dragleave", () => {
    if (--depth <= 0) {
      depth = 0;
      document.body.classList.remove("dragging");
    }
  });
  addEventListener("drop", (ev) => {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    depth = 0;
    document.body.classList.remove("dragging");
    sendFiles(Array.from(ev.dataTransfer.files));
  });

  const o = await originChoices();
  origins = o.choices;
  const sel = $("origin");
  sel.replaceChildren(...origins.map((s) => new Option(s, s)));
  $("origin-row").hidden = origins.length < 2;
  const chosen = load(ORIGIN_KEY);
  if (origins.includes(chosen)) sel.value = chosen;
  $("origin-note").hidden = !o.note;
  $("origin-note").textContent = o.note;
  $("unreachable-why").textContent = o.unreachable || "";
  $("fix-host").hidden = !!o.listensEverywhere; // it does already: only the public URL is left
  await roomReady;
  showLink();
}

async function copyText(input, button) {
  const done = () => {
    button.textContent = "Copied ✓";
    setTimeout(() => (button.textContent = "Copy link"), 2000);
  };
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(input.value);
      return done();
    }
  } catch {}
  // Plain HTTP on a LAN address: no async clipboard. Select the text and copy it the old way.
  input.focus();
  input.select();
  try {
    if (document.execCommand("copy")) return done();
  } catch {}
  button.textContent = "Press Ctrl+C";
}

// ---- phone page ---------------------------------------------------------------------------

function setupPhone() {
  document.title = "roomcast — send photos";
  $("phone").hidden = false;
  const options = () => ({ resize: Number($("resize").value) || 0, quality: Number($("quality").value) || 0.85 });
  const summary = () => {
    const r = Number($("resize").value) || 0;
    $("resize-summary").textContent = r ? `${r} px, quality ${Math.round(Number($("quality").value) * 100)}` : "off";
  };
  $("resize").addEventListener("change", summary);
  $("quality").addEventListener("change", summary);
  summary();
  for (const id of ["take-photo", "choose-photos", "choose-files"]) {
    $(id).addEventListener("change", (ev) => {
      const files = Array.from(ev.target.files);
      ev.target.value = "";
      sendFiles(files, options());
    });
  }
}

// "Forget this computer" (phone): leave the room for good (peer-left at once, the seat token
// dropped) and do not rejoin when the link is opened again, until the user asks.
const forgottenKey = (r) => `roomcast.forgotten.${r}`;

function showLeft(left) {
  $("left-room").hidden = !left;
  $("phone").hidden = left;
}

function setupForget() {
  $("forget").addEventListener("click", () => {
    $("forget-confirm").hidden = false;
    $("forget-yes").focus();
  });
  $("forget-no").addEventListener("click", () => ($("forget-confirm").hidden = true));
  $("forget-yes").addEventListener("click", () => {
    $("forget-confirm").hidden = true;
    dropOutgoing(room);
    conn?.leave();
    conn = null;
    peers.clear();
    store(admissionKey(room), null); // the leave gave it up: the next join knocks again
    keys.phoneForget(room); // and the pairing: to come back it scans the code shown now
    store(forgottenKey(room), "1");
    showLeft(true);
  });
  $("ask-again").addEventListener("click", async () => {
    $("ended").hidden = true;
    await preparePhoneJoin();
    conn?.retry();
  });
  $("join-again").addEventListener("click", async () => {
    store(forgottenKey(room), null);
    showLeft(false);
    await preparePhoneJoin();
    showPeers();
    startConnection();
  });
}

// ---- start --------------------------------------------------------------------------------

document.body.classList.remove("booting");
document.body.classList.add(`mode-${mode}`);
if (mode === "desktop") setupDesktop();
else {
  setupPhone();
  setupForget();
}
setupArrivals(mode);
const forgotten = mode === "phone" && roomValid && load(forgottenKey(room)) === "1";
if (forgotten) showLeft(true);
// Another tab of this browser took the seat (4001): this one stays quiet until asked.
$("use-here").addEventListener("click", () => conn?.takeBack());
showPeers();
// What earlier pages kept comes first, so the engine knows those files before any offer.
// A new code opened in this same tab (only the fragment changes, so the page is not loaded
// again): start over with it.
if (mode === "phone") window.addEventListener("hashchange", () => {
  if (location.hash.includes("k=")) location.reload();
});
// The keys come before the link (desktop) and before the first join (phone: its knock).
const keysLoaded = keys.ready().then((ok) => {
  keysReady = ok;
  if (mode === "desktop") showLink();
  if (!ok && mode === "desktop") $("qr-error").hidden = false;
});
roomReady
  .then(loadReceived)
  .then(restoreOutgoing)
  .then(() => keysLoaded)
  .then(() => (mode === "phone" && roomValid ? preparePhoneJoin() : null))
  .finally(() => {
    if (forgotten) return;
    if (roomValid) startConnection();
    else onConnState("offline");
  });

// A small handle for the browser tests (and for poking at the page from the console).
window.__roomcast = {
  mode,
  get room() { return room; },
  get link() { return link; },
  get id() { return conn?.id ?? null; },
  get connState() { return conn?.state ?? null; },
  get locked() { return locked && hosting; },
  knocks: () => [...knocks].map(([id, k]) => ({ id, ok: k.verdict?.ok ?? null, name: k.verdict?.name ?? null, code: k.verdict?.code ?? null })),
  get code() { return phoneJoin.code; },
  peers: () => Object.fromEntries(peers),
  outgoing: () => engine.outgoing.map((t) => ({ xfer: t.xfer, name: t.name, size: t.size, state: t.state, acked: engine.ackedBytes(t), error: t.error, resumedFrom: [...t.resumedFrom], firstChunk: t.firstChunk ?? null })),
  received: () => received.map((r) => ({ name: r.name, size: r.size, mime: r.mime, url: r.url, stored: r.key != null })),
  incoming: () => [...engine.incoming.values()].map((r) => ({ xfer: r.xfer, name: r.name, state: r.state, next: r.next, chunks: r.chunks, stored: r.stored })),
  drop: (opts) => conn?.drop(opts),
  release: () => conn?.release(),
  cutAfterChunk: (i) => { testCutAfterChunk = i; },
  pauseAfterChunk: (i) => { testPauseAfterChunk = i; },
  unpause: () => { engine.paused = false; engine.pump(); },
  sealing: () => ({ ...sealer.stats, epoch: keys.roomKey(room)?.epoch ?? null }),
};
