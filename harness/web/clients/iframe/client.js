// The harness's own browser client: iframe silent renew the way the seed libraries do it
// (hidden iframe to /authorize?prompt=none with state, nonce and PKCE; the callback page
// hands the URL to the parent; timeouts catch the silent failures), with renew_core's
// policy: renew before expiry, single flight, bounded retries with backoff, and a clear
// end (interaction_required, session_lost) instead of a dead session.
'use strict';
(function () {
  var U = window.oidcUtil;
  var INTERACTION = ['login_required', 'interaction_required', 'consent_required',
                     'account_selection_required'];

  function IframeClient(cfg, link) {
    this.cfg = cfg;
    this.link = link;
    // one tab: its own sessionStorage; several: the origin's localStorage, which they share
    this.store = cfg.tabs > 1 ? window.localStorage : window.sessionStorage;
    this.inflight = null;
    this.timer = null;
    this.lastRenewal = 0;
  }
  var P = IframeClient.prototype;

  P.post = function (ev) { return this.link.post(ev); };
  P.load = function () { return JSON.parse(this.store.getItem('renewlab.tokens') || 'null'); };
  P.save = function (t) { this.store.setItem('renewlab.tokens', JSON.stringify(t)); };
  P.clear = function () {
    this.store.removeItem('renewlab.tokens');
    this.stop();
  };
  P.stop = function () {
    clearTimeout(this.timer);
    clearInterval(this.checkTimer);
  };

  // Another tab renewed (its tokens are ours: follow its schedule) or logged out (stop).
  P.followOtherTabs = function () {
    var self = this;
    window.addEventListener('storage', function (e) {
      if (e.key !== 'renewlab.tokens') return;
      if (e.newValue) self.schedule();
      else self.stop();
    });
  };

  P.init = async function () {
    var cfg = this.cfg;
    var r = await fetch(cfg.issuer + '/.well-known/openid-configuration');
    this.meta = await r.json();
    if (this.meta.issuer !== cfg.issuer) throw new Error('discovery issuer mismatch');
    this.jwks = await (await fetch(this.meta.jwks_uri)).json();
    var q = new URLSearchParams(location.search);
    if (q.get('login') === 'go') return this.startLogin();
    if (this.cfg.tabs > 1) this.followOtherTabs();
    if (location.pathname === '/callback') await this.finishLogin(q);
    if (this.load()) this.resume();
  };

  P.authorizeUrl = async function (st, extra) {
    var p = Object.assign({client_id: this.cfg.client_id, response_type: 'code',
                           scope: this.cfg.scope, state: st.state, nonce: st.nonce,
                           code_challenge: await U.s256(st.verifier),
                           code_challenge_method: 'S256'}, extra);
    return this.meta.authorization_endpoint + '?' + U.form(p);
  };

  P.startLogin = async function () {
    var st = {state: U.random(), nonce: U.random(), verifier: U.random()};
    sessionStorage.setItem('renewlab.login', JSON.stringify(st));
    location.replace(await this.authorizeUrl(st, {redirect_uri: this.cfg.origin + '/callback'}));
    return new Promise(function () {}); // the page is leaving
  };

  P.finishLogin = async function (q) {
    var st = JSON.parse(sessionStorage.getItem('renewlab.login') || 'null');
    sessionStorage.removeItem('renewlab.login');
    history.replaceState({}, '', '/');
    var r = !st || q.get('state') !== st.state ? U.fail('RC_ESTATE', 'login state mismatch')
            : q.get('error') ? U.fail('RC_EOAUTH', q.get('error'))
            : await this.redeem(q.get('code'), st, this.cfg.origin + '/callback', null);
    if (!r.ok) return this.post({event: 'login_failed', reason: r.reason, detail: r.detail});
    r.tokens.session_state = q.get('session_state');
    this.save(r.tokens);
    this.post({event: 'logged_in'});
  };

  // Exchange a code and validate what comes back: {ok, tokens} or a failure.
  P.redeem = async function (code, st, redirectUri, sub) {
    var cfg = this.cfg, resp, body;
    try {
      resp = await fetch(this.meta.token_endpoint, {
        method: 'POST',
        headers: {'Content-Type': 'application/x-www-form-urlencoded'},
        body: U.form({grant_type: 'authorization_code', code: code, redirect_uri: redirectUri,
                      client_id: cfg.client_id, code_verifier: st.verifier}),
        signal: AbortSignal.timeout(cfg.request_timeout * 1000),
      });
    } catch (e) {
      return U.fail(e.name === 'TimeoutError' ? 'RC_ETIMEOUT' : 'RC_ETRANSPORT', String(e), true);
    }
    try { body = await resp.json(); } catch (e) {
      return U.fail(resp.status >= 500 ? 'RC_EHTTP' : 'RC_EPROTOCOL', 'HTTP ' + resp.status, true);
    }
    if (resp.status >= 500 || resp.status === 429) return U.fail('RC_EHTTP', 'HTTP ' + resp.status, true);
    if (resp.status !== 200)
      return U.fail(body.error === 'invalid_grant' ? 'RC_EINVALID_GRANT' : 'RC_EOAUTH', body.error);
    if (!body.access_token || !(body.expires_in > 0)) return U.fail('RC_EPROTOCOL', 'token response', true);
    var want = {issuer: this.meta.issuer, client_id: cfg.client_id, nonce: st.nonce, sub: sub,
                skew: cfg.clock_skew};
    var v = await U.validateIdToken(body.id_token, want, this.jwks);
    if (!v.ok && v.reason === 'RC_EJWT_KID') { // the keys rotated: fetch them once more
      this.jwks = await (await fetch(this.meta.jwks_uri)).json();
      v = await U.validateIdToken(body.id_token, want, this.jwks);
    }
    if (!v.ok) return v;
    return {ok: true, tokens: {access_token: body.access_token, id_token: body.id_token,
                               sub: v.claims.sub, session_state: null,
                               expires_at: Date.now() + body.expires_in * 1000}};
  };

  P.resume = function () {
    this.schedule();
    if (this.cfg.monitor_session && this.meta.check_session_iframe) this.monitor();
  };

  P.schedule = function () {
    var t = this.load(), self = this;
    if (!t) return;
    clearTimeout(this.timer);
    var due = Math.max(t.expires_at - this.cfg.renew_before * 1000,
                       this.lastRenewal + this.cfg.min_interval * 1000);
    this.timer = setTimeout(function () { self.renew(false); }, Math.max(0, due - Date.now()));
  };

  P.renew = function (hint) {
    var self = this;
    if (!this.inflight) // single flight: every caller shares the renewal under way
      this.inflight = this.acrossTabs(hint).finally(function () { self.inflight = null; });
    return this.inflight;
  };

  // Single flight across tabs too: one renewal at a time under a Web Lock, and a tab that
  // gets the lock after another renewed takes the stored tokens instead of renewing.
  P.acrossTabs = function (hint) {
    var self = this, before = this.load();
    if (!(this.cfg.tabs > 1 && navigator.locks)) return this.renewWithRetries(hint);
    return navigator.locks.request('renewlab-renew', function () {
      var now = self.load();
      if (now && before && now.access_token !== before.access_token) {
        self.schedule(); // renewed by another tab while this one waited
        return true;
      }
      return self.renewWithRetries(hint);
    });
  };

  P.backoff = function (attempt) {
    return Math.min(this.cfg.backoff_initial * Math.pow(2, attempt - 1), this.cfg.backoff_max) * 1000;
  };

  P.renewWithRetries = async function (hint) {
    for (var attempt = 1; this.load(); attempt++) {
      var r = await this.silentOnce(hint);
      if (!this.load()) return false; // logged out meanwhile
      if (r.ok) {
        this.save(r.tokens);
        this.lastRenewal = Date.now();
        this.post({event: 'renewed', method: 'silent'});
        this.schedule();
        return true;
      }
      if (r.transient && attempt <= this.cfg.max_retries) {
        this.post({event: 'renew_failed', reason: r.reason, transient: true, method: 'silent', detail: r.detail});
        await new Promise(function (res) { setTimeout(res, this.backoff(attempt)); }.bind(this));
        continue;
      }
      if (r.transient) {
        this.post({event: 'renew_failed', reason: 'RC_EGAVE_UP', transient: false, method: 'silent', detail: r.detail});
        r = U.fail('RC_EINTERACTION', 'silent renewal never answered');
      }
      return this.lose(r);
    }
    return false;
  };

  P.lose = function (r) {
    this.clear();
    if (r.reason === 'RC_EINTERACTION')
      this.post({event: 'interaction_required', reason: r.reason, method: 'silent', detail: r.detail});
    this.post({event: 'session_lost', reason: r.reason, detail: r.detail});
    return false;
  };

  // One hidden-iframe round: resolves with {ok, tokens} or a failure; never rejects.
  P.silentOnce = async function (hint) {
    var self = this, t = this.load();
    var st = {state: U.random(), nonce: U.random(), verifier: U.random()};
    var extra = {redirect_uri: this.cfg.origin + '/silent-callback', prompt: 'none'};
    // every prompt=none carries the session's latest ID token (OIDC Core §3.1.2.1)
    if (this.cfg.id_token_hint && t && t.id_token) extra.id_token_hint = t.id_token;
    var url = await this.authorizeUrl(st, extra);
    var frame = document.createElement('iframe');
    frame.name = 'renewlab-silent-' + st.state;
    frame.style.display = 'none';
    // no allow-top-navigation: an IdP page in the frame cannot take the app away
    frame.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-forms');
    return new Promise(function (resolve) {
      var settled = false, answered = false, timer;
      function done(r) {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        window.removeEventListener('message', onMessage);
        window.removeEventListener('oidc-silent-renew-message', onCustom);
        frame.remove();
        resolve(r);
      }
      function take(msg) { // the first hand-over counts; the second (or a late one) is ignored
        if (answered || settled || !msg || msg.name !== frame.name) return;
        answered = true;
        clearTimeout(timer);
        self.callback(msg.url, st, t.sub).then(done);
      }
      function onMessage(e) {
        if (e.origin === location.origin && e.data && e.data.source === 'renewlab-silent') take(e.data);
      }
      function onCustom(e) { take(e.detail); }
      window.addEventListener('message', onMessage);
      window.addEventListener('oidc-silent-renew-message', onCustom);
      timer = setTimeout(function () {
        done(U.fail('RC_ETIMEOUT', 'the silent-renew iframe did not answer within ' +
                    self.cfg.request_timeout + ' s', true));
      }, self.cfg.request_timeout * 1000);
      frame.src = url;
      document.body.appendChild(frame);
    });
  };

  P.callback = async function (url, st, sub) {
    var q = new URL(url).searchParams;
    if (q.get('state') !== st.state) return U.fail('RC_ESTATE', 'state in the callback does not match');
    var err = q.get('error');
    if (err) return U.fail(INTERACTION.indexOf(err) >= 0 ? 'RC_EINTERACTION' : 'RC_EOAUTH', err);
    var r = await this.redeem(q.get('code'), st, this.cfg.origin + '/silent-callback', sub);
    if (r.ok) r.tokens.session_state = q.get('session_state');
    return r;
  };

  // OIDC Session Management: ask the OP's frame whether the session changed.
  P.monitor = function () {
    var self = this, op = document.createElement('iframe');
    var opOrigin = new URL(this.meta.check_session_iframe).origin;
    op.style.display = 'none';
    op.src = this.meta.check_session_iframe;
    document.body.appendChild(op);
    window.addEventListener('message', function (e) {
      if (e.origin !== opOrigin || e.source !== op.contentWindow) return;
      if (e.data === 'changed' && self.load()) self.renew(true);
    });
    op.onload = function () {
      self.checkTimer = setInterval(function () {
        var t = self.load();
        if (t && t.session_state && !self.inflight)
          op.contentWindow.postMessage(self.cfg.client_id + ' ' + t.session_state, opOrigin);
      }, self.cfg.check_interval * 1000);
    };
  };

  P.getToken = async function () {
    var t = this.load();
    if (!t) return null;
    if (t.expires_at - Date.now() > this.cfg.renew_before * 1000) return t.access_token;
    return (await this.renew(false)) ? this.load().access_token : null;
  };

  P.command = async function (cmd) {
    if (cmd.do === 'login') return this.link.loginAtIdp(cmd.sub);
    if (cmd.do === 'use') {
      await this.link.concurrently(cmd.count, this.getToken.bind(this));
      return this.post({event: 'step_done', seq: cmd.seq});
    }
    if (cmd.do === 'api_call') {
      var token = await this.getToken(), status = 0;
      if (token) {
        var r = await fetch(this.cfg.issuer + (cmd.path || '/resource'), {headers: {Authorization: 'Bearer ' + token}});
        status = r.status;
        if (status === 401 && (r.headers.get('WWW-Authenticate') || '').indexOf('invalid_token') >= 0 &&
            await this.renew(false))
          status = (await fetch(this.cfg.issuer + (cmd.path || '/resource'),
                                {headers: {Authorization: 'Bearer ' + this.load().access_token}})).status;
      }
      return this.post({event: 'step_done', seq: cmd.seq, status: status});
    }
    if (cmd.do === 'logout') return this.logout(cmd);
    if (cmd.do === 'finish') return this.post({event: 'step_done', seq: cmd.seq});
    return this.post({event: 'page_error', detail: 'unknown command ' + cmd.do});
  };

  P.logout = async function (cmd) {
    var t = this.load();
    this.clear();
    if (t && this.cfg.revoke_on_logout && this.meta.revocation_endpoint) {
      try {
        await fetch(this.meta.revocation_endpoint, {method: 'POST',
          headers: {'Content-Type': 'application/x-www-form-urlencoded'},
          body: U.form({token: t.access_token, token_type_hint: 'access_token', client_id: this.cfg.client_id})});
      } catch (e) { /* best effort, as RFC 7009 clients do */ }
    }
    this.post({event: 'logged_out'});
    return this.post({event: 'step_done', seq: cmd.seq});
  };

  window.renewlabMakeClient = function (cfg, link) { return new IframeClient(cfg, link); };
})();
