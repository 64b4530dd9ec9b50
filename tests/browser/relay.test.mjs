// Rooms and the plain relay through the real daemon: the desktop's room, and two phone pages
// in one room exchanging a photo.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, startPairingServer, launchBrowser, fakeImage, makePhoto, sha256, qrText } from "./harness.mjs";

let server, browser, plain;
before(async () => { server = await startPairingServer(); browser = await launchBrowser(); });
after(async () => {
  await browser?.close();
  const codes = await Promise.all([server, plain].filter(Boolean).map((s) => s.stop()));
  assert.deepEqual(codes, codes.map(() => 0), "roomcast exits 0 on SIGTERM");
});

test("a page without a room gets a fresh 128-bit one named from its host token, keeps it over a reload; 'New room' makes another", async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/`, { timeout: 15000 });
  await page.getByText("Connected", { exact: true }).waitFor({ timeout: 10000 });
  const room = await page.evaluate(() => window.__roomcast.room);
  assert.match(room, /^p[0-9a-f]{32}$/, "named from its host token (GET /api/room)");
  const noFragment = (l) => l.replace(/#.*$/, "");
  assert.equal(noFragment(await page.locator("#link").inputValue()), `${server.url}/?room=${room}`);
  assert.equal(new URL(page.url()).search, "", "the desktop's own URL carries no room");

  await page.reload({ timeout: 15000 });
  await page.getByText("Connected", { exact: true }).waitFor({ timeout: 10000 });
  assert.equal(await page.evaluate(() => window.__roomcast.room), room, "same room after a reload");

  await page.getByRole("button", { name: "New room" }).click();
  await page.waitForFunction((old) => window.__roomcast.room !== old, room, { timeout: 10000 });
  const fresh = await page.evaluate(() => window.__roomcast.room);
  assert.match(fresh, /^p[0-9a-f]{32}$/);
  assert.equal(noFragment(await page.locator("#link").inputValue()), `${server.url}/?room=${fresh}`);
  await page.getByText("Connected", { exact: true }).waitFor({ timeout: 10000 });
  await page.close();
});

test("two tabs on a room no computer hosts: neither has a room key, so the photo waits and nothing goes in the clear", async () => {
  const room = "browser-test-room";
  const a = await browser.newPage();
  const b = await browser.newPage();
  const errors = [];
  const binary = [];
  for (const p of [a, b]) {
    p.on("pageerror", (e) => errors.push(e.message));
    p.on("websocket", (ws) => ws.on("framesent", (f) => typeof f.payload !== "string" && binary.push(f.payload.length)));
  }
  await a.goto(`${server.url}/?room=${room}`, { timeout: 15000 });
  await b.goto(`${server.url}/?room=${room}`, { timeout: 15000 });
  for (const p of [a, b]) await p.getByText("This phone is not paired with your computer: scan the code on your computer to send.").waitFor({ timeout: 10000 });

  const photo = makePhoto(400, 300, 7);
  await a.setInputFiles("#choose-photos", { name: "cat.png", mimeType: "image/png", buffer: photo });
  const row = a.locator("#phone-outgoing li", { hasText: "cat.png" });
  await row.waitFor({ timeout: 10000 });
  await a.waitForFunction(() => window.__roomcast.outgoing().length === 1, null, { timeout: 10000 });
  const [t] = await a.evaluate(() => window.__roomcast.outgoing());
  assert.equal(t.acked, 0, "nothing of it was delivered");
  assert.notEqual(t.state, "delivered");
  assert.deepEqual(await a.evaluate(() => window.__roomcast.sealing()), { sealed: 0, opened: 0, plain: 0, bad: 0, stale: 0, parked: 0, overflow: 0, unsent: 0, epoch: null });
  assert.deepEqual(binary, [], "no chunk left either tab");
  assert.equal(await b.locator("#received li").count(), 0);
  assert.deepEqual(errors, []);
  await a.close();
  await b.close();
});

test("roomcast on 127.0.0.1 with no public URL: the desktop shows no link a phone cannot open, and says how to fix it", async () => {
  plain = await startServer(); // --host 127.0.0.1, no ROOMCAST_PUBLIC_URL
  const origins = await (await fetch(`${plain.url}/api/origins`)).json();
  assert.deepEqual(origins, { public_url: null, lan: [], lan_unreachable: "loopback-only" });
  assert.match(plain.log(), /no address a phone can open: listening on 127\.0\.0\.1/);
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`http://localhost:${plain.port}/`, { timeout: 15000 });
  await page.waitForFunction(() => window.__roomcast?.connState === "joined", null, { timeout: 10000 });
  const why = page.locator("#unreachable");
  await why.getByText("Your phone cannot reach roomcast yet").waitFor({ timeout: 10000 });
  await why.getByText("listens only on this computer's own loopback address").waitFor({ timeout: 1000 });
  await why.getByText("HOST=0.0.0.0").first().waitFor({ timeout: 1000 });
  await why.getByText("ROOMCAST_PUBLIC_URL").first().waitFor({ timeout: 1000 });
  assert.equal(await page.locator("#qr").isVisible(), false, "no QR code");
  assert.equal(await page.locator("#qr").getAttribute("src"), null, "no QR code is even drawn");
  assert.equal(await page.locator("#link").isVisible(), false, "no link");
  assert.doesNotMatch(await page.locator("body").innerText(), /\?room=/, "no room link anywhere on the page");
  await ctx.close();
});

test("the desktop's room link and its QR code agree; Copy link copies it", async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${server.url}/`, { timeout: 15000 });
  await page.waitForFunction(() => window.__roomcast?.connState === "joined", null, { timeout: 10000 });
  const room = await page.evaluate(() => window.__roomcast.room);
  const link = () => page.locator("#link").inputValue();
  await page.waitForFunction((want) => document.getElementById("link").value.startsWith(`${want}#k=`), `${server.url}/?room=${room}`, { timeout: 10000 });
  assert.equal(await page.locator("#unreachable").isVisible(), false);
  // Drawn in the page: the link never goes to the server in a URL.
  assert.equal(await qrText(page), await link(), "the QR code says the link");
  assert.match(await page.locator("#qr").getAttribute("src"), /^blob:/);

  // Copy link: the async clipboard where the page may use it.
  await ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
  await page.getByRole("button", { name: "Copy link" }).click();
  await page.getByRole("button", { name: "Copied ✓" }).waitFor({ timeout: 5000 });
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), await link());
  await ctx.close();
});
