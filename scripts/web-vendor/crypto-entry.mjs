// What the page takes from the audited @noble libraries (pinned in package-lock.json), bundled
// by scripts/web-vendor.sh into web/vendor/noble.mjs: the page is served as plain modules, and
// @noble/curves imports @noble/hashes by package name, which a browser cannot resolve.
export { x25519 } from "@noble/curves/ed25519.js";
export { hkdf } from "@noble/hashes/hkdf.js";
export { hmac } from "@noble/hashes/hmac.js";
export { sha256 } from "@noble/hashes/sha2.js";
export { gcm } from "@noble/ciphers/aes.js";
export { base64urlnopad } from "@scure/base";
