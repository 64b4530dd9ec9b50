// The page where most users are: a plain-HTTP address on the LAN, which is not a secure context,
// so the browser gives it no crypto.subtle. The pairing then runs on the pinned JavaScript
// cryptography (web/vendor/noble.mjs) and must work the same. The LAN name is played by
// "roomcast.test", which this browser alone resolves to 127.0.0.1 (--host-resolver-rules): the
// daemon still listens on loopback only.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startServer, launchBrowser, freePort, desktopReady, admitted, makePhoto, sha256, devices } from "./harness.mjs";

let server, browser, tlsServer, tlsBrowser, stateDir;
after(async () => {
  await browser?.close();
  await tlsBrowser?.close();
  if (server) assert.equal(await server.stop(), 0, "roomcast exits 0 on SIGTERM");
  if (tlsServer) assert.equal(await tlsServer.stop(), 0, "roomcast exits 0 on SIGTERM");
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

test("on plain HTTP at a LAN-style name (no secure context, no crypto.subtle) a phone pairs with the same code on both screens and its photo arrives", { timeout: 90_000 }, async () => {
  const port = await freePort();
  const origin = `http://roomcast.test:${port}`;
  server = await startServer({ ROOMCAST_PUBLIC_URL: origin, ROOMCAST_ALLOWED_HOSTS: "roomcast.test" }, 15000, port);
  browser = await launchBrowser(["--host-resolver-rules=MAP roomcast.test 127.0.0.1"]);
  const desktop = await (await browser.newContext({ viewport: { width: 1100, height: 800 } })).newPage();
  const phone = await (await browser.newContext({ ...devices["Pixel 7"] })).newPage();
  const errors = [];
  for (const [n, p] of [["desktop", desktop], ["phone", phone]]) p.on("pageerror", (e) => errors.push(`${n}: ${e.message}`));

  await desktop.goto(`${origin}/`, { timeout: 15000 });
  assert.deepEqual(await desktop.evaluate(() => [isSecureContext, typeof crypto.subtle]), [false, "undefined"], "really no WebCrypto here");
  await desktopReady(desktop);
  const link = await desktop.evaluate(() => window.__roomcast.link);
  assert.ok(link.startsWith(`${origin}/?room=`) && /#k=/.test(link), link);

  await phone.goto(link, { timeout: 15000 });
  assert.deepEqual(await phone.evaluate(() => [isSecureContext, typeof crypto.subtle]), [false, "undefined"]);
  await phone.getByText("Waiting for your computer to let this phone in").waitFor({ timeout: 10000 });
  const code = await phone.evaluate(() => window.__roomcast.code);
  assert.match(code, /^\d{6}$/);
  await desktop.locator("#knocks li.knock", { hasText: "Chrome on Android wants to join this room" })
    .getByText(`Code ${code.slice(0, 3)} ${code.slice(3)}`).waitFor({ timeout: 10000 });
  await admitted(desktop, phone);

  const photo = makePhoto(640, 480, 91);
  await phone.setInputFiles("#choose-photos", { name: "lan.png", mimeType: "image/png", buffer: photo });
  await phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: "lan.png" }).waitFor({ timeout: 20000 });
  // (Hashed here: the page itself has no crypto.subtle to hash with.)
  const [got] = await desktop.evaluate(() => window.__roomcast.received());
  const bytes = await desktop.evaluate(async (u) => Array.from(new Uint8Array(await window.__blobOf(u).arrayBuffer())), got.url);
  assert.equal(sha256(Buffer.from(bytes)), sha256(photo), "the same bytes");
  assert.deepEqual(errors, []);
});

test("over HTTPS (roomcast's self-signed certificate, accepted as a person would) the page is a secure context: WebCrypto seals, wss carries it, the photo arrives", { timeout: 90_000 }, async () => {
  const port = await freePort();
  const origin = `https://roomcast.test:${port}`;
  stateDir = mkdtempSync(path.join(tmpdir(), "roomcast-tls-"));
  tlsServer = await startServer({ ROOMCAST_PUBLIC_URL: origin, ROOMCAST_ALLOWED_HOSTS: "roomcast.test", ROOMCAST_TLS_SELF_SIGNED: "on", ROOMCAST_STATE_DIR: stateDir }, 30000, port);
  tlsBrowser = await launchBrowser(["--host-resolver-rules=MAP roomcast.test 127.0.0.1"]);
  // ignoreHTTPSErrors: the person clicked through the warning for the self-signed certificate.
  const desktop = await (await tlsBrowser.newContext({ viewport: { width: 1100, height: 800 }, ignoreHTTPSErrors: true })).newPage();
  const phone = await (await tlsBrowser.newContext({ ...devices["Pixel 7"], ignoreHTTPSErrors: true })).newPage();
  const errors = [];
  const sockets = [];
  for (const [n, p] of [["desktop", desktop], ["phone", phone]]) {
    p.on("pageerror", (e) => errors.push(`${n}: ${e.message}`));
    p.on("websocket", (ws) => sockets.push(ws.url()));
  }
  await desktop.goto(`${origin}/`, { timeout: 15000 });
  assert.deepEqual(await desktop.evaluate(() => [isSecureContext, typeof crypto.subtle]), [true, "object"], "WebCrypto here");
  await desktopReady(desktop);
  const link = await desktop.evaluate(() => window.__roomcast.link);
  assert.ok(link.startsWith(`${origin}/?room=`) && /#k=/.test(link), link);
  await phone.goto(link, { timeout: 15000 });
  await admitted(desktop, phone);

  const photo = makePhoto(640, 480, 92);
  await phone.setInputFiles("#choose-photos", { name: "tls.png", mimeType: "image/png", buffer: photo });
  await phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: "tls.png" }).waitFor({ timeout: 20000 });
  const [got] = await desktop.evaluate(() => window.__roomcast.received());
  const bytes = await desktop.evaluate(async (u) => Array.from(new Uint8Array(await window.__blobOf(u).arrayBuffer())), got.url);
  assert.equal(sha256(Buffer.from(bytes)), sha256(photo), "the same bytes");
  assert.ok((await phone.evaluate(() => window.__roomcast.sealing())).sealed > 0, "sealed");
  assert.ok(sockets.length >= 2 && sockets.every((u) => u.startsWith("wss://roomcast.test:")), `over wss: ${sockets}`);
  assert.deepEqual(errors, []);
});
