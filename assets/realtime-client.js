// server (event bus → /realtime/subscribe) → socket → this client → your callbacks: JSON record events by pattern.

/**
 * A small client for the JSON pub/sub protocol at `/realtime/subscribe`.
 *
 * Usage:
 *
 *   import { RealtimeClient } from '/assets/realtime-client.js';
 *
 *   const rt = new RealtimeClient('/realtime/subscribe', {
 *     onState: (state) => console.log('realtime', state),        // 'connecting' | 'open' | 'closed'
 *     onResync: ({ seq, reason }) => location.reload(),          // too much was missed: reload your data
 *   });
 *   const stop = rt.subscribe('cards.*', (ev) => console.log(ev.action, ev.record));
 *   rt.connect();
 *   // later: stop(); rt.close();
 *
 * Patterns: `*` (everything), `cards.*` (one collection), `cards.12` (one record).
 * Each callback gets an event once, however many of its patterns match.
 *
 * The client remembers the highest `seq` it saw and the server's `epoch`; on reconnect it asks for
 * `?since=<lastSeq>&epoch=<epoch>` and resubscribes every pattern in one message, after which the
 * server replays what was missed (or sends `resync_required`).
 */
import { ReconnectingSocket } from './live-socket.js';

/** Close codes that mean "signed out or access revoked": reconnecting would not help. */
const AUTH_GONE = new Set([4401, 4403]);

export class RealtimeClient {
  /** Highest event sequence number seen. */
  lastSeq = 0;
  /** The server's event-log epoch, from `connected`; null before the first connection. */
  epoch = null;
  /** This connection's id, from `connected`. */
  connectionId = null;
  /** 'connecting' | 'open' | 'closed' */
  state = 'closed';

  /** @type {Map<string, Set<(event: object) => void>>} */
  #subs = new Map();
  #ready = false; // `connected` received on the current socket
  #url;
  #hooks;
  #socket;

  /**
   * @param {string} [url] absolute or relative; http(s) is turned into ws(s)
   * @param {{ onState?: (state: string) => void,
   *           onResync?: (info: {seq: number, epoch: string, reason: string}) => void,
   *           onCustom?: (message: {collection: string | null, data: any}) => void }} [hooks]
   */
  constructor(url = '/realtime/subscribe', { onState, onResync, onCustom } = {}) {
    this.#url = url;
    this.#hooks = { onState, onResync, onCustom };
    this.#socket = new ReconnectingSocket(() => this.#socketUrl(), {
      baseDelay: 500,
      maxDelay: 15_000,
      onMessage: (text) => this.#receive(text),
      onClose: (ev) => {
        this.#ready = false;
        return AUTH_GONE.has(ev.code) ? 'stop' : undefined;
      },
      onState: (s) => this.#setState(s === 'connecting' ? 'connecting' : s === 'open' ? 'open' : 'closed'),
    });
  }

  /** Open the connection (and keep it open until `close()`). */
  connect() {
    this.#socket.start();
    return this;
  }

  /** Close for good; no reconnect. */
  close() {
    this.#ready = false;
    this.#socket.stop(1000);
  }

  /**
   * Call `callback(event)` for every event matching `pattern`.
   * @returns {() => void} removes this callback (and unsubscribes the pattern when it was the last one)
   */
  subscribe(pattern, callback) {
    let set = this.#subs.get(pattern);
    if (!set) {
      set = new Set();
      this.#subs.set(pattern, set);
      if (this.#ready) this.#socket.send({ type: 'subscribe', pattern });
    }
    set.add(callback);
    return () => {
      if (set.delete(callback) && set.size === 0 && this.#subs.get(pattern) === set) this.unsubscribe(pattern);
    };
  }

  /** Drop every callback of `pattern` and tell the server. */
  unsubscribe(pattern) {
    if (!this.#subs.delete(pattern)) return;
    if (this.#ready) this.#socket.send({ type: 'unsubscribe', pattern });
  }

  #socketUrl() {
    const u = new URL(this.#url, globalThis.location?.href);
    if (u.protocol === 'http:') u.protocol = 'ws:';
    if (u.protocol === 'https:') u.protocol = 'wss:';
    if (this.epoch != null) {
      // A reconnect: ask for what we missed.
      u.searchParams.set('since', String(this.lastSeq));
      u.searchParams.set('epoch', this.epoch);
    }
    return u.href;
  }

  #receive(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return console.warn('realtime: not JSON', text);
    }
    switch (msg.type) {
      case 'connected': {
        const resumed = this.epoch != null;
        this.connectionId = msg.connection_id;
        this.epoch = msg.epoch ?? this.epoch;
        // On a fresh start, events up to `seq` are already reflected in what the page loaded. On a
        // resume, keep our own lastSeq: the replay that follows starts from it.
        if (!resumed && Number.isFinite(msg.seq)) this.lastSeq = Math.max(this.lastSeq, msg.seq);
        this.#ready = true;
        const patterns = [...this.#subs.keys()];
        if (patterns.length) this.#socket.send({ type: 'subscribe', patterns });
        break;
      }
      case 'record_event':
        if (Number.isFinite(msg.seq)) this.lastSeq = Math.max(this.lastSeq, msg.seq);
        this.#deliver(msg, msg.collection, msg.record?.id);
        break;
      case 'custom_event':
        // A channel message (`news`, `notifications`…) reaches `news.*` and, with an id, `news.<id>`.
        this.#deliver(msg, msg.collection, msg.id);
        this.#hooks.onCustom?.(msg);
        break;
      case 'resync_required':
        if (Number.isFinite(msg.seq)) this.lastSeq = msg.seq;
        if (msg.epoch != null) this.epoch = msg.epoch;
        this.#hooks.onResync?.({ seq: msg.seq, epoch: msg.epoch, reason: msg.reason });
        break;
      case 'error':
        console.warn(`realtime error ${msg.code}: ${msg.message}`);
        break;
      case 'subscribed':
      case 'unsubscribed':
      case 'pong':
        break;
      default:
        console.warn('realtime: unknown message', msg);
    }
  }

  /** Each matching callback once, even when several of its patterns match. */
  #deliver(msg, collection, recordId) {
    const callbacks = new Set();
    for (const [pattern, set] of this.#subs) {
      if (matches(pattern, collection, recordId)) for (const cb of set) callbacks.add(cb);
    }
    for (const cb of callbacks) {
      try {
        cb(msg);
      } catch (err) {
        console.error(err);
      }
    }
  }

  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.#hooks.onState?.(state);
  }
}

/**
 * Does `pattern` match an event of `collection` (and record `recordId`)?
 * `*` matches all; `cards` and `cards.*` a collection; `cards.12` one record.
 */
export function matches(pattern, collection, recordId) {
  if (pattern === '*') return true;
  if (collection == null) return false;
  const dot = pattern.indexOf('.');
  const [coll, rest] = dot < 0 ? [pattern, '*'] : [pattern.slice(0, dot), pattern.slice(dot + 1)];
  if (coll !== collection) return false;
  return rest === '*' || (recordId != null && rest === String(recordId));
}
