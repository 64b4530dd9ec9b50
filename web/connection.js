// The WebSocket to the daemon, kept alive: it joins the room with the seat's resume token,
// reconnects with backoff, and at once when the page becomes visible again or the network
// comes back (a phone drops its socket while the camera or the photo picker is open).
//
// The token lives in localStorage (per origin, keyed by room), so a closed and reopened tab, or
// a rescanned QR code, is the same device and takes its seat back at once (the daemon's
// take-over). Two tabs of one browser in one room therefore share a seat: the daemon closes the
// older one with 4001, and that tab stays down ("replaced") until the user takes the seat back.
//
// Private rooms (docs/PROTOCOL.md): a join to a locked room waits in the lobby ("lobby") until
// the host lets it in; the host's "deny" (4003), "remove" (4004) or a room let go (4005) end
// the connection for good ("denied", "removed", "closed"): it does not reconnect by itself,
// since that would only knock again; retry() asks again when the person says so.

const MAX_BACKOFF_MS = 5000;
const CONNECT_TIMEOUT_MS = 8000;
const PROBE_TIMEOUT_MS = 4000;
const HIDDEN_PROBE_MS = 2000; // hidden at least this long: check the socket is still alive
// The server's last word to a device it will not let in (docs/PROTOCOL.md, *Private rooms*),
// as a message and as the close code that follows it.
const ENDINGS = { denied: "denied", removed: "removed", "room-closed": "closed" };
const CLOSE_ENDINGS = { 4003: "denied", 4004: "removed", 4005: "closed" };

export class Connection {
  /**
   * opts: room, seatKey (localStorage key for the seat: {id, resume}), joinFields() (what a
   *   join adds: host_token, admission, name), and callbacks onJoined(msg, {resumed, probe}),
   *   onText(msg), onBinary(buf), onState(state), onError(msg), onEnded(kind)
   * state: "connecting" | "joined" | "lobby" | "reconnecting" | "offline" | "replaced"
   *   | "denied" | "removed" | "closed" (the last three: ended, see retry())
   */
  constructor(opts) {
    this.opts = opts;
    this.room = opts.room;
    this.ws = null;
    this.id = null;
    this.state = "connecting";
    this.attempt = 0;
    this.retryTimer = 0;
    this.probeTimer = 0;
    this.connectTimer = 0;
    this.hiddenAt = 0;
    this.stopped = false;
    this.hold = false; // tests: keep the connection down until released
    this.retryAfter = 0; // ms the server asked us to wait before joining again (rate-limited)
    addEventListener("online", () => this.wake());
    addEventListener("pageshow", (ev) => ev.persisted && this.wake()); // back from the bfcache
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") this.hiddenAt = Date.now();
      else {
        const long = this.hiddenAt && Date.now() - this.hiddenAt >= HIDDEN_PROBE_MS;
        this.hiddenAt = 0;
        if (this.state === "joined") {
          if (long) this.probe();
        } else this.wake();
      }
    });
  }

  get ready() {
    return this.state === "joined" && this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  /** The seat's latest token: read at every join, since another tab may have moved it on. */
  token() {
    try {
      const s = JSON.parse(localStorage.getItem(this.opts.seatKey(this.room)) || "null");
      return s && typeof s.resume === "string" ? s.resume : null;
    } catch {
      return null;
    }
  }

  saveToken(resume, id = this.id) {
    try {
      if (resume) localStorage.setItem(this.opts.seatKey(this.room), JSON.stringify({ id, resume }));
      else localStorage.removeItem(this.opts.seatKey(this.room));
    } catch {}
  }

  start() {
    this.stopped = false;
    this.replaced = false;
    this.connect();
  }

  /** "Use here": take the seat back from the tab that took it (with the token it left us). */
  takeBack() {
    if (!this.replaced) return;
    this.replaced = false;
    this.stopped = false;
    this.attempt = 0;
    this.connect();
  }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    this.opts.onState?.(s);
  }

  connect() {
    clearTimeout(this.retryTimer);
    this.retryTimer = 0;
    if (this.stopped || this.hold) return;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    let ws;
    try {
      ws = new WebSocket(`${proto}//${location.host}/ws`);
    } catch {
      this.scheduleRetry();
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    if (this.id === null) this.setState("connecting");
    this.connectTimer = setTimeout(() => this.abandon(ws), CONNECT_TIMEOUT_MS);
    ws.onopen = () => {
      const join = { ...this.opts.joinFields?.(), type: "join", room: this.room };
      const resume = this.token();
      if (resume) join.resume = resume;
      ws.send(JSON.stringify(join));
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      if (typeof ev.data !== "string") {
        if (this.state === "joined") this.opts.onBinary?.(ev.data);
        return;
      }
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (!msg || typeof msg !== "object") return;
      if (msg.type === "joined" && msg.room === this.room) this.onJoined(msg);
      else if (msg.type === "lobby" && msg.room === this.room) {
        // Waiting for the host: the socket stays open (the server's pings keep it alive).
        clearTimeout(this.connectTimer);
        this.attempt = 0;
        this.setState("lobby");
      } else if (ENDINGS[msg.type] && msg.room === this.room) this.end(ENDINGS[msg.type], typeof msg.reason === "string" ? msg.reason : null);
      else if (msg.type === "error") {
        this.opts.onError?.(msg);
        if (msg.code === "rate-limited" || msg.code === "server-busy") {
          // Too many joins from this address, or the server is near its memory budget. The
          // socket answered, so it is alive (a probe needs no more); before we have a seat,
          // wait as long as the server asks, and keep the token: it was not refused.
          clearTimeout(this.probeTimer);
          this.probeTimer = 0;
          if (this.state !== "joined") {
            this.retryAfter = Number(msg.retry_after_ms) || 0;
            this.abandon(ws);
          }
          return;
        }
        if (this.state !== "joined") {
          // Refused before we got a seat: try again later, without a token it may not like.
          this.saveToken(null);
          this.abandon(ws);
        }
      } else if (this.state === "joined") this.opts.onText?.(msg);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      if (ev.code === 4001) this.lostToOtherTab();
      else if (CLOSE_ENDINGS[ev.code]) this.end(CLOSE_ENDINGS[ev.code]);
      else this.lost();
    };
  }

  /**
   * The daemon closed us with 4001: a newer connection with our token (another tab of this
   * browser) took the seat. Reconnecting would take it back, and that tab would do the same:
   * stay down until the user says "Use here".
   */
  lostToOtherTab() {
    clearTimeout(this.connectTimer);
    clearTimeout(this.probeTimer);
    clearTimeout(this.retryTimer);
    this.probeTimer = this.retryTimer = 0;
    this.ws = null;
    this.stopped = true;
    this.replaced = true;
    this.setState("replaced");
  }

  /**
   * The host denied or removed us, or the room was let go: this room is over for this device.
   * The seat token is dropped (the server revoked it); nothing reconnects until retry().
   * `reason` is the server's (its `removed` says "room-ended" when the host started a new
   * room); a relayed frame cannot set it.
   */
  end(kind, reason = null) {
    this.reason = reason;
    clearTimeout(this.connectTimer);
    clearTimeout(this.probeTimer);
    clearTimeout(this.retryTimer);
    this.probeTimer = this.retryTimer = 0;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = ws.onmessage = ws.onopen = null;
      try {
        ws.close(1000, "ended");
      } catch {}
    }
    this.stopped = true;
    this.id = null;
    this.saveToken(null);
    if (this.state === kind) return;
    this.opts.onEnded?.(kind);
    this.setState(kind);
  }

  /** Ask again after an ending ("Ask again"): a fresh join, which knocks if the room is locked. */
  retry() {
    if (!["denied", "removed", "closed"].includes(this.state)) return;
    this.stopped = false;
    this.attempt = 0;
    this.setState("connecting");
    this.connect();
  }

  onJoined(msg) {
    clearTimeout(this.connectTimer);
    const probe = this.state === "joined" && msg.id === this.id;
    clearTimeout(this.probeTimer);
    this.probeTimer = 0;
    const resumed = !probe && msg.resumed === true && msg.id === this.id;
    this.id = msg.id;
    if (typeof msg.resume === "string" && msg.resume) this.saveToken(msg.resume, msg.id);
    this.attempt = 0;
    this.setState("joined");
    this.opts.onJoined?.(msg, { resumed, probe });
  }

  /** The socket is gone (closed, or abandoned as dead): try again soon. */
  lost() {
    clearTimeout(this.connectTimer);
    clearTimeout(this.probeTimer);
    this.probeTimer = 0;
    this.ws = null;
    if (this.stopped) return;
    this.setState(navigator.onLine === false ? "offline" : "reconnecting");
    this.scheduleRetry();
  }

  abandon(ws) {
    if (ws !== this.ws) return;
    ws.onclose = ws.onmessage = ws.onopen = null;
    try {
      ws.close(4000, "abandoned");
    } catch {}
    this.lost();
  }

  scheduleRetry() {
    clearTimeout(this.retryTimer);
    if (this.stopped || this.hold) return;
    const base = Math.min(MAX_BACKOFF_MS, 250 * 2 ** this.attempt++);
    const wait = Math.max(base * (0.75 + Math.random() / 2), this.retryAfter || 0);
    this.retryAfter = 0;
    this.retryTimer = setTimeout(() => this.connect(), wait);
  }

  /** Reconnect now if we are not connected (page visible again, network back). */
  wake() {
    if (this.stopped || this.hold) return;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) {
      if (this.state === "joined") this.probe();
      return;
    }
    this.attempt = 0;
    this.connect();
  }

  /**
   * Is the socket alive? Joining the room we are in answers `joined` and changes nothing;
   * no answer in time means the socket is dead even if the browser has not noticed.
   */
  probe() {
    if (this.probeTimer || !this.ready) return;
    const ws = this.ws;
    try {
      ws.send(JSON.stringify({ type: "join", room: this.room }));
    } catch {
      this.abandon(ws);
      return;
    }
    this.probeTimer = setTimeout(() => {
      this.probeTimer = 0;
      this.abandon(ws);
    }, PROBE_TIMEOUT_MS);
  }

  send(data) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(data);
  }

  /** Deliberate leave: `leave`, close 1000, forget the seat. */
  leave() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.probeTimer);
    clearTimeout(this.connectTimer);
    this.probeTimer = 0;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = ws.onmessage = ws.onopen = null;
      try {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "leave" }));
        ws.close(1000, "leave");
      } catch {}
    }
    this.saveToken(null);
    this.id = null;
  }

  /** Tests: drop the socket as a network loss would (not a leave), optionally staying down. */
  drop({ hold = false } = {}) {
    this.hold = hold;
    const ws = this.ws;
    if (!ws) return;
    ws.onclose = ws.onmessage = ws.onopen = null;
    try {
      ws.close(4000, "dropped");
    } catch {}
    this.lost();
  }

  release() {
    this.hold = false;
    this.wake();
  }
}
