// Shared pieces of the browser tests: start the real daemon on 127.0.0.1 with an ephemeral
// port, and launch Debian's chromium through playwright-core. Every wait has a deadline.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, "../..");
export const binary = process.env.ROOMCAST_BINARY || path.join(repo, "build/release/roomcast");

/** Starts roomcast; resolves to { url, port, stop() } once it logs its port. */
export function startServer(extraEnv = {}, deadlineMs = 15000) {
  const child = spawn(binary, ["--host", "127.0.0.1", "--port", "0", "--log-level", "info"], {
    env: { ...process.env, ROOMCAST_WEB_ROOT: path.join(repo, "web"), ...extraEnv },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`no start-up line within ${deadlineMs} ms:\n${log}`)); }, deadlineMs);
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`roomcast exited with ${code}:\n${log}`)); });
    child.on("error", (e) => { clearTimeout(timer); reject(e); });
    child.stderr.on("data", (chunk) => {
      log += chunk;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(log);
      if (m) {
        clearTimeout(timer);
        child.removeAllListeners("exit");
        const port = Number(m[1]);
        resolve({
          port,
          url: `http://127.0.0.1:${port}`,
          log: () => log,
          stop: () => new Promise((done) => {
            if (child.exitCode !== null) return done(child.exitCode);
            const kill = setTimeout(() => child.kill("SIGKILL"), 10000);
            child.on("exit", (code) => { clearTimeout(kill); done(code); });
            child.kill("SIGTERM");
          }),
        });
      }
    });
  });
}

/** Debian's chromium with the flags this workplace needs (no network beyond loopback). */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
    timeout: 30000,
  });
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
