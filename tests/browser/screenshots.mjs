// Takes the screenshots in docs/screenshots/ from a scripted session against the real daemon:
//   cd tests/browser && ROOMCAST_BINARY=../../build/dev/roomcast node screenshots.mjs
// desktop-pairing.png: the desktop before a phone joins; desktop-approval.png: the phone has
// opened the link and the desktop asks whether to let it in; desktop.png and phone.png: after
// the phone has sent three photos and a fourth is on its way.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { devices } from "playwright-core";
import { repo, startPairingServer, launchBrowser, makePhoto, desktopReady, qrText, admitted } from "./harness.mjs";

const out = path.join(repo, "docs/screenshots");
mkdirSync(out, { recursive: true });
const server = await startPairingServer();
const browser = await launchBrowser();
try {
  const scheme = process.env.COLOR_SCHEME === "dark" ? "dark" : "light";
  const suffix = scheme === "dark" ? "-dark" : "";
  const desktopCtx = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: scheme });
  const phoneCtx = await browser.newContext({ ...devices["Pixel 7"], deviceScaleFactor: 2, colorScheme: scheme });
  const desktop = await desktopCtx.newPage();
  const phone = await phoneCtx.newPage();
  await desktop.goto(`${server.url}/`, { timeout: 15000 });
  await desktopReady(desktop);
  await qrText(desktop); // drawn
  await desktop.screenshot({ path: path.join(out, `desktop-pairing${suffix}.png`) });

  await phone.goto(await desktop.evaluate(() => window.__roomcast.link), { timeout: 15000 });
  await desktop.locator("#knocks li.knock button.primary:not([disabled])").waitFor({ timeout: 10000 }); // armed
  await desktop.screenshot({ path: path.join(out, `desktop-approval${suffix}.png`) });
  await admitted(desktop, phone);
  const names = ["IMG_2041.png", "IMG_2042.png", "IMG_2043.png"];
  for (const [i, name] of names.entries()) {
    await phone.setInputFiles("#choose-photos", { name, mimeType: "image/png", buffer: makePhoto(1600, 1200, 31 + i * 7) });
    await phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: name }).waitFor({ timeout: 30000 });
  }
  // A fourth photo stops part way, so both pages show a transfer in progress.
  await phone.evaluate(() => window.__roomcast.pauseAfterChunk(5));
  await phone.setInputFiles("#take-photo", { name: "IMG_2044.png", mimeType: "image/png", buffer: makePhoto(1600, 1200, 60) });
  await desktop.locator("#desktop-incoming li", { hasText: "IMG_2044.png" }).waitFor({ timeout: 15000 });
  await phone.waitForFunction(() => window.__roomcast.outgoing().some((t) => t.name === "IMG_2044.png" && t.acked >= 6 * 262144), null, { timeout: 15000 });
  await desktop.locator("#gallery li").nth(2).click();
  await desktop.waitForFunction(() => [...document.images].every((i) => i.complete), null, { timeout: 10000 });
  await phone.waitForFunction(() => [...document.images].every((i) => i.complete), null, { timeout: 10000 });
  await desktop.evaluate(() => scrollTo(0, 0));
  await desktop.screenshot({ path: path.join(out, `desktop${suffix}.png`) });
  await phone.screenshot({ path: path.join(out, `phone${suffix}.png`) });
  console.log(`wrote ${out}/desktop-pairing${suffix}.png, desktop-approval${suffix}.png, desktop${suffix}.png, phone${suffix}.png`);
} finally {
  await browser.close();
  await server.stop();
}
