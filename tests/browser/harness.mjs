// Shared pieces of the browser tests: start the real daemon on 127.0.0.1 with an ephemeral
// port, and launch Debian's chromium through playwright-core. Every wait has a deadline.
import { spawn } from "node:child_process";
import net from "node:net";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { createHash } from "node:crypto";
import { after } from "node:test";
import assert from "node:assert/strict";
import { chromium, devices } from "playwright-core";
import pngjs from "pngjs";
import jsQR from "jsqr";

const { PNG } = pngjs;
export { devices }; // for scripts outside tests/browser (bench/e2e-cost.mjs), which cannot resolve playwright-core

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, "../..");
export const binary = process.env.ROOMCAST_BINARY || path.join(repo, "build/release/roomcast");

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts roomcast with ROOMCAST_PUBLIC_URL set to its own loopback URL (so the room link and
 * its QR code point where the test's "phone" can go); resolves to { url, port, stop() }.
 */
export async function startPairingServer(extraEnv = {}) {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      return await startServer({ ROOMCAST_PUBLIC_URL: `http://127.0.0.1:${port}`, ...extraEnv }, 15000, port);
    } catch (e) {
      if (attempt >= 2) throw e; // the port was taken in between: try another
    }
  }
}

/** Starts roomcast; resolves to { url, port, stop() } once it logs its port. */
export function startServer(extraEnv = {}, deadlineMs = 15000, port = 0) {
  const child = spawn(binary, ["--host", "127.0.0.1", "--port", String(port), "--log-level", "info"], {
    env: { ...process.env, ROOMCAST_WEB_ROOT: path.join(repo, "web"), ...extraEnv },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  let up = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`no start-up line within ${deadlineMs} ms:\n${log}`)); }, deadlineMs);
    const early = (code) => { clearTimeout(timer); reject(new Error(`roomcast exited with ${code}:\n${log}`)); };
    child.on("exit", early);
    child.on("error", (e) => { clearTimeout(timer); reject(e); });
    child.stderr.on("data", (chunk) => {
      log += chunk;
      const m = !up && /listening on (https?):\/\/127\.0\.0\.1:(\d+)\//.exec(log);
      if (m) {
        up = true; // once: later log lines must not run this again
        clearTimeout(timer);
        child.removeListener("exit", early);
        const port = Number(m[2]);
        resolve({
          port,
          pid: child.pid,
          url: `${m[1]}://127.0.0.1:${port}`,
          log: () => log,
          // SIGTERM; resolves to the exit code (null when it had to be killed after 10 s).
          stop: () => new Promise((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done(child.exitCode);
            const kill = setTimeout(() => child.kill("SIGKILL"), 10000);
            const hold = setInterval(() => {}, 1000); // keep the event loop up until it exits
            child.once("exit", (code) => { clearTimeout(kill); clearInterval(hold); done(code); });
            child.kill("SIGTERM");
          }),
        });
      }
    });
  });
}

/**
 * Runs in every page before the page's own scripts: remembers the Blob behind each blob: URL the
 * page makes, for window.__blobOf(url). The tests read received bytes through it, because the
 * page's CSP (connect-src 'self' data:) forbids fetch() of blob: URLs, which the page itself
 * never needs; an init script is no page script, so the CSP stays as strict as shipped.
 */
function rememberBlobs() {
  const blobs = new Map();
  const create = URL.createObjectURL;
  URL.createObjectURL = (obj) => {
    const url = create.call(URL, obj);
    blobs.set(url, obj);
    return url;
  };
  window.__blobOf = (url) => {
    const b = blobs.get(url);
    if (!b) throw new Error(`no Blob behind ${url}`);
    return b;
  };
}

/**
 * Debian's chromium with the flags this workplace needs (no network beyond loopback). Every
 * context it makes (browser.newPage too) runs rememberBlobs in its pages.
 */
export async function launchBrowser(extraArgs = []) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      ...extraArgs,
    ],
    timeout: 30000,
  });
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (options) => {
    const ctx = await newContext(options);
    await ctx.addInitScript(rememberBlobs);
    return ctx;
  };
  return browser;
}

/** A deterministic PNG-like payload of `size` bytes (a real PNG header, then noise). */
export function fakeImage(size, seed = 1) {
  const buf = Buffer.alloc(size);
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) {
    x = (x * 1664525 + 1013904223) >>> 0;
    buf[i] = i < sig.length ? sig[i] : x >>> 24;
  }
  return buf;
}

/**
 * A real, decodable PNG photo of `width`×`height` (a landscape: sky, sun, hills) with film
 * grain, so it is several MB like a camera's photo. Deterministic for a given seed.
 */
export function makePhoto(width, height, seed = 1, grain = 24) {
  const png = new PNG({ width, height });
  let x = seed >>> 0;
  const rnd = () => ((x = (x * 1664525 + 1013904223) >>> 0) >>> 24) / 255 - 0.5;
  const hue = (seed * 47) % 360;
  const sunX = width * (0.3 + ((seed * 37) % 40) / 100);
  const sunY = height * 0.38;
  const sunR = Math.min(width, height) * 0.09;
  const ridge = (px, k, amp, base) =>
    height * base + amp * height * (Math.sin(px / width * 6.3 * k + seed) * 0.6 + Math.sin(px / width * 17 * k + seed * 3) * 0.25);
  for (let py = 0; py < height; py++) {
    for (let px = 0; px < width; px++) {
      const t = py / height;
      // sky: warm at the horizon, deep at the top, tinted by the seed's hue
      let r = 40 + 200 * t + 30 * Math.cos((hue * Math.PI) / 180);
      let g = 60 + 120 * t;
      let b = 160 + 60 * (1 - t) + 30 * Math.sin((hue * Math.PI) / 180);
      const d = Math.hypot(px - sunX, py - sunY);
      if (d < sunR) [r, g, b] = [255, 236, 170];
      else if (d < sunR * 3) {
        const k = 1 - (d - sunR) / (sunR * 2);
        r += 60 * k; g += 40 * k; b += 10 * k;
      }
      if (py > ridge(px, 1, 0.08, 0.62)) [r, g, b] = [70 + 40 * t, 80 + 30 * t, 120 - 20 * t];
      if (py > ridge(px, 1.7, 0.05, 0.75)) [r, g, b] = [38, 62 + 40 * t, 58];
      if (py > ridge(px, 2.9, 0.03, 0.88)) [r, g, b] = [22, 40, 34];
      const n = rnd() * grain;
      const i = (py * width + px) * 4;
      png.data[i] = Math.max(0, Math.min(255, r + n));
      png.data[i + 1] = Math.max(0, Math.min(255, g + n));
      png.data[i + 2] = Math.max(0, Math.min(255, b + n));
      png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png, { colorType: 2 });
}

/** Decodes the QR code in a PNG screenshot; the text, or null. */
export function decodeQr(pngBuffer) {
  const img = PNG.sync.read(pngBuffer);
  const found = jsQR(new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length), img.width, img.height);
  return found ? found.data : null;
}

/** The text of the QR code the page drew in #qr, read from a screenshot of it (as a phone's camera would). */
export async function qrText(page, timeout = 10000) {
  await page.waitForFunction(() => {
    const img = document.getElementById("qr");
    return img && img.src.startsWith("blob:") && img.complete && img.naturalWidth > 0;
  }, null, { timeout });
  return decodeQr(await page.locator("#qr").screenshot({ timeout }));
}

export const sha256 = (b) => createHash("sha256").update(b).digest("hex");

/** SHA-256 of the Blob behind a blob: URL the page made (see rememberBlobs). */
export const blobHash = (page, url) =>
  page.evaluate(async (u) => {
    const buf = await window.__blobOf(u).arrayBuffer();
    return Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", buf)), (b) => b.toString(16).padStart(2, "0")).join("");
  }, url);

/** name → SHA-256 of every file the page lists as received. */
export async function receivedHashes(page) {
  const out = {};
  for (const r of await page.evaluate(() => window.__roomcast.received())) out[r.name] = await blobHash(page, r.url);
  return out;
}

/** The daemon's seat_events counter `event` (/metrics answers callers on this machine). */
export async function seatEvents(server, event) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = new RegExp(`^roomcast_seat_events_total\\{event="${event}"\\} (\\d+)`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

/** Polls until the daemon has let `n` seats expire (the grace is short in these tests). */
export async function seatsExpired(server, n, deadlineMs = 30000) {
  const end = Date.now() + deadlineMs;
  while ((await seatEvents(server, "expired")) < n) {
    if (Date.now() > end) throw new Error(`fewer than ${n} seats expired within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The desktop page is in its room, as host, and the room is locked: its link is shown. */
export async function desktopReady(desktop, timeout = 10000) {
  await desktop.waitForFunction(() => window.__roomcast?.connState === "joined" && window.__roomcast.locked, null, { timeout });
}

/**
 * Waits until `phone` is connected to the desktop's room, clicking "Allow" on the desktop when
 * it knocks (a device the desktop let in before comes in by itself). Deadline: `timeout` ms.
 */
export async function admitted(desktop, phone, timeout = 15000) {
  const end = Date.now() + timeout;
  const connected = phone.getByText("Connected to your computer");
  const allow = desktop.locator("#knocks li.knock button", { hasText: "Allow" });
  for (;;) {
    if (await connected.isVisible()) return;
    if (await allow.first().isVisible()) await allow.first().click({ timeout: 5000 }).catch(() => {});
    if (Date.now() > end) throw new Error("the phone was not connected (let in) in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The link the desktop shows now (its link secret is single-use: it changes once a device pairs). */
export const currentLink = (desktop) => desktop.evaluate(() => window.__roomcast.link);

/**
 * The `name` a device that scanned `link` puts in its join (web/pairing.js: the proof of the
 * link's secret, its name sealed), computed in `page` (any page of the server's origin) with a
 * fresh device key: for bare WebSocket clients in the tests that should be let in.
 */
export function provenKnock(page, link, name) {
  return page.evaluate(async ([l, n]) => {
    const pairing = await import("/pairing.js");
    const e2e = await import("/e2e.js");
    const f = pairing.parseFragment(new URL(l).hash);
    if (!f) throw new Error(`no pairing secret in ${l}`);
    return (await pairing.phoneKnock(e2e.aead(), { own: e2e.deviceKeys(), secret: f.secret, desktopPublic: f.desktopPublic, name: n })).knock;
  }, [link, name]);
}

/**
 * For a test file that pairs a desktop with a phone: pair(serverEnv) starts a fresh daemon,
 * opens the desktop page (1100×800) and the room link in an emulated Pixel 7 (its own browser
 * context: a tab of the same context is the same device), both connected; openPhone() opens
 * another tab of that phone. After the file's tests the one browser closes and every daemon
 * must exit 0 on SIGTERM. `browser()` and `servers` are there for tests that need more.
 */
export function pairing() {
  let browser;
  const servers = [];
  after(async () => {
    await browser?.close();
    const codes = await Promise.all(servers.map((s) => s.stop()));
    assert.deepEqual(codes, codes.map(() => 0), "roomcast exits 0 on SIGTERM");
  });
  async function pair(serverEnv = {}) {
    const server = await startPairingServer(serverEnv);
    servers.push(server);
    browser ??= await launchBrowser();
    const desktopCtx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    const phoneCtx = await browser.newContext({ ...devices["Pixel 7"] });
    const desktop = await desktopCtx.newPage();
    const errors = [];
    const watch = (name, p) => p.on("pageerror", (e) => errors.push(`${name}: ${e.message}`));
    watch("desktop", desktop);
    await desktop.goto(`${server.url}/`, { timeout: 15000 });
    await desktopReady(desktop);
    const link = await desktop.evaluate(() => window.__roomcast.link);
    /**
     * A tab of the phone's browser on the room link, connected: the desktop allows it in if it
     * knocks (a device it has not let in yet), as the person at the desktop would.
     */
    const openPhone = async (name = "phone") => {
      const p = await phoneCtx.newPage();
      watch(name, p);
      await p.goto(link, { timeout: 15000 });
      await admitted(desktop, p);
      return p;
    };
    const phone = await openPhone();
    const close = async () => {
      await desktopCtx.close();
      await phoneCtx.close();
    };
    return { server, desktop, phone, openPhone, phoneCtx, errors, close, link };
  }
  return { pair, servers, browser: async () => (browser ??= await launchBrowser()) };
}
