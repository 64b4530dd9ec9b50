// Private rooms as people meet them: a stranger who has the link (a photo of the screen, a
// forwarded message) gets nothing until the person at the desktop lets them in; the desktop
// can say no, remove a device, or start a new room; a device it let in comes back by itself.
// What the stranger's browser receives is read off its own WebSocket, frame by frame.
import { test } from "node:test";
import assert from "node:assert/strict";
import { devices } from "playwright-core";
import { pairing, makePhoto, sha256, receivedHashes, admitted, desktopReady, qrText, seatsExpired, startServer, currentLink } from "./harness.mjs";

const DEADLINE = { timeout: 90_000 };
const { pair, browser, servers } = pairing();

/** Opens `url` in a new iPhone-like browser (another device), recording every frame it receives. */
async function stranger(url) {
  const ctx = await (await browser()).newContext({ ...devices["iPhone 13"] });
  const page = await ctx.newPage();
  const frames = [];
  page.on("websocket", (ws) => ws.on("framereceived", (f) => frames.push(typeof f.payload === "string" ? f.payload : `<binary ${f.payload.length}>`)));
  await page.goto(url, { timeout: 15000 });
  return { ctx, page, frames, types: () => frames.map((f) => (f.startsWith("{") ? JSON.parse(f).type : f)) };
}

const knock = (desktop, name) => desktop.locator("#knocks li.knock", { hasText: `${name} wants to join this room` });

const wrongKnock = (desktop) => desktop.locator("#knocks li.knock.wrong");

test("a stranger with an old link sees nothing of the room while the phone sends a photo and cannot be let in; one with the code shown now is asked about with its code; 'Deny' and 'Ask again'", DEADLINE, async () => {
  const { desktop, phone, link, errors, close } = await pair();
  // A photo of the screen taken before the phone paired: its secret is spent.
  const s = await stranger(link);
  await s.page.getByText("Waiting for your computer to let this phone in").waitFor({ timeout: 10000 });
  await wrongKnock(desktop).getByText("A device with a wrong or old link").waitFor({ timeout: 10000 });
  assert.equal(await desktop.locator("#knocks button", { hasText: "Allow" }).count(), 0, "it cannot be let in from here");
  // It is not counted as connected, and the phone does not hear of it.
  await desktop.locator("#pair-state", { hasText: "Phone connected · Chrome on Android" }).waitFor({ timeout: 5000 });
  assert.equal(Object.keys(await phone.evaluate(() => window.__roomcast.peers())).length, 1, "the phone sees only the desktop");

  const photo = makePhoto(800, 600, 71);
  await phone.setInputFiles("#choose-photos", { name: "private.png", mimeType: "image/png", buffer: photo });
  await phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: "private.png" }).waitFor({ timeout: 20000 });
  assert.deepEqual(await receivedHashes(desktop), { "private.png": sha256(photo) });
  assert.deepEqual(s.types(), ["lobby"], "the stranger received one frame: that it waits");
  assert.equal(await s.page.locator("#received li").count(), 0);
  await desktop.getByRole("button", { name: "Deny the device with a wrong or old link" }).click();
  await s.page.getByRole("heading", { name: "Not let in" }).waitFor({ timeout: 10000 });
  assert.deepEqual(s.types(), ["lobby", "denied"], "and then only the answer");
  assert.equal(await s.page.evaluate(() => window.__roomcast.connState), "denied");

  // Someone who photographs the code shown now has the secret: it is asked about, with its
  // code, and the person can say no, or (asked again) yes.
  const t = await stranger(await currentLink(desktop));
  await knock(desktop, "Safari on iPhone").waitFor({ timeout: 10000 });
  const code = await t.page.evaluate(() => window.__roomcast.code);
  await knock(desktop, "Safari on iPhone").getByText(`Code ${code.slice(0, 3)} ${code.slice(3)}`).waitFor({ timeout: 5000 });
  await desktop.getByRole("button", { name: "Deny Safari on iPhone" }).click();
  await t.page.getByRole("heading", { name: "Not let in" }).waitFor({ timeout: 10000 });
  await knock(desktop, "Safari on iPhone").waitFor({ state: "detached", timeout: 5000 });
  await t.page.getByRole("button", { name: "Ask again" }).click();
  await knock(desktop, "Safari on iPhone").waitFor({ timeout: 10000 });
  await desktop.getByRole("button", { name: "Allow Safari on iPhone" }).click();
  await t.page.getByText("Connected to your computer").waitFor({ timeout: 10000 });
  await desktop.locator("#pair-state", { hasText: "2 devices connected" }).waitFor({ timeout: 10000 });
  assert.deepEqual(errors, []);
  await s.ctx.close();
  await t.ctx.close();
  await close();
});

test("'Remove' disconnects a device and keeps it out: its reload knocks again, its pass no longer works", DEADLINE, async () => {
  const { desktop, phone, errors, close } = await pair();
  const pass = await phone.evaluate((r) => localStorage.getItem(`roomcast.admission.${r}`), await phone.evaluate(() => window.__roomcast.room));
  assert.match(pass || "", /^[A-Za-z0-9_-]{16,128}$/, "the phone keeps its pass into the room");
  await desktop.getByRole("button", { name: "Remove Chrome on Android" }).click();
  await phone.getByRole("heading", { name: "Removed from the room" }).waitFor({ timeout: 10000 });
  await desktop.locator("#pair-state[data-state=waiting]").waitFor({ timeout: 10000 });
  assert.deepEqual(await desktop.evaluate(() => window.__roomcast.peers()), {});

  // The phone reloads: it is a newcomer again, with no pairing and a spent link: the desktop
  // cannot let it in from that.
  await phone.reload({ timeout: 15000 });
  await phone.getByText("Waiting for your computer to let this phone in").waitFor({ timeout: 10000 });
  await wrongKnock(desktop).waitFor({ timeout: 10000 });
  // Its old pass, tried by hand, is refused: it lands in the lobby too.
  const room = await desktop.evaluate(() => window.__roomcast.room);
  const reply = await phone.evaluate(([r, a]) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`${location.origin.replace(/^http/, "ws")}/ws`);
    const t = setTimeout(() => reject(new Error("no reply within 5 s")), 5000);
    ws.onopen = () => ws.send(JSON.stringify({ type: "join", room: r, admission: a, name: "old pass" }));
    ws.onmessage = (ev) => { clearTimeout(t); resolve(JSON.parse(ev.data).type); ws.close(); };
  }), [room, pass]);
  assert.equal(reply, "lobby", "a removed device's pass lets it in no more");
  // It scans the code shown now, and is asked about as any device.
  await phone.goto(await currentLink(desktop), { timeout: 15000 });
  await knock(desktop, "Chrome on Android").waitFor({ timeout: 10000 });
  await desktop.getByRole("button", { name: "Allow Chrome on Android" }).click();
  await phone.getByText("Connected to your computer").waitFor({ timeout: 10000 });
  assert.deepEqual(errors, []);
  await close();
});

test("a device let in comes back by itself after both tabs closed; a stranger meanwhile waits for the desktop, which still hosts the room", DEADLINE, async () => {
  const { server, desktop, phone, phoneCtx, link, errors, close } = await pair({ ROOMCAST_RESUME_GRACE: "1s" });
  const desktopCtx = desktop.context();
  const room = await desktop.evaluate(() => window.__roomcast.room);
  await phone.close();
  await desktop.locator("#pair-state[data-state=waiting]").waitFor({ timeout: 15000 }); // its seat is gone
  const back = await phoneCtx.newPage();
  await back.goto(link, { timeout: 15000 });
  await back.getByText("Connected to your computer").waitFor({ timeout: 10000 });
  assert.equal(await desktop.locator("#knocks li.knock").count(), 0, "no new question for a device let in before");

  // Both tabs closed; the room is kept, locked, with nobody in it.
  await back.close();
  await desktop.close();
  await seatsExpired(server, 3); // the phone's first seat, then both of these
  const s = await stranger(link);
  await s.page.getByText("Waiting for your computer to let this phone in").waitFor({ timeout: 10000 });
  assert.deepEqual(s.types(), ["lobby"], "the empty room did not become the stranger's");

  const again = await desktopCtx.newPage();
  await again.goto(`${server.url}/`, { timeout: 15000 });
  await desktopReady(again);
  assert.equal(await again.evaluate(() => window.__roomcast.room), room, "the desktop reopens its own room, as its host");
  await wrongKnock(again).waitFor({ timeout: 10000 }); // its link was spent by the phone
  const phone3 = await phoneCtx.newPage();
  await phone3.goto(link, { timeout: 15000 });
  await phone3.getByText("Connected to your computer").waitFor({ timeout: 10000 });
  assert.deepEqual(s.types(), ["lobby"], "the stranger still has nothing");
  assert.equal(await s.page.locator("#received li").count(), 0);
  assert.deepEqual(errors, []);
  await s.ctx.close();
  await close();
});

test("'New room' tells the phone and leaves the old link worthless; the new code asks again", DEADLINE, async () => {
  const { desktop, phone, phoneCtx, link, errors, close } = await pair();
  await desktop.getByRole("button", { name: "New room" }).click();
  await phone.getByRole("heading", { name: "Your computer started a new room" }).waitFor({ timeout: 10000 });
  await desktop.waitForFunction((old) => window.__roomcast.link !== old && window.__roomcast.locked, link, { timeout: 10000 });
  const fresh = await desktop.evaluate(() => window.__roomcast.link);
  assert.equal(await qrText(desktop), fresh, "the QR code shows the new room");
  assert.deepEqual(await desktop.evaluate(() => window.__roomcast.peers()), {});

  // The old link (from the phone's history, or anyone's) no longer reaches the desktop.
  const s = await stranger(link);
  await s.page.locator("#phone-state").waitFor({ timeout: 10000 });
  await s.page.waitForFunction(() => ["joined", "lobby"].includes(window.__roomcast.connState), null, { timeout: 10000 });
  assert.equal(await desktop.locator("#knocks li.knock").count(), 0, "the desktop hears nothing from the old room");
  assert.notEqual(await s.page.getByText("Connected to your computer").isVisible(), true);

  const p2 = await phoneCtx.newPage();
  await p2.goto(fresh, { timeout: 15000 });
  await knock(desktop, "Chrome on Android").waitFor({ timeout: 10000 });
  await admitted(desktop, p2);
  assert.deepEqual(errors, []);
  await s.ctx.close();
  await close();
});

test("after a server restart the room is still the desktop's: the phone, back first, waits, and the desktop knows it as paired before", DEADLINE, async () => {
  const { server, desktop, phone, link, errors, close } = await pair();
  const desktopCtx = desktop.context();
  await desktop.close();
  // The daemon restarts on the same address: it remembers nothing (rooms, admissions).
  assert.equal(await server.stop(), 0);
  const again = await startServer({ ROOMCAST_PUBLIC_URL: server.url }, 15000, server.port);
  servers.push(again);
  // The phone reconnects by itself, first. Before, the first to open a room hosted it.
  await phone.getByText("Waiting for your computer to let this phone in").waitFor({ timeout: 30000 });
  const back = await desktopCtx.newPage();
  await back.goto(`${server.url}/`, { timeout: 15000 });
  await desktopReady(back);
  assert.equal(new URL(await back.evaluate(() => window.__roomcast.link)).search, new URL(link).search, "the same room: its host token still proves it");
  await back.locator("#knocks li.knock", { hasText: "Chrome on Android (paired before) wants to join this room" }).waitFor({ timeout: 10000 });
  assert.deepEqual(await back.evaluate(() => window.__roomcast.peers()), {}, "nobody got in while the desktop was away");
  await back.locator("#pair-state[data-state=waiting]").waitFor({ timeout: 5000 });
  await back.getByRole("button", { name: "Allow Chrome on Android" }).click();
  await phone.getByText("Connected to your computer").waitFor({ timeout: 10000 });
  assert.deepEqual(errors, []);
  await close();
});

/** A bare WebSocket in `page` joins `room` with `name` as its knock; resolves to what it got first. */
const rawKnock = (page, room, name) =>
  page.evaluate(([r, n]) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`${location.origin.replace(/^http/, "ws")}/ws`);
    (window.__raws ??= []).push(ws);
    const t = setTimeout(() => reject(new Error("no reply within 10 s")), 10000);
    ws.onopen = () => ws.send(JSON.stringify({ type: "join", room: r, name: n }));
    ws.onmessage = (ev) => { clearTimeout(t); resolve(JSON.parse(ev.data).type); };
  }), [room, name]);

/** The knock the phone page would send now (what the relay sees of it, and could replay). */
const phonesKnock = (phone) =>
  phone.evaluate(async () => (await (await import("/keys.js")).phoneJoinName(window.__roomcast.room, "Chrome on Android")).name);

test("two devices knock with the code shown now: once one is let in, the other can no longer be allowed", DEADLINE, async () => {
  const { desktop, errors, close } = await pair();
  const now = await currentLink(desktop);
  const a = await stranger(now);
  const b = await stranger(now);
  await desktop.locator("#knocks li.knock", { hasText: "Safari on iPhone wants to join this room" }).nth(1).waitFor({ timeout: 10000 });
  await desktop.getByRole("button", { name: "Allow Safari on iPhone" }).first().click();
  await desktop.locator("#pair-state", { hasText: "2 devices connected" }).waitFor({ timeout: 10000 });
  // The secret both used is spent: the other row is checked again and has nothing to allow.
  await wrongKnock(desktop).waitFor({ timeout: 10000 });
  assert.equal(await desktop.locator("#knocks button", { hasText: "Allow" }).count(), 0);
  const connected = await Promise.all([a, b].map((s) => s.page.getByText("Connected to your computer").isVisible()));
  assert.deepEqual(connected.sort(), [false, true], "one in, one waiting");
  assert.deepEqual(errors, []);
  await a.ctx.close();
  await b.ctx.close();
  await close();
});

test("a copy of a paired phone's knock (the relay saw it) cannot be allowed while the phone is here, nor once the phone was removed after coming back by its pass", DEADLINE, async () => {
  const { server, desktop, phone, phoneCtx, link, errors, close } = await pair({ ROOMCAST_RESUME_GRACE: "1s" });
  const room = await desktop.evaluate(() => window.__roomcast.room);
  const copy = await phonesKnock(phone);
  // Replayed while the phone is in the room: the same device key, so flagged, no Allow.
  const other = await (await browser()).newPage();
  await other.goto(`${server.url}/healthz`, { timeout: 10000 });
  assert.equal(await rawKnock(other, room, copy), "lobby");
  await desktop.locator("#knocks li.knock.wrong", { hasText: "a copy of its knock?" }).waitFor({ timeout: 10000 });
  assert.equal(await desktop.locator("#knocks button", { hasText: "Allow" }).count(), 0);
  await desktop.getByRole("button", { name: "Deny the copy of Chrome on Android" }).click();

  // The phone comes back by its pass under a new member id (its seat expired), then is removed.
  await phone.close();
  await seatsExpired(server, 1);
  const back = await phoneCtx.newPage();
  await back.goto(link, { timeout: 15000 });
  await back.getByText("Connected to your computer").waitFor({ timeout: 10000 });
  await desktop.getByRole("button", { name: "Remove Chrome on Android" }).click();
  await back.getByRole("heading", { name: "Removed from the room" }).waitFor({ timeout: 10000 });
  // Its old knock (kept by a device that ignores being removed) is no longer "paired before".
  assert.equal(await rawKnock(other, room, copy), "lobby");
  await wrongKnock(desktop).waitFor({ timeout: 10000 });
  assert.equal(await desktop.locator("#knocks li.knock", { hasText: "paired before" }).count(), 0);
  assert.deepEqual(errors, []);
  await other.close();
  await close();
});
