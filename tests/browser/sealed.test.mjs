// What the relay sees of a private room, read off both browsers' own WebSockets, frame by frame
// (Playwright's framesent / framereceived: exactly what went through the server), and every
// request URL the pages made: no photo byte, no file name, type or size, no device name or
// id, no link secret. And after "Remove", what is sent next cannot be opened with the removed
// device's room key, even by someone who has every frame (a relay operator it colludes with).
import { test } from "node:test";
import assert from "node:assert/strict";
import { devices } from "playwright-core";
import * as e2e from "../../web/e2e.js";
import { readSealed, SEALED_HEADER_BYTES } from "../../web/sealing.js";
import { PAD_BYTES } from "../../web/transfer.js";
import { pairing, startPairingServer, desktopReady, admitted, makePhoto, sha256, receivedHashes, currentLink } from "./harness.mjs";

const DEADLINE = { timeout: 120_000 };
const { servers, browser } = pairing();

/** A page whose every WebSocket frame (both ways) and request URL is recorded from the start. */
async function tapped(ctx, name, errors) {
  const page = await ctx.newPage();
  const tap = { page, frames: [], urls: [] };
  page.on("pageerror", (e) => errors.push(`${name}: ${e.message}`));
  page.on("request", (r) => tap.urls.push(r.url()));
  page.on("websocket", (ws) => {
    tap.urls.push(ws.url());
    const keep = (dir) => (f) => tap.frames.push({ dir, at: Date.now(), data: typeof f.payload === "string" ? f.payload : Buffer.from(f.payload) });
    ws.on("framesent", keep("sent"));
    ws.on("framereceived", keep("received"));
  });
  return tap;
}

let s; // the room of the first test, used by the second
const errors = [];

test("on the wire: sealed frames only, padded; nothing of the photo, the file, the devices or the link", DEADLINE, async () => {
  const server = await startPairingServer();
  servers.push(server);
  const b = await browser();
  const desktopCtx = await b.newContext({ viewport: { width: 1100, height: 800 } });
  const phoneCtx = await b.newContext({ ...devices["Pixel 7"] });
  const desktop = await tapped(desktopCtx, "desktop", errors);
  await desktop.page.goto(`${server.url}/`, { timeout: 15000 });
  await desktopReady(desktop.page);
  const link = await currentLink(desktop.page);
  const secret = new URLSearchParams(new URL(link).hash.slice(1)).get("k");
  assert.match(secret || "", /^[A-Za-z0-9_-]{20,}$/, "the link carries its secret in the fragment");
  const phone = await tapped(phoneCtx, "phone", errors);
  await phone.page.goto(link, { timeout: 15000 });
  await admitted(desktop.page, phone.page);
  const room = await desktop.page.evaluate(() => window.__roomcast.room);
  await phone.page.waitForFunction(() => window.__roomcast.sealing().epoch !== null, null, { timeout: 10000 });

  const photo = makePhoto(1200, 900, 91);
  await phone.page.setInputFiles("#take-photo", { name: "secret-beach.png", mimeType: "image/png", buffer: photo });
  await phone.page.locator("#phone-outgoing li[data-state=delivered]", { hasText: "secret-beach.png" }).waitFor({ timeout: 30000 });
  const doc = Buffer.from("Tax return 2026: the numbers nobody else should see. ".repeat(400));
  await desktop.page.setInputFiles("#desktop-files", { name: "tax-return.txt", mimeType: "text/plain", buffer: doc });
  await phone.page.locator("#received a[download='tax-return.txt']").waitFor({ timeout: 30000 });
  assert.deepEqual(await receivedHashes(desktop.page), { "secret-beach.png": sha256(photo) }, "it works: the bytes arrive");

  const secrets = [
    "secret-beach", "tax-return", "image/png", "text/plain", "Tax return", "Android", "Linux", secret,
    await phone.page.evaluate(() => localStorage.getItem("roomcast.device")),
    await desktop.page.evaluate(() => localStorage.getItem("roomcast.device")),
  ];
  const sizes = new Set([photo.length, doc.length]);
  const numbersIn = (v, out = []) => {
    if (typeof v === "number") out.push(v);
    else if (v && typeof v === "object") for (const x of Object.values(v)) numbersIn(x, out);
    return out;
  };
  // 32-byte windows of both files, every 2 KiB: none may appear in any binary frame.
  const windows = (buf) => Array.from({ length: Math.floor(buf.length / 2048) }, (_, i) => buf.subarray(i * 2048, i * 2048 + 32));
  const plainWindows = [...windows(photo), ...windows(doc)];
  let binaries = 0;
  let texts = 0;
  for (const tap of [desktop, phone]) {
    assert.ok(tap.frames.length > 10, "frames were seen");
    for (const f of tap.frames) {
      if (typeof f.data === "string") {
        texts++;
        for (const s of secrets) assert.ok(!f.data.includes(s), `a text frame shows ${JSON.stringify(s)}: ${f.data.slice(0, 200)}`);
        for (const n of numbersIn(JSON.parse(f.data))) assert.ok(!sizes.has(n), `a text frame shows a file's size: ${f.data.slice(0, 200)}`);
        continue;
      }
      binaries++;
      assert.deepEqual([...f.data.subarray(0, 4)], [0x52, 0x43, 1, 2], "every binary frame is a sealed chunk");
      assert.equal((f.data.length - SEALED_HEADER_BYTES - e2e.TAG_BYTES) % PAD_BYTES, 0, "its size a multiple of 4 KiB");
      for (const w of plainWindows) assert.equal(f.data.indexOf(w), -1, "no 32 bytes of a file in a frame");
    }
  }
  assert.ok(binaries >= 4 && texts >= 10, `${binaries} binary and ${texts} text frames checked`);
  for (const tap of [desktop, phone]) for (const u of tap.urls) assert.ok(!u.includes(secret), `a request carries the link secret: ${u}`);
  assert.deepEqual(errors, []);
  s = { server, desktop, phone, desktopCtx, phoneCtx, room };
});

test("'Remove' makes a new room key: the removed device's key opens nothing sent afterwards; the phone that stays reads on", DEADLINE, async () => {
  assert.ok(s, "needs the room of the test before");
  const { desktop, phone, room } = s;
  // A second device, let in with the code shown now.
  const otherCtx = await (await browser()).newContext({ ...devices["iPhone 13"] });
  const other = await tapped(otherCtx, "other", errors);
  await other.page.goto(await currentLink(desktop.page), { timeout: 15000 });
  await desktop.page.getByRole("button", { name: "Allow Safari on iPhone" }).click({ timeout: 10000 });
  await other.page.waitForFunction(() => window.__roomcast.sealing().epoch !== null, null, { timeout: 15000 });
  const stored = (p) => p.evaluate((r) => JSON.parse(localStorage.getItem(`roomcast.e2e.roomkey.${r}`)), room);
  const old = await stored(other.page);
  assert.deepEqual(old, { epoch: old.epoch, key: (await stored(desktop.page)).key }, "it holds the room key");

  await desktop.page.getByRole("button", { name: "Remove Safari on iPhone" }).click();
  await other.page.getByRole("heading", { name: "Removed from the room" }).waitFor({ timeout: 10000 });
  const now = await stored(desktop.page);
  assert.ok(now.epoch > old.epoch, "a new epoch");
  assert.equal(now.prev.epoch, old.epoch, "the old key only for frames already in flight");
  await phone.page.waitForFunction((e) => window.__roomcast.sealing().epoch === e, now.epoch, { timeout: 15000 });

  const from = desktop.frames.length;
  const photo = makePhoto(900, 700, 92);
  await phone.page.setInputFiles("#take-photo", { name: "after-removal.png", mimeType: "image/png", buffer: photo });
  await phone.page.locator("#phone-outgoing li[data-state=delivered]", { hasText: "after-removal.png" }).waitFor({ timeout: 30000 });
  assert.equal((await receivedHashes(desktop.page))["after-removal.png"], sha256(photo));

  // Everything the desktop received since, opened as the removed device (or its relay) would try.
  const box = e2e.aead();
  const open = async (keyB64, f) => {
    const buf = f.data.buffer.slice(f.data.byteOffset, f.data.byteOffset + f.data.length);
    const c = readSealed(buf);
    const kx = e2e.transferKey(e2e.fromBase64(keyB64), Uint8Array.from(Buffer.from(c.xfer, "hex")));
    return { epoch: c.epoch, plain: await e2e.openChunk(box, kx, c.index, c.header, c.body) };
  };
  const chunks = desktop.frames.slice(from).filter((f) => f.dir === "received" && typeof f.data !== "string");
  assert.ok(chunks.length >= 2, `${chunks.length} chunks captured`);
  for (const f of chunks) {
    const withOld = await open(old.key, f);
    assert.equal(withOld.epoch, now.epoch, "sealed under the new epoch");
    assert.equal(withOld.plain, null, "the removed device's key opens nothing");
    assert.notEqual((await open(now.key, f)).plain, null, "the new key does (so the check above can fail)");
  }
  const sealedTexts = desktop.frames.slice(from).filter((f) => typeof f.data === "string" && f.data.includes('"sealed"')).map((f) => JSON.parse(f.data));
  assert.ok(sealedTexts.length >= 1);
  for (const m of sealedTexts) {
    assert.equal(m.epoch, now.epoch);
    assert.equal(await e2e.openText(box, e2e.fromBase64(old.key), m.sealed), null, "nor its offers and names");
    assert.notEqual(await e2e.openText(box, e2e.fromBase64(now.key), m.sealed), null);
  }
  assert.deepEqual(errors, []);
  await otherCtx.close();
  await s.desktopCtx.close();
  await s.phoneCtx.close();
});
