// What a person notices when files come and go (issue 10, item 10): a count in the title and a
// badge on the favicon while the page is in the background, a notification if they allowed it
// (asked only on a click); the phone shows what the computer sent at the top, with a notice;
// devices have names from their browsers, which the desktop can change; screen readers hear
// "Received …" and "Delivered …"; the rows are reachable with the arrow keys; "Copy image"
// says what it is doing; the progress bar is where its % says; the buttons look pressable.
// Every wait has a deadline; nothing asserts a timing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import pngjs from "pngjs";
import { pairing, makePhoto, fakeImage, sha256, provenKnock, currentLink } from "./harness.mjs";

const { PNG } = pngjs;
const { pair } = pairing();
const DEADLINE = { timeout: 90_000 };
const DESKTOP_TITLE = "roomcast — pair your phone";

const delivered = (page, list, name) =>
  page.locator(`#${list} li[data-state=delivered]`, { hasText: name }).waitFor({ timeout: 20000 });
const joined = (page) => page.waitForFunction(() => window.__roomcast?.connState === "joined", null, { timeout: 10000 });

/** What a person downloads by clicking `link`: its file name and SHA-256. */
async function download(page, link) {
  const [dl] = await Promise.all([page.waitForEvent("download", { timeout: 10000 }), link.click()]);
  return { name: dl.suggestedFilename(), sha: sha256(await readFile(await dl.path())) };
}

/**
 * Runs before the page's scripts: every Notification the page makes is a real one, and is also
 * written down (title, body); so is every permission request.
 */
function recordNotifications() {
  window.__notifications = [];
  window.__asked = 0;
  const Real = window.Notification;
  if (typeof Real !== "function") return;
  class Recorded extends Real {
    constructor(title, options = {}) {
      super(title, options); // throws where the browser refuses: then nothing is recorded
      window.__notifications.push({ title, body: options.body ?? "" });
    }
    static get permission() {
      return Real.permission;
    }
    static requestPermission(...args) {
      window.__asked++;
      return Real.requestPermission(...args);
    }
  }
  window.Notification = Recorded;
}

test("files arriving while the desktop is in the background: '(2)' in the title, a badge on the favicon, a notification; gone once it is looked at", DEADLINE, async () => {
  const { desktop, phone, server, errors, close } = await pair();
  const ctx = desktop.context();
  await ctx.addInitScript(recordNotifications);
  await desktop.reload({ timeout: 15000 });
  await joined(desktop);

  // Nothing is asked on load; the button asks when clicked, and the page says what to do (the
  // browser's question itself is not drawn by headless Chromium, and may stay unanswered).
  const button = desktop.getByRole("button", { name: "Notify me when files arrive" });
  await button.waitFor({ timeout: 5000 });
  assert.equal(await desktop.evaluate(() => window.__asked), 0, "no permission request on load");
  await button.click();
  await desktop.locator("#notify-state").getByText(/Answer your browser's question|Not allowed yet|blocked/).waitFor({ timeout: 5000 });
  assert.equal(await desktop.evaluate(() => window.__asked), 1, "asked once, on the click");

  // The person allows notifications for roomcast (what the browser's prompt would do).
  await ctx.grantPermissions(["notifications"], { origin: server.url });
  await desktop.reload({ timeout: 15000 });
  await joined(desktop);
  await desktop.getByText("Notifications on ✓").waitFor({ timeout: 5000 });
  assert.equal(await button.isVisible(), false);
  assert.equal(await desktop.evaluate(() => window.__asked), 0);
  assert.equal(await desktop.title(), DESKTOP_TITLE);

  // The person opens another page of this browser and looks at that: the desktop page is no
  // longer focused. (Playwright makes every page look focused; with that emulation off the real
  // focus counts. Headless Chromium keeps every page "visible", so focus is what changes.)
  const cdp = await ctx.newCDPSession(desktop);
  await cdp.send("Emulation.setFocusEmulationEnabled", { enabled: false });
  const other = await ctx.newPage();
  await other.goto(`${server.url}/healthz`, { timeout: 15000 });
  await other.bringToFront();
  await desktop.waitForFunction(() => !document.hasFocus(), null, { timeout: 5000 });

  const photo = makePhoto(400, 300, 11);
  const notes = Buffer.from("notes from the phone\n");
  await phone.setInputFiles("#choose-files", [
    { name: "first.png", mimeType: "image/png", buffer: photo },
    { name: "notes.txt", mimeType: "text/plain", buffer: notes },
  ]);
  await delivered(phone, "phone-outgoing", "first.png");
  await delivered(phone, "phone-outgoing", "notes.txt");
  await desktop.waitForFunction((t) => document.title === `(2) ${t}`, DESKTOP_TITLE, { timeout: 10000 });

  // The favicon is a PNG with a red badge over the blue icon.
  const href = await desktop.locator("link[rel~='icon']").getAttribute("href");
  assert.match(href, /^data:image\/png;base64,/);
  const icon = PNG.sync.read(Buffer.from(href.split(",")[1], "base64"));
  const px = (x, y) => Array.from(icon.data.subarray((y * icon.width + x) * 4, (y * icon.width + x) * 4 + 3));
  const [r, g, b] = px(30, 20); // inside the badge, left of its digit
  assert.ok(r > 180 && g < 90 && b < 90, `the badge is red: ${[r, g, b]}`);
  const [r2, g2, b2] = px(10, 54); // the icon's blue square
  assert.ok(b2 > 180 && r2 < 90, `the icon is still there: ${[r2, g2, b2]}`);

  // One real notification per arrival, the second replacing the first (same tag).
  await desktop.waitForFunction(() => window.__notifications.length === 2, null, { timeout: 5000 });
  assert.deepEqual(await desktop.evaluate(() => window.__notifications), [
    { title: "Received first.png", body: "From your phone" },
    { title: "2 files received", body: "From your phone: first.png, notes.txt" },
  ]);

  // Back to the desktop's page: the count and the badge go.
  await other.close();
  await desktop.bringToFront();
  await desktop.waitForFunction((t) => document.title === t, DESKTOP_TITLE, { timeout: 5000 });
  assert.equal(await desktop.locator("link[rel~='icon']").getAttribute("href"), "/favicon.svg");

  // A file arriving while the person is looking at the page: no count, no notification.
  await desktop.waitForFunction(() => document.hasFocus(), null, { timeout: 5000 });
  await phone.setInputFiles("#choose-files", { name: "third.txt", mimeType: "text/plain", buffer: Buffer.from("3") });
  await delivered(phone, "phone-outgoing", "third.txt");
  await desktop.getByRole("button", { name: "Show third.txt" }).waitFor({ timeout: 5000 });
  assert.equal(await desktop.title(), DESKTOP_TITLE);
  assert.equal(await desktop.evaluate(() => window.__notifications.length), 2);
  assert.deepEqual(errors, []);
  await close();
});

test("what the computer sends lands at the top of the phone's page, with a notice that can be dismissed", DEADLINE, async () => {
  const { desktop, phone, errors, close } = await pair();
  const pic = makePhoto(480, 320, 12);
  await desktop.setInputFiles("#desktop-files", { name: "for-phone.png", mimeType: "image/png", buffer: pic });
  await delivered(desktop, "desktop-outgoing", "for-phone.png");

  const notice = phone.locator("#phone-notice");
  await notice.getByText("New from your computer: for-phone.png").waitFor({ timeout: 10000 });
  const first = phone.locator("#received > li").first();
  await first.getByText("for-phone.png").waitFor({ timeout: 5000 });
  // Above the camera button, not below everything sent.
  const got = await first.boundingBox();
  const camera = await phone.locator("label", { hasText: "Take photo" }).boundingBox();
  const sent = await phone.locator("#sent-title").boundingBox();
  assert.ok(got.y < camera.y && got.y < sent.y, `the received file (y ${got.y}) is above the camera button (y ${camera.y})`);
  assert.deepEqual(await download(phone, first.getByRole("link", { name: "Save for-phone.png" })), { name: "for-phone.png", sha: sha256(pic) });

  // A second one: the newest on top, and the notice counts.
  const list = Buffer.from("milk, eggs\n");
  await desktop.setInputFiles("#desktop-files", { name: "list.txt", mimeType: "text/plain", buffer: list });
  await notice.getByText("New from your computer: list.txt and 1 more").waitFor({ timeout: 10000 });
  await phone.locator("#received > li").first().getByText("list.txt").waitFor({ timeout: 5000 });

  await notice.getByRole("button", { name: "Dismiss the notice" }).click();
  await notice.waitFor({ state: "hidden", timeout: 5000 });
  // Stored files listed after a reload are not news.
  await phone.reload({ timeout: 15000 });
  await phone.getByText("Connected to your computer").waitFor({ timeout: 10000 });
  await phone.locator("#received > li").nth(1).waitFor({ timeout: 10000 });
  assert.equal(await notice.isVisible(), false);
  assert.deepEqual(errors, []);
  await close();
});

test("devices are named from their browsers ('Chrome on Android'); a rename on the desktop stays after a reload; names from others are only text", DEADLINE, async () => {
  const { desktop, phone, errors, close } = await pair();
  const pairState = desktop.locator("#pair-state");
  await pairState.getByText("Phone connected · Chrome on Android").waitFor({ timeout: 10000 });
  const phoneDevice = await phone.evaluate(() => localStorage.getItem("roomcast.device"));
  assert.match(phoneDevice, /^[0-9a-f]{32}$/, "a persistent random device id");
  assert.match(await desktop.evaluate(() => localStorage.getItem("roomcast.device")), /^[0-9a-f]{32}$/);

  await desktop.getByRole("button", { name: "Rename Chrome on Android" }).click();
  const input = desktop.getByRole("textbox", { name: "Name for Chrome on Android" });
  await input.fill("Anna's Pixel");
  await input.press("Enter");
  await pairState.getByText("Phone connected · Anna's Pixel").waitFor({ timeout: 5000 });
  assert.equal(await desktop.evaluate((d) => localStorage.getItem(`roomcast.name.${d}`), phoneDevice), "Anna's Pixel");

  // Both reload: the desktop remembers the name, by the phone's own id.
  await desktop.reload({ timeout: 15000 });
  await joined(desktop);
  await pairState.getByText("Phone connected · Anna's Pixel").waitFor({ timeout: 10000 });
  await phone.reload({ timeout: 15000 });
  await phone.getByText("Connected to your computer").waitFor({ timeout: 10000 });
  await pairState.getByText("Phone connected · Anna's Pixel").waitFor({ timeout: 10000 });
  assert.equal(await phone.evaluate(() => localStorage.getItem("roomcast.device")), phoneDevice, "the same device after a reload");

  // A third member announces a hostile name: it is shown as text, cleaned and capped at 40.
  // It knocks under that name too (shown as text), and the desktop lets it in. A member holds
  // the room key (a bare client here: it takes the desktop's) and seals its name, as it must.
  const room = await desktop.evaluate(() => window.__roomcast.room);
  const roomKey = await desktop.evaluate((r) => JSON.parse(localStorage.getItem(`roomcast.e2e.roomkey.${r}`)), room);
  const hostile = "<img src=x onerror=alert(1)>\u202e\u0007" + "é".repeat(60);
  const shown = "<img src=x onerror=alert(1)>" + "é".repeat(12);
  const knockName = await provenKnock(desktop, await currentLink(desktop), hostile);
  const third = phone.evaluate(([r, name, knockName, k]) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`${location.origin.replace(/^http/, "ws")}/ws`);
    window.__raw = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "join", room: r, name: knockName }));
    ws.onerror = reject;
    ws.onmessage = async (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type !== "joined") return;
      const e2e = await import("/e2e.js");
      const sealed = await e2e.sealText(e2e.aead(), e2e.fromBase64(k.key), { from: msg.id, device: "ab".repeat(16), name });
      ws.send(JSON.stringify({ type: "device", from: msg.id, epoch: k.epoch, sealed }));
      resolve();
    };
  }), [room, hostile, knockName, roomKey]);
  await desktop.getByRole("button", { name: `Allow ${shown}` }).click({ timeout: 10000 });
  assert.equal(await desktop.locator("#knocks img").count(), 0, "no markup from a knock's name");
  await third;
  await pairState.getByText(`2 devices connected · Anna's Pixel, ${shown}`).waitFor({ timeout: 10000 });
  await desktop.locator("#devices .device-name", { hasText: shown }).waitFor({ timeout: 5000 });
  assert.equal(await desktop.locator("#devices img, #pair-state img").count(), 0, "no markup from a name");
  await phone.evaluate(() => window.__raw.close());
  await pairState.getByText("Phone connected · Anna's Pixel").waitFor({ timeout: 10000 });

  // An empty name goes back to the browser's.
  await desktop.getByRole("button", { name: "Rename Anna's Pixel" }).click();
  await desktop.getByRole("textbox", { name: "Name for Chrome on Android" }).fill("");
  await desktop.getByRole("button", { name: "Save" }).click();
  await pairState.getByText("Phone connected · Chrome on Android").waitFor({ timeout: 5000 });
  assert.equal(await pairState.getByText("device #").count(), 0);
  assert.deepEqual(errors, []);
  await close();
});

test("screen readers hear 'Delivered <name>' on the sender and 'Received <name>' on the receiver, once each", DEADLINE, async () => {
  const { desktop, phone, errors, close } = await pair();
  await phone.setInputFiles("#choose-files", { name: "live.png", mimeType: "image/png", buffer: makePhoto(300, 200, 13) });
  await delivered(phone, "phone-outgoing", "live.png");
  await desktop.setInputFiles("#desktop-files", { name: "back.txt", mimeType: "text/plain", buffer: Buffer.from("back") });
  await delivered(desktop, "desktop-outgoing", "back.txt");

  const region = (page) => page.locator("[aria-live=polite]#announcer");
  const times = (text, s) => text.split(s).length - 1;
  for (const [page, said] of [[phone, ["Delivered live.png", "Received back.txt"]], [desktop, ["Received live.png", "Delivered back.txt"]]]) {
    await page.waitForFunction((want) => want.every((s) => document.getElementById("announcer").textContent.includes(s)), said, { timeout: 10000 });
    const text = await region(page).textContent();
    for (const s of said) assert.equal(times(text, s), 1, `"${s}" once in "${text}"`);
    const box = await region(page).boundingBox();
    assert.ok(!box || (box.width <= 1 && box.height <= 1), "the region is not seen, only heard");
  }
  assert.deepEqual(errors, []);
  await close();
});

/** The text of the row (li) that holds the focus, or null when the focus is outside `list`. */
const focusedRow = (page, list) =>
  page.evaluate((id) => {
    const a = document.activeElement;
    const li = a && document.getElementById(id).contains(a) ? a.closest("li") : null;
    return li ? li.querySelector(".xfer-name, .file-card-name, img")?.textContent || li.querySelector("img")?.alt || "" : null;
  }, list);

test("the transfer rows and the gallery are reachable with the arrow keys (one tab stop per list, Home and End, a visible focus)", DEADLINE, async () => {
  const { desktop, phone, errors, close } = await pair();
  for (const name of ["a.txt", "b.txt", "c.txt"]) {
    await phone.setInputFiles("#choose-files", { name, mimeType: "text/plain", buffer: Buffer.from(`file ${name}`) });
    await delivered(phone, "phone-outgoing", name);
  }
  // Tab into the phone's Sent list: it is one tab stop, on the newest row.
  for (let i = 0; i < 20 && (await focusedRow(phone, "phone-outgoing")) === null; i++) await phone.keyboard.press("Tab");
  assert.equal(await focusedRow(phone, "phone-outgoing"), "c.txt");
  assert.equal(await phone.locator("#phone-outgoing > li[tabindex='0']").count(), 1);
  const steps = [["ArrowDown", "b.txt"], ["ArrowDown", "a.txt"], ["ArrowDown", "a.txt"], ["Home", "c.txt"], ["End", "a.txt"], ["ArrowUp", "b.txt"]];
  for (const [key, want] of steps) {
    await phone.keyboard.press(key);
    assert.equal(await focusedRow(phone, "phone-outgoing"), want, `after ${key}`);
  }
  assert.equal(await phone.evaluate(() => getComputedStyle(document.activeElement).outlineStyle), "solid", "the focus is visible");
  // Tab leaves the list; Shift+Tab comes back to the row it left.
  await phone.keyboard.press("Tab");
  assert.equal(await focusedRow(phone, "phone-outgoing"), null);
  await phone.keyboard.press("Shift+Tab");
  assert.equal(await focusedRow(phone, "phone-outgoing"), "b.txt");

  // The desktop's gallery (a grid): arrows both ways; the × of a file follows its tab stop.
  for (let i = 0; i < 40 && (await focusedRow(desktop, "gallery")) === null; i++) await desktop.keyboard.press("Tab");
  assert.equal(await focusedRow(desktop, "gallery"), "c.txt");
  for (const [key, want] of [["ArrowRight", "b.txt"], ["ArrowDown", "a.txt"], ["ArrowLeft", "b.txt"], ["Home", "c.txt"], ["End", "a.txt"]]) {
    await desktop.keyboard.press(key);
    assert.equal(await focusedRow(desktop, "gallery"), want, `gallery, after ${key}`);
  }
  await desktop.keyboard.press("Enter"); // shows it
  await desktop.locator("#preview-name", { hasText: "a.txt" }).waitFor({ timeout: 5000 });
  await desktop.keyboard.press("Tab");
  assert.equal(await desktop.evaluate(() => document.activeElement.getAttribute("aria-label")), "Remove a.txt");
  await desktop.keyboard.press("Tab");
  assert.equal(await focusedRow(desktop, "gallery"), null, "then out of the gallery, not through every file");
  assert.deepEqual(errors, []);
  await close();
});

test("'Copy image' says 'Copying…' at once, then how it went, then is itself again", DEADLINE, async (t) => {
  const { desktop, phone, server, errors, close } = await pair();
  await desktop.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
  await phone.setInputFiles("#choose-photos", { name: "copy-me.png", mimeType: "image/png", buffer: makePhoto(1200, 800, 14) });
  await delivered(phone, "phone-outgoing", "copy-me.png");
  const copy = desktop.getByRole("button", { name: "Copy image" });
  await copy.waitFor({ timeout: 10000 });
  await desktop.evaluate(() => {
    const b = document.getElementById("preview-copy");
    window.__copy = [];
    new MutationObserver(() => window.__copy.push([b.textContent, b.getAttribute("aria-disabled")])).observe(b, { childList: true, characterData: true, subtree: true, attributes: true });
  });
  await copy.click();
  await desktop.waitForFunction(() => window.__copy.some(([t]) => t === "Copied ✓" || t === "Copy failed"), null, { timeout: 15000 });
  await desktop.waitForFunction(() => window.__copy.at(-1)[0] === "Copy image", null, { timeout: 10000 });
  const seen = await desktop.evaluate(() => window.__copy);
  const texts = seen.map(([t]) => t).filter((t, i, a) => t !== a[i - 1]);
  assert.equal(texts[0], "Copying…", `first "Copying…": ${JSON.stringify(seen)}`);
  assert.ok(seen.some(([t, busy]) => t === "Copying…" && busy === "true"), "busy while copying");
  assert.ok(["Copied ✓", "Copy failed"].includes(texts[1]), `then a result: ${texts}`);
  assert.equal(texts.at(-1), "Copy image");
  t.diagnostic(`the copy ended "${texts[1]}"`);
  if (texts[1] === "Copied ✓") {
    // What is on the clipboard is that picture.
    const size = await desktop.evaluate(async () => {
      const [item] = await navigator.clipboard.read();
      const bmp = await createImageBitmap(await item.getType("image/png"));
      return [bmp.width, bmp.height];
    });
    assert.deepEqual(size, [1200, 800]);
  }
  assert.deepEqual(errors, []);
  await close();
});

/** The share of a progress bar's width painted in its fill colour, from a screenshot. */
async function filled(row) {
  const png = PNG.sync.read(await row.locator("progress").screenshot({ animations: "allow", timeout: 5000 }));
  const y = Math.floor(png.height / 2);
  let fill = 0;
  for (let x = 0; x < png.width; x++) {
    const i = (y * png.width + x) * 4;
    const [r, g, b] = png.data.subarray(i, i + 3);
    if (Math.max(r, g, b) - Math.min(r, g, b) > 60) fill++; // the accent or green; the track is grey
  }
  return fill / png.width;
}

/**
 * How a control looks: the contrast ratio (WCAG) of its text against the first opaque background
 * behind it, how colourful either is (max − min of the RGB channels), its opacity and cursor.
 */
const looks = (locator) =>
  locator.evaluate((e) => {
    const rgb = (s) => s.match(/[\d.]+/g).map(Number);
    const lum = ([r, g, b]) => {
      const c = [r, g, b].map((v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
      return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    };
    let bg = null;
    for (let n = e; n && !bg; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.length < 4 || c[3] > 0.9) bg = c;
    }
    const fg = rgb(getComputedStyle(e).color);
    const [a, b] = [lum(fg), lum(bg || [255, 255, 255])].sort((x, y) => y - x);
    let opacity = 1;
    for (let n = e; n; n = n.parentElement) opacity *= Number(getComputedStyle(n).opacity);
    const chroma = Math.max(...[fg, bg || [255, 255, 255]].map(([r, g, b]) => Math.max(r, g, b) - Math.min(r, g, b)));
    return { ratio: (a + 0.05) / (b + 0.05), chroma, opacity, cursor: getComputedStyle(e).cursor };
  });
/**
 * Pressable, not greyed out: fully opaque, a hand cursor, and either black-on-white strong
 * (≥ 7:1) or in colour and readable (≥ 4.5:1). Grey text on white (the page's muted colour,
 * 6:1, what these buttons had) is neither.
 */
const pressable = (k) => k.opacity === 1 && k.cursor === "pointer" && (k.ratio >= 7 || (k.ratio >= 4.5 && k.chroma > 60));

test("the progress bar shows what its % says (no lag); 'Choose files', 'Retry' and 'Dismiss' look like buttons that can be pressed", DEADLINE, async () => {
  const { desktop, phone, errors, close } = await pair();
  // Animations on the phone stand still: a bar easing towards its value would stay behind.
  const cdp = await phone.context().newCDPSession(phone);
  await cdp.send("Animation.enable");
  await cdp.send("Animation.setPlaybackRate", { playbackRate: 0 });
  const file = fakeImage(12 * 262144, 15); // 12 chunks
  await phone.evaluate(() => window.__roomcast.pauseAfterChunk(5));
  await phone.setInputFiles("#choose-files", { name: "half.bin", mimeType: "application/octet-stream", buffer: file });
  const row = phone.locator("#phone-outgoing li", { hasText: "half.bin" });
  await row.getByText(/^50 %/).waitFor({ timeout: 20000 });
  const half = await filled(row);
  assert.ok(Math.abs(half - 0.5) < 0.06, `the bar beside "50 %" is half full: ${half.toFixed(2)}`);
  await phone.evaluate(() => window.__roomcast.unpause());
  await delivered(phone, "phone-outgoing", "half.bin");
  const full = await filled(row);
  assert.ok(full > 0.94, `the bar beside "Delivered" is full: ${full.toFixed(2)}`);

  const choose = desktop.locator("label", { hasText: "Choose files" });
  const c = await looks(choose);
  assert.ok(pressable(c), `"Choose files" looks pressable: ${JSON.stringify(c)}`);

  // A desktop whose storage is full refuses a file: the phone's row fails with Retry, the
  // desktop's with Dismiss. (The browser's storage estimate says so; a test cannot fill a disk.)
  await desktop.context().addInitScript(() => {
    window.__quota = 100_000;
    navigator.storage.estimate = async () => ({ quota: window.__quota, usage: 0 });
  });
  await desktop.reload({ timeout: 15000 });
  await joined(desktop);
  const big = fakeImage(300_000, 16);
  await phone.setInputFiles("#choose-files", { name: "too-big.bin", mimeType: "application/octet-stream", buffer: big });
  const failed = phone.locator("#phone-outgoing li[data-state=failed]", { hasText: "too-big.bin" });
  const retry = failed.getByRole("button", { name: "Retry" });
  await retry.waitFor({ timeout: 20000 });
  const dismiss = desktop.getByRole("button", { name: "Dismiss too-big.bin" });
  await dismiss.waitFor({ timeout: 10000 });
  for (const [what, b] of [["Retry", retry], ["Dismiss", dismiss]]) {
    const k = await looks(b);
    assert.ok(pressable(k), `${what} looks pressable: ${JSON.stringify(k)}`);
    assert.equal(await b.isEnabled(), true);
  }
  // And they work: space freed, Retry sends it.
  await dismiss.click();
  await dismiss.waitFor({ state: "detached", timeout: 5000 });
  await desktop.evaluate(() => (window.__quota = 1e12));
  await retry.click();
  await delivered(phone, "phone-outgoing", "too-big.bin");
  const got = await desktop.evaluate(() => window.__roomcast.received().find((r) => r.name === "too-big.bin"));
  assert.equal(got?.size, big.length);
  assert.deepEqual(errors, []);
  await close();
});
