// What end-to-end encryption costs a 12 MB photo, measured in Debian's Chromium against the real
// daemon on 127.0.0.1, in one run, side by side, rounds interleaved:
//   * plain:  the page as it was before it sealed frames (git commit BASE, `web/` of it served
//             with --web-root by a second daemon): a 12 MB file picked on an emulated phone until
//             the phone shows it delivered (the desktop stored it and acknowledged it);
//   * sealed: today's page, the same file, the same way: every chunk sealed on the phone and
//             opened on the desktop (web/sealing.js), with WebCrypto's AES-GCM (localhost is a
//             secure context) and, on a LAN-style plain-HTTP origin (no crypto.subtle), with
//             the pinned @noble/ciphers;
//   * the ratios sealed ÷ plain, per origin kind (the bar: within 1.5×).
//
//   cd tests/browser && npm ci && node ../../bench/e2e-cost.mjs      (ROUNDS=5, BASE=114991a)
//
// Bounded: 4 × ROUNDS transfers, each with a deadline.
import { execFileSync } from "node:child_process";
import { mkdtempSync, cpSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startServer, launchBrowser, fakeImage, desktopReady, admitted, devices, freePort, repo } from "../tests/browser/harness.mjs";

const ROUNDS = Math.min(Number(process.env.ROUNDS || 5), 20);
const BASE = process.env.BASE || "114991a";
const SIZE = 12 * 1024 * 1024;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// The page before sealing, with today's vendored libraries (web/vendor is not in git).
const old = mkdtempSync(path.join(tmpdir(), "roomcast-e2e-base-"));
execFileSync("bash", ["-c", `git -C "${repo}" archive ${BASE} web | tar -x -C "${old}"`]);
cpSync(path.join(repo, "web/vendor"), path.join(old, "web/vendor"), { recursive: true });

const browser = await launchBrowser(["--host-resolver-rules=MAP roomcast.test 127.0.0.1"]);
const servers = [];
try {
  /** A daemon serving `webRoot`, a desktop and a phone paired on it, at `host` (127.0.0.1, or roomcast.test: plain HTTP, not a secure context). */
  async function setup(webRoot, host) {
    const port = await freePort();
    const origin = `http://${host}:${port}`;
    const server = await startServer({ ROOMCAST_WEB_ROOT: webRoot, ROOMCAST_PUBLIC_URL: origin, ...(host === "127.0.0.1" ? {} : { ROOMCAST_ALLOWED_HOSTS: host }) }, 15000, port);
    servers.push(server);
    const desktop = await (await browser.newContext({ viewport: { width: 1100, height: 800 } })).newPage();
    await desktop.goto(`${origin}/`, { timeout: 15000 });
    await desktopReady(desktop, 20000);
    const phone = await (await browser.newContext({ ...devices["Pixel 7"] })).newPage();
    await phone.goto(await desktop.evaluate(() => window.__roomcast.link), { timeout: 15000 });
    await admitted(desktop, phone, 20000);
    const secure = await phone.evaluate(() => !!globalThis.crypto?.subtle);
    return { phone, secure, times: [] };
  }
  const cases = {
    "plain, localhost": await setup(path.join(old, "web"), "127.0.0.1"),
    "sealed, localhost (WebCrypto)": await setup(path.join(repo, "web"), "127.0.0.1"),
    "plain, LAN-style http": await setup(path.join(old, "web"), "roomcast.test"),
    "sealed, LAN-style http (noble)": await setup(path.join(repo, "web"), "roomcast.test"),
  };
  for (let i = 0; i < ROUNDS; i++) {
    for (const [what, c] of Object.entries(cases)) {
      const name = `bench-${i}.bin`;
      const file = fakeImage(SIZE, 100 + i);
      const t0 = Date.now();
      await c.phone.setInputFiles("#choose-files", { name, mimeType: "application/octet-stream", buffer: file });
      await c.phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: name }).waitFor({ timeout: 120000 });
      c.times.push(Date.now() - t0);
    }
  }
  const sealedOk = await cases["sealed, localhost (WebCrypto)"].phone.evaluate(() => window.__roomcast.sealing());
  if (!(sealedOk.sealed > 0)) throw new Error(`the sealed page did not seal: ${JSON.stringify(sealedOk)}`);
  const m = Object.fromEntries(Object.entries(cases).map(([k, c]) => [k, median(c.times)]));
  console.log(`12 MB phone → desktop until delivered, median of ${ROUNDS}, Chromium ${browser.version()}, base ${BASE}, ${new Date().toISOString().slice(0, 10)}\n`);
  console.log("| page | secure context | ms | × plain |\n|---|---|---:|---:|");
  for (const [what, c] of Object.entries(cases)) {
    const plainOf = what.includes("LAN") ? m["plain, LAN-style http"] : m["plain, localhost"];
    console.log(`| ${what} | ${c.secure ? "yes" : "no"} | ${m[what]} | ${what.startsWith("sealed") ? (m[what] / plainOf).toFixed(2) : ""} |`);
  }
  console.log(`\nraw: ${JSON.stringify(Object.fromEntries(Object.entries(cases).map(([k, c]) => [k, c.times])))}`);
} finally {
  await browser.close();
  for (const s of servers) await s.stop();
  rmSync(old, { recursive: true, force: true });
}
