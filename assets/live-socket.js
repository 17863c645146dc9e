// server ⇄ socket ⇄ this module ⇄ board.js / realtime-client.js: one WebSocket that comes back by itself after it drops.

/**
 * A WebSocket that reconnects with exponential backoff and full jitter, pings while open,
 * and reconnects at once when the tab becomes visible again or the browser comes back online.
 *
 * It knows nothing of the messages: the owner parses them and decides, per close code,
 * whether to stop, retry soon, or back off.
 *
 *   const s = new ReconnectingSocket(() => '/live?since=' + seq, {
 *     onMessage: (text) => handle(text),
 *     onClose: (ev) => (ev.code === 4403 ? 'stop' : undefined),
 *   });
 *   s.start();
 */
export class ReconnectingSocket {
  /** @type {WebSocket | null} */
  #ws = null;
  /** @type {'idle' | 'connecting' | 'open' | 'waiting' | 'stopped'} */
  #state = 'idle';
  #attempt = 0;
  #retryTimer = 0;
  #pingTimer = 0;
  #url;
  #opts;

  /**
   * @param {string | (() => string)} url the socket URL, or a function called before every (re)connect
   * @param {object} [opts]
   * @param {number} [opts.baseDelay] first backoff step in ms (500)
   * @param {number} [opts.maxDelay] backoff cap in ms (10 000)
   * @param {number} [opts.pingEvery] ms between `{"type":"ping"}` messages while open (25 000; 0 = never)
   * @param {() => void} [opts.onOpen]
   * @param {(data: string) => void} [opts.onMessage]
   * @param {(ev: CloseEvent) => 'stop' | 'soon' | void} [opts.onClose] 'stop': give up; 'soon': retry in 0–1 s; otherwise back off
   * @param {(state: string, info: {attempt: number}) => void} [opts.onState]
   */
  constructor(url, opts = {}) {
    this.#url = url;
    this.#opts = { baseDelay: 500, maxDelay: 10_000, pingEvery: 25_000, ...opts };
  }

  /** 'idle' | 'connecting' | 'open' | 'waiting' (between attempts) | 'stopped' */
  get state() {
    return this.#state;
  }

  /** Connect, and keep reconnecting until `stop()`. */
  start() {
    if (this.#state !== 'idle' && this.#state !== 'stopped') return;
    this.#attempt = 0;
    globalThis.document?.addEventListener('visibilitychange', this.#wake);
    globalThis.addEventListener?.('online', this.#wake);
    this.#connect();
  }

  /** Close for good (until the next `start()`). */
  stop(code = 1000, reason = '') {
    this.#setState('stopped');
    clearTimeout(this.#retryTimer);
    clearInterval(this.#pingTimer);
    globalThis.document?.removeEventListener('visibilitychange', this.#wake);
    globalThis.removeEventListener?.('online', this.#wake);
    const ws = this.#ws;
    this.#ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(code, reason);
  }

  /** Send a string or a JSON-encoded object; returns false (and drops it) unless the socket is open. */
  send(message) {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(typeof message === 'string' ? message : JSON.stringify(message));
    return true;
  }

  #connect() {
    clearTimeout(this.#retryTimer);
    const url = typeof this.#url === 'function' ? this.#url() : this.#url;
    const ws = new WebSocket(url);
    this.#ws = ws;
    this.#setState('connecting');
    ws.onopen = () => {
      this.#attempt = 0;
      this.#setState('open');
      if (this.#opts.pingEvery > 0) {
        this.#pingTimer = setInterval(() => this.send({ type: 'ping', timestamp: Date.now() }), this.#opts.pingEvery);
      }
      this.#opts.onOpen?.();
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data === 'string') this.#opts.onMessage?.(ev.data);
    };
    ws.onclose = (ev) => {
      if (this.#ws !== ws) return; // a socket we already replaced or stopped
      this.#ws = null;
      clearInterval(this.#pingTimer);
      if (this.#state === 'stopped') return;
      const decision = this.#opts.onClose?.(ev);
      if (decision === 'stop') return this.stop();
      this.#retry(decision === 'soon' ? Math.random() * 1000 : this.#backoff());
    };
  }

  /** Full jitter: a random delay between 0 and min(cap, base · 2^attempt). */
  #backoff() {
    const { baseDelay, maxDelay } = this.#opts;
    return Math.random() * Math.min(maxDelay, baseDelay * 2 ** this.#attempt++);
  }

  #retry(delay) {
    this.#setState('waiting');
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  // Arrow function, so it can be added and removed as an event listener.
  #wake = () => {
    if (this.#state !== 'waiting') return;
    if (globalThis.document?.hidden || globalThis.navigator?.onLine === false) return;
    this.#connect();
  };

  #setState(state) {
    if (this.#state === state) return;
    this.#state = state;
    this.#opts.onState?.(state, { attempt: this.#attempt });
  }
}
