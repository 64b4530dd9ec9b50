// roomcast web client. The page opened without a room is the desktop: it makes a room, shows
// its link as a QR code, and collects what the phone sends. The room link (/?room=R) is the
// phone: camera first, every photo sent with its own progress. Files go both ways as chunked,
// acknowledged transfers (transfer.js, docs/TRANSFER.md) over a connection that keeps its seat
// in the room while the phone's camera or photo picker has the socket dropped (connection.js).
// What arrives is kept in this browser (store.js) until the user removes it.

import { Connection } from "./connection.js";
import { TransferEngine, decodeLegacy, randomHex } from "./transfer.js";
import { putFile, listFiles, removeFile, clearFiles, putPartial, putChunks, storageFree, listPartials, readChunks, dropPartial, putOutgoing, listOutgoing, removeOutgoing } from "./store.js";

const $ = (id) => document.getElementById(id);
const ROOM_RE = /^[A-Za-z0-9_-]{1,128}$/;
const DESKTOP_ROOM_KEY = "roomcast.desktop.room";
const ORIGIN_KEY = "roomcast.desktop.origin";

// localStorage: the desktop's room (and so its seat) outlives the tab, like its gallery.
function store(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {}
}
function load(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

// ---- formatting ---------------------------------------------------------------------------

export function formatBytes(n) {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}
const formatTime = (d) => d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
const isImage = (mime) => /^image\//.test(mime || "");
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

// ---- what a file is, as the person sees it ------------------------------------------------

// A file is shown as an image only once this browser has decoded it: an image/* type says what
// the sender's browser believed, not what this one can draw (HEIC on Chrome, a truncated JPEG).
// Anything that does not decode gets a file card, is never offered as an image, and its bytes
// are handed out untouched. Past this size a picture is not decoded just to be shown.
const DECODE_MAX = 200 * 1000 ** 2;
const decodeResults = new WeakMap(); // Blob → Promise<boolean>

/** Resolves true when `blob` decodes as an image in this browser (cached per Blob). */
function decodes(blob, mime) {
  if (!blob || !isImage(mime || blob.type) || blob.size > DECODE_MAX) return Promise.resolve(false);
  let p = decodeResults.get(blob);
  if (!p) {
    p = (async () => {
      const url = URL.createObjectURL(blob);
      try {
        const img = new Image();
        img.src = url;
        await img.decode();
        return img.naturalWidth > 0 && img.naturalHeight > 0;
      } catch {
        return false;
      } finally {
        URL.revokeObjectURL(url);
      }
    })();
    decodeResults.set(blob, p);
  }
  return p;
}

const TYPE_NAMES = {
  "image/heic": "HEIC image",
  "image/heif": "HEIF image",
  "image/heic-sequence": "HEIC image sequence",
  "image/jpeg": "JPEG image",
  "image/svg+xml": "SVG image",
  "image/vnd.microsoft.icon": "Icon",
  "image/x-icon": "Icon",
  "application/pdf": "PDF document",
  "application/zip": "ZIP archive",
  "application/gzip": "Gzip archive",
  "application/json": "JSON file",
  "text/plain": "Text file",
  "text/csv": "CSV file",
  "video/quicktime": "QuickTime video",
};
const KINDS = { image: "image", video: "video", audio: "audio", text: "text", font: "font" };

/** What a person would call the file: "HEIC image", "PNG image", "PDF document", "ZIP file". */
export function typeName(mime, name) {
  const m = String(mime || "").toLowerCase().split(";")[0].trim();
  if (TYPE_NAMES[m]) return TYPE_NAMES[m];
  const parts = /^([a-z]+)\/(?:x-)?([a-z0-9]{1,10})$/.exec(m);
  if (parts && KINDS[parts[1]]) return `${parts[2].toUpperCase()} ${KINDS[parts[1]]}`;
  const ext = extension(name);
  return ext === "FILE" ? "File" : `${ext} file`;
}

/** A file card: extension badge, name, type and size (the file's own facts, as text only). */
function fileCard(file, cls = "") {
  const card = el("div", `file-card ${cls}`.trim());
  card.append(el("span", "file-badge", extension(file.name)), el("span", "file-card-name", file.name));
  const facts = el("span", "file-card-type", `${typeName(file.mime, file.name)} · ${formatBytes(file.size || 0)}`);
  if (file.mime) facts.title = file.mime;
  card.append(facts);
  return card;
}

// ---- mode, room, connection ---------------------------------------------------------------

const params = new URLSearchParams(location.search);
const mode = params.has("room") ? "phone" : "desktop";
let room;
if (mode === "phone") {
  room = params.get("room");
} else {
  room = load(DESKTOP_ROOM_KEY);
  if (!room || !ROOM_RE.test(room)) {
    room = randomHex(16); // 128 random bits
    store(DESKTOP_ROOM_KEY, room);
  }
}
const roomValid = ROOM_RE.test(room || "");

const peers = new Map(); // id → "present" | "away"
// The seat of this browser in room r, as desktop or as phone: {id, resume} (connection.js).
const seatKey = (r) => `roomcast.seat.${mode}.${r}`;
const fileScope = mode; // the desktop's gallery and a phone page's received files are apart
let conn = null;
let testCutAfterChunk = -1; // tests: drop the socket right after sending this chunk
let testPauseAfterChunk = -1; // tests: stop sending right after this chunk

const engine = new TransferEngine({
  send: (data) => conn.send(data),
  ready: () => !!conn && conn.ready,
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
    if (i === testCutAfterChunk) {
      testCutAfterChunk = -1;
      conn.drop({ hold: true });
    }
  },
});

function onJoined(msg, { resumed, probe }) {
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
  if (msg.room !== devicesRoom) {
    devices.clear(); // member ids are per room
    devicesRoom = msg.room;
  }
  engine.onJoined(resumed);
  announceDevice(); // after every (re)join: who this is, for the others' screens
}

function onText(msg) {
  if (engine.handleText(msg)) return;
  switch (msg.type) {
    case "peer-joined":
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
      devices.delete(msg.id);
      showPeers();
      engine.onPeerLeft(msg.id);
      break;
    case "device":
      onDevice(msg);
      break;
    case "image": // the Socket.IO tutorial's message: a data: URL
      if (typeof msg.data === "string" && /^data:image\/[\w.+-]+[;,]/.test(msg.data)) {
        fetch(msg.data)
          .then((r) => r.blob())
          .then((blob) => addReceived({ blob, name: typeof msg.name === "string" ? msg.name : "image", mime: blob.type, size: blob.size, time: new Date() }))
          .catch(() => {});
      }
      break;
  }
}

function onBinary(buf) {
  if (engine.handleBinary(buf)) return;
  const legacy = decodeLegacy(buf); // the first web client's frame
  if (legacy) {
    const mime = typeof legacy.meta.mime === "string" ? legacy.meta.mime : "";
    const blob = new Blob([legacy.bytes], { type: mime });
    addReceived({ blob, name: String(legacy.meta.name || "file"), mime, size: blob.size, time: new Date() });
  }
}

function onConnState(state) {
  const text = {
    connecting: "Connecting…",
    joined: "Connected",
    reconnecting: "Reconnecting…",
    offline: "Offline — waiting for the network…",
    replaced: "Open in another tab",
  }[state];
  $("conn").dataset.state = state;
  $("conn-text").textContent = text;
  $("replaced").hidden = state !== "replaced";
  showPeers();
}

function startConnection() {
  conn = new Connection({
    room,
    seatKey,
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

// ---- devices: who is who -------------------------------------------------------------------

// Each browser has a random id of its own (localStorage, 128 bits) and a name from its user
// agent ("Chrome on Android"). It tells the room with a relayed `device` message after every
// (re)join and whenever a member joins or comes back (docs/TRANSFER.md, *Device names*). The
// desktop may rename a device; the rename is kept here, by that device's id. Names are only
// ever shown as text, and are cleaned and capped first: they come from the other side.
const DEVICE_KEY = "roomcast.device";
const NAME_MAX = 40;
const deviceId = (() => {
  let d = load(DEVICE_KEY);
  if (!/^[0-9a-f]{32}$/.test(d || "")) {
    d = randomHex(16);
    store(DEVICE_KEY, d);
  }
  return d;
})();
const renameKey = (device) => `roomcast.name.${device}`;
const devices = new Map(); // member id → {device, name}: what each member said it is
let devicesRoom = null;

/** "Chrome on Android", "Safari on iPhone", "Firefox on Windows"… from a user agent string. */
export function deviceName(ua = navigator.userAgent, touchPoints = navigator.maxTouchPoints || 0) {
  const os =
    /iPhone|iPod/.test(ua) ? "iPhone" :
    /iPad/.test(ua) || (/Macintosh/.test(ua) && touchPoints > 1) ? "iPad" : // iPadOS says Macintosh
    /Android/.test(ua) ? "Android" :
    /CrOS/.test(ua) ? "ChromeOS" :
    /Windows/.test(ua) ? "Windows" :
    /Macintosh|Mac OS X/.test(ua) ? "Mac" :
    /Linux|X11/.test(ua) ? "Linux" : "";
  const browser =
    /EdgA?\/|EdgiOS\/|Edge\//.test(ua) ? "Edge" :
    /OPR\/|OPiOS\/|Opera/.test(ua) ? "Opera" :
    /SamsungBrowser\//.test(ua) ? "Samsung Internet" :
    /Firefox\/|FxiOS\//.test(ua) ? "Firefox" :
    /CriOS\/|Chrome\/|Chromium\//.test(ua) ? "Chrome" :
    /Safari\//.test(ua) ? "Safari" : "";
  if (browser && os) return `${browser} on ${os}`;
  return browser || os || "A device";
}

/** A name fit to show: a string, no control or direction-changing characters, ≤ NAME_MAX. */
export function cleanName(s) {
  if (typeof s !== "string") return "";
  const flat = s.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/g, "").replace(/\s+/g, " ").trim();
  return Array.from(flat).slice(0, NAME_MAX).join("").trim();
}

const selfName = deviceName();

function announceDevice() {
  if (!conn?.ready || conn.id == null) return;
  conn.send(JSON.stringify({ type: "device", from: conn.id, device: deviceId, name: selfName }));
}

function onDevice(msg) {
  if (!Number.isSafeInteger(msg.from) || msg.from === conn?.id) return;
  if (typeof msg.device !== "string" || !/^[0-9a-f]{32}$/.test(msg.device)) return;
  const before = devices.get(msg.from);
  const name = cleanName(msg.name);
  if (before && before.device === msg.device && before.name === name) return;
  devices.set(msg.from, { device: msg.device, name });
  showPeers();
}

/** What this page calls member `id`: the desktop's rename, else its own name, else its number. */
function nameOf(id) {
  const d = devices.get(id);
  if (!d) return `device #${id}`;
  return cleanName(load(renameKey(d.device))) || d.name || `device #${id}`;
}

function rename(id, value) {
  const d = devices.get(id);
  if (!d) return;
  const name = cleanName(value);
  store(renameKey(d.device), name && name !== d.name ? name : null);
  showPeers();
}

// The desktop's list of the devices in the room, each with Rename. A row being renamed is left
// alone while the rest follows the room, so typing survives any presence change.
const deviceRows = new Map(); // member id → li

function renderDevices() {
  const list = $("devices");
  for (const [id, li] of deviceRows) {
    if (peers.has(id)) continue;
    li.remove();
    deviceRows.delete(id);
  }
  for (const [id, state] of peers) {
    let li = deviceRows.get(id);
    if (!li) deviceRows.set(id, (li = el("li", "device")));
    if (li.parentNode !== list) list.append(li);
    if (li.dataset.editing) continue;
    const name = nameOf(id);
    const sig = JSON.stringify([name, state, devices.has(id)]);
    if (li.dataset.sig === sig) continue;
    li.dataset.sig = sig;
    li.dataset.state = state;
    const focused = li.contains(document.activeElement);
    const label = el("span", "device-name", name);
    const status = el("span", "device-state muted", state === "present" ? "connected" : "reconnecting…");
    li.replaceChildren(label, status);
    if (devices.has(id)) {
      const b = el("button", "device-rename", "Rename");
      b.type = "button";
      b.setAttribute("aria-label", `Rename ${name}`);
      b.addEventListener("click", () => editName(id, li));
      li.append(b);
      if (focused) b.focus();
    }
  }
  list.hidden = peers.size === 0;
}

function editName(id, li) {
  const d = devices.get(id);
  if (!d) return;
  li.dataset.editing = "1";
  const form = el("form", "device-form");
  const input = el("input", "device-input");
  input.type = "text";
  input.maxLength = NAME_MAX;
  input.value = nameOf(id);
  input.placeholder = d.name || "Name";
  input.setAttribute("aria-label", `Name for ${d.name || `device #${id}`}`);
  const save = el("button", "primary", "Save");
  save.type = "submit";
  const cancel = el("button", "quiet", "Cancel");
  cancel.type = "button";
  const done = (value) => {
    delete li.dataset.editing;
    delete li.dataset.sig;
    if (value !== undefined) rename(id, value);
    else showPeers();
    li.querySelector(".device-rename")?.focus();
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    done(input.value);
  });
  cancel.addEventListener("click", () => done());
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") done();
  });
  form.append(input, save, cancel);
  li.replaceChildren(form);
  input.focus();
  input.select();
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
  } else {
    const p = $("phone-state");
    let state, text;
    if (!roomValid) [state, text] = ["error", "This room link is not valid. Scan the code on your computer again."];
    else if (conn && conn.state === "replaced") [state, text] = ["replaced", "Open in another tab"];
    else if (conn && conn.state !== "joined") [state, text] = ["reconnecting", "Reconnecting… your photos will wait."];
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

function keepOutgoing(t) {
  if (t.replacedBy || t.state === "delivered" || t.state === "cancelled") {
    if (t.kept) removeOutgoing(t.xfer).catch(() => {});
    t.kept = false;
    return;
  }
  if (t.kept || t.keeping || t.size > KEEP_OUTGOING_MAX || !t.xfer) return;
  t.keeping = true;
  const rec = { xfer: t.xfer, name: t.name, mime: t.mime, size: t.size, created: t.created, blob: t.file };
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
    if (!(rec.blob instanceof Blob) || rec.blob.size !== rec.size) {
      removeOutgoing(rec.xfer).catch(() => {});
      continue;
    }
    engine.send(rec.blob, rec.name, rec.mime, { xfer: rec.xfer, created: rec.created, kept: true });
  }
}

/** Something is being sent or waits to be: leaving the page asks first. */
function sending() {
  return engine.outgoing.some((t) => ["queued", "sending", "waiting", "preparing"].includes(t.state));
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

function extension(name) {
  const m = /\.([A-Za-z0-9]{1,5})$/.exec(name || "");
  return m ? m[1].toUpperCase() : "FILE";
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
  for (const file of files) {
    if (resize > 0 && isImage(file.type)) {
      const pending = { name: file.name, size: file.size, state: "preparing", file };
      renderOutgoing(pending);
      let out = file;
      try {
        out = await downscale(file, resize, quality);
      } catch {}
      engine.send(out, out.name, out.type, { ui: pending.ui });
    } else engine.send(file);
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

// ---- telling the person -------------------------------------------------------------------

/** A new file arrived (not one listed from storage): say so, on screen and to screen readers. */
function arrived(item) {
  announce(`Received ${item.name}`);
  if (mode === "phone") showPhoneNotice(item.name);
  noteUnseen(item.name);
}

/** One line for screen readers (a visually hidden aria-live="polite" region). */
function announce(text) {
  const box = $("announcer");
  box.append(el("p", "", text));
  while (box.childElementCount > 10) box.firstElementChild.remove();
}

// Files that arrived while nobody was looking: the title says how many ("(2) roomcast — …"),
// the favicon gets a badge, and, if the user allowed it, a notification says what came. It
// clears once the page is in front and focused again (or used).
let unseen = [];
let notification = null;
const looking = () => document.visibilityState === "visible" && document.hasFocus();

function noteUnseen(name) {
  if (looking()) return;
  unseen.push(name);
  showUnseen();
  notify();
}

function seen() {
  if (!unseen.length || !looking()) return;
  unseen = [];
  showUnseen();
  notification?.close();
  notification = null;
}

function showUnseen() {
  const base = document.title.replace(/^\(\d+\) /, "");
  document.title = unseen.length ? `(${unseen.length}) ${base}` : base;
  const icon = document.querySelector("link[rel~='icon']");
  if (!icon) return;
  if (!unseen.length) {
    icon.type = "image/svg+xml";
    icon.href = "/favicon.svg";
    return;
  }
  icon.type = "image/png";
  icon.href = badgedIcon(unseen.length);
}

/** favicon.svg drawn at 64 px with a red badge holding `n`, as a data: URL. */
function badgedIcon(n) {
  const c = document.createElement("canvas");
  c.width = c.height = 64;
  const g = c.getContext("2d");
  g.scale(64 / 24, 64 / 24); // favicon.svg's 24-unit box
  g.fillStyle = "#2a62e8";
  g.beginPath();
  if (g.roundRect) g.roundRect(0, 0, 24, 24, 6);
  else g.rect(0, 0, 24, 24);
  g.fill();
  g.fillStyle = "#ffffff";
  g.fill(new Path2D("M6 8a2 2 0 0 1 2-2h8a2 2 0 0 1 2 2v5a2 2 0 0 1-2 2h-3l-3 3v-3H8a2 2 0 0 1-2-2z"));
  g.setTransform(1, 0, 0, 1, 0, 0);
  g.fillStyle = "#d93025";
  g.beginPath();
  g.arc(44, 20, 20, 0, 2 * Math.PI);
  g.fill();
  g.fillStyle = "#ffffff";
  g.font = "bold 28px system-ui, sans-serif";
  g.textAlign = "center";
  g.textBaseline = "middle";
  g.fillText(n > 9 ? "9+" : String(n), 44, 22);
  return c.toDataURL("image/png");
}

const canNotify = () => typeof Notification === "function" && typeof Notification.requestPermission === "function";

function notify() {
  if (!canNotify() || Notification.permission !== "granted") return;
  const n = unseen.length;
  const from = mode === "desktop" ? "From your phone" : "From your computer";
  try {
    notification?.close();
    notification = new Notification(n === 1 ? `Received ${unseen[0]}` : `${n} files received`, {
      body: n === 1 ? from : `${from}: ${unseen.slice(-3).join(", ")}${n > 3 ? "…" : ""}`,
      tag: "roomcast-arrivals", // one notification, updated, not a pile
      icon: "/favicon.svg",
    });
    notification.onclick = () => {
      window.focus();
      notification?.close();
    };
  } catch {
    notification = null; // Android Chrome: only a service worker may show one
  }
}

/** "Notify me when files arrive": the browser is asked only when the user clicks it. */
function showNotifyControl() {
  const b = $("notify");
  const note = $("notify-state");
  if (!canNotify()) {
    b.hidden = note.hidden = true; // no notifications here (plain-HTTP pages have none)
    return;
  }
  const p = Notification.permission;
  const asked = !!note.dataset.asked;
  b.hidden = p !== "default";
  // Before any click only "on" is worth saying; after one, what came of it.
  note.hidden = p !== "granted" && !asked;
  note.textContent = {
    granted: "Notifications on ✓",
    denied: "Notifications are blocked for this page in the browser's settings",
    default: "Not allowed yet: your browser may ask beside the address bar",
  }[p];
}

function setupNotify() {
  showNotifyControl();
  $("notify").addEventListener("click", async () => {
    const note = $("notify-state");
    note.dataset.asked = "1";
    note.textContent = "Answer your browser's question to turn notifications on";
    note.hidden = false;
    try {
      await Notification.requestPermission();
    } catch {}
    showNotifyControl();
  });
}

// The phone: what the computer sends lands at the top of the page, with a notice.
let phoneNews = [];

function showPhoneNotice(name) {
  phoneNews.push(name);
  const more = phoneNews.length - 1;
  $("phone-notice-text").textContent = `New from your computer: ${name}${more ? ` and ${more} more` : ""}`;
  $("phone-notice").hidden = false;
}

function setupPhoneNotice() {
  const hide = () => {
    phoneNews = [];
    $("phone-notice").hidden = true;
  };
  $("phone-notice-dismiss").addEventListener("click", hide);
  $("phone-notice-show").addEventListener("click", () => {
    $("received-section").scrollIntoView({ block: "start" });
    $("received").querySelector("li")?.focus({ preventScroll: true });
    hide();
  });
}

/**
 * Arrow keys in a list of rows: one row is in the tab order at a time (roving tabindex); Up and
 * Down (and Left and Right in the gallery's grid) move between rows, Home and End to the ends.
 * `item(li)` is the element of a row that takes the focus; `with(li)` the controls that follow
 * it in and out of the tab order (the gallery's ×).
 */
function roving(list, { item = (li) => li, with: companions = () => [], grid = false } = {}) {
  let active = null;
  let picked = false; // the user has been in the list: keep their row; until then, the newest
  const rows = () => [...list.children].filter((li) => li.tagName === "LI" && !li.hidden);
  const setActive = (li) => {
    active = li;
    for (const row of rows()) {
      const tab = row === li ? 0 : -1;
      item(row).tabIndex = tab;
      for (const c of companions(row)) c.tabIndex = tab;
    }
  };
  const fix = () => {
    const all = rows();
    setActive(picked && all.includes(active) ? active : all[0] || null);
  };
  new MutationObserver(fix).observe(list, { childList: true });
  list.addEventListener("focusin", (ev) => {
    const li = rows().find((row) => row.contains(ev.target));
    if (!li) return;
    picked = true;
    if (li !== active) setActive(li);
  });
  const keys = { ArrowDown: 1, ArrowUp: -1, Home: -Infinity, End: Infinity, ...(grid ? { ArrowRight: 1, ArrowLeft: -1 } : {}) };
  list.addEventListener("keydown", (ev) => {
    const step = keys[ev.key];
    if (step === undefined || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (ev.target.closest("input, select, textarea")) return;
    const all = rows();
    const from = all.findIndex((row) => row.contains(ev.target));
    if (from < 0) return;
    ev.preventDefault();
    const to = Math.max(0, Math.min(all.length - 1, Number.isFinite(step) ? from + step : step > 0 ? all.length - 1 : 0));
    setActive(all[to]);
    item(all[to]).focus();
  });
  fix();
}

function setupArrivals() {
  for (const ev of ["focus", "pointerdown", "keydown"]) addEventListener(ev, seen, true);
  document.addEventListener("visibilitychange", seen);
  for (const id of ["desktop-outgoing", "desktop-incoming", "phone-outgoing", "phone-incoming", "received"]) roving($(id));
  roving($("gallery"), { item: (li) => li.querySelector(".thumb"), with: (li) => li.querySelectorAll(".thumb-remove"), grid: true });
  if (mode === "desktop") setupNotify();
  else setupPhoneNotice();
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
    if (why) return { choices: [], note: "", unreachable: why };
    return {
      choices: [location.origin],
      note:
        "This link uses this computer's own name, which your phone cannot reach. Open this page " +
        "at the computer's network address, or start roomcast with ROOMCAST_PUBLIC_URL.",
    };
  }
  return { choices: [location.origin], note: "" };
}

function roomLink(origin) {
  const base = origin.endsWith("/") ? origin : `${origin}/`;
  return new URL(`?room=${encodeURIComponent(room)}`, base).href;
}

let origins = [location.origin];
let link = "";

function showLink() {
  const none = origins.length === 0;
  $("unreachable").hidden = !none;
  $("qr-box").hidden = none;
  $("link-row").hidden = none;
  $("pairing").querySelector(".hint").hidden = none;
  if (none) {
    link = "";
    $("link").value = "";
    $("qr").removeAttribute("src");
    return;
  }
  const chosen = load(ORIGIN_KEY);
  const origin = origins.includes(chosen) ? chosen : origins[0];
  link = roomLink(origin);
  $("link").value = link;
  const qr = $("qr");
  qr.hidden = false;
  $("qr-error").hidden = true;
  qr.src = `/qr.svg?text=${encodeURIComponent(link)}`;
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
  $("new-room").addEventListener("click", () => {
    for (const t of engine.outgoing) engine.cancel(t);
    conn.leave();
    room = randomHex(16);
    store(DESKTOP_ROOM_KEY, room);
    peers.clear();
    showLink();
    startConnection();
  });
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

  link = roomLink(location.origin); // for the tests' handle until the origins are known; not shown
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
    for (const t of engine.outgoing) engine.cancel(t);
    conn?.leave();
    conn = null;
    peers.clear();
    store(forgottenKey(room), "1");
    showLeft(true);
  });
  $("join-again").addEventListener("click", () => {
    store(forgottenKey(room), null);
    showLeft(false);
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
setupArrivals();
const forgotten = mode === "phone" && roomValid && load(forgottenKey(room)) === "1";
if (forgotten) showLeft(true);
// Another tab of this browser took the seat (4001): this one stays quiet until asked.
$("use-here").addEventListener("click", () => conn?.takeBack());
showPeers();
// What earlier pages kept comes first, so the engine knows those files before any offer.
loadReceived().then(restoreOutgoing).finally(() => {
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
  peers: () => Object.fromEntries(peers),
  outgoing: () => engine.outgoing.map((t) => ({ xfer: t.xfer, name: t.name, size: t.size, state: t.state, acked: engine.ackedBytes(t), error: t.error, resumedFrom: [...t.resumedFrom], firstChunk: t.firstChunk ?? null })),
  received: () => received.map((r) => ({ name: r.name, size: r.size, mime: r.mime, url: r.url, stored: r.key != null })),
  incoming: () => [...engine.incoming.values()].map((r) => ({ xfer: r.xfer, name: r.name, state: r.state, next: r.next, chunks: r.chunks, stored: r.stored })),
  drop: (opts) => conn?.drop(opts),
  release: () => conn?.release(),
  cutAfterChunk: (i) => { testCutAfterChunk = i; },
  pauseAfterChunk: (i) => { testPauseAfterChunk = i; },
  unpause: () => { engine.paused = false; engine.pump(); },
};
