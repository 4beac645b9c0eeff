// A refresh-token client that reads the wall clock: its time is Date.now(), never the
// "now" of the protocol's lines, and no helper gives it a clock. Under
// `renewlab run --target exec+faketime:'node wall_clock_client.mjs'` libfaketime makes
// Date.now() follow the virtual clock, so hours of renewals run in a second; under plain
// exec: it fails. Its HTTP goes through the protocol (virtual_clock); it is idle after
// each line, its next renewal the idle's wake_at. Used by tests/e2e/test_js_adapters.py.
import { createHash, randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';

const out = (m) => process.stdout.write(JSON.stringify(m) + '\n');
const b64 = (b) => b.toString('base64url');
let s, meta, tokens, renewAt = null, seq = 0;
const waiting = new Map(); // http id -> callback
const now = () => Date.now() / 1000;

function http(method, url, headers, body, then) {
  waiting.set(++seq, then);
  out({ type: 'http', id: seq, method, url, headers, ...(body ? { body } : {}) });
}
const form = (o) => new URLSearchParams(o).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function took(answer, done) { // a token answer: keep it, plan the renewal
  const t = JSON.parse(answer.body);
  tokens = { ...t, refresh_token: t.refresh_token ?? tokens?.refresh_token };
  renewAt = t.expires_in ? now() + t.expires_in - (s.renew_before ?? 60) : null;
  done();
}

function login(cmd, done) {
  http('GET', `${s.issuer}/.well-known/openid-configuration`, {}, null, (d) => {
    meta = JSON.parse(d.body);
    const verifier = b64(randomBytes(32)), state = b64(randomBytes(16));
    const q = new URLSearchParams({ response_type: 'code', client_id: s.client_id, state,
      redirect_uri: s.redirect_uri, scope: s.scope ?? 'openid profile offline_access api',
      code_challenge: b64(createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256' });
    http('GET', `${meta.authorization_endpoint}?${q}`, { cookie: cmd.cookie }, null, (a) => {
      const code = new URL(a.headers.location).searchParams.get('code');
      http('POST', meta.token_endpoint, FORM, form({ grant_type: 'authorization_code', code,
        redirect_uri: s.redirect_uri, code_verifier: verifier, client_id: s.client_id }), (t) => {
        took(t, () => { out({ type: 'event', event: 'logged_in', method: 'code' }); done('RC_OK'); });
      });
    });
  });
}

function renew() {
  renewAt = null;
  http('POST', meta.token_endpoint, FORM, form({ grant_type: 'refresh_token',
    refresh_token: tokens.refresh_token, client_id: s.client_id }), (t) => {
    if (t.status !== 200) {
      tokens = null;
      return out({ type: 'event', event: 'session_lost', reason: 'RC_EINVALID_GRANT' });
    }
    took(t, () => out({ type: 'event', event: 'renewed', method: 'refresh_token' }));
  });
}

function logout(done) {
  renewAt = null;
  const rt = tokens?.refresh_token;
  const end = () => { tokens = null; out({ type: 'event', event: 'logged_out', method: 'revoke' }); done('RC_OK'); };
  if (!rt || !meta.revocation_endpoint) return end();
  http('POST', meta.revocation_endpoint, FORM, form({ token: rt, token_type_hint: 'refresh_token',
    client_id: s.client_id }), end);
}

function handle(m) {
  const done = (status) => out({ type: 'done', seq: m.seq, status });
  if (m.type === 'hello') {
    s = { ...m.client, issuer: m.issuer };
    out({ type: 'hello', protocol: 1, name: 'wall-clock-client', version: '1',
          capabilities: ['refresh', 'virtual_clock', 'revoke'] });
  } else if (m.type === 'http_response') {
    const then = waiting.get(m.id);
    waiting.delete(m.id);
    then?.(m);
  } else if (m.type === 'login') login(m, done);
  else if (m.type === 'logout') logout(done);
  else if (m.type === 'use_token' || m.type === 'api_call') done(tokens ? 'RC_OK' : 'RC_ENO_SESSION');
  if (tokens && renewAt !== null && now() >= renewAt && waiting.size === 0) renew();
  out({ type: 'idle', wake_at: renewAt });
}

for await (const line of createInterface({ input: process.stdin })) {
  const m = JSON.parse(line);
  if (m.type === 'stop') break;
  handle(m);
}
process.exit(0);
