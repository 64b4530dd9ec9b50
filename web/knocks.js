// The desktop's knocks (private rooms, docs/PRIVACY.md): each newcomer waiting in the lobby,
// what its knock proves (keys.readKnock: the link's current secret, or a pairing), and its row
// with Allow and Deny — or Deny only, for a wrong or old link and for a copy of a knock. The
// link's secret is spent when the server says a device is in (letIn), and the other waiting
// knocks are checked again. app.js owns the connection and the room; it hands them over here.

import * as keys from "./keys.js";
import { $, el } from "./ui.js";
import { announce } from "./notice.js";
import { cleanName } from "./devices.js";

/** newcomer id → { raw: the name its knock gave, verdict: keys.readKnock()'s (null while checked) } */
export const knocks = new Map();
let page = { conn: () => null, room: () => "", peers: new Map(), changed() {}, linkChanged() {} };

/** conn(), room(), peers (id → state), changed() (redraw), linkChanged() (the link's secret changed). */
export function setupKnocks(p) {
  page = p;
}

/**
 * The server let knock `id` in (peer-joined): remember its device, send it our confirmation of
 * the pairing, and spend the link's secret;
 * the QR code shows a fresh one, and every other waiting knock made with the spent one is
 * checked again (it becomes "wrong or old link").
 */
export function letIn(id) {
  const v = knocks.get(id)?.verdict;
  if (!v?.ok) return;
  const spent = keys.admitted(page.room(), id, v);
  // Tell the device we hold the same K_pair: it keeps the pairing only then.
  const conn = page.conn();
  // The room key goes with it, wrapped under the K_pair (keys.js): the device can read the room from now on.
  const tag = keys.desktopConfirm(v);
  if (tag)
    keys.wrapForVerdict(page.room(), v).then((wrapped) => {
      if (conn?.ready && conn === page.conn()) conn.send(JSON.stringify({ type: "pair-confirm", from: conn.id, to: [id], tag, ...(wrapped ?? {}) }));
    });
  if (!spent) return;
  page.linkChanged();
  for (const [other, k] of knocks) if (other !== id && k.verdict?.ok && k.verdict.secret) addKnock(other, k.raw);
}

/** A knock to show: checked against the link secret and the devices paired before. */
export function addKnock(id, raw, tell = false) {
  const k = { raw: typeof raw === "string" ? raw : "", verdict: null };
  knocks.set(id, k);
  // A check that fails is a wrong link: the row must never stay "checking" with nothing to press.
  keys.readKnock(page.room(), k.raw).catch(() => ({ ok: false, name: "" })).then((verdict) => {
    if (knocks.get(id) !== k) return; // gone, or knocked again
    k.verdict = verdict;
    if (tell) announce(verdict.ok ? `${knockName(id)} asks to join` : "A device with a wrong or old link asks to join");
    page.changed();
  });
}

/** Knock `id` comes from a device key already in the room, or in another waiting knock. */
function copyOf(id) {
  const pub = knocks.get(id)?.verdict?.phone;
  if (!pub) return false;
  for (const [other, k] of knocks) if (other !== id && k.verdict?.phone === pub) return true;
  const here = keys.memberDevices(page.room());
  for (const m of page.peers.keys()) if (here[m] === pub) return true;
  return false;
}

const knockName = (id) => {
  const v = knocks.get(id)?.verdict;
  return (v?.ok && cleanName(v.name)) || "A device";
};
export const spaced = (code) => `${code.slice(0, 3)} ${code.slice(3)}`;

// A knock's buttons answer only once its row has been on screen this long, and again after it
// moved: a stranger who knocks (or knocks again) just as the person clicks must not have the
// click land on its own Allow.
const KNOCK_ARM_MS = 600;

/** The desktop's list of devices waiting in the lobby, each with Allow and Deny (or Deny only). */
export function renderKnocks() {
  const list = $("knocks");
  list.tabIndex = -1; // where focus goes when the row it was on is gone
  const focused = list.contains(document.activeElement) ? document.activeElement.closest("button") : null;
  const want = focused ? { key: focused.closest("li").dataset.key, action: focused.dataset.action } : null;
  const old = new Map([...list.children].map((li, i) => [li.dataset.key, { li, i }]));
  const rows = [...knocks].map(([id, k], i) => {
    const v = k.verdict;
    const key = `${id}:${v ? (v.ok ? `ok:${v.code}:${v.name}:${copyOf(id)}` : "wrong") : "checking"}`; // knocked again, or checked: another row
    const kept = old.get(key);
    if (!kept) return knockRow(id, key);
    if (kept.i !== i) arm(kept.li); // it moved under the pointer
    return kept.li;
  });
  if (rows.length === list.children.length && rows.every((r, i) => r === list.children[i])) return;
  list.replaceChildren(...rows);
  list.hidden = rows.length === 0;
  if (want) {
    const same = [...list.querySelectorAll("button")].find((b) => b.closest("li").dataset.key === want.key && b.dataset.action === want.action);
    (same || list).focus(); // never onto another row's Allow
  }
}

function knockRow(id, key) {
  const li = el("li", "knock");
  li.dataset.id = String(id);
  li.dataset.key = key;
  const v = knocks.get(id)?.verdict;
  const name = knockName(id);
  const text = el("span", "knock-text");
  if (!v) {
    text.append("A device wants to join — checking its link…");
    li.append(text);
    return li;
  }
  const deny = el("button", "quiet", "Deny");
  deny.type = "button";
  deny.dataset.action = "deny";
  deny.addEventListener("click", () => answerKnock(id, "deny"));
  if (!v.ok) {
    // No proof of the code shown now: a photo of an older one, a link from someone's history,
    // or a client that does not pair. It cannot be let in from here.
    li.classList.add("wrong");
    text.append(el("strong", "", "A device with a wrong or old link"), " wants to join. It did not scan the code shown now.");
    deny.setAttribute("aria-label", "Deny the device with a wrong or old link");
    li.append(text, deny);
    arm(li);
    return li;
  }
  if (copyOf(id)) {
    // The same device key as a member here or another knock: one of them replays a knock the
    // relay saw (the same name, the same code). Nothing to allow.
    li.classList.add("wrong");
    text.append(el("strong", "", name), " knocks again while the same device is already here or waiting: a copy of its knock?");
    deny.setAttribute("aria-label", `Deny the copy of ${name}`);
    li.append(text, deny);
    arm(li);
    return li;
  }
  text.append(el("strong", "", name), v.known ? " (paired before) wants to join this room" : " wants to join this room");
  const code = el("span", "knock-code", `Code ${spaced(v.code)}`);
  code.title = "The phone shows the same code: compare them before you allow it";
  const allow = el("button", "primary", "Allow");
  allow.type = "button";
  allow.dataset.action = "admit";
  allow.setAttribute("aria-label", `Allow ${name}`);
  allow.addEventListener("click", () => answerKnock(id, "admit"));
  deny.setAttribute("aria-label", `Deny ${name}`);
  li.append(text, code, allow, deny);
  arm(li);
  return li;
}

function arm(li) {
  const buttons = li.querySelectorAll("button");
  for (const b of buttons) b.disabled = true;
  clearTimeout(li.armTimer);
  li.armTimer = setTimeout(() => {
    for (const b of buttons) b.disabled = false;
  }, KNOCK_ARM_MS);
}

function answerKnock(id, type) {
  const conn = page.conn();
  if (!conn?.ready) return;
  const v = knocks.get(id)?.verdict;
  if (type === "admit" && (!v?.ok || copyOf(id))) return; // only a device that proved the code
  conn.send(JSON.stringify({ type, id })); // its secret is spent once the server says it is in
  if (type === "deny") knocks.delete(id);
  page.changed();
}

