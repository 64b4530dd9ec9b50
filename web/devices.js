// Devices: who is who in the room.
import { $, el, load, store } from "./ui.js";
import { randomHex } from "./transfer.js";

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
let page = { conn: () => null, peers: new Map(), changed: () => {}, remove: () => {}, sendText: () => {}, ready: () => false }; // set by setupDevices

/**
 * The page's connection, its map of member id → presence, what to call when names change,
 * what "Remove" on a device does, and how a relayed message goes out (sendText: sealed, when
 * ready(): the name is among what only the room may read).
 */
export function setupDevices({ conn, peers, changed, remove, sendText, ready }) {
  page = { conn, peers, changed, remove, sendText, ready };
}

/** After every join: member ids are per room, so a new room forgets the names. */
export function joinedRoom(room) {
  if (room === devicesRoom) return;
  devices.clear();
  lastChange.clear();
  for (const p of pendingDevice.values()) clearTimeout(p.timer);
  pendingDevice.clear();
  devicesRoom = room;
}

export function forgetMember(id) {
  devices.delete(id);
  lastChange.delete(id);
  clearTimeout(pendingDevice.get(id)?.timer);
  pendingDevice.delete(id);
}

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

export function announceDevice() {
  const conn = page.conn();
  if (!conn?.ready || conn.id == null || !page.ready()) return;
  page.sendText({ type: "device", from: conn.id, device: deviceId, name: selfName });
}

// A member's announced name is redrawn at most once per DEVICE_CHANGE_MS: a member sending
// `device` as fast as the server lets it would otherwise redraw its row (and the Remove
// button under the pointer) hundreds of times a second. The latest announcement wins, late.
const DEVICE_CHANGE_MS = 2000;
const lastChange = new Map(); // member id → when its announcement was last taken
const pendingDevice = new Map(); // member id → { msg, timer }: the latest one, waiting its turn

export function onDevice(msg) {
  if (!Number.isSafeInteger(msg.from) || msg.from === page.conn()?.id) return;
  if (typeof msg.device !== "string" || !/^[0-9a-f]{32}$/.test(msg.device)) return;
  const wait = (lastChange.get(msg.from) ?? -Infinity) + DEVICE_CHANGE_MS - Date.now();
  if (wait > 0) {
    const p = pendingDevice.get(msg.from);
    if (p) p.msg = msg;
    else pendingDevice.set(msg.from, { msg, timer: setTimeout(() => takeDevice(pendingDevice.get(msg.from)?.msg), wait) });
    return;
  }
  takeDevice(msg);
}

function takeDevice(msg) {
  if (!msg) return;
  pendingDevice.delete(msg.from);
  const before = devices.get(msg.from);
  const name = cleanName(msg.name);
  if (before && before.device === msg.device && before.name === name) return;
  lastChange.set(msg.from, Date.now());
  devices.set(msg.from, { device: msg.device, name });
  page.changed();
}

/** What this page calls member `id`: the desktop's rename, else its own name, else its number. */
export function nameOf(id) {
  const d = devices.get(id);
  if (!d) return `device #${id}`;
  return cleanName(load(renameKey(d.device))) || d.name || `device #${id}`;
}

function rename(id, value) {
  const d = devices.get(id);
  if (!d) return;
  const name = cleanName(value);
  store(renameKey(d.device), name && name !== d.name ? name : null);
  page.changed();
}

// The desktop's list of the devices in the room, each with Rename and Remove. A row being renamed is left
// alone while the rest follows the room, so typing survives any presence change.
const deviceRows = new Map(); // member id → li

export function renderDevices() {
  const list = $("devices");
  for (const [id, li] of deviceRows) {
    if (page.peers.has(id)) continue;
    li.remove();
    deviceRows.delete(id);
  }
  for (const [id, state] of page.peers) {
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
    const rm = el("button", "device-remove quiet", "Remove");
    rm.type = "button";
    rm.setAttribute("aria-label", `Remove ${name}`);
    rm.title = "Disconnect it and keep it out until you allow it again";
    rm.addEventListener("click", () => page.remove(id));
    li.append(rm);
  }
  list.hidden = page.peers.size === 0;
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
    else page.changed();
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
