// renewlab's helper for exec adapters in JavaScript (Node >= 20.19): the exec protocol of
// docs/exec-protocol.md, so that an adapter is its client's calls and nothing else.
//   - fetch(): a WHATWG fetch routed through the harness (openid-client's customFetch);
//     the global fetch is replaced too, so that nothing opens a socket;
//   - virtual time for the whole process: Date, Date.now, setTimeout, setInterval (and
//     their clear*) follow the harness's `now`, since libraries read the globals;
//   - the idle rule: `idle` goes out once the line's work has settled: the event loop has
//     run dry, no timer is due, and no tracked promise is pending (track(), and each
//     WebCrypto call, which is neither a fetch nor a timer): what is left waits on a fetch
//     through the harness or a future timer;
//   - the reasons of the protocol, and event() / done() that send them.
// No dependencies. Usage: see docs/exec-protocol.md, "JavaScript and other async runtimes".
import { createInterface } from 'node:readline';
import { webcrypto } from 'node:crypto';

/** The protocol's reasons (docs/exec-protocol.md) and whether each is transient. */
export const REASONS = Object.freeze({
  RC_ETRANSPORT: true, RC_ETIMEOUT: true, RC_EHTTP: true, RC_EPROTOCOL: true,
  RC_ENOMEM: false, RC_EINVAL: false, RC_EOAUTH: false, RC_EINVALID_GRANT: false,
  RC_EINVALID_CLIENT: false, RC_EDISCOVERY: false, RC_EJWKS: false,
  RC_EJWT_MALFORMED: false, RC_EJWT_ALG: false, RC_EJWT_KID: false,
  RC_EJWT_SIGNATURE: false, RC_EJWT_CRIT: false, RC_EJWT_ISS: false, RC_EJWT_AUD: false,
  RC_EJWT_AZP: false, RC_EJWT_EXP: false, RC_EJWT_IAT: false, RC_EJWT_NONCE: false,
  RC_EJWT_AT_HASH: false, RC_EJWT_SUB: false, RC_EJWT_AUTH_TIME: false,
  RC_ENO_SESSION: false, RC_EINTERACTION: false, RC_ELOGGED_OUT: false,
  RC_EGAVE_UP: false, RC_ESTATE: false,
});

/** Whether a reason is transient (worth retrying); unknown reasons are not. */
export function isTransient(reason) {
  return REASONS[reason] === true;
}

const RealDate = Date;
const real = { setTimeout, clearTimeout, setInterval, clearInterval, setImmediate, fetch };

class Timer {
  constructor(helper, at, fn, args, every) {
    Object.assign(this, { helper, at, fn, args, every, refed: true });
    this.id = ++helper.timerSeq;
  }
  ref() { this.refed = true; return this; }
  unref() { this.refed = false; return this; }
  hasRef() { return this.refed; }
  refresh() { this.at = this.helper.nowMs + (this.every ?? this.delay); return this; }
  close() { this.helper.timers.delete(this); return this; }
  [Symbol.toPrimitive]() { return this.id; }
}

/** A fetch Response from an http_response line (or a TypeError for a transport error). */
function toResponse(m, url) {
  if (m.error) throw new TypeError(`fetch failed: ${m.error}`);
  const headers = new Headers(Object.entries(m.headers || {}));
  const nullBody = [204, 205, 304].includes(m.status) || (m.status >= 300 && m.status < 400 && !m.body);
  const r = new Response(nullBody ? null : m.body ?? '', { status: m.status, headers });
  Object.defineProperty(r, 'url', { value: url });
  return r;
}

async function bodyText(body) {
  if (body == null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) return body.toString();
  return new Response(body).text();
}

/** The lower-case headers of a fetch init, as an http line carries them. */
function headerObject(h) {
  const out = {};
  new Headers(h || {}).forEach((v, k) => { out[k] = v; });
  return out;
}

class Helper {
  constructor(opts) {
    this.opts = opts;
    this.nowMs = 0;
    this.timers = new Set();
    this.timerSeq = 0;
    this.pending = new Map(); // http id -> {resolve, reject, url}
    this.httpSeq = 0;
    this.busy = 0;            // tracked work in flight (handlers, track(), WebCrypto)
    this.wakers = [];
    this.out = opts.output || process.stdout;
    this.timeout = 0;         // seconds: a request's own timeout (0: none)
    this.fetch = this.fetch.bind(this);
  }

  /** Virtual time, epoch milliseconds. */
  now() { return this.nowMs; }

  write(obj) { this.out.write(JSON.stringify(obj) + '\n'); }

  /** Send an event: name and fields (method, reason, detail); transient from the reason. */
  event(name, fields = {}) {
    const e = { type: 'event', event: name, ...fields };
    if (fields.reason && fields.transient === undefined) e.transient = isTransient(fields.reason);
    this.write(e);
  }

  log(text) { this.write({ type: 'log', text: String(text) }); }

  /** Count a promise as work in flight until it settles: fire-and-forget work the idle
   * must wait for. Returns the promise. */
  track(p) {
    this.busy++;
    const settle = () => { this.busy--; this.wake(); };
    Promise.resolve(p).then(settle, settle);
    return p;
  }

  wake() {
    const w = this.wakers;
    this.wakers = [];
    w.forEach((f) => f());
  }

  /** fetch(url, init) through the harness: an http line, answered by http_response; after
   * `timeout` virtual seconds without an answer it is cancelled (a TimeoutError). */
  async fetch(input, init = {}) {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = (init.method || (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const headers = headerObject(init.headers || (input instanceof Request ? input.headers : undefined));
    const body = await this.track(bodyText(init.body));
    if (init.signal?.aborted) throw init.signal.reason;
    const id = ++this.httpSeq;
    const line = { type: 'http', id, method, url, headers };
    if (body !== undefined) line.body = body;
    this.write(line);
    return new Promise((resolve, reject) => {
      const giveUp = (why) => {
        if (!this.pending.delete(id)) return;
        if (timer) this.clearTimer(timer);
        this.write({ type: 'http_cancel', id });
        reject(why);
      };
      // the request timeout is the adapter's own timer, on virtual time (helper.timeout)
      const timer = this.timeout > 0 ? this.addTimer(() => giveUp(new DOMException(
        `no answer within ${this.timeout} s`, 'TimeoutError')), this.timeout * 1000, [], false) : null;
      const done = (f) => (v) => { if (timer) this.clearTimer(timer); f(v); };
      this.pending.set(id, { resolve: done(resolve), reject: done(reject), url });
      init.signal?.addEventListener?.('abort', () => giveUp(init.signal.reason), { once: true });
    });
  }

  // ---- virtual timers ----------------------------------------------------------------
  addTimer(fn, ms, args, every) {
    if (typeof fn !== 'function') throw new TypeError('the callback must be a function');
    const delay = Math.max(0, Number(ms) || 0);
    const t = new Timer(this, this.nowMs + delay, fn, args, every ? Math.max(1, delay) : undefined);
    t.delay = delay;
    this.timers.add(t);
    return t;
  }

  clearTimer(t) {
    if (t instanceof Timer) this.timers.delete(t);
    else for (const x of this.timers) if (x.id === Number(t)) this.timers.delete(x);
  }

  /** The earliest timer due at or before now, or null. */
  dueTimer() {
    let best = null;
    for (const t of this.timers)
      if (t.at <= this.nowMs && (!best || t.at < best.at || (t.at === best.at && t.id < best.id))) best = t;
    return best;
  }

  wakeAt() {
    let at = null;
    for (const t of this.timers) if (t.refed && (at === null || t.at < at)) at = t.at;
    return at === null ? null : at / 1000;
  }

  fire(t) {
    if (t.every) t.at += t.every;
    else this.timers.delete(t);
    try {
      t.fn(...t.args);
    } catch (err) {
      this.crash(err);
    }
  }

  // ---- the idle rule -----------------------------------------------------------------
  /** One turn of the real event loop: every microtask queued so far has run. */
  turn() { return new Promise((r) => real.setImmediate(r)); }

  /** Run everything due now until nothing is in flight but fetches and future timers. */
  async settle() {
    for (let quiet = 0; quiet < 2;) {
      await this.turn();
      const t = this.dueTimer();
      if (t) {
        this.fire(t);
        quiet = 0;
      } else if (this.busy > 0) {
        await new Promise((r) => this.wakers.push(r));
        quiet = 0;
      } else {
        quiet++;
      }
    }
  }

  crash(err) {
    process.stderr.write(`adapter: ${err?.stack || err}\n`);
    process.exit(1);
  }

  // ---- lines ---------------------------------------------------------------------------
  async handle(m) {
    if (typeof m.now === 'number') this.nowMs = Math.max(this.nowMs, Math.round(m.now * 1000));
    const h = this.opts.handlers || {};
    switch (m.type) {
      case 'hello':
        this.hello = m;
        this.write({ type: 'hello', protocol: 1, name: this.opts.name, version: this.opts.version,
                     capabilities: this.opts.capabilities });
        if (h.hello) this.command(null, () => h.hello(m));
        break;
      case 'http_response': {
        const p = this.pending.get(m.id);
        if (!p) break; // cancelled
        this.pending.delete(m.id);
        try { p.resolve(toResponse(m, p.url)); } catch (err) { p.reject(err); }
        break;
      }
      case 'advance':
        break;
      case 'login': case 'use_token': case 'api_call': case 'logout':
        if (!h[m.type]) throw new Error(`no handler for "${m.type}"`);
        this.command(m.seq, () => h[m.type](m));
        break;
      default:
        throw new Error(`unknown line type "${m.type}"`);
    }
    await this.settle();
    this.write({ type: 'idle', wake_at: this.wakeAt() });
  }

  /** Run a command's handler; its result (or error) makes the done line: {status,
   * http_status} or a bare status string. The handler itself is not counted as work in
   * flight: while it awaits a fetch or a timer the idle must go out, or nothing would
   * ever answer it; what it awaits besides those is (WebCrypto, track()). */
  command(seq, run) {
    (async () => {
      let r;
      try {
        r = await run();
      } catch (err) {
        if (seq === null) throw err;
        r = { status: this.opts.reasonOf ? this.opts.reasonOf(err) : 'RC_EPROTOCOL' };
      }
      if (seq === null) return;
      const d = typeof r === 'string' ? { status: r } : { status: 'RC_OK', ...(r || {}) };
      this.write({ type: 'done', seq, ...d });
    })().catch((err) => this.crash(err));
  }

  async run() {
    const rl = createInterface({ input: this.opts.input || process.stdin, crlfDelay: Infinity });
    for await (const text of rl) {
      if (!text.trim()) continue;
      const m = JSON.parse(text);
      if (m.type === 'stop') break;
      await this.handle(m);
    }
    process.exit(0);
  }
}

/** Replace the process's clock and timers with the helper's virtual ones. */
function installVirtualTime(h) {
  const VirtualDate = new Proxy(RealDate, {
    construct(target, args, newTarget) {
      return Reflect.construct(target, args.length ? args : [h.nowMs], newTarget);
    },
    apply() { return new RealDate(h.nowMs).toString(); },
    get(target, prop, receiver) {
      return prop === 'now' ? () => h.nowMs : Reflect.get(target, prop, receiver);
    },
  });
  globalThis.Date = VirtualDate;
  globalThis.setTimeout = (fn, ms, ...args) => h.addTimer(fn, ms, args, false);
  globalThis.setInterval = (fn, ms, ...args) => h.addTimer(fn, ms, args, true);
  globalThis.clearTimeout = globalThis.clearInterval = (t) => t != null && h.clearTimer(t);
  globalThis.fetch = h.fetch;
}

/** Count every WebCrypto call as work in flight (the PKCE digest, signature checks). */
function trackWebCrypto(h) {
  const subtle = webcrypto.subtle;
  for (const name of ['digest', 'importKey', 'exportKey', 'verify', 'sign', 'generateKey',
                      'encrypt', 'decrypt', 'deriveBits', 'deriveKey', 'wrapKey', 'unwrapKey']) {
    const orig = subtle[name];
    if (typeof orig === 'function')
      subtle[name] = function tracked(...args) { return h.track(orig.apply(subtle, args)); };
  }
}

/**
 * Start an adapter. @p opts: name, version, capabilities (protocol 1's names), handlers
 * {hello(line), login(cmd), use_token(cmd), api_call(cmd), logout(cmd)} (each may be
 * async; its result is the done line: a status string, or {status, http_status}),
 * reasonOf(err) (an error a handler threw -> a reason; default RC_EPROTOCOL).
 * Returns the helper: fetch, event, log, track, now, hello (the harness's hello line).
 */
export function createAdapter(opts) {
  const h = new Helper(opts);
  installVirtualTime(h);
  trackWebCrypto(h);
  process.on('unhandledRejection', (err) => h.crash(err));
  h.run().catch((err) => h.crash(err));
  return h;
}

export const realTime = real; // the wall clock's timers and fetch, should an adapter need them
