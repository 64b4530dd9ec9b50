// Pairing survives closing the tabs: the desktop reopens its own room (same link, same QR
// code, same gallery) and the phone rejoins it by itself, whether the daemon still held their
// seats or had long given them up, until the user picks "New room" or "Forget this computer".
// Files picked while the other side was closed wait and go when it is back; none needs Retry.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pairing, makePhoto, fakeImage, sha256, receivedHashes, qrText, admitted, seatsExpired } from "./harness.mjs";

const DEADLINE = { timeout: 90_000 };
const { pair } = pairing();

async function openDesktop(ctx, url) {
  const page = await ctx.newPage();
  await page.goto(`${url}/`, { timeout: 15000 });
  await page.waitForFunction(() => window.__roomcast?.connState === "joined", null, { timeout: 10000 });
  return page;
}

for (const [when, grace] of [["while the daemon still holds their seats", "120s"], ["after the daemon gave their seats up", "2s"]]) {
  test(`both tabs closed and opened again ${when}: the same room, the same gallery, files both ways`, DEADLINE, async () => {
    const { server, desktop, phone, phoneCtx, link, errors, close } = await pair({ ROOMCAST_RESUME_GRACE: grace });
    const desktopCtx = desktop.context();
    const room = await desktop.evaluate(() => window.__roomcast.room);
    const first = makePhoto(500, 350, 61);
    await phone.setInputFiles("#choose-files", { name: "first.png", mimeType: "image/png", buffer: first });
    await phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: "first.png" }).waitFor({ timeout: 20000 });

    await desktop.close();
    await phone.close();
    if (grace === "2s") await seatsExpired(server, 2);

    const again = await openDesktop(desktopCtx, server.url);
    assert.equal(await again.evaluate(() => window.__roomcast.room), room, "the desktop reopens its own room");
    // The same room; a fresh pairing secret (the one in the first link was spent by the phone).
    const shown = await qrText(again);
    assert.equal(new URL(shown).search, new URL(link).search, "the same room in the QR code");
    assert.notEqual(new URL(shown).hash, new URL(link).hash, "with a fresh secret");
    assert.deepEqual(await receivedHashes(again), { "first.png": sha256(first) }, "the same gallery");

    const phone2 = await phoneCtx.newPage(); // the link from the phone's history
    await phone2.goto(link, { timeout: 15000 });
    await phone2.getByText("Connected to your computer").waitFor({ timeout: 10000 });
    await again.locator("#pair-state[data-state=connected]").waitFor({ timeout: 10000 });
    assert.equal(Object.keys(await again.evaluate(() => window.__roomcast.peers())).length, 1, "one phone, not a ghost and a phone");

    const second = fakeImage(700 * 1024, 62);
    await phone2.setInputFiles("#choose-files", { name: "second.bin", mimeType: "application/octet-stream", buffer: second });
    await phone2.locator("#phone-outgoing li[data-state=delivered]", { hasText: "second.bin" }).waitFor({ timeout: 20000 });
    const back = Buffer.from("from the computer, after both tabs came back\n");
    await again.setInputFiles("#desktop-files", { name: "back.txt", mimeType: "text/plain", buffer: back });
    await again.locator("#desktop-outgoing li[data-state=delivered]", { hasText: "back.txt" }).waitFor({ timeout: 20000 });
    assert.deepEqual(await receivedHashes(again), { "first.png": sha256(first), "second.bin": sha256(second) });
    assert.deepEqual(await receivedHashes(phone2), { "back.txt": sha256(back) });
    assert.deepEqual(errors, []);
    await close();
  });
}

test("the desktop's tab is closed mid-file and opened again after its seat expired: the phone waits, then finishes by itself", DEADLINE, async () => {
  const { server, desktop, phone, errors, close } = await pair({ ROOMCAST_RESUME_GRACE: "2s" });
  const desktopCtx = desktop.context();
  const big = fakeImage(6 * 1024 * 1024, 63);
  await phone.evaluate(() => window.__roomcast.pauseAfterChunk(9)); // hold it mid-file
  await phone.setInputFiles("#choose-files", { name: "mid.bin", mimeType: "application/octet-stream", buffer: big });
  await desktop.waitForFunction(() => window.__roomcast.incoming().some((r) => r.next >= 4), null, { timeout: 20000 });
  await desktop.close();
  await phone.locator("#phone-state", { hasText: "Your computer is reconnecting…" }).waitFor({ timeout: 10000 });
  await seatsExpired(server, 1);
  await phone.locator("#phone-state", { hasText: "Waiting for your computer" }).waitFor({ timeout: 10000 });
  // Picked while the computer is closed: waits, and needs no Retry later.
  const later = Buffer.from("picked while the computer was closed");
  await phone.setInputFiles("#choose-files", { name: "later.txt", mimeType: "text/plain", buffer: later });

  const again = await openDesktop(desktopCtx, server.url);
  await phone.getByText("Connected to your computer").waitFor({ timeout: 10000 });
  // The reopened desktop has the chunks it stored, and says so when the phone offers again.
  const stored = await again.waitForFunction(
    () => window.__roomcast.incoming().find((r) => r.name === "mid.bin" && r.next >= 4)?.next, null, { timeout: 10000 });
  const from = await stored.jsonValue();
  await phone.evaluate(() => window.__roomcast.unpause());
  await phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: "mid.bin" }).waitFor({ timeout: 30000 });
  await phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: "later.txt" }).waitFor({ timeout: 20000 });
  assert.equal(await phone.locator("#phone-outgoing li[data-state=failed]").count(), 0, "nothing failed, nothing to retry");
  const out = await phone.evaluate(() => window.__roomcast.outgoing().find((t) => t.name === "mid.bin"));
  assert.ok(out.resumedFrom.every((n) => n >= from), `went on from what the desktop had stored (${from}), not from 0: ${out.resumedFrom}`);
  assert.deepEqual(await receivedHashes(again), { "mid.bin": sha256(big), "later.txt": sha256(later) });
  assert.deepEqual(errors, []);
  await close();
});

test("'Forget this computer' on the phone: it leaves at once and does not rejoin when the link is opened again, until asked", DEADLINE, async () => {
  const { desktop, phone, phoneCtx, link, errors, close } = await pair();
  const phoneId = await phone.evaluate(() => window.__roomcast.id);
  await phone.getByRole("button", { name: "Forget this computer" }).click();
  await phone.getByRole("button", { name: "Yes, forget it" }).click();
  await phone.getByText("You left this room").waitFor({ timeout: 5000 });
  await desktop.locator("#pair-state[data-state=waiting]").waitFor({ timeout: 10000 }); // peer-left at once
  assert.deepEqual(await desktop.evaluate(() => window.__roomcast.peers()), {});

  await phone.close();
  const again = await phoneCtx.newPage();
  await again.goto(link, { timeout: 15000 });
  await again.getByText("You left this room").waitFor({ timeout: 10000 });
  assert.equal(await again.evaluate(() => window.__roomcast.connState), null, "it does not connect by itself");
  await again.getByRole("button", { name: "Join again" }).click();
  // Forgotten means asked again: its admission was given up, so it waits, and the desktop (which
  // still knows this device: the same key, the same link) asks the person.
  await again.getByText("Waiting for your computer to let this phone in").waitFor({ timeout: 10000 });
  await desktop.locator("#knocks li.knock", { hasText: "Chrome on Android (paired before) wants to join this room" }).waitFor({ timeout: 10000 });
  await admitted(desktop, again);
  assert.notEqual(await again.evaluate(() => window.__roomcast.id), phoneId, "a new seat: the old one was given up");
  assert.deepEqual(errors, []);
  await close();
});
