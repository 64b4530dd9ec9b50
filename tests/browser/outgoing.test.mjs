// The phone reloads while it is sending: what was picked is kept in the browser and goes on
// after the reload, under the same transfer ids, from what the desktop already stored; leaving
// the page while something is being sent asks first. Every wait has a deadline.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pairing, fakeImage, sha256, receivedHashes } from "./harness.mjs";

const { pair } = pairing();

test("the phone reloads mid-transfer with two more files queued: all three arrive once, the first from where it was", { timeout: 90_000 }, async () => {
  const { desktop, phone, errors, close } = await pair({ ROOMCAST_RESUME_GRACE: "120s" });
  const files = [
    { name: "video.mp4", mimeType: "video/mp4", buffer: fakeImage(3 * 1024 * 1024, 81) },
    { name: "IMG_1.png", mimeType: "image/png", buffer: fakeImage(400 * 1024, 82) },
    { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("the third file, queued behind the others\n") },
  ];
  await phone.evaluate(() => window.__roomcast.pauseAfterChunk(6)); // stop part way through the first
  await phone.setInputFiles("#choose-files", files);
  await desktop.waitForFunction(() => window.__roomcast.incoming().some((r) => r.name === "video.mp4" && r.next >= 4), null, { timeout: 20000 });
  const before = await phone.evaluate(() => window.__roomcast.outgoing().map((t) => t.xfer));
  assert.equal(before.length, 3);

  // Leaving asks first (the browser shows its own "Leave site?" for a page that has been used).
  await phone.locator("#sent-title").click(); // a person has touched the page
  const asked = new Promise((resolve) => phone.once("dialog", async (d) => { await d.dismiss(); resolve(d.type()); }));
  await phone.close({ runBeforeUnload: true });
  assert.equal(await asked, "beforeunload", "closing the tab while sending asks first");
  assert.equal(phone.isClosed(), false, "and staying keeps the page");

  // The person reloads anyway.
  phone.on("dialog", (d) => d.accept());
  await phone.reload({ timeout: 15000 });
  await phone.getByText("Connected to your computer").waitFor({ timeout: 10000 });
  const after = await phone.evaluate(() => window.__roomcast.outgoing().map((t) => t.xfer));
  assert.deepEqual(after, before, "the same three transfers, in the order they were picked");
  for (const f of files) await phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: f.name }).waitFor({ timeout: 30000 });
  const first = await phone.evaluate(() => window.__roomcast.outgoing()[0].firstChunk);
  assert.ok(first >= 4, `the reloaded page went on from what the desktop had stored, not from 0 (chunk ${first})`);

  assert.deepEqual(await receivedHashes(desktop), Object.fromEntries(files.map((f) => [f.name, sha256(f.buffer)])));
  assert.equal(await desktop.locator("#gallery li").count(), 3, "each file once");

  // Delivered files are not kept: a further reload sends nothing again.
  await phone.reload({ timeout: 15000 });
  await phone.getByText("Connected to your computer").waitFor({ timeout: 10000 });
  assert.deepEqual(await phone.evaluate(() => window.__roomcast.outgoing()), []);
  assert.deepEqual(errors, []);
  await close();
});

test("a file picked in one room is kept for that room only: another room's page does not send it", { timeout: 60_000 }, async () => {
  const { server, desktop, phone, phoneCtx, errors, close } = await pair();
  const other = await phoneCtx.newPage(); // a second room, whose computer is not there
  await other.goto(`${server.url}/?room=another-room-0123456789abcdef`, { timeout: 15000 });
  await other.locator("#phone-state", { hasText: "This phone is not paired with your computer" }).waitFor({ timeout: 10000 });
  await other.setInputFiles("#choose-files", { name: "for-the-other.txt", mimeType: "text/plain", buffer: Buffer.from("not for room A") });
  await other.waitForFunction(() => window.__roomcast.outgoing().length === 1, null, { timeout: 5000 });
  other.on("dialog", (d) => d.accept());
  await other.close({ runBeforeUnload: true });

  // The paired room's page, reloaded: it restores only what was picked for it.
  phone.on("dialog", (d) => d.accept());
  await phone.reload({ timeout: 15000 });
  await phone.getByText("Connected to your computer").waitFor({ timeout: 10000 });
  assert.deepEqual(await phone.evaluate(() => window.__roomcast.outgoing()), []);
  const mine = Buffer.from("for room A");
  await phone.setInputFiles("#choose-files", { name: "mine.txt", mimeType: "text/plain", buffer: mine });
  await phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: "mine.txt" }).waitFor({ timeout: 20000 });
  assert.deepEqual(await receivedHashes(desktop), { "mine.txt": sha256(mine) }, "room A got only its own file");

  // The other room's page, opened again, still has its file waiting.
  const back = await phoneCtx.newPage();
  await back.goto(`${server.url}/?room=another-room-0123456789abcdef`, { timeout: 15000 });
  await back.waitForFunction(() => window.__roomcast.outgoing().some((t) => t.name === "for-the-other.txt"), null, { timeout: 10000 });
  assert.deepEqual(errors, []);
  await close();
});
