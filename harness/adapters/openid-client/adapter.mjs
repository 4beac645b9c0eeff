// renewlab's third reference exec adapter: a renewal client built on openid-client 6
// (npm, pinned with oauth4webapi in package-lock.json), with its non-repudiation checks
// on (ID-token signatures verified against the JWKS). The JavaScript helper gives it the
// protocol, virtual time and the idle rule; this file is only the client: login with the
// code flow and PKCE, renewal before expiry (single flight, backoff on transient failures),
// resource calls, revocation on logout. Its known findings: harness/findings/openid-client.json.
import { readFileSync } from 'node:fs';
import * as client from 'openid-client';
import { REASONS, createAdapter, isTransient as transient } from '../js/renewlab-exec.mjs';

// the installed version, which the findings store keys its records on
const { version } = JSON.parse(readFileSync(new URL('node_modules/openid-client/package.json', import.meta.url)));
const h = createAdapter({
  name: 'openid-client', version, capabilities: ['refresh', 'virtual_clock', 'revoke'],
  handlers: { hello: start, login, use_token: useToken, api_call: apiCall, logout },
  reasonOf,
});
let s = {};        // the client settings of the hello, with defaults
let config = null; // openid-client's Configuration, after discovery
let tokens = null; // the current token response; null: no session
let renewal = null, timer = null, lastRenewal = 0, loggedOut = false;
const now = () => Date.now() / 1000; // virtual: the helper's Date

function start(hello) {
  s = { scope: 'openid profile offline_access api', renew_before: 60, min_interval: 5,
        request_timeout: 10, max_retries: 4, backoff_initial: 1, backoff_max: 60,
        revoke_on_logout: true, ...hello.client };
  h.timeout = s.request_timeout;
}

/** An error of openid-client, oauth4webapi or the fetch -> the protocol's reason. */
function reasonOf(err) {
  const status = err?.status ?? err?.cause?.status;
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'RC_ETIMEOUT';
  if (err instanceof TypeError && /fetch failed/.test(err.message)) return 'RC_ETRANSPORT';
  if (err instanceof client.ResponseBodyError || err instanceof client.AuthorizationResponseError ||
      err instanceof client.WWWAuthenticateChallengeError) {
    const error = err.error ?? err.cause?.[0]?.parameters?.error; // a challenge's error (a 401)
    if (error === 'invalid_grant') return 'RC_EINVALID_GRANT';
    if (error === 'invalid_client') return 'RC_EINVALID_CLIENT';
    if (['login_required', 'interaction_required', 'consent_required'].includes(error))
      return 'RC_EINTERACTION';
    return status >= 500 || status === 429 ? 'RC_EHTTP' : 'RC_EOAUTH';
  }
  switch (err?.code) {
    case 'OAUTH_RESPONSE_IS_NOT_CONFORM': return status >= 500 || status === 429 ? 'RC_EHTTP' : 'RC_EOAUTH';
    case 'OAUTH_RESPONSE_IS_NOT_JSON': case 'OAUTH_PARSE_ERROR': case 'OAUTH_INVALID_RESPONSE':
      return 'RC_EPROTOCOL';
    case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED': case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED': {
      const reason = `RC_EJWT_${String(err.cause?.claim || '').toUpperCase()}`; // the claim refused
      return reason in REASONS ? reason : 'RC_EJWT_MALFORMED';
    }
    case 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED': return 'RC_EDISCOVERY';
    case 'OAUTH_KEY_SELECTION_FAILED': return 'RC_EJWT_KID';
    case 'OAUTH_JWS_SIGNATURE_VERIFICATION_FAILED': return 'RC_EJWT_SIGNATURE';
    case 'OAUTH_UNSUPPORTED_OPERATION': return 'RC_EJWT_ALG';
  }
  return 'RC_EPROTOCOL';
}

async function login(cmd) {
  try { // metadata it cannot use: no login was tried, so no session was lost
    config ??= await client.discovery(new URL(h.hello.issuer), s.client_id, undefined, client.None(), {
      [client.customFetch]: h.fetch, execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] });
  } catch (err) {
    return reasonOf(err);
  }
  try {
    const verifier = client.randomPKCECodeVerifier(), state = client.randomState(), nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: s.redirect_uri, scope: s.scope, state, nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const answer = await h.fetch(url, { headers: { cookie: cmd.cookie }, redirect: 'manual' });
    const location = answer.headers.get('location');
    if (answer.status !== 302 || !location) throw Object.assign(new Error('no redirect'), { code: 'interaction' });
    tokens = await client.authorizationCodeGrant(config, new URL(location), {
      pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
  } catch (err) {
    const reason = err.code === 'interaction' ? 'RC_EINTERACTION' : reasonOf(err);
    h.event('session_lost', { reason, method: 'code', detail: String(err.message) });
    return reason;
  }
  lastRenewal = now();
  h.event('logged_in', { method: 'code' });
  schedule();
  return 'RC_OK';
}

function expiresAt() { return tokens?.expires_in === undefined ? 0 : lastRenewal + tokens.expires_in; }

function schedule() {
  clearTimeout(timer);
  timer = null;
  if (!tokens || loggedOut || !expiresAt()) return;
  const due = Math.max(expiresAt() - s.renew_before, lastRenewal + s.min_interval, now());
  timer = setTimeout(renew, (due - now()) * 1000);
}

function renew() { return (renewal ??= renewing().finally(() => { renewal = null; })); }
const pause = (seconds) => new Promise((r) => setTimeout(r, seconds * 1000));

async function renewing() {
  for (let attempt = 1; ; attempt++) {
    if (!tokens?.refresh_token) return lose('RC_EINTERACTION', 'no refresh token');
    let reason, err;
    try {
      const fresh = await client.refreshTokenGrant(config, tokens.refresh_token);
      tokens = { ...fresh, refresh_token: fresh.refresh_token ?? tokens.refresh_token };
      lastRenewal = now();
      h.event('renewed', { method: 'refresh_token' });
      schedule();
      return 'RC_OK';
    } catch (e) { err = e; reason = reasonOf(e); }
    if (!transient(reason)) {
      if (reason === 'RC_EINVALID_GRANT' || reason === 'RC_EINVALID_CLIENT')
        h.event('renew_failed', { reason, method: 'refresh_token', detail: String(err.message) });
      return lose(reason, String(err.message));
    }
    if (attempt > s.max_retries) {
      h.event('renew_failed', { reason: 'RC_EGAVE_UP', method: 'refresh_token' });
      return 'RC_EGAVE_UP';
    }
    h.event('renew_failed', { reason, method: 'refresh_token', detail: String(err.message) });
    const answer = err.response ?? err.cause; // the Response, where the error kept it
    const retryAfter = Number(answer?.headers?.get?.('retry-after')) || 0;
    await pause(Math.max(Math.min(s.backoff_initial * 2 ** (attempt - 1), s.backoff_max), retryAfter));
  }
}

function lose(reason, detail) {
  tokens = null;
  clearTimeout(timer);
  if (reason === 'RC_EINTERACTION') h.event('interaction_required', { reason, method: 'refresh_token', detail });
  h.event('session_lost', { reason, detail });
  return reason;
}

async function token() {
  if (loggedOut) return 'RC_ELOGGED_OUT';
  if (!tokens) return 'RC_ENO_SESSION';
  const fresh = !expiresAt() || now() < expiresAt() - s.renew_before;
  const tooSoon = !renewal && now() < lastRenewal + s.min_interval && now() < expiresAt();
  return fresh || tooSoon ? 'RC_OK' : renew();
}

async function useToken(cmd) {
  const all = await Promise.all(Array.from({ length: cmd.count || 1 }, token));
  return all.find((r) => r !== 'RC_OK') ?? 'RC_OK';
}

async function apiCall(cmd) {
  let status = await token();
  if (status !== 'RC_OK') return { status, http_status: 0 };
  const call = () => h.fetch(cmd.url, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  let answer = await call();
  const www = answer.headers.get('www-authenticate');
  if (answer.status === 401 && tokens && (!www || www.includes('invalid_token'))) {
    lastRenewal = 0;
    tokens.expires_in = 0; // RFC 6750 §3.1: renew once and repeat the call
    if ((status = await renew()) !== 'RC_OK') return { status, http_status: answer.status };
    answer = await call();
  }
  return { status: 'RC_OK', http_status: answer.status };
}

async function logout() {
  loggedOut = true;
  clearTimeout(timer);
  let status = 'RC_OK';
  const revocable = s.revoke_on_logout && config?.serverMetadata().revocation_endpoint;
  for (const [value, hint] of revocable ? [[tokens?.refresh_token, 'refresh_token'], [tokens?.access_token, 'access_token']] : []) {
    for (let attempt = 1; value && status === 'RC_OK'; attempt++) {
      try {
        await client.tokenRevocation(config, value, { token_type_hint: hint });
        break;
      } catch (err) {
        if (!transient(reasonOf(err))) break; // a 4xx retrying will not fix
        if (attempt > s.max_retries) status = 'RC_EGAVE_UP';
        else await pause(Math.min(s.backoff_initial * 2 ** (attempt - 1), s.backoff_max));
      }
    }
  }
  tokens = null;
  h.event('logged_out', { method: 'revoke', ...(status === 'RC_OK' ? {} : { reason: status }) });
  return status;
}
