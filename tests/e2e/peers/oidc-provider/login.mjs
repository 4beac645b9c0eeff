// Login command for renewlab probe against server.mjs (docs/probe.md, "The login
// command", contract v2): drives the dev interactions (login as alice, consent) with a
// small cookie jar, then redeems the code. Configured by the probe's environment; prints
// the token response as JSON with the IdP session's cookies as session_cookie.
import crypto from 'node:crypto';

const env = process.env;
const issuer = env.RENEWLAB_PROBE_ISSUER, clientId = env.RENEWLAB_PROBE_CLIENT_ID;
const secret = env.RENEWLAB_PROBE_CLIENT_SECRET;
const scope = env.RENEWLAB_PROBE_SCOPE;
const redirectUri = env.RENEWLAB_PROBE_REDIRECT_URI || 'http://127.0.0.1:8080/callback';
const jar = new Map();
const b64 = (buf) => buf.toString('base64url');

async function go(url, init = {}) {
  const headers = { ...(init.headers || {}), cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') };
  const res = await fetch(url, { ...init, headers, redirect: 'manual' });
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const i = pair.indexOf('=');
    jar.set(pair.slice(0, i), pair.slice(i + 1));
  }
  return res;
}

const verifier = b64(crypto.randomBytes(32));
const challenge = b64(crypto.createHash('sha256').update(verifier).digest());
let url = `${issuer}/auth?` + new URLSearchParams({
  client_id: clientId, response_type: 'code', scope, redirect_uri: redirectUri, state: 's',
  nonce: 'n', prompt: 'consent', code_challenge: challenge, code_challenge_method: 'S256',
});
let code = null;
for (let hops = 0; hops < 12 && !code; hops++) {
  const res = await go(url);
  const location = res.headers.get('location');
  if (location) {
    const next = new URL(location, issuer);
    if (next.href.startsWith(redirectUri)) {
      code = next.searchParams.get('code');
      if (!code) { console.error(`no code: ${next.href}`); process.exit(3); }
      break;
    }
    url = next.href;
    continue;
  }
  const html = await res.text(); // an interaction page: answer it as a user would
  const uid = new URL(url).pathname.split('/').pop();
  const prompt = html.includes('name="login"') ? 'login' : 'consent';
  const body = new URLSearchParams(prompt === 'login'
    ? { prompt, login: 'alice', password: 'any' } : { prompt });
  const sub = await go(`${issuer}/interaction/${uid}`, { method: 'POST', body,
    headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  url = new URL(sub.headers.get('location'), issuer).href;
}
if (!code) { console.error('the interactions never ended'); process.exit(3); }
const tok = await fetch(`${issuer}/token`, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded',
             authorization: 'Basic ' + Buffer.from(`${clientId}:${secret}`).toString('base64') },
  body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri,
                              code_verifier: verifier }),
});
const tokens = await tok.json();
tokens.session_cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
console.log(JSON.stringify(tokens));
process.exit(tokens.access_token ? 0 : 3);
