// Telling the person: arrivals on screen and to screen readers, the title and favicon count of
// what came while nobody was looking, notifications (asked for only on a click), the phone's
// "New from your computer" notice, and arrow keys through the lists of rows.
import { $, el } from "./ui.js";

let mode = "desktop"; // set by setupArrivals

/** A new file arrived (not one listed from storage): say so, on screen and to screen readers. */
export function arrived(item) {
  announce(`Received ${item.name}`);
  if (mode === "phone") showPhoneNotice(item.name);
  noteUnseen(item.name);
}

/** One line for screen readers (a visually hidden aria-live="polite" region). */
export function announce(text) {
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

export function setupArrivals(pageMode) {
  mode = pageMode;
  for (const ev of ["focus", "pointerdown", "keydown"]) addEventListener(ev, seen, true);
  document.addEventListener("visibilitychange", seen);
  for (const id of ["desktop-outgoing", "desktop-incoming", "phone-outgoing", "phone-incoming", "received"]) roving($(id));
  roving($("gallery"), { item: (li) => li.querySelector(".thumb"), with: (li) => li.querySelectorAll(".thumb-remove"), grid: true });
  if (mode === "desktop") setupNotify();
  else setupPhoneNotice();
}
