// The phone-to-desktop app end to end: a desktop and an emulated phone (two browser contexts)
// pair through the QR code and move files both ways through the real daemon, including across
// a dropped connection. Every wait has a deadline; nothing asserts a timing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { devices } from "playwright-core";
import { startPairingServer, launchBrowser, makePhoto, fakeImage, decodeQr, sha256, desktopReady, qrText, provenKnock, currentLink } from "./harness.mjs";

let server, browser, desktopCtx, phoneCtx, desktop, phone, link;
const errors = [];

before(async () => {
  server = await startPairingServer();
  browser = await launchBrowser();
  desktopCtx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  phoneCtx = await browser.newContext({ ...devices["Pixel 7"] });
  desktop = await desktopCtx.newPage();
  phone = await phoneCtx.newPage();
  for (const [name, p] of [["desktop", desktop], ["phone", phone]]) {
    p.on("pageerror", (e) => errors.push(`${name}: ${e.message}`));
    // The page must live within the daemon's CSP (no inline script or style).
    p.on("console", (m) => m.type() === "error" && /Content Security Policy|Refused to/.test(m.text()) && errors.push(`${name}: ${m.text()}`));
  }
});

after(async () => {
  await browser?.close();
  const code = await server?.stop();
  assert.equal(code, 0, "roomcast exits 0 on SIGTERM");
});

/** SHA-256 of the bytes behind an <img> or <a> (its blob: URL), computed in the page. */
function hashOf(locator, attr) {
  return locator.evaluate(async (el, a) => {
    const buf = await window.__blobOf(el.getAttribute(a)).arrayBuffer();
    return Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", buf)), (b) => b.toString(16).padStart(2, "0")).join("");
  }, attr);
}

const pairState = () => desktop.locator("#pair-state");
const phoneItem = (name) => phone.locator("#phone-outgoing li.xfer", { hasText: name });

test("the desktop shows a QR code of the room link; the phone opens what it decodes to", async () => {
  await desktop.goto(`${server.url}/`, { timeout: 15000 });
  await desktopReady(desktop);
  const room = await desktop.evaluate(() => window.__roomcast.room);
  assert.match(room, /^p[0-9a-f]{32}$/, "a 128-bit room named from its host token");
  link = await desktop.locator("#link").inputValue();
  const url = new URL(link);
  assert.equal(url.origin + url.pathname + url.search, `${server.url}/?room=${room}`, "the link is on ROOMCAST_PUBLIC_URL");
  assert.match(url.hash, /^#k=[\w-]{22}&d=[\w-]{43}$/, "the pairing secret and the desktop's key, in the fragment (never sent)");
  await pairState().getByText("Waiting for a device").waitFor({ timeout: 10000 });

  const qr = desktop.locator("#qr");
  await qr.waitFor({ state: "visible", timeout: 10000 });
  await desktop.waitForFunction(() => document.getElementById("qr").complete && document.getElementById("qr").naturalWidth > 0, null, { timeout: 10000 });
  const decoded = decodeQr(await qr.screenshot({ timeout: 10000 }));
  assert.equal(decoded, link, "the QR code decodes to the room link");

  // The phone waits until the person at the desktop lets it in, seeing who asks; both screens
  // show the same code.
  await phone.goto(decoded, { timeout: 15000 });
  await phone.getByText("Waiting for your computer to let this phone in").waitFor({ timeout: 10000 });
  assert.equal(new URL(phone.url()).hash, "", "the secret is out of the phone's address bar and history entry");
  const knock = desktop.locator("#knocks li.knock");
  await knock.getByText("Chrome on Android").waitFor({ timeout: 10000 });
  assert.match(await knock.textContent(), /Chrome on Android wants to join this room/);
  const code = await phone.evaluate(() => window.__roomcast.code);
  assert.match(code, /^\d{6}$/);
  const shown = `${code.slice(0, 3)} ${code.slice(3)}`;
  await phone.locator("#phone-state", { hasText: `shows the code ${shown}` }).waitFor({ timeout: 5000 });
  await knock.getByText(`Code ${shown}`).waitFor({ timeout: 5000 });
  await pairState().getByText("Waiting for a device").waitFor({ timeout: 1000 }); // not in yet
  await knock.getByRole("button", { name: "Allow Chrome on Android" }).click();
  await phone.getByText("Connected to your computer").waitFor({ timeout: 10000 });
  await knock.waitFor({ state: "detached", timeout: 5000 });
  // The desktop confirmed the pairing (it holds the same K_pair): only then the phone keeps it.
  await phone.waitForFunction((r) => !!localStorage.getItem(`roomcast.e2e.paired.${r}`), room, { timeout: 10000 });
  // The secret was spent: the QR code now shows a fresh one, for the same room.
  await desktop.waitForFunction((old) => window.__roomcast.link !== old, link, { timeout: 5000 });
  const fresh = await desktop.evaluate(() => window.__roomcast.link);
  assert.equal(new URL(fresh).search, url.search, "the same room");
  assert.notEqual(new URL(fresh).hash, url.hash, "a fresh secret");
  assert.equal(await qrText(desktop), fresh, "the QR code shows it");
  const phoneId = await phone.evaluate(() => window.__roomcast.id);
  await pairState().getByText("Phone connected · Chrome on Android").waitFor({ timeout: 10000 });
  assert.deepEqual(errors, []);
});

test("a photo of several MB goes from the phone to the desktop: progress, delivered, same bytes", async () => {
  const photo = makePhoto(1600, 1200, 3);
  assert.ok(photo.length > 3_000_000, `the photo is several MB (${photo.length})`);
  // Record every value the phone's progress bar takes.
  await phone.evaluate(() => {
    window.__progress = [];
    new MutationObserver((ms) => {
      for (const m of ms) if (m.target.tagName === "PROGRESS") window.__progress.push(Number(m.target.value));
    }).observe(document.getElementById("phone-outgoing"), { attributes: true, subtree: true, attributeFilter: ["value"] });
  });
  await phone.setInputFiles("#take-photo", { name: "sunset.png", mimeType: "image/png", buffer: photo });

  const item = phoneItem("sunset.png");
  await item.and(phone.locator("[data-state=delivered]")).waitFor({ timeout: 30000 });
  assert.match(await item.locator(".xfer-text").textContent(), /Delivered/);
  assert.equal(await item.locator("progress").evaluate((p) => p.value), 100, "progress reaches 100 %");
  const seen = await phone.evaluate(() => window.__progress);
  assert.ok(seen.some((v) => v > 0 && v < 100), `progress moved through intermediate values: ${seen}`);

  const img = desktop.locator("#preview img");
  await img.waitFor({ timeout: 10000 });
  assert.equal(await img.getAttribute("alt"), "sunset.png");
  assert.equal(await hashOf(img, "src"), sha256(photo), "the desktop's bytes hash the same");
  assert.ok(await img.evaluate((i) => i.naturalWidth === 1600), "the desktop decodes and shows it");
  assert.equal(await desktop.locator("#gallery li").count(), 1);
  assert.match(await desktop.locator("#preview-info").textContent(), /MB/);
  assert.equal(await desktop.locator("#preview-download").getAttribute("download"), "sunset.png");
  assert.deepEqual(errors, []);
});

test("the phone's connection drops mid-transfer: it keeps its seat and the transfer completes", async () => {
  const photo = makePhoto(2000, 1500, 5);
  const phoneId = await phone.evaluate(() => window.__roomcast.id);
  // The socket dies right after chunk 5 and stays down, as while the camera app has the phone.
  await phone.evaluate(() => window.__roomcast.cutAfterChunk(5));
  await phone.setInputFiles("#take-photo", { name: "hills.png", mimeType: "image/png", buffer: photo });
  try {
    await pairState().and(desktop.locator("[data-state=reconnecting]")).waitFor({ timeout: 15000 });
    assert.equal(await pairState().textContent(), "Phone reconnecting… · Chrome on Android");
    const mid = await phone.evaluate(() => window.__roomcast.outgoing().find((t) => t.name === "hills.png"));
    assert.equal(mid.state, "sending");
    assert.ok(mid.acked < mid.size, "not finished before the drop");
    assert.equal(await desktop.locator("#gallery li").count(), 1, "nothing new on the desktop yet");

    // Back from the camera with no network yet: reconnecting fails until the network returns.
    await phoneCtx.setOffline(true);
    await phone.evaluate(() => window.__roomcast.release());
    await phone.locator("#phone-state[data-state=reconnecting]").waitFor({ timeout: 10000 });
    await phoneItem("hills.png").getByText(/reconnecting/).waitFor({ timeout: 10000 });
  } finally {
    await phoneCtx.setOffline(false); // `online`: the page reconnects at once with its token
    await phone.evaluate(() => window.__roomcast.release());
  }
  await pairState().getByText("Phone connected · Chrome on Android").waitFor({ timeout: 20000 });
  assert.equal(await phone.evaluate(() => window.__roomcast.id), phoneId, "the same seat");
  await phone.waitForFunction(() => window.__roomcast.outgoing().find((t) => t.name === "hills.png").resumedFrom.length > 0, null, { timeout: 10000 });
  const after = await phone.evaluate(() => window.__roomcast.outgoing().find((t) => t.name === "hills.png"));
  assert.deepEqual(after.resumedFrom, [6], "went on after the 6 chunks the desktop already had");

  const item = phoneItem("hills.png");
  await item.and(phone.locator("[data-state=delivered]")).waitFor({ timeout: 30000 });
  assert.equal(await item.locator("progress").evaluate((p) => p.value), 100);
  const img = desktop.locator("#preview img[alt='hills.png']");
  await img.waitFor({ timeout: 10000 });
  assert.equal(await hashOf(img, "src"), sha256(photo), "identical bytes after the drop");
  assert.equal(await desktop.locator("#gallery li").count(), 2, "received once, no duplicate");
  assert.deepEqual(errors, []);
});

test("resizing on the phone: longest side 2048 px, JPEG, the right way up (EXIF orientation)", async () => {
  // A 3000×2000 JPEG whose EXIF says "rotate 90°": it is a portrait photo, 2000 wide × 3000 high.
  const jpeg = Buffer.from(await phone.evaluate(async () => {
    const c = document.createElement("canvas");
    c.width = 3000;
    c.height = 2000;
    const g = c.getContext("2d");
    g.fillStyle = "#2a62e8";
    g.fillRect(0, 0, 3000, 2000);
    g.fillStyle = "#ffcc00";
    g.fillRect(0, 0, 600, 600);
    const blob = await new Promise((r) => c.toBlob(r, "image/jpeg", 0.9));
    const body = new Uint8Array(await blob.arrayBuffer());
    const exif = [0xff, 0xe1, 0x00, 0x22, 0x45, 0x78, 0x69, 0x66, 0, 0, 0x49, 0x49, 0x2a, 0, 8, 0, 0, 0,
      1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0];
    return [...body.slice(0, 2), ...exif, ...body.slice(2)];
  }));
  await phone.locator("details.options summary").click();
  await phone.selectOption("#resize", "2048");
  await phone.selectOption("#quality", "0.85");
  try {
    await phone.setInputFiles("#take-photo", { name: "portrait.jpeg", mimeType: "image/jpeg", buffer: jpeg });
    await phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: "portrait.jpg" }).waitFor({ timeout: 20000 });
  } finally {
    await phone.selectOption("#resize", "0");
  }
  const img = desktop.locator("#preview img[alt='portrait.jpg']");
  await img.waitFor({ timeout: 10000 });
  const size = await img.evaluate(async (i) => {
    await i.decode();
    return [i.naturalWidth, i.naturalHeight, window.__blobOf(i.src).type];
  });
  assert.deepEqual(size, [1365, 2048, "image/jpeg"], "portrait, longest side 2048");
  assert.deepEqual(errors, []);
});

test("files dropped or picked on the desktop go to the phone", async () => {
  // Dropped: a non-image file, built in the page and dropped on the document.
  const doc = fakeImage(700 * 1024 + 3, 11);
  await desktop.evaluate((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], "notes.bin", { type: "application/octet-stream" }));
    for (const type of ["dragenter", "dragover", "drop"])
      document.body.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, doc.toString("base64"));
  const save = phone.locator("#received a[download='notes.bin']");
  await save.waitFor({ timeout: 20000 });
  assert.equal(await hashOf(save, "href"), sha256(doc), "the phone's copy hashes the same");
  await desktop.locator("#desktop-outgoing li[data-state=delivered]", { hasText: "notes.bin" }).waitFor({ timeout: 10000 });

  // Picked: an image, shown inline on the phone.
  const pic = makePhoto(800, 600, 9, 8);
  await desktop.setInputFiles("#desktop-files", { name: "map.png", mimeType: "image/png", buffer: pic });
  const img = phone.locator("#received img[alt='map.png']");
  await img.waitFor({ timeout: 20000 });
  assert.equal(await hashOf(img, "src"), sha256(pic));
  assert.deepEqual(errors, []);
});

test("the Socket.IO tutorial's image message, in the clear, is refused and counted: a private room shows only what is sealed", async () => {
  const pic = makePhoto(64, 48, 2, 0);
  const room = await desktop.evaluate(() => window.__roomcast.room);
  const before = await desktop.evaluate(() => window.__roomcast.sealing().plain);
  const gallery = await desktop.locator("#gallery li").count();
  // A bare WebSocket client, as the tutorial's page would be, from a third page. The desktop's
  // room is locked: given the link shown now, it knocks with its proof and is let in.
  const other = await phoneCtx.newPage();
  await other.goto(`${server.url}/healthz`, { timeout: 10000 });
  const name = await provenKnock(desktop, await currentLink(desktop), "Tutorial page");
  const sent = other.evaluate(
    ({ room, data, name }) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://${location.host}/ws`);
        const timer = setTimeout(() => reject(new Error("no joined")), 15000);
        ws.onopen = () => ws.send(JSON.stringify({ type: "join", room, name }));
        ws.onmessage = (ev) => {
          if (JSON.parse(ev.data).type !== "joined") return;
          ws.send(JSON.stringify({ type: "image", data }));
          ws.close(1000); // after the queued message
          clearTimeout(timer);
          resolve();
        };
      }),
    { room, data: `data:image/png;base64,${pic.toString("base64")}`, name },
  );
  await desktop.getByRole("button", { name: "Allow Tutorial page" }).click({ timeout: 10000 });
  await sent;
  await desktop.waitForFunction((n) => window.__roomcast.sealing().plain > n, before, { timeout: 10000 });
  assert.equal(await desktop.locator("#preview img[alt='image']").count(), 0, "not shown");
  assert.equal(await desktop.locator("#gallery li").count(), gallery, "nothing new in the gallery");
  await other.close();
  assert.deepEqual(errors, []);
});
