// The host's connection: msgpack maps over the server's WebSocket (docs/protocol.md).
//
// `ask(message, replies)` sends one host message and resolves with its answer (a map whose type
// is one of `replies`; `host_ok` is matched by its `ref`) or rejects with the server's `error`
// (matched by `ref`, the refused message's type), so every action can show the server's own
// reason next to the button that failed. Sends are paced under the server's control-message
// rate (10 a second, burst 20), so polling and clicking never earn `rate_limited` errors,
// which would count toward the server's abuse limit.

const { encode, decode } = globalThis.MessagePack;

const ANSWER_TIMEOUT_MS = 15000;
const RATE_PER_S = 6;
const BURST = 10;

/** A refusal from the server: its `message` is for people and is shown as it is. */
export class Refusal extends Error {
  constructor(code, message, ref) {
    super(message || code);
    this.code = code;
    this.ref = ref;
  }
}

/** The WebSocket URL of the server that served this page. */
export function serverUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/`;
}

export class HostLink {
  /** `onEvent(map)` gets the messages nobody asked for (`reload`); `onClose(reason)` a lost connection. */
  constructor(url, { onEvent = () => {}, onClose = () => {} } = {}) {
    this.url = url;
    this.onEvent = onEvent;
    this.onClose = onClose;
    this.ws = null;
    this.pending = [];
    this.queue = [];
    this.tokens = BURST;
    this.refilled = performance.now();
    this.timer = null;
    this.closed = false;
  }

  /** Open the socket and join as a host; resolves with `welcome`, rejects with a Refusal. An event
   *  spread over workers answers from its front door with a `handover` to a worker, which is followed. */
  join(token, name = "dashboard", hops = 2) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      ws.binaryType = "arraybuffer";
      this.ws = ws;
      let joined = false;
      let handed = false;
      ws.onopen = () => {
        this.ask({ type: "join", v: 3, name, role: "host", token }, ["welcome", "handover"])
          .then((answer) => {
            if (answer.type === "handover" && hops > 0) {
              handed = true;
              ws.onclose = null;
              ws.close(1000);
              this.url = answer.url;
              this.join(token, name, hops - 1).then(resolve, reject);
              return;
            }
            joined = true;
            resolve(answer);
          })
          .catch((err) => { reject(err); this.close(); });
      };
      ws.onmessage = (e) => this.receive(e.data);
      ws.onclose = (e) => {
        if (handed) return;
        const reason = e.reason || (joined ? "the connection was lost" : "cannot reach the server");
        this.fail(new Refusal("closed", reason, null));
        if (!joined) reject(new Refusal("closed", reason, null));
        else if (!this.closed) this.onClose(reason);
      };
    });
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close(1000);
  }

  /** Send `message`; resolve with the first answer whose type is in `replies` (default: host_ok). */
  ask(message, replies = ["host_ok"]) {
    return new Promise((resolve, reject) => {
      const entry = { type: message.type, replies, resolve, reject };
      entry.timer = setTimeout(() => {
        this.pending = this.pending.filter((p) => p !== entry);
        reject(new Refusal("timeout", `no answer to ${message.type} from the server`, message.type));
      }, ANSWER_TIMEOUT_MS);
      this.pending.push(entry);
      this.queue.push(message);
      this.pump();
    });
  }

  /** Send queued messages as the rate allows. */
  pump() {
    const now = performance.now();
    this.tokens = Math.min(BURST, this.tokens + ((now - this.refilled) / 1000) * RATE_PER_S);
    this.refilled = now;
    while (this.queue.length && this.tokens >= 1) {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
      this.ws.send(encode(this.queue.shift()));
      this.tokens -= 1;
    }
    if (this.queue.length && this.timer === null) {
      this.timer = setTimeout(() => { this.timer = null; this.pump(); }, 1000 / RATE_PER_S);
    }
  }

  receive(data) {
    if (!(data instanceof ArrayBuffer)) return;
    let m;
    try { m = decode(new Uint8Array(data)); } catch { return; }
    if (m === null || typeof m !== "object" || Array.isArray(m)) return; // frames are for visitors
    const match = (p) => {
      if (m.type === "error") return p.type === m.ref;
      if (m.type === "host_ok") return p.replies.includes("host_ok") && p.type === m.ref;
      return p.replies.includes(m.type);
    };
    const entry = this.pending.find(match);
    if (!entry) {
      this.onEvent(m);
      return;
    }
    this.pending = this.pending.filter((p) => p !== entry);
    clearTimeout(entry.timer);
    if (m.type === "error") entry.reject(new Refusal(m.code, m.message, m.ref));
    else entry.resolve(m);
  }

  fail(err) {
    for (const p of this.pending) { clearTimeout(p.timer); p.reject(err); }
    this.pending = [];
    this.queue = [];
  }
}
