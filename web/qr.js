// The room link's QR code, drawn in the page with a pinned npm encoder (qrcode-generator,
// fetched into web/vendor/ by scripts/web-vendor.sh), so the link never leaves this browser:
// no request carries it (docs/PRIVACY.md). Loaded on demand: without the file the rest of the
// page works and the caller says the code is not available.

let encoder = null;
let shown = ""; // the blob: URL on the <img> now

/** Draws `text` as a QR code into `img` (an SVG from a blob: URL). Resolves to true when drawn. */
export async function drawQr(img, text) {
  try {
    encoder ??= (await import("./vendor/qrcode.mjs")).qrcode;
    const qr = encoder(0, "M"); // the smallest version that fits; medium error correction
    qr.addData(text, "Byte");
    qr.make();
    const n = qr.getModuleCount();
    const quiet = 4; // the quiet zone the standard asks for, in modules
    let path = "";
    for (let r = 0; r < n; r++)
      for (let c = 0; c < n; c++) if (qr.isDark(r, c)) path += `M${c + quiet} ${r + quiet}h1v1h-1z`;
    const size = n + 2 * quiet;
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" shape-rendering="crispEdges">` +
      `<rect width="${size}" height="${size}" fill="#fff"/><path d="${path}" fill="#000"/></svg>`;
    const url = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
    if (shown) URL.revokeObjectURL(shown);
    shown = url;
    img.src = url;
    return true;
  } catch {
    clearQr(img);
    return false;
  }
}

export function clearQr(img) {
  img.removeAttribute("src");
  if (shown) URL.revokeObjectURL(shown);
  shown = "";
}
