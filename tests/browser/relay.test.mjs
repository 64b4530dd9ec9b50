// Two browser tabs in one room exchange a photo through the real daemon.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startServer, launchBrowser, fakeImage } from "./harness.mjs";

let server, browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => {
  await browser?.close();
  const code = await server?.stop();
  assert.equal(code, 0, "roomcast exits 0 on SIGTERM");
});

const sha = (b) => createHash("sha256").update(b).digest("hex");

test("a page without a room gets a random 128-bit one in its URL", async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/`, { timeout: 15000 });
  await page.waitForFunction(() => /[?&]room=[0-9a-f]{32}$/.test(location.search), null, { timeout: 10000 });
  await page.getByText(/connected/).waitFor({ timeout: 10000 });
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
  await a.getByText("1 other device in this room.").waitFor({ timeout: 10000 });
  await b.getByText("1 other device in this room.").waitFor({ timeout: 10000 });

  const photo = fakeImage(3 * 1024 * 1024 + 17, 7);
  await a.setInputFiles("#files", { name: "cat.png", mimeType: "image/png", buffer: photo });

  const img = b.locator("#gallery img").first();
  await img.waitFor({ timeout: 15000 });
  assert.equal(await img.getAttribute("alt"), "cat.png");
  const got = await img.evaluate(async (el) => {
    const r = await fetch(el.src);
    return Array.from(new Uint8Array(await r.arrayBuffer()));
  });
  assert.equal(sha(Buffer.from(got)), sha(photo), "received bytes hash the same");
  // The sender shows its own photo; the receiver got exactly one.
  await a.locator("#gallery img").first().waitFor({ timeout: 5000 });
  assert.equal(await b.locator("#gallery img").count(), 1);
  assert.deepEqual(errors, []);
  await a.close();
  await b.close();
});
