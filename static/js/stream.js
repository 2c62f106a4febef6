// The live stream of one cluster: a WebSocket that reconnects by itself.
//
//   const stream = new ClusterStream({ name, resumeFrom, verify, onFrame, onStatus });
//   stream.start();
//
// Protocol (dashboard/consumers.py): the server sends a snapshot, then event batches in
// contiguous seq order, clock frames, and {"type": "error"} before closing. We ask for the
// compact wire format (?wire=compact, dashboard/wire.py): a WireReader per socket turns its
// frames back into the plain ones, so onFrame sees the same frames either way. We answer every
// data frame with {"type": "ack", "seq": <last seq>} (the server's flow control) and may ask
// for {"type": "resync"} (a fresh snapshot) when we see a gap.
//
// Reconnection: after any close other than 4404 (cluster not found or deleted), retry with
// exponential back-off (250 ms doubling up to RETRY_MAX_MS = 2 s, with jitter), forever: a server
// restart during a lesson must heal without anyone touching the page. Before reopening, a REST
// call checks that the cluster still exists (404 -> stop) and `verify` decides whether our
// history is still the server's one; if it is, we resume with ?after=<last seq>, otherwise we
// start from a fresh snapshot.
//
// A socket can also die without a close reaching the page (its server process killed behind a
// proxy, a half-open connection): while the cluster runs, clock frames come every 0.25 s, so a
// visible page that hears nothing for STALL_MS drops the socket and reconnects the same way.
//
// Status callbacks: {state: "connecting" | "connected" | "reconnecting" | "disconnected", detail}.

import { api } from "./api.js";
import { gettext, interpolate } from "./i18n.js";
import { WireReader } from "./wire.js";

const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 2000;
const DATA_FRAMES = new Set(["snapshot", "events", "clock"]);
const STALL_MS = 10_000;
const WATCH_EVERY_MS = 1000;

/** The stream's address; `params` adds the classroom's key and viewer id ({key, viewer}). */
export function streamUrl(name, after, params = {}, wire = "compact") {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const q = new URLSearchParams();
  if (after != null) q.set("after", String(after));
  if (wire === "compact") q.set("wire", "compact");
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const query = q.toString() ? `?${q}` : "";
  return `${scheme}//${location.host}/ws/clusters/${encodeURIComponent(name)}/${query}`;
}

export class ClusterStream {
  /**
   * @param {object} options
   * @param {string} options.name cluster name
   * @param {() => (number|null)} options.resumeFrom the seq to resume after, or null for a fresh snapshot
   * @param {(summary: object) => Promise<boolean>} [options.verify] before a reconnect: is our history still valid?
   * @param {(frame: object) => void} options.onFrame every parsed frame
   * @param {(status: object) => void} options.onStatus connection state changes
   * @param {() => object} [options.params] extra query parameters at each (re)connection: {key, viewer}
   * @param {"compact" | "json"} [options.wire] the wire format to ask for (the frames handed on are the same)
   */
  constructor({ name, resumeFrom, verify, onFrame, onStatus, params, wire }) {
    this.name = name;
    this.wire = wire ?? "compact";
    this.params = params ?? (() => ({}));
    this.resumeFrom = resumeFrom;
    this.verify = verify ?? (async () => true);
    this.onFrame = onFrame;
    this.onStatus = onStatus;
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = false;
    this.gone = false;
    this.everConnected = false;
    this.lastError = null;
    this.forceFresh = false;
    this._onOnline = () => this._retryNow();
    this.lastFrameAt = 0;
    this.running = false; // the last clock we heard said the cluster runs: frames are due
    this.watchdog = null;
    this.lastWatch = 0;
  }

  start() {
    this.stopped = false;
    window.addEventListener("online", this._onOnline);
    this._status("connecting", "");
    this._open(this.resumeFrom());
    clearInterval(this.watchdog);
    this.watchdog = setInterval(() => this._watch(), WATCH_EVERY_MS);
  }

  /** Drop a socket that went silent while its cluster runs (see the header). */
  _watch() {
    const now = performance.now();
    const blocked = now - this.lastWatch > 3 * WATCH_EVERY_MS; // this page's own thread was busy: no verdict
    this.lastWatch = now;
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || blocked || document.visibilityState !== "visible") {
      this.lastFrameAt = now; // the silence is counted only while it could be heard
      return;
    }
    if (this.running && now - this.lastFrameAt > STALL_MS) {
      this.ws = null;
      ws.close(4000, "silent");
      this._scheduleRetry();
    }
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this._onOnline);
    clearTimeout(this.timer);
    clearInterval(this.watchdog);
    if (this.ws) this.ws.close(1000, "page closed");
  }

  /** Acknowledge everything up to seq (after a frame has been handled). */
  ack(seq) {
    this._send({ type: "ack", seq: Math.max(0, seq | 0) });
  }

  /** Ask for a fresh snapshot (after a gap in seq, or a clock that went backwards). */
  resync() {
    if (!this._send({ type: "resync" })) this.forceFresh = true;
  }

  _send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  _status(state, detail) {
    this.state = state;
    this.onStatus({ state, detail });
  }

  _open(after) {
    if (this.stopped) return;
    const ws = new WebSocket(streamUrl(this.name, this.forceFresh ? null : after, this.params(), this.wire));
    const reader = new WireReader(); // the string table lives and dies with its socket
    this.forceFresh = false;
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      this.lastError = null;
      this.everConnected = true;
      this._status("connected", "");
    });
    ws.addEventListener("message", (event) => {
      if (this.ws !== ws || typeof event.data !== "string") return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return; // not ours to interpret; the server only sends JSON
      }
      if (!frame || typeof frame !== "object") return;
      this.lastFrameAt = performance.now();
      try {
        frame = reader.read(frame);
      } catch (err) {
        // never expected: a packed frame that does not fit our table. Start again from a snapshot.
        console.warn("clusterscope: undecodable stream frame; reconnecting", err);
        this.ws = null;
        this.forceFresh = true;
        ws.close(4000, "undecodable");
        this._scheduleRetry();
        return;
      }
      if (frame === null) return; // the string table, kept by the reader
      const clock = frame.clock ?? frame.state?.clock;
      if (clock && typeof clock.paused === "boolean") this.running = !clock.paused;
      if (frame.type === "error") this.lastError = String(frame.error ?? "error");
      this.onFrame(frame);
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (event.code === 4404) {
        this.gone = true;
        this._status("disconnected", this.lastError || interpolate(gettext("cluster %(name)s not found"), { name: this.name }));
        return;
      }
      this._scheduleRetry();
    });
  }

  _scheduleRetry() {
    clearTimeout(this.timer);
    const base = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt += 1;
    this._status("reconnecting", interpolate(gettext("retrying in %(n)s s"), { n: Math.max(1, Math.round(delay / 1000)) }));
    this.timer = setTimeout(() => this._reconnect(), delay);
  }

  _retryNow() {
    if (this.stopped || this.gone || this.ws) return;
    clearTimeout(this.timer);
    this._reconnect();
  }

  async _reconnect() {
    if (this.stopped) return;
    let summary;
    try {
      summary = await api.getCluster(this.name);
    } catch (err) {
      if (err.status === 404) {
        this.gone = true;
        this._status("disconnected", interpolate(gettext("cluster %(name)s no longer exists on the server"), { name: this.name }));
        return;
      }
      this._scheduleRetry(); // server still down (or restarting)
      return;
    }
    let resume = this.resumeFrom();
    if (resume != null) {
      let valid = false;
      try {
        valid = await this.verify(summary);
      } catch {
        valid = false;
      }
      if (!valid) resume = null;
    }
    if (!this.stopped && !this.ws) this._open(resume);
  }

  /** True for frames that count against the server's flow-control window. */
  static isDataFrame(frame) {
    return DATA_FRAMES.has(frame.type);
  }
}
