// What end-to-end encryption would add to a 12 MB photo, measured in Debian's Chromium against
// the real daemon on 127.0.0.1, in one run, side by side:
//   * plain:  a 12 MB file picked on an emulated phone until the desktop has it whole
//             ("delivered"), as the page does it today, unencrypted (median of ROUNDS);
//   * seal + open of the same 12 MB in 256 KiB chunks with web/e2e.js (transfer key, chunk
//             header as associated data), with WebCrypto's AES-GCM (secure contexts: HTTPS,
//             localhost) and with @noble/ciphers' (plain HTTP on a LAN), in the desktop page;
//   * the ratio (plain + seal + open) / plain: an upper bound on the wired cost, as if no
//             sealing overlapped the network (the page pipelines a window of 16 chunks, so the
//             real cost should be lower). The page does not seal yet (docs/PRIVACY.md).
//
//   cd tests/browser && npm ci && node ../../bench/e2e-cost.mjs      (ROUNDS=5 by default)
//
// Bounded: ROUNDS transfers and ROUNDS × 2 seal/open passes, each with a deadline.
import { startPairingServer, launchBrowser, fakeImage, desktopReady, admitted, devices } from "../tests/browser/harness.mjs";

const ROUNDS = Math.min(Number(process.env.ROUNDS || 5), 20);
const SIZE = 12 * 1024 * 1024;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const server = await startPairingServer();
const browser = await launchBrowser();
try {
  const desktop = await (await browser.newContext({ viewport: { width: 1100, height: 800 } })).newPage();
  await desktop.goto(`${server.url}/`, { timeout: 15000 });
  await desktopReady(desktop);
  const link = await desktop.evaluate(() => window.__roomcast.link);
  const phone = await (await browser.newContext({ ...devices["Pixel 7"] })).newPage();
  await phone.goto(link, { timeout: 15000 });
  await admitted(desktop, phone);

  const plain = [];
  for (let i = 0; i < ROUNDS; i++) {
    const name = `bench-${i}.bin`;
    const t0 = Date.now();
    await phone.setInputFiles("#choose-files", { name, mimeType: "application/octet-stream", buffer: fakeImage(SIZE, 100 + i) });
    await phone.locator("#phone-outgoing li[data-state=delivered]", { hasText: name }).waitFor({ timeout: 60000 });
    plain.push(Date.now() - t0);
  }

  const crypt = await desktop.evaluate(async ([size, rounds]) => {
    const e2e = await import("/e2e.js");
    const chunk = 262144;
    const data = new Uint8Array(size);
    for (let at = 0; at < size; at += 65536) crypto.getRandomValues(data.subarray(at, Math.min(size, at + 65536)));
    const out = {};
    for (const [name, box] of [["webcrypto", e2e.aead(crypto.subtle)], ["noble", e2e.aead(null)]]) {
      const seal = [];
      const open = [];
      for (let r = 0; r < rounds; r++) {
        const key = e2e.transferKey(e2e.randomBytes(32), e2e.randomBytes(16), e2e.randomBytes(16));
        const header = new Uint8Array(24);
        const sealed = [];
        let t = performance.now();
        for (let i = 0, at = 0; at < size; i++, at += chunk) {
          new DataView(header.buffer).setUint32(20, i);
          sealed.push([Uint8Array.from(header), await e2e.sealChunk(box, key, i, header, data.subarray(at, at + chunk))]);
        }
        seal.push(performance.now() - t);
        t = performance.now();
        for (const [i, [h, s]] of sealed.entries()) if (!(await e2e.openChunk(box, key, i, h, s))) throw new Error("did not open");
        open.push(performance.now() - t);
      }
      out[name] = { seal, open };
    }
    return out;
  }, [SIZE, ROUNDS]);

  const p = median(plain);
  const rows = [["plain transfer (phone → desktop, delivered)", p, null]];
  for (const [name, { seal, open }] of Object.entries(crypt)) {
    const s = median(seal);
    const o = median(open);
    rows.push([`seal 12 MB, ${name}`, s, null], [`open 12 MB, ${name}`, o, null], [`plain + seal + open, ${name}`, p + s + o, (p + s + o) / p]);
  }
  const chromium = browser.version();
  console.log(`12 MB, 256 KiB chunks, median of ${ROUNDS}, Chromium ${chromium}, ${new Date().toISOString().slice(0, 10)}\n`);
  console.log("| what | ms | × plain |\n|---|---:|---:|");
  for (const [what, ms, ratio] of rows) console.log(`| ${what} | ${ms.toFixed(0)} | ${ratio ? ratio.toFixed(2) : ""} |`);
  console.log(`\nraw: ${JSON.stringify({ plain, ...crypt }, (k, v) => (typeof v === "number" ? Math.round(v) : v))}`);
} finally {
  await browser.close();
  await server.stop();
}
