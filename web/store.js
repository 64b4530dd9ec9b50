// Received files, kept in this browser (IndexedDB) until the user removes them: a reload or a
// closed tab does not empty the gallery. Each record is {key, scope, xfer, name, mime, size,
// time, blob} or, for a file received in chunks, {…, chunked: true} with no blob: its bytes are
// the chunks it arrived in, left where they were written, so a file of gigabytes is never read
// into memory nor copied. `scope` keeps the desktop's gallery apart from what a phone page got.
// Files still arriving are kept chunk by chunk ("partial": the offer's facts by xfer;
// "chunks": {xfer, index, data: Blob}), so a reloaded page goes on from what it had stored.
// Chunks are stored as Blobs: the browser keeps those on disk and hands back handles, not bytes.
// Files being sent are kept too ("outgoing": {xfer, scope, room, name, mime, size, created, blob}),
// so a reloaded page sends what was picked before, under the same transfer id, from where the
// receiver is; each goes once it is delivered or cancelled.
// Every call resolves only once its transaction has committed (durability "strict" where the
// browser knows it), so a caller that then says "stored" is telling the truth.

const DB_NAME = "roomcast";
const DB_VERSION = 4;
const FILES = "received";
const PARTIAL = "partial";
const CHUNKS = "chunks";
const OUTGOING = "outgoing";

let opening = null;

function openDb() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      let req;
      try {
        req = indexedDB.open(DB_NAME, DB_VERSION);
      } catch (e) {
        reject(e); // no IndexedDB at all (some private modes)
        return;
      }
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains(FILES)) {
          db.createObjectStore(FILES, { keyPath: "key", autoIncrement: true }).createIndex("scope", "scope");
        }
        const files = req.transaction.objectStore(FILES);
        if (!files.indexNames.contains("xfer")) files.createIndex("xfer", "xfer");
        if (!db.objectStoreNames.contains(PARTIAL)) db.createObjectStore(PARTIAL, { keyPath: "xfer" }).createIndex("scope", "scope");
        if (!db.objectStoreNames.contains(CHUNKS)) db.createObjectStore(CHUNKS, { keyPath: ["xfer", "index"] });
        if (!db.objectStoreNames.contains(OUTGOING)) db.createObjectStore(OUTGOING, { keyPath: "xfer" }).createIndex("scope", "scope");
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error("IndexedDB blocked"));
    });
    opening.catch(() => (opening = null)); // try again next time
  }
  return opening;
}

/**
 * Runs fn(objectStore, tx) in one transaction on `stores` (the first is handed to fn); resolves
 * to fn's request result once committed.
 */
async function run(mode, fn, stores = FILES, durability = "strict") {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    let tx;
    try {
      tx = db.transaction(stores, mode, { durability });
    } catch {
      tx = db.transaction(stores, mode); // browsers without the options argument
    }
    let result;
    const first = Array.isArray(stores) ? stores[0] : stores;
    const req = fn(tx.objectStore(first), tx);
    if (req) req.onsuccess = () => (result = req.result);
    tx.oncomplete = () => resolve(result);
    // A request's error is on the event (tx.error is set only once the abort follows).
    tx.onerror = (ev) => reject(ev.target?.error || tx.error || new Error("IndexedDB error"));
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
}

/**
 * Stores a received file; resolves to its key once the write has committed. A `chunked` file
 * keeps the chunks stored for it under its xfer: the record points at them and its partial
 * record goes, in the same transaction.
 */
export function putFile(scope, { xfer, name, mime, size, time, blob, chunked }) {
  const rec = { scope, xfer: xfer || "", name, mime, size, time: +time };
  if (chunked && xfer) rec.chunked = true;
  else rec.blob = blob;
  return run("readwrite", (s, tx) => {
    if (rec.chunked) tx.objectStore(PARTIAL).delete(xfer);
    return s.add(rec);
  }, [FILES, PARTIAL]);
}

/** Every file of `scope`, oldest first, each with its blob. */
export async function listFiles(scope) {
  const all = (await run("readonly", (s) => s.index("scope").getAll(scope))) || [];
  all.sort((a, b) => a.key - b.key);
  for (const rec of all) {
    if (!rec.chunked) continue;
    const parts = [...(await readChunks(rec.xfer))].sort((a, b) => a[0] - b[0]).map(([, d]) => d);
    rec.blob = new Blob(parts, { type: rec.mime || "application/octet-stream" });
    if (rec.blob.size !== rec.size) rec.broken = true; // chunks lost: listed, so it can be removed
  }
  return all;
}

/** Deletes a stored file (and the chunks of a chunked one). */
export function removeFile(key) {
  return run("readwrite", (s, tx) => {
    const get = s.get(key);
    get.onsuccess = () => {
      const rec = get.result;
      if (rec?.chunked) tx.objectStore(CHUNKS).delete(chunkRange(rec.xfer));
      s.delete(key);
    };
    return null;
  }, [FILES, CHUNKS]);
}

export async function clearFiles(scope) {
  return run("readwrite", (s, tx) => {
    const req = s.index("scope").openCursor(IDBKeyRange.only(scope));
    req.onsuccess = () => {
      const c = req.result;
      if (!c) return;
      if (c.value.chunked) tx.objectStore(CHUNKS).delete(chunkRange(c.value.xfer));
      c.delete();
      c.continue();
    };
    return null;
  }, [FILES, CHUNKS]);
}

// ---- files still arriving -----------------------------------------------------------------

const chunkRange = (xfer) => IDBKeyRange.bound([xfer, 0], [xfer, Infinity]);

/** The offer's facts of a file being received: {xfer, from, name, mime, size, chunkSize, chunks}. */
export function putPartial(scope, meta) {
  return run("readwrite", (s) => s.put({ ...meta, scope }), PARTIAL, "relaxed");
}

/**
 * Received chunks ([[index, bytes]…]), in one transaction, each as a Blob; resolves once
 * committed (relaxed: a chunk lost in a crash is only sent again). A full storage rejects with
 * the browser's QuotaExceededError.
 */
export function putChunks(xfer, batch) {
  return run("readwrite", (s) => {
    for (const [index, data] of batch) s.put({ xfer, index, data: data instanceof Blob ? data : new Blob([data]) });
    return null;
  }, CHUNKS, "relaxed");
}

/** Bytes this page may still store, where the browser says (secure contexts); else null. */
export async function storageFree() {
  if (!navigator.storage?.estimate) return null;
  const { quota, usage } = await navigator.storage.estimate();
  return Number.isFinite(quota) && Number.isFinite(usage) ? Math.max(0, quota - usage) : null;
}

/** Every partial file of `scope`, each with the indexes of the chunks stored for it. */
export async function listPartials(scope) {
  const metas = (await run("readonly", (s) => s.index("scope").getAll(scope), PARTIAL)) || [];
  const out = [];
  for (const meta of metas) {
    const keys = (await run("readonly", (s) => s.getAllKeys(chunkRange(meta.xfer)), CHUNKS)) || [];
    out.push({ meta, indexes: keys.map((k) => k[1]) });
  }
  return out;
}

/** The stored chunks of a transfer: index → Blob (an ArrayBuffer from an older page). */
export async function readChunks(xfer) {
  const rows = (await run("readonly", (s) => s.getAll(chunkRange(xfer)), CHUNKS)) || [];
  return new Map(rows.map((r) => [r.index, r.data]));
}

/** Forgets a partial file and its chunks (not those a stored chunked file is made of). */
export function dropPartial(xfer) {
  return run("readwrite", (s, tx) => {
    s.delete(xfer);
    const owners = tx.objectStore(FILES).index("xfer").getAll(xfer);
    owners.onsuccess = () => {
      // Only a chunked file is made of these chunks; one kept as a single blob is not.
      if (!owners.result.some((rec) => rec.chunked)) tx.objectStore(CHUNKS).delete(chunkRange(xfer));
    };
    return null;
  }, [PARTIAL, CHUNKS, FILES], "relaxed");
}

// ---- files being sent ---------------------------------------------------------------------

/** Keeps a picked file until it is delivered: {xfer, name, mime, size, created, blob}. */
export function putOutgoing(scope, rec) {
  return run("readwrite", (s) => s.put({ ...rec, scope }), OUTGOING, "relaxed");
}

/** The files of `scope` still to send, in the order they were picked. */
export async function listOutgoing(scope) {
  const all = (await run("readonly", (s) => s.index("scope").getAll(scope), OUTGOING)) || [];
  return all.sort((a, b) => (a.order ?? a.created) - (b.order ?? b.created) || (a.xfer < b.xfer ? -1 : 1));
}

export function removeOutgoing(xfer) {
  return run("readwrite", (s) => s.delete(xfer), OUTGOING, "relaxed");
}

/** Forgets every file kept for sending to room `room` (New room, Forget this computer). */
export async function clearOutgoing(scope, room) {
  for (const rec of await listOutgoing(scope)) if (rec.room === room) await removeOutgoing(rec.xfer);
}
