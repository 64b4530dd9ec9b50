// Transfers that outlive their connections: a seat that expired while the phone was away, a
// desktop reloaded in the middle of a transfer, photos taken before the computer is there.
// Every wait has a deadline; nothing asserts a timing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { devices } from "playwright-core";
import { pairing, makePhoto, sha256 } from "./harness.mjs";

const { pair, servers, browser } = pairing();

const hashOf = (locator, attr) =>
  locator.evaluate(async (el, a) => {
    const buf = await window.__blobOf(el.getAttribute(a)).arrayBuffer();
    return Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", buf)), (b) => b.toString(16).padStart(2, "0")).join("");
  }, attr);
const outgoing = (page, name) => page.evaluate((n) => window.__roomcast.outgoing().find((t) => t.name === n), name);

test("the seat expires while the phone is away: it comes back as a new member and the transfer goes on", async () => {
  const { desktop, phone, errors, close } = await pair({ ROOMCAST_RESUME_GRACE: "1s" });
  const photo = makePhoto(1800, 1200, 21);
  const oldId = await phone.evaluate(() => window.__roomcast.id);
  await phone.evaluate(() => window.__roomcast.cutAfterChunk(5));
  await phone.setInputFiles("#choose-photos", { name: "late.png", mimeType: "image/png", buffer: photo });
  await desktop.locator("#pair-state").getByText("Waiting for a device").waitFor({ timeout: 15000 }); // peer-left once the grace ran out
  await phone.evaluate(() => window.__roomcast.release());
  await desktop.waitForFunction((old) => document.getElementById("pair-state").textContent === "Phone connected · Chrome on Android" &&
    Object.keys(window.__roomcast.peers()).length === 1 && !(old in window.__roomcast.peers()), oldId, { timeout: 20000 });
  const newId = await phone.evaluate(() => window.__roomcast.id);
  assert.notEqual(newId, oldId, "a fresh id: the seat was gone");

  await phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: "late.png" }).waitFor({ timeout: 30000 });
  assert.deepEqual((await outgoing(phone, "late.png")).resumedFrom, [6], "the desktop kept the first 6 chunks");
  const img = desktop.locator("#preview img[alt='late.png']");
  await img.waitFor({ timeout: 10000 });
  assert.equal(await hashOf(img, "src"), sha256(photo));
  assert.deepEqual(errors, []);
  await close();
});

test("the desktop reloads mid-transfer: it keeps its room and seat, and the phone goes on from what it holds", async () => {
  const { desktop, phone, errors, close } = await pair();
  const photo = makePhoto(1600, 1000, 22);
  const room = await desktop.evaluate(() => window.__roomcast.room);
  const desktopId = await desktop.evaluate(() => window.__roomcast.id);
  await phone.evaluate(() => window.__roomcast.pauseAfterChunk(3));
  await phone.setInputFiles("#take-photo", { name: "reload.png", mimeType: "image/png", buffer: photo });
  await desktop.locator("#desktop-incoming li", { hasText: "reload.png" }).waitFor({ timeout: 15000 });

  await desktop.reload({ timeout: 15000 });
  await desktop.waitForFunction(() => window.__roomcast?.connState === "joined", null, { timeout: 10000 });
  assert.equal(await desktop.evaluate(() => window.__roomcast.room), room, "same room");
  assert.equal(await desktop.evaluate(() => window.__roomcast.id), desktopId, "same seat");
  await phone.evaluate(() => window.__roomcast.unpause());

  await phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: "reload.png" }).waitFor({ timeout: 30000 });
  // The reloaded page answers with what it had stored of it (chunks 0–3, or fewer if the
  // reload came before their writes committed: continuity.test.mjs checks the stored case).
  const from = (await outgoing(phone, "reload.png")).resumedFrom;
  assert.ok(from.length > 0 && from.every((n) => n <= 4), `the reloaded page said what it holds: ${from}`);
  const img = desktop.locator("#preview img[alt='reload.png']");
  await img.waitFor({ timeout: 10000 });
  assert.equal(await hashOf(img, "src"), sha256(photo));
  assert.equal(await desktop.locator("#gallery li").count(), 1);
  assert.deepEqual(errors, []);
  await close();
});

test("photos taken while the computer is gone wait, then go (sealed) when it opens the page again", async () => {
  const { server, desktop, phone, errors, close } = await pair({ ROOMCAST_RESUME_GRACE: "1s" });
  const desktopCtx = desktop.context();
  await desktop.close(); // the tab closed: after the grace the phone is alone in the room
  await phone.getByText("Waiting for your computer").waitFor({ timeout: 15000 });
  const photo = makePhoto(640, 480, 23);
  await phone.setInputFiles("#take-photo", { name: "early.png", mimeType: "image/png", buffer: photo });
  const item = phone.locator("#phone-outgoing li", { hasText: "early.png" });
  await item.getByText("Waiting for your computer").waitFor({ timeout: 10000 });
  assert.equal(await item.getAttribute("data-state"), "queued");

  // The computer opens roomcast again: its room, the phone's pass and key still hold.
  const again = await desktopCtx.newPage();
  again.on("pageerror", (e) => errors.push(`desktop again: ${e.message}`));
  await again.goto(`${server.url}/`, { timeout: 15000 });
  await phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: "early.png" }).waitFor({ timeout: 20000 });
  const img = again.locator("#preview img[alt='early.png']");
  await img.waitFor({ timeout: 10000 });
  assert.equal(await hashOf(img, "src"), sha256(photo));
  assert.ok((await phone.evaluate(() => window.__roomcast.sealing())).sealed > 0, "it went sealed");
  assert.deepEqual(errors, []);
  await close();
});
