// roomcast web client, first version: join the room named in the URL (or a fresh random one),
// send photos as binary frames, show every photo sent and received.
//
// A photo travels as one binary WebSocket frame: a 4-byte big-endian length N, N bytes of
// UTF-8 JSON metadata {"kind":"file","name","mime","size"}, then the file's bytes. The server
// relays the frame unchanged and never looks inside. The tutorial's text message
// {"type":"image","data":"data:image/..."} is shown too.

const $ = (id) => document.getElementById(id);

function randomRoom() {
  const bytes = new Uint8Array(16); // 128 bits
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function roomFromUrl() {
  const params = new URLSearchParams(location.search);
  const room = params.get("room");
  if (room && /^[A-Za-z0-9_-]{1,128}$/.test(room)) return room;
  const fresh = randomRoom();
  params.set("room", fresh);
  history.replaceState(null, "", `${location.pathname}?${params}`);
  return fresh;
}

const room = roomFromUrl();
const peers = new Set();
let ws = null;
let myId = null;
let retry = 0;

function setStatus(text) { $("status").textContent = text; }

function showPeers() {
  $("peers").textContent = peers.size === 0
    ? "No one else is here yet."
    : `${peers.size} other device${peers.size === 1 ? "" : "s"} in this room.`;
}

function addPhoto(blob, name, from) {
  const li = document.createElement("li");
  const img = document.createElement("img");
  img.src = URL.createObjectURL(blob);
  img.alt = name || "photo";
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.textContent = `${from}: ${name || "photo"} (${Math.round(blob.size / 1024)} KiB)`;
  li.append(img, meta);
  $("gallery").prepend(li);
}

function encodeFile(meta, bytes) {
  const head = new TextEncoder().encode(JSON.stringify(meta));
  const out = new Uint8Array(4 + head.length + bytes.byteLength);
  new DataView(out.buffer).setUint32(0, head.length);
  out.set(head, 4);
  out.set(new Uint8Array(bytes), 4 + head.length);
  return out;
}

function decodeFile(buffer) {
  if (buffer.byteLength < 4) return null;
  const n = new DataView(buffer).getUint32(0);
  if (4 + n > buffer.byteLength) return null;
  let meta;
  try { meta = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, n))); } catch { return null; }
  return { meta, bytes: buffer.slice(4 + n) };
}

function onText(msg) {
  switch (msg.type) {
    case "joined":
      myId = msg.id;
      peers.clear();
      for (const p of msg.peers) peers.add(p);
      setStatus(`connected — you are #${myId}`);
      showPeers();
      break;
    case "peer-joined": peers.add(msg.id); showPeers(); break;
    case "peer-left": peers.delete(msg.id); showPeers(); break;
    case "image": // the tutorial's message: a data: URL
      if (typeof msg.data === "string" && msg.data.startsWith("data:image/")) {
        fetch(msg.data).then((r) => r.blob()).then((b) => addPhoto(b, msg.name, "received"));
      }
      break;
    case "error": setStatus(`server: ${msg.message}`); break;
  }
}

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  ws = new WebSocket(`${proto}//${location.host}/ws`);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => { retry = 0; ws.send(JSON.stringify({ type: "join", room })); };
  ws.onmessage = (ev) => {
    if (typeof ev.data === "string") {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      onText(msg);
    } else {
      const f = decodeFile(ev.data);
      if (f && f.meta.kind === "file") addPhoto(new Blob([f.bytes], { type: f.meta.mime }), f.meta.name, "received");
    }
  };
  ws.onclose = () => {
    setStatus("disconnected — reconnecting…");
    peers.clear();
    showPeers();
    const delay = Math.min(10000, 250 * 2 ** retry++);
    setTimeout(connect, delay);
  };
}

async function sendFiles(files) {
  for (const file of files) {
    if (!ws || ws.readyState !== WebSocket.OPEN) { $("send-state").textContent = "not connected"; return; }
    const bytes = await file.arrayBuffer();
    ws.send(encodeFile({ kind: "file", name: file.name, mime: file.type, size: file.size }, bytes));
    addPhoto(file, file.name, "sent");
    $("send-state").textContent = `sent ${file.name}`;
  }
}

$("files").addEventListener("change", (ev) => { sendFiles(Array.from(ev.target.files)); ev.target.value = ""; });
$("link").value = location.href;
$("copy").addEventListener("click", async () => {
  try { await navigator.clipboard.writeText(location.href); $("copy").textContent = "Copied"; }
  catch { $("link").select(); }
});
$("new-room").addEventListener("click", () => { location.search = `?room=${randomRoom()}`; });
connect();
