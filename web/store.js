// Received files, kept in this browser (IndexedDB) until the user removes them: a reload or a
// closed tab does not empty the gallery. Each record is {key, scope, xfer, name, mime, size,
// time, blob}; `scope` keeps the desktop's gallery apart from what a phone page received.
// Files still arriving are kept too, chunk by chunk ("partial": the offer's facts by xfer;
// "chunks": {xfer, index, data}), so a reloaded page goes on from what it had stored.
// Every call resolves only once its transaction has committed (durability "strict" where the
// browser knows it), so a caller that then says "stored" is telling the truth.

const DB_NAME = "roomcast";
const DB_VERSION = 2;
const FILES = "received";
const PARTIAL = "partial";
const CHUNKS = "chunks";

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
        if (!db.objectStoreNames.contains(PARTIAL)) db.createObjectStore(PARTIAL, { keyPath: "xfer" }).createIndex("scope", "scope");
        if (!db.objectStoreNames.contains(CHUNKS)) db.createObjectStore(CHUNKS, { keyPath: ["xfer", "index"] });
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
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
}

/** Stores a received file; resolves to its key once the write has committed. */
export function putFile(scope, { xfer, name, mime, size, time, blob }) {
  return run("readwrite", (s) => s.add({ scope, xfer: xfer || "", name, mime, size, time: +time, blob }));
}

/** Every file of `scope`, oldest first. */
export async function listFiles(scope) {
  const all = await run("readonly", (s) => s.index("scope").getAll(scope));
  return (all || []).sort((a, b) => a.key - b.key);
}

export function removeFile(key) {
  return run("readwrite", (s) => s.delete(key));
}

export async function clearFiles(scope) {
  return run("readwrite", (s) => {
    const req = s.index("scope").openKeyCursor(IDBKeyRange.only(scope));
    req.onsuccess = () => {
      const c = req.result;
      if (!c) return;
      s.delete(c.primaryKey);
      c.continue();
    };
    return null;
  });
}

// ---- files still arriving -----------------------------------------------------------------

const chunkRange = (xfer) => IDBKeyRange.bound([xfer, 0], [xfer, Infinity]);

/** The offer's facts of a file being received: {xfer, from, name, mime, size, chunkSize, chunks}. */
export function putPartial(scope, meta) {
  return run("readwrite", (s) => s.put({ ...meta, scope }), PARTIAL, "relaxed");
}

/** One received chunk; resolves once committed (relaxed: a lost chunk is just sent again). */
export function putChunk(xfer, index, data) {
  return run("readwrite", (s) => s.put({ xfer, index, data }), CHUNKS, "relaxed");
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

/** The stored chunks of a transfer: index → data. */
export async function readChunks(xfer) {
  const rows = (await run("readonly", (s) => s.getAll(chunkRange(xfer)), CHUNKS)) || [];
  return new Map(rows.map((r) => [r.index, r.data]));
}

export function dropPartial(xfer) {
  return run("readwrite", (s, tx) => {
    s.delete(xfer);
    tx.objectStore(CHUNKS).delete(chunkRange(xfer));
    return null;
  }, [PARTIAL, CHUNKS], "relaxed");
}
