// web/pairing.js: the link's fragment, the phone's knock and what the desktop makes of it, the
// single-use link secret — and what someone without the link, with an old one, or rewriting the
// knock in the relay, gets: nothing that passes. Both AES-GCM paths.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as e2e from "../../web/e2e.js";
import * as pairing from "../../web/pairing.js";

const boxes = [["WebCrypto", e2e.aead(globalThis.crypto.subtle)], ["JavaScript", e2e.aead(null)]];
const memoryStore = () => {
  const m = new Map();
  return { get: (k) => m.get(k) ?? null, set: (k, v) => (v === null ? m.delete(k) : m.set(k, v)), m };
};

test("the link's fragment carries S and pub_D, and nothing else is accepted", () => {
  const S = e2e.randomBytes(16);
  const D = e2e.deviceKeys();
  const frag = pairing.linkFragment(S, D.public);
  assert.match(frag, /^k=[A-Za-z0-9_-]{22}&d=[A-Za-z0-9_-]{43}$/);
  const back = pairing.parseFragment(`#${frag}`);
  assert.deepEqual(back.secret, S);
  assert.deepEqual(back.desktopPublic, D.public);
  for (const bad of ["", "#", "#k=abc&d=def", `#k=${e2e.toBase64(S)}`, `#d=${e2e.toBase64(D.public)}`, `#k=${e2e.toBase64(S.subarray(1))}&d=${e2e.toBase64(D.public)}`, null])
    assert.equal(pairing.parseFragment(bad), null, String(bad));
});

for (const [name, box] of boxes) {
  test(`${name}: a phone with the link knocks with a proof; the desktop reads its name, and both show the same code`, async () => {
    const D = e2e.deviceKeys();
    const P = e2e.deviceKeys();
    const S = e2e.randomBytes(16);
    const phone = await pairing.phoneKnock(box, { own: P, secret: S, desktopPublic: D.public, name: "Chrome on Android" });
    assert.ok(new TextEncoder().encode(phone.knock).length <= pairing.KNOCK_MAX);
    assert.doesNotMatch(phone.knock, /Chrome|Android/, "the name is sealed: the server sees none of it");
    const seen = await pairing.readKnock(box, { own: D, secrets: [S], knock: phone.knock });
    assert.equal(seen.ok, true);
    assert.equal(seen.name, "Chrome on Android");
    assert.equal(seen.code, phone.code, "the same 6 digits on both screens");
    assert.match(seen.code, /^\d{6}$/);
    assert.deepEqual(seen.kPair, phone.kPair);
    assert.deepEqual(seen.phonePublic, P.public);
    // The desktop's own confirmation, for the phone to check once it is let in.
    assert.deepEqual(e2e.confirmTag(seen.kPair, "desktop", D.public, P.public), e2e.confirmTag(phone.kPair, "desktop", D.public, P.public));
  });

  test(`${name}: without the link's secret, with an old one, or with the knock rewritten on the way, it does not pass`, async () => {
    const D = e2e.deviceKeys();
    const P = e2e.deviceKeys();
    const S = e2e.randomBytes(16);
    const old = e2e.randomBytes(16);
    // Only the room id (a proxy log, the server): no S, so any S it guesses is wrong.
    const guess = await pairing.phoneKnock(box, { own: P, secret: e2e.randomBytes(16), desktopPublic: D.public, name: "Chrome on Android" });
    assert.equal((await pairing.readKnock(box, { own: D, secrets: [S], knock: guess.knock })).ok, false);
    // A photo of an earlier QR code: a spent S.
    const stale = await pairing.phoneKnock(box, { own: P, secret: old, desktopPublic: D.public, name: "Chrome on Android" });
    assert.equal((await pairing.readKnock(box, { own: D, secrets: [S], knock: stale.knock })).ok, false);
    // A relay that swaps in its own key, keeps the tag, or changes the name: no.
    const good = await pairing.phoneKnock(box, { own: P, secret: S, desktopPublic: D.public, name: "Anna's phone" });
    const [prefix, pub, tag, sealed] = good.knock.split(".");
    const M = e2e.deviceKeys();
    for (const knock of [
      [prefix, e2e.toBase64(M.public), tag, sealed].join("."),
      [prefix, pub, e2e.toBase64(e2e.randomBytes(32)), sealed].join("."),
      [prefix, pub, tag, e2e.toBase64(e2e.randomBytes(e2e.fromBase64(sealed).length))].join("."),
      [prefix, e2e.toBase64(new Uint8Array(32)), tag, sealed].join("."), // a low-order point
      ["e2e2", pub, tag, sealed].join("."),
      "Chrome on Android", // a client that does not pair
      "", null, 42,
    ])
      assert.equal((await pairing.readKnock(box, { own: D, secrets: [S], knock })).ok, false, String(knock));
    // A tag the desktop would send (reflected) is not the phone's.
    const reflected = [prefix, pub, e2e.toBase64(e2e.confirmTag(good.kPair, "desktop", D.public, P.public)), sealed].join(".");
    assert.equal((await pairing.readKnock(box, { own: D, secrets: [S], knock: reflected })).ok, false);
    // Another desktop (another key) with the same S does not read it either.
    assert.equal((await pairing.readKnock(box, { own: e2e.deviceKeys(), secrets: [S], knock: good.knock })).ok, false);
  });
}

for (const [name, box] of boxes) {
  test(`${name}: a device paired before knocks with its K_pair when its admission is gone; once forgotten, it does not pass`, async () => {
    const D = e2e.deviceKeys();
    const P = e2e.deviceKeys();
    const S = e2e.randomBytes(16);
    const first = await pairing.phoneKnock(box, { own: P, secret: S, desktopPublic: D.public, name: "Anna's Pixel" });
    const seen = await pairing.readKnock(box, { own: D, secrets: [S], knock: first.knock });
    assert.equal(seen.ok, true);
    assert.deepEqual(seen.secret, S, "paired by the link: its secret is to be spent");
    // Later (a server restart): the link secret was spent long ago; the pairing is kept.
    const fresh = e2e.randomBytes(16);
    const again = await pairing.pairedKnock(box, { own: P, kPair: first.kPair, desktopPublic: D.public, name: "Anna's Pixel" });
    const known = await pairing.readKnock(box, { own: D, secrets: [fresh], knock: again.knock, paired: [[P.public, seen.kPair]] });
    assert.equal(known.ok, true);
    assert.equal(known.secret, null, "known by its pairing, no secret spent");
    assert.equal(known.code, first.code, "the same code as when it paired");
    assert.equal((await pairing.readKnock(box, { own: D, secrets: [fresh], knock: again.knock, paired: [] })).ok, false, "forgotten (removed): no");
    // Another device cannot use that pairing: the key in the knock must be the paired one.
    const other = e2e.deviceKeys();
    const forged = await pairing.pairedKnock(box, { own: other, kPair: first.kPair, desktopPublic: D.public, name: "Anna's Pixel" });
    assert.equal((await pairing.readKnock(box, { own: D, secrets: [fresh], knock: forged.knock, paired: [[P.public, seen.kPair]] })).ok, false);
  });
}

test("the phone keeps a pairing only on the desktop's confirmation: not a reflected tag, not another desktop's, not garbage", async () => {
  const box = e2e.aead(null);
  const D = e2e.deviceKeys();
  const P = e2e.deviceKeys();
  const S = e2e.randomBytes(16);
  const phone = await pairing.phoneKnock(box, { own: P, secret: S, desktopPublic: D.public, name: "Pixel" });
  const seen = await pairing.readKnock(box, { own: D, secrets: [S], knock: phone.knock });
  const tag = pairing.desktopConfirm({ own: D, kPair: seen.kPair, phonePublic: P.public });
  assert.equal(pairing.confirmsPairing({ own: P, kPair: phone.kPair, desktopPublic: D.public, tag }), true);
  const reflected = e2e.toBase64(e2e.confirmTag(phone.kPair, "phone", D.public, P.public));
  const M = e2e.deviceKeys();
  const other = pairing.desktopConfirm({ own: M, kPair: e2e.pairKey({ own: M, otherPublic: P.public, linkSecret: S, role: "desktop" }), phonePublic: P.public });
  for (const bad of [reflected, other, "", "AAAA", null, 7, tag.slice(1)])
    assert.equal(pairing.confirmsPairing({ own: P, kPair: phone.kPair, desktopPublic: D.public, tag: bad }), false, String(bad));
});

test("a long or multi-byte name is cut to fit the server's 256 bytes, at a character boundary", async () => {
  const box = e2e.aead(null);
  const D = e2e.deviceKeys();
  const S = e2e.randomBytes(16);
  for (const name of ["é".repeat(200), "📷".repeat(100), "x".repeat(1000)]) {
    const { knock } = await pairing.phoneKnock(box, { own: e2e.deviceKeys(), secret: S, desktopPublic: D.public, name });
    assert.ok(new TextEncoder().encode(knock).length <= pairing.KNOCK_MAX, `${knock.length} bytes`);
    const seen = await pairing.readKnock(box, { own: D, secrets: [S], knock });
    assert.equal(seen.ok, true);
    assert.ok(name.startsWith(seen.name) && seen.name.length > 0, "a prefix of the name, whole characters");
  }
  assert.equal(pairing.cutUtf8("a📷b", 4), "a");
  assert.equal(pairing.cutUtf8("a📷b", 5), "a📷");
});

test("the link secret is single-use: spending it makes a fresh one, and a spent one stays spent", () => {
  const store = memoryStore();
  const secrets = new pairing.LinkSecret(store, "pabc");
  const first = secrets.current();
  assert.equal(first.length, 16);
  assert.deepEqual(new pairing.LinkSecret(store, "pabc").current(), first, "kept across a reload");
  assert.notDeepEqual(new pairing.LinkSecret(store, "pother").current(), first, "one per room");
  assert.equal(secrets.spend(first), true);
  const second = secrets.current();
  assert.notDeepEqual(second, first);
  assert.equal(secrets.spend(first), false, "spent already");
  assert.deepEqual(secrets.current(), second);
  secrets.forget();
  assert.notDeepEqual(secrets.current(), second, "New room: forgotten, a fresh one");
});
