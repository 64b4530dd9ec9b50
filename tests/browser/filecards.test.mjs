// Files this browser cannot decode (issue 10, item 8): a HEIC photo from an iPhone is image/heic,
// which Chromium cannot draw. It must arrive as a file card with its name, size and type, never
// as a broken picture or with "Copy image", and be handed out byte for byte. Real PNGs still
// show as pictures. Every wait has a deadline; nothing asserts a timing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { pairing, makePhoto, sha256 } from "./harness.mjs";

const { pair } = pairing();

/** Bytes that look like a HEIC file to a file sniffer (an `ftyp heic` box), then noise. */
function heicLike(size, seed) {
  const buf = Buffer.alloc(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) buf[i] = (x = (x * 1664525 + 1013904223) >>> 0) >>> 24;
  Buffer.from([0, 0, 0, 0x18, ...Buffer.from("ftypheic"), 0, 0, 0, 0, ...Buffer.from("mif1heic")]).copy(buf);
  return buf;
}

/** What a person downloads by clicking `link`: its file name and SHA-256. */
async function download(page, link) {
  const [dl] = await Promise.all([page.waitForEvent("download", { timeout: 10000 }), link.click()]);
  return { name: dl.suggestedFilename(), sha: sha256(await readFile(await dl.path())) };
}

/** Every <img> in the page's lists of files, with whether it decoded (none must be broken). */
const images = (page) =>
  page.$$eval("#gallery img, #preview img, #desktop-outgoing img, #phone-outgoing img, #received img", (imgs) =>
    imgs.map((i) => ({ alt: i.alt, ok: i.complete && i.naturalWidth > 0 })));

test("a HEIC photo arrives as a file card (name, size, type), never as an image, byte for byte; a PNG beside it is a picture", async () => {
  const { desktop, phone, errors, close } = await pair();
  const heic = heicLike(250_000, 7); // "250 kB"
  const png = makePhoto(320, 240, 8);

  // The phone sends both as photos, with its resize option on: what cannot be decoded must go
  // untouched (and a PNG smaller than the limit goes as it is too).
  await phone.locator("summary", { hasText: "Resize before sending" }).click();
  await phone.locator("#resize").selectOption("2048");
  await phone.setInputFiles("#choose-photos", [
    { name: "IMG_0001.HEIC", mimeType: "image/heic", buffer: heic },
    { name: "sunset.png", mimeType: "image/png", buffer: png },
  ]);
  for (const name of ["IMG_0001.HEIC", "sunset.png"])
    await phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: name }).waitFor({ timeout: 20000 });
  // The phone's own rows: a badge for the HEIC, a thumbnail for the PNG.
  const heicRow = phone.locator("#phone-outgoing li", { hasText: "IMG_0001.HEIC" });
  await heicRow.locator(".file-badge", { hasText: "HEIC" }).waitFor({ timeout: 5000 });
  assert.equal(await heicRow.locator("img").count(), 0, "no picture for the HEIC on the phone");
  await phone.locator("#phone-outgoing li", { hasText: "sunset.png" }).locator("img").waitFor({ timeout: 5000 });

  // The desktop's gallery: a card for the HEIC, a picture for the PNG.
  const heicThumb = desktop.getByRole("button", { name: "Show IMG_0001.HEIC" });
  const pngThumb = desktop.getByRole("button", { name: "Show sunset.png" });
  await heicThumb.getByText("IMG_0001.HEIC").waitFor({ timeout: 10000 });
  await heicThumb.getByText("HEIC image · 250 kB").waitFor({ timeout: 5000 });
  assert.equal(await heicThumb.locator("img").count(), 0, "no <img> for the HEIC");
  await pngThumb.locator("img").waitFor({ timeout: 10000 });
  await desktop.waitForFunction(() => [...document.querySelectorAll("#gallery img")].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 10000 });

  // Its preview: the card with name, type and size, no "Copy image", and the Download link hands
  // out the bytes the phone sent.
  await heicThumb.click();
  const card = desktop.locator("#preview-media .preview-file");
  await card.getByText("IMG_0001.HEIC", { exact: true }).waitFor({ timeout: 5000 });
  await card.getByText("HEIC image · 250 kB").waitFor({ timeout: 5000 });
  await card.getByText("image/heic").waitFor({ timeout: 5000 });
  assert.equal(await desktop.locator("#preview-media img").count(), 0, "no broken picture in the preview");
  assert.equal(await desktop.getByRole("button", { name: "Copy image" }).isVisible(), false, "no 'Copy image' for the HEIC");
  assert.deepEqual(await download(desktop, desktop.getByRole("link", { name: "Download" })), { name: "IMG_0001.HEIC", sha: sha256(heic) });

  // The PNG is still a picture, with "Copy image", and downloads as sent too.
  await pngThumb.click();
  const pic = desktop.locator("#preview-media img[alt='sunset.png']");
  await pic.waitFor({ timeout: 5000 });
  await desktop.waitForFunction(() => {
    const i = document.querySelector("#preview-media img");
    return i && i.complete && i.naturalWidth === 320;
  }, null, { timeout: 5000 });
  await desktop.getByRole("button", { name: "Copy image" }).waitFor({ timeout: 5000 });
  assert.deepEqual(await download(desktop, desktop.getByRole("link", { name: "Download" })), { name: "sunset.png", sha: sha256(png) });
  // Back to the HEIC: "Copy image" goes again.
  await heicThumb.click();
  await card.waitFor({ timeout: 5000 });
  assert.equal(await desktop.getByRole("button", { name: "Copy image" }).isVisible(), false);

  // A reload lists both from storage: the same card and picture, nothing broken.
  await desktop.reload({ timeout: 15000 });
  await desktop.getByRole("button", { name: "Show IMG_0001.HEIC" }).getByText("HEIC image · 250 kB").waitFor({ timeout: 10000 });
  await desktop.getByRole("button", { name: "Show sunset.png" }).locator("img").waitFor({ timeout: 10000 });
  await desktop.waitForFunction(() => [...document.querySelectorAll("#gallery img, #preview img")].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 10000 });
  assert.equal(await desktop.getByRole("button", { name: "Show IMG_0001.HEIC" }).locator("img").count(), 0);

  // The other way: the desktop sends the HEIC to the phone; the phone shows a card and saves it whole.
  await desktop.setInputFiles("#desktop-files", { name: "IMG_0002.HEIC", mimeType: "image/heic", buffer: heic });
  await desktop.locator("#desktop-outgoing li[data-state=delivered]", { hasText: "IMG_0002.HEIC" }).waitFor({ timeout: 20000 });
  const got = phone.locator("#received li", { hasText: "IMG_0002.HEIC" });
  await got.getByText("HEIC image · 250 kB").waitFor({ timeout: 10000 });
  assert.equal(await got.locator("img").count(), 0, "no picture for the HEIC on the phone");
  assert.deepEqual(await download(phone, got.getByRole("link", { name: "Save IMG_0002.HEIC" })), { name: "IMG_0002.HEIC", sha: sha256(heic) });

  assert.deepEqual((await images(desktop)).filter((i) => !i.ok), [], "no broken picture on the desktop");
  assert.deepEqual((await images(phone)).filter((i) => !i.ok), [], "no broken picture on the phone");
  assert.deepEqual(errors, []);
  await close();
});
