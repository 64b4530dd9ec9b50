// A device that closes its tab and comes back, a desktop that reloads, a sender that vanishes
// mid-file: nothing stalls on a seat held for the grace period, nothing received is lost, no
// row is left "Receiving…" forever, and the speed shown is never negative. The daemon runs
// with the default 120 s grace, so a transfer that waited on a held seat would run into the
// tests' deadlines (each far below it). Every wait has a deadline; nothing asserts a timing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pairing, makePhoto, fakeImage, sha256, blobHash, receivedHashes } from "./harness.mjs";

const DEADLINE = { timeout: 60_000 }; // per test: well below the 120 s grace
const { pair: pairWith, servers, browser } = pairing();
const pair = () => pairWith({ ROOMCAST_RESUME_GRACE: "120s" });

const peers = (page) => page.evaluate(() => window.__roomcast.peers());

test("the phone's tab is closed and the link opened again: it takes its seat back at once, files go both ways", DEADLINE, async () => {
  const { desktop, phone, openPhone, errors, close } = await pair();
  const phoneId = await phone.evaluate(() => window.__roomcast.id);
  const first = fakeImage(300 * 1024, 41);
  await phone.setInputFiles("#choose-files", { name: "first.bin", mimeType: "application/octet-stream", buffer: first });
  await phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: "first.bin" }).waitFor({ timeout: 20000 });

  await phone.close(); // the tab goes, with no unload handling of ours
  const reopened = Date.now();
  const again = await openPhone("phone again"); // the same link, a new tab of the same browser
  assert.equal(await again.evaluate(() => window.__roomcast.id), phoneId, "the same seat, not a new member");
  await desktop.locator("#pair-state").getByText("Phone connected · Chrome on Android").waitFor({ timeout: 10000 });
  assert.deepEqual(await peers(desktop), { [phoneId]: "present" }, "the desktop sees one phone");

  // Phone → desktop: a tiny file (the one that once took 117 s), then desktop → phone.
  const tiny = Buffer.from("23 bytes from the phone");
  await again.setInputFiles("#choose-files", { name: "tiny.txt", mimeType: "text/plain", buffer: tiny });
  await again.locator("#phone-outgoing li[data-state=delivered]", { hasText: "tiny.txt" }).waitFor({ timeout: 20000 });
  // Reported for docs/TRANSFER.md, not asserted: the link opened again → a file delivered.
  console.log(`# reopen the phone's link → tiny file delivered: ${((Date.now() - reopened) / 1000).toFixed(2)} s`);
  const back = makePhoto(600, 400, 42);
  await desktop.setInputFiles("#desktop-files", { name: "back.png", mimeType: "image/png", buffer: back });
  await desktop.locator("#desktop-outgoing li[data-state=delivered]", { hasText: "back.png" }).waitFor({ timeout: 20000 });
  await again.locator("#received img[alt='back.png']").waitFor({ timeout: 10000 });

  const got = await receivedHashes(desktop);
  assert.deepEqual(got, { "first.bin": sha256(first), "tiny.txt": sha256(tiny) });
  assert.deepEqual(await receivedHashes(again), { "back.png": sha256(back) });
  assert.equal(await desktop.locator("#gallery li").count(), 2);
  assert.deepEqual(await peers(desktop), { [phoneId]: "present" }, "still one phone");
  assert.deepEqual(errors, []);
  await close();
});

test("the room opened in a second tab of the same browser: the first says so and does not fight back until 'Use here'", DEADLINE, async () => {
  const { desktop, phone, openPhone, errors, close } = await pair();
  const phoneId = await phone.evaluate(() => window.__roomcast.id);
  const second = await openPhone("second tab");
  assert.equal(await second.evaluate(() => window.__roomcast.id), phoneId, "the second tab took the seat over");
  await phone.locator("#replaced").getByText("Open in another tab").waitFor({ timeout: 10000 });
  assert.equal(await phone.evaluate(() => window.__roomcast.connState), "replaced");

  // The second tab works; the first stays down while it does (no reconnect, no take-back).
  const pic = makePhoto(500, 300, 43);
  await second.setInputFiles("#choose-photos", { name: "second.png", mimeType: "image/png", buffer: pic });
  await second.locator("#phone-outgoing li[data-state=delivered]", { hasText: "second.png" }).waitFor({ timeout: 20000 });
  assert.equal(await second.evaluate(() => window.__roomcast.connState), "joined");
  assert.equal(await phone.evaluate(() => window.__roomcast.connState), "replaced");
  assert.deepEqual(await peers(desktop), { [phoneId]: "present" });

  // "Use here" takes it back; now the second tab is the one that says so.
  await phone.getByRole("button", { name: "Use here" }).click();
  await phone.getByText("Connected to your computer").waitFor({ timeout: 10000 });
  await second.locator("#replaced").getByText("Open in another tab").waitFor({ timeout: 10000 });
  assert.equal(await phone.locator("#replaced").isVisible(), false);
  const pic2 = makePhoto(500, 300, 44);
  await phone.setInputFiles("#choose-photos", { name: "first-again.png", mimeType: "image/png", buffer: pic2 });
  await phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: "first-again.png" }).waitFor({ timeout: 20000 });
  assert.deepEqual(await receivedHashes(desktop), { "second.png": sha256(pic), "first-again.png": sha256(pic2) });
  assert.deepEqual(await peers(desktop), { [phoneId]: "present" });
  assert.deepEqual(errors, []);
  await close();
});

test("received files survive a reload of the desktop until removed; 'Clear all' asks first", DEADLINE, async () => {
  const { desktop, phone, errors, close } = await pair();
  const files = {
    "one.png": makePhoto(640, 480, 51),
    "two.bin": fakeImage(1024 * 1024 + 5, 52),
    "three.png": makePhoto(320, 240, 53),
  };
  for (const [name, buffer] of Object.entries(files)) {
    await phone.setInputFiles("#choose-files", { name, mimeType: name.endsWith(".png") ? "image/png" : "application/octet-stream", buffer });
    await phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: name }).waitFor({ timeout: 20000 });
  }
  const want = Object.fromEntries(Object.entries(files).map(([n, b]) => [n, sha256(b)]));

  // "Delivered" on the phone means stored: a reload right after it keeps all three.
  await desktop.reload({ timeout: 15000 });
  await desktop.waitForFunction(() => document.querySelectorAll("#gallery li").length === 3, null, { timeout: 10000 });
  assert.deepEqual(await receivedHashes(desktop), want, "the same bytes, from the browser's storage");
  assert.equal(await desktop.locator("#gallery-count").textContent(), "(3)");
  // What the Download button hands out is those bytes too.
  await desktop.getByRole("button", { name: "Show two.bin" }).click();
  assert.equal(await blobHash(desktop, await desktop.locator("#preview-download").getAttribute("href")), want["two.bin"]);

  await desktop.getByRole("button", { name: "Remove two.bin" }).click();
  await desktop.waitForFunction(() => document.querySelectorAll("#gallery li").length === 2, null, { timeout: 10000 });
  await desktop.reload({ timeout: 15000 });
  await desktop.waitForFunction(() => window.__roomcast?.connState === "joined", null, { timeout: 10000 });
  await desktop.waitForFunction(() => document.querySelectorAll("#gallery li").length === 2, null, { timeout: 10000 });
  assert.deepEqual(await receivedHashes(desktop), { "one.png": want["one.png"], "three.png": want["three.png"] });

  // Clear all: nothing goes until it is confirmed.
  await desktop.getByRole("button", { name: "Clear all" }).click();
  await desktop.locator("#clear-confirm").getByText("Remove all 2 files from this browser?").waitFor({ timeout: 5000 });
  await desktop.getByRole("button", { name: "Keep them" }).click();
  assert.equal(await desktop.locator("#gallery li").count(), 2);
  await desktop.getByRole("button", { name: "Clear all" }).click();
  await desktop.getByRole("button", { name: "Remove all" }).click();
  await desktop.waitForFunction(() => document.querySelectorAll("#gallery li").length === 0, null, { timeout: 10000 });
  await desktop.reload({ timeout: 15000 });
  await desktop.waitForFunction(() => window.__roomcast?.connState === "joined", null, { timeout: 10000 });
  assert.equal(await desktop.locator("#gallery li").count(), 0);
  assert.equal(await desktop.locator("#gallery-empty").isVisible(), true);
  assert.deepEqual(errors, []);
  await close();
});

test("the sender's tab closes mid-file: the desktop's row says it is interrupted, and can be dismissed", DEADLINE, async () => {
  const { desktop, phone, errors, close } = await pair();
  const big = fakeImage(40 * 1024 * 1024, 61); // 160 chunks
  await phone.evaluate(() => window.__roomcast.pauseAfterChunk(79)); // the phone stops at half way
  await phone.setInputFiles("#choose-files", { name: "big.bin", mimeType: "application/octet-stream", buffer: big });
  const row = desktop.locator("#desktop-incoming li", { hasText: "big.bin" });
  await row.getByText("Receiving… 50 %").waitFor({ timeout: 30000 });

  await phone.close();
  await row.getByText(/Interrupted at 50 % · waiting for your phone/).waitFor({ timeout: 10000 });
  assert.equal(await row.getAttribute("data-state"), "interrupted");
  await row.getByRole("button", { name: "Dismiss big.bin" }).click();
  await row.waitFor({ state: "detached", timeout: 5000 });
  assert.deepEqual(await desktop.evaluate(() => window.__roomcast.incoming()), [], "the partial data is dropped");
  assert.equal(await desktop.locator("#gallery li").count(), 0);
  assert.deepEqual(errors, []);
  await close();
});

test("the sender's connection drops mid-file and comes back: interrupted, then it goes on and completes", DEADLINE, async () => {
  const { desktop, phone, errors, close } = await pair();
  const photo = fakeImage(6 * 1024 * 1024 + 11, 62);
  await phone.evaluate(() => window.__roomcast.cutAfterChunk(5)); // the socket dies, stays down
  await phone.setInputFiles("#choose-files", { name: "comeback.bin", mimeType: "application/octet-stream", buffer: photo });
  const row = desktop.locator("#desktop-incoming li", { hasText: "comeback.bin" });
  await row.getByText(/Interrupted at \d+ % · waiting for your phone/).waitFor({ timeout: 15000 });
  await phone.evaluate(() => window.__roomcast.release());
  await phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: "comeback.bin" }).waitFor({ timeout: 30000 });
  await row.waitFor({ state: "detached", timeout: 10000 });
  assert.deepEqual(await receivedHashes(desktop), { "comeback.bin": sha256(photo) });
  assert.deepEqual(errors, []);
  await close();
});

test("the desktop reloads mid-file: it goes on from the chunks it had stored, not from chunk 0", DEADLINE, async () => {
  const { desktop, phone, errors, close } = await pair();
  const file = fakeImage(8 * 1024 * 1024 + 99, 81); // 33 chunks
  await phone.evaluate(() => window.__roomcast.pauseAfterChunk(19)); // 20 chunks, then it waits
  await phone.setInputFiles("#choose-files", { name: "stored.bin", mimeType: "application/octet-stream", buffer: file });
  // The desktop has written the 20 chunks to its storage.
  await desktop.waitForFunction(() => window.__roomcast.incoming().some((r) => r.name === "stored.bin" && r.stored === 20), null, { timeout: 20000 });

  await desktop.reload({ timeout: 15000 });
  await desktop.waitForFunction(() => window.__roomcast?.connState === "joined", null, { timeout: 10000 });
  await desktop.locator("#desktop-incoming li", { hasText: "stored.bin" }).waitFor({ timeout: 10000 }); // the row is back
  await phone.evaluate(() => window.__roomcast.unpause());
  await phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: "stored.bin" }).waitFor({ timeout: 30000 });
  const sent = await phone.evaluate(() => window.__roomcast.outgoing().find((t) => t.name === "stored.bin"));
  assert.ok(sent.resumedFrom.length > 0 && sent.resumedFrom.every((n) => n === 20), `went on from chunk 20: ${sent.resumedFrom}`);
  assert.deepEqual(await receivedHashes(desktop), { "stored.bin": sha256(file) });
  assert.equal(await desktop.locator("#desktop-incoming li").count(), 0, "no row left behind");

  // Nothing of it is left in storage as a partial file: a reload shows the file, no row.
  await desktop.reload({ timeout: 15000 });
  await desktop.waitForFunction(() => window.__roomcast?.connState === "joined", null, { timeout: 10000 });
  await desktop.waitForFunction(() => document.querySelectorAll("#gallery li").length === 1, null, { timeout: 10000 });
  assert.deepEqual(await desktop.evaluate(() => window.__roomcast.incoming()), []);
  assert.deepEqual(errors, []);
  await close();
});

/** Every speed a transfer row showed ("… · 2.1 MB/s"), as bytes per second. */
function speeds(texts) {
  const unit = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };
  return texts.flatMap((s) => {
    const m = /(-?[\d.]+) (B|kB|MB|GB|TB)\/s/.exec(s);
    return m ? [Number(m[1]) * unit[m[2]]] : [];
  });
}

test("the desktop reloads mid-transfer: the phone's shown speed is never negative", DEADLINE, async (t) => {
  const { desktop, phone, errors, close } = await pair();
  const file = fakeImage(16 * 1024 * 1024, 71);
  await phone.evaluate(() => {
    window.__texts = [];
    new MutationObserver(() => {
      for (const t of document.querySelectorAll("#phone-outgoing .xfer-text")) window.__texts.push(t.textContent);
    }).observe(document.getElementById("phone-outgoing"), { subtree: true, childList: true, characterData: true });
    window.__roomcast.pauseAfterChunk(30);
  });
  await phone.setInputFiles("#choose-files", { name: "speed.bin", mimeType: "application/octet-stream", buffer: file });
  await phone.waitForFunction(() => window.__roomcast.outgoing().some((t) => t.acked >= 31 * 262144), null, { timeout: 20000 });
  await desktop.reload({ timeout: 15000 });
  await desktop.waitForFunction(() => window.__roomcast?.connState === "joined", null, { timeout: 10000 });
  await phone.evaluate(() => window.__roomcast.unpause());
  await phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: "speed.bin" }).waitFor({ timeout: 30000 });
  assert.deepEqual(await receivedHashes(desktop), { "speed.bin": sha256(file) });
  const shown = speeds(await phone.evaluate(() => window.__texts));
  // A speed is shown once its samples span 500 ms: on a fast machine the whole transfer can
  // take less, around the reload too. Then there is nothing to check here (the arithmetic is
  // the hand-clocked test below); say so rather than pass or fail on the machine's speed.
  if (shown.length === 0) {
    t.skip("the transfer was faster than the 500 ms a speed needs: no speed was shown");
    assert.deepEqual(errors, []);
    await close();
    return;
  }
  assert.deepEqual(shown.filter((v) => !(v >= 0)), [], "no negative speed");
  assert.deepEqual(errors, []);
  await close();
});

test("speed, unit level: acknowledged bytes over a sliding window, reset when a receiver starts over", DEADLINE, async () => {
  const server = servers[0];
  const page = await (await browser()).newPage();
  await page.goto(`${server.url}/healthz`, { timeout: 15000 });
  const result = await page.evaluate(async () => {
    const { TransferEngine, CHUNK_SIZE } = await import("/transfer.js");
    let now = 1_000_000;
    Date.now = () => now; // the engine's clock, driven by hand
    const io = { send() {}, ready: () => true, selfId: () => 1, peers: () => [2], present: () => true };
    const engine = new TransferEngine(io);
    clearInterval(engine.timer);
    const t = engine.send(new Blob([new Uint8Array(64 * CHUNK_SIZE)]), "x.bin", "application/octet-stream");
    const ack = (next, ask) => engine.handleText({ type: "file-ack", xfer: t.xfer, from: 2, to: 1, next, ...(ask ? { ask } : {}) });
    const seen = [];
    ack(0, t.ask);
    for (let i = 1; i <= 20; i++) { now += 100; ack(i); seen.push(["steady", t.speed]); }
    now += 5000; // a reload on the receiver's side takes a while
    engine.handleText({ type: "file-unknown", xfer: t.xfer, from: 2 });
    seen.push(["reset", t.speed]);
    ack(0, t.ask);
    for (let i = 1; i <= 20; i++) { now += 100; ack(i); seen.push(["again", t.speed]); }
    return { seen, chunk: CHUNK_SIZE };
  });
  await page.close();
  const rate = (result.chunk * 1000) / 100; // one chunk per 100 ms
  for (const [phase, v] of result.seen) assert.ok(v >= 0, `${phase}: speed ${v} is not negative`);
  const last = (phase) => result.seen.filter(([p]) => p === phase).at(-1)[1];
  assert.ok(Math.abs(last("steady") - rate) < rate * 0.05, `steady speed ${last("steady")} ≈ ${rate}`);
  assert.equal(result.seen.find(([p]) => p === "reset")[1], 0, "no speed shown right after a rewind");
  assert.ok(Math.abs(last("again") - rate) < rate * 0.05, `after the rewind ${last("again")} ≈ ${rate}`);
  for (const [phase, v] of result.seen) if (phase === "again") assert.ok(v <= rate * 1.05, `no jump after the rewind: ${v}`);
});
