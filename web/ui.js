// Small pieces every part of the page uses: element lookup and creation, formatting, and
// localStorage that never throws (private modes, full storage).

export const $ = (id) => document.getElementById(id);

/** localStorage.setItem, or removeItem for null; silent where storage is unavailable. */
export function store(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {}
}
export function load(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function formatBytes(n) {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}
export const formatTime = (d) => d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
export const isImage = (mime) => /^image\//.test(mime || "");
export const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

/** "IMG_1.HEIC" → "HEIC"; "FILE" when the name has no short extension. */
export function extension(name) {
  const m = /\.([A-Za-z0-9]{1,5})$/.exec(name || "");
  return m ? m[1].toUpperCase() : "FILE";
}
