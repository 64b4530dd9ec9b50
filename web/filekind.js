// What a file is, as the person sees it.
import { el, extension, formatBytes, isImage } from "./ui.js";

// A file is shown as an image only once this browser has decoded it: an image/* type says what
// the sender's browser believed, not what this one can draw (HEIC on Chrome, a truncated JPEG).
// Anything that does not decode gets a file card, is never offered as an image, and its bytes
// are handed out untouched. Past this size a picture is not decoded just to be shown.
const DECODE_MAX = 200 * 1000 ** 2;
const decodeResults = new WeakMap(); // Blob → Promise<boolean>

const DECODES_AT_ONCE = 2;
let decoding = 0;
const waiting = [];
const decodeSlot = () =>
  decoding < DECODES_AT_ONCE ? (decoding++, Promise.resolve()) : new Promise((go) => waiting.push(go));
function decodeDone() {
  const next = waiting.shift();
  if (next) next();
  else decoding--;
}

/** Resolves true when `blob` decodes as an image in this browser (cached per Blob). */
export function decodes(blob, mime) {
  if (!blob || !isImage(mime || blob.type) || blob.size > DECODE_MAX) return Promise.resolve(false);
  let p = decodeResults.get(blob);
  if (!p) {
    p = (async () => {
      await decodeSlot(); // a few at a time: a gallery of 12 MP photos is not decoded at once
      const url = URL.createObjectURL(blob);
      try {
        const img = new Image();
        img.src = url;
        await img.decode();
        return img.naturalWidth > 0 && img.naturalHeight > 0;
      } catch {
        return false;
      } finally {
        URL.revokeObjectURL(url);
        decodeDone();
      }
    })();
    decodeResults.set(blob, p);
  }
  return p;
}

const TYPE_NAMES = {
  "image/heic": "HEIC image",
  "image/heif": "HEIF image",
  "image/heic-sequence": "HEIC image sequence",
  "image/jpeg": "JPEG image",
  "image/svg+xml": "SVG image",
  "image/vnd.microsoft.icon": "Icon",
  "image/x-icon": "Icon",
  "application/pdf": "PDF document",
  "application/zip": "ZIP archive",
  "application/gzip": "Gzip archive",
  "application/json": "JSON file",
  "text/plain": "Text file",
  "text/csv": "CSV file",
  "video/quicktime": "QuickTime video",
};
const KINDS = { image: "image", video: "video", audio: "audio", text: "text", font: "font" };

/** What a person would call the file: "HEIC image", "PNG image", "PDF document", "ZIP file". */
export function typeName(mime, name) {
  const m = String(mime || "").toLowerCase().split(";")[0].trim();
  if (TYPE_NAMES[m]) return TYPE_NAMES[m];
  const parts = /^([a-z]+)\/(?:x-)?([a-z0-9]{1,10})$/.exec(m);
  if (parts && KINDS[parts[1]]) return `${parts[2].toUpperCase()} ${KINDS[parts[1]]}`;
  const ext = extension(name);
  return ext === "FILE" ? "File" : `${ext} file`;
}

/** A file card: extension badge, name, type and size (the file's own facts, as text only). */
export function fileCard(file, cls = "") {
  const card = el("div", `file-card ${cls}`.trim());
  card.append(el("span", "file-badge", extension(file.name)), el("span", "file-card-name", file.name));
  const facts = el("span", "file-card-type", `${typeName(file.mime, file.name)} · ${formatBytes(file.size || 0)}`);
  if (file.mime) facts.title = file.mime;
  card.append(facts);
  return card;
}
