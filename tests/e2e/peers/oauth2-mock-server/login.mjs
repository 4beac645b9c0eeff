// Login command for renewlab probe against oauth2-mock-server (docs/probe.md, "The login
// command", contract v2): the code flow with PKCE (the mock logs everyone in as johndoe,
// with no session to hand back), configured by the probe's environment.
import crypto from 'node:crypto';

const env = process.env;
const issuer = env.RENEWLAB_PROBE_ISSUER, clientId = env.RENEWLAB_PROBE_CLIENT_ID;
const redirectUri = env.RENEWLAB_PROBE_REDIRECT_URI || 'http://127.0.0.1:8080/callback';
const b64 = (buf) => buf.toString('base64url');
const verifier = b64(crypto.randomBytes(32));
const challenge = b64(crypto.createHash('sha256').update(verifier).digest());
const meta = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
const auth = await fetch(`${meta.authorization_endpoint}?` + new URLSearchParams({
  client_id: clientId, response_type: 'code', scope: env.RENEWLAB_PROBE_SCOPE,
  redirect_uri: redirectUri, state: 's', nonce: 'n', code_challenge: challenge,
  code_challenge_method: 'S256',
}), { redirect: 'manual' });
const code = new URL(auth.headers.get('location')).searchParams.get('code');
if (!code) { console.error('no code'); process.exit(3); }
const tok = await fetch(meta.token_endpoint, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri,
                              client_id: clientId, code_verifier: verifier }),
});
const tokens = await tok.json();
console.log(JSON.stringify(tokens));
process.exit(tokens.access_token ? 0 : 3);
