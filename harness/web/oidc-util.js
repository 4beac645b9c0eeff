// OIDC helpers for the harness's own iframe client: PKCE, forms, discovery, JWKS and
// ID-token validation with WebCrypto (the app origin is a secure context: 127.0.0.1).
'use strict';
(function () {
  var enc = new TextEncoder();

  function b64url(bytes) {
    var s = '';
    bytes = new Uint8Array(bytes);
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function b64urlDecode(s) {
    s = s.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) s += '=';
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function random(n) { return b64url(crypto.getRandomValues(new Uint8Array(n || 32))); }
  async function s256(verifier) {
    return b64url(await crypto.subtle.digest('SHA-256', enc.encode(verifier)));
  }
  function form(obj) {
    return Object.keys(obj).filter(function (k) { return obj[k] != null; }).map(function (k) {
      return encodeURIComponent(k) + '=' + encodeURIComponent(obj[k]);
    }).join('&');
  }

  // The error names renew_core uses (rc_err_name), so the judge reads one vocabulary.
  function fail(reason, detail, transient) {
    return {ok: false, reason: reason, detail: detail, transient: !!transient};
  }

  var ALGS = {
    RS256: {import: {name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256'}, verify: {name: 'RSASSA-PKCS1-v1_5'}},
    ES256: {import: {name: 'ECDSA', namedCurve: 'P-256'}, verify: {name: 'ECDSA', hash: 'SHA-256'}},
  };

  async function verifySignature(jwt, parts, header, jwks) {
    var alg = ALGS[header.alg];
    if (!alg) return fail('RC_EJWT_ALG', 'alg ' + header.alg + ' not allowed');
    var keys = jwks.keys.filter(function (k) {
      return (header.kid ? k.kid === header.kid : true) && (!k.use || k.use === 'sig');
    });
    if (keys.length !== 1) return fail('RC_EJWT_KID', 'no single key for kid ' + header.kid);
    var jwk = Object.assign({}, keys[0]);
    delete jwk.alg; delete jwk.use; delete jwk.kid;
    var key = await crypto.subtle.importKey('jwk', jwk, alg.import, false, ['verify']);
    var ok = await crypto.subtle.verify(alg.verify, key, b64urlDecode(parts[2]),
                                        enc.encode(parts[0] + '.' + parts[1]));
    return ok ? {ok: true} : fail('RC_EJWT_SIGNATURE', 'signature does not verify');
  }

  // OIDC Core §3.1.3.7 and, on renewal, §12.2 (same sub).
  async function validateIdToken(jwt, want, jwks) {
    var parts = String(jwt || '').split('.');
    if (parts.length !== 3) return fail('RC_EJWT_MALFORMED', 'not a compact JWS');
    var header, claims;
    try {
      header = JSON.parse(new TextDecoder().decode(b64urlDecode(parts[0])));
      claims = JSON.parse(new TextDecoder().decode(b64urlDecode(parts[1])));
    } catch (e) { return fail('RC_EJWT_MALFORMED', String(e)); }
    var sig = await verifySignature(jwt, parts, header, jwks);
    if (!sig.ok) return sig;
    var now = Date.now() / 1000, skew = want.skew;
    var aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (claims.iss !== want.issuer) return fail('RC_EJWT_ISS', 'iss ' + claims.iss);
    if (aud.indexOf(want.client_id) < 0) return fail('RC_EJWT_AUD', 'aud ' + claims.aud);
    if (aud.length > 1 && claims.azp !== want.client_id) return fail('RC_EJWT_AZP', 'azp');
    if (!(claims.exp > now - skew)) return fail('RC_EJWT_EXP', 'exp ' + claims.exp);
    if (!(claims.iat < now + skew)) return fail('RC_EJWT_IAT', 'iat ' + claims.iat);
    if (claims.nonce !== want.nonce) return fail('RC_EJWT_NONCE', 'nonce does not match');
    if (!claims.sub || (want.sub && claims.sub !== want.sub))
      return fail('RC_EJWT_SUB', 'sub ' + claims.sub + ', expected ' + want.sub);
    return {ok: true, claims: claims};
  }

  window.oidcUtil = {b64url: b64url, random: random, s256: s256, form: form, fail: fail,
                     validateIdToken: validateIdToken};
})();
