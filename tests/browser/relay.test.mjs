// Rooms and the plain relay through the real daemon: the desktop's room, and two phone pages
// in one room exchanging a photo.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, startPairingServer, launchBrowser, fakeImage, sha256 } from "./harness.mjs";

let server, browser, plain;
before(async () => { server = await startPairingServer(); browser = await launchBrowser(); });
after(async () => {
  await browser?.close();
  const codes = await Promise.all([server, plain].filter(Boolean).map((s) => s.stop()));
  assert.deepEqual(codes, codes.map(() => 0), "roomcast exits 0 on SIGTERM");
});

test("a page without a room makes a random 128-bit one, keeps it over a reload; 'New room' makes another", async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/`, { timeout: 15000 });
  await page.getByText("Connected", { exact: true }).waitFor({ timeout: 10000 });
  const room = await page.evaluate(() => window.__roomcast.room);
  assert.match(room, /^[0-9a-f]{32}$/);
  assert.equal(await page.locator("#link").inputValue(), `${server.url}/?room=${room}`);
  assert.equal(new URL(page.url()).search, "", "the desktop's own URL carries no room");

  await page.reload({ timeout: 15000 });
  await page.getByText("Connected", { exact: true }).waitFor({ timeout: 10000 });
  assert.equal(await page.evaluate(() => window.__roomcast.room), room, "same room after a reload");

  await page.getByRole("button", { name: "New room" }).click();
  await page.waitForFunction((old) => window.__roomcast.room !== old, room, { timeout: 10000 });
  const fresh = await page.evaluate(() => window.__roomcast.room);
  assert.match(fresh, /^[0-9a-f]{32}$/);
  assert.equal(await page.locator("#link").inputValue(), `${server.url}/?room=${fresh}`);
  await page.getByText("Connected", { exact: true }).waitFor({ timeout: 10000 });
  await page.close();
});

test("a photo picked in one tab shows up, byte for byte, in the other", async () => {
  const room = "browser-test-room";
  const a = await browser.newPage();
  const b = await browser.newPage();
  const errors = [];
  for (const p of [a, b]) p.on("pageerror", (e) => errors.push(e.message));
  await a.goto(`${server.url}/?room=${room}`, { timeout: 15000 });
  await b.goto(`${server.url}/?room=${room}`, { timeout: 15000 });
  await a.getByText("Connected to your computer").waitFor({ timeout: 10000 });
  await b.getByText("Connected to your computer").waitFor({ timeout: 10000 });

  const photo = fakeImage(3 * 1024 * 1024 + 17, 7);
  await a.setInputFiles("#choose-photos", { name: "cat.png", mimeType: "image/png", buffer: photo });

  const img = b.locator("#received img").first();
  await img.waitFor({ timeout: 15000 });
  assert.equal(await img.getAttribute("alt"), "cat.png");
  const got = await img.evaluate(async (el) => {
    const buf = await window.__blobOf(el.src).arrayBuffer();
    return Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", buf)), (b) => b.toString(16).padStart(2, "0")).join("");
  });
  assert.equal(got, sha256(photo), "received bytes hash the same");
  // The sender shows it delivered; the receiver got exactly one.
  await a.locator("#phone-outgoing li[data-state=delivered]").waitFor({ timeout: 10000 });
  assert.equal(await b.locator("#received img").count(), 1);
  assert.deepEqual(errors, []);
  await a.close();
  await b.close();
});

test("without ROOMCAST_PUBLIC_URL a desktop on localhost links to this host's network addresses", async () => {
  plain = await startServer();
  const origins = await (await fetch(`${plain.url}/api/origins`)).json();
  assert.equal(origins.public_url, null);
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const local = `http://localhost:${plain.port}`;
  await page.goto(`${local}/`, { timeout: 15000 });
  await page.waitForFunction(() => window.__roomcast?.connState === "joined", null, { timeout: 10000 });
  const room = await page.evaluate(() => window.__roomcast.room);
  const link = () => page.locator("#link").inputValue();
  // Only the page's own origin is ever opened here; the LAN addresses are just text.
  if (origins.lan.length === 0) {
    assert.equal(await link(), `${local}/?room=${room}`);
    await page.locator("#origin-note").getByText("ROOMCAST_PUBLIC_URL").waitFor({ timeout: 5000 });
  } else {
    assert.equal(await link(), `${origins.lan[0]}/?room=${room}`);
    assert.equal(await page.locator("#origin-row").isVisible(), origins.lan.length > 1, "a picker when there are several");
    if (origins.lan.length > 1) {
      await page.selectOption("#origin", origins.lan[1]);
      assert.equal(await link(), `${origins.lan[1]}/?room=${room}`);
      await page.reload({ timeout: 15000 });
      await page.waitForFunction((want) => document.getElementById("link").value === want, `${origins.lan[1]}/?room=${room}`, { timeout: 10000 });
    }
  }
  // The QR code is of the link shown.
  await page.waitForFunction(() => document.getElementById("qr").complete, null, { timeout: 10000 });
  assert.equal(await page.locator("#qr").getAttribute("src"), `/qr.svg?text=${encodeURIComponent(await link())}`);

  // Copy link: the async clipboard where the page may use it.
  await ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: local });
  await page.getByRole("button", { name: "Copy link" }).click();
  await page.getByRole("button", { name: "Copied ✓" }).waitFor({ timeout: 5000 });
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), await link());
  await ctx.close();
});
