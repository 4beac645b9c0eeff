// The @axa-fr/oidc-client target: the library (npm, pinned in package-lock.json, served as
// its UMD build, global "oidc-client") configured from the scenario, without its service
// worker (docs/browser.md says why). Its own timer renews: with the refresh token when it
// has one, else by silent login, a hidden iframe on silent_login_uri that navigates to
// /authorize?prompt=none and answers from silent_redirect_uri (silent-login.html and
// silent.html of this folder, as the library's React components do). This adapter only
// translates what the library signals into the harness's events.
'use strict';
(function () {
  var axa = window['oidc-client'];
  var INTERACTION = ['login_required', 'interaction_required', 'consent_required',
                     'account_selection_required'];

  function reasonOf(err) {
    var code = err && err.code, oauth = err && (err.oauthError || err.error);
    if (code === 'SILENT_LOGIN_TIMEOUT') return 'RC_ETIMEOUT';
    if (oauth && INTERACTION.indexOf(String(oauth).replace(/^oidc_/, '')) >= 0)
      return 'RC_EINTERACTION';
    if (oauth === 'invalid_grant') return 'RC_EINVALID_GRANT';
    if (code === 'INVALID_STATE' || code === 'STATE_MISMATCH' || code === 'STATE_MISSING')
      return 'RC_ESTATE';
    if (code === 'INVALID_NONCE' || code === 'NONCE_MISSING') return 'RC_EJWT_NONCE';
    if (code === 'NETWORK_ERROR') return 'RC_ETRANSPORT';
    return 'RC_EOAUTH';
  }

  function describe(err) {
    if (!err) return 'no error given';
    return [err.code, err.oauthError, err.status, err.message].filter(Boolean).join(' ');
  }

  // The library's configuration for this run: the manifest's settings and options, and
  // what is no plain value. The silent pages (silent-login.html, silent.html) build their
  // client from the same object, read from their parent.
  window.renewlabAxaConfiguration = function (cfg, options) {
    var c = Object.assign({}, options, {
      redirect_uri: cfg.origin + '/callback',
      // one tab: sessionStorage; several: the shared localStorage
      storage: cfg.tabs > 1 ? window.localStorage : window.sessionStorage,
    });
    if (cfg.methods.indexOf('silent') >= 0) {
      c.silent_redirect_uri = cfg.origin + '/silent-callback';
      c.silent_login_uri = cfg.origin + '/client/silent-login.html';
    }
    return c;
  };

  function AxaClient(cfg, link) {
    this.cfg = cfg;
    this.link = link;
    window.renewlabAxaOptions = link.libraryOptions(); // the silent pages read it too
    this.configuration = window.renewlabAxaConfiguration(cfg, window.renewlabAxaOptions);
    this.oidc = axa.OidcClient.getOrCreate(function () { return fetch; })(this.configuration);
  }
  var P = AxaClient.prototype;

  P.post = function (ev) { return this.link.post(ev); };

  P.method = function () {
    return this.hadRefreshToken ? 'refresh_token' : 'silent';
  };

  P.onEvent = function (name, data) {
    var self = this;
    if (self.quiet) return;
    if (name === 'token_renewed') {
      if (data && /ANOTHER_TAB/.test(data.reason)) return; // another tab's, from storage
      self.post({event: 'renewed', method: self.method()});
      var t = self.oidc.tokens;
      self.hadRefreshToken = !!(t && t.refreshToken);
    } else if (name === 'refreshTokensAsync_error' || name === 'refreshTokensAsync_silent_error') {
      var err = data && data.error, reason = reasonOf(err);
      self.post({event: 'renew_failed', reason: reason, method: self.method(),
                 transient: !!(err && err.retryable), detail: name + ': ' + describe(err) +
                 (data && data.exception ? ' ' + data.exception : '')});
      if (reason === 'RC_EINTERACTION')
        self.post({event: 'interaction_required', reason: reason, detail: err.oauthError});
      if (name === 'refreshTokensAsync_error' && !self.oidc.tokens)
        self.post({event: 'session_lost', reason: reason,
                   detail: '@axa-fr/oidc-client dropped the tokens (' + data.message + ')'});
    } else if (name === 'logout_from_another_tab') {
      self.post({event: 'session_lost', reason: 'RC_ELOGGED_OUT',
                 detail: '@axa-fr/oidc-client: logout_from_another_tab'});
    } else if (name === 'logoutAsync_error') {
      self.link.log('logoutAsync_error: ' + describe(data));
    }
  };

  P.init = async function () {
    var self = this;
    var q = new URLSearchParams(location.search);
    if (q.get('login') === 'go') {
      await this.oidc.loginAsync('/');
      return new Promise(function () {}); // the page is leaving
    }
    this.oidc.subscribeEvents(function (name, data) { self.onEvent(name, data); });
    if (location.pathname === '/callback') {
      this.quiet = true;
      try {
        await this.oidc.loginCallbackAsync();
        this.hadRefreshToken = !!this.oidc.tokens.refreshToken;
        this.post({event: 'logged_in'});
      } catch (e) {
        this.post({event: 'login_failed', reason: reasonOf(e), detail: describe(e)});
      }
      this.quiet = false;
      history.replaceState({}, '', '/');
    } else {
      await this.oidc.tryKeepExistingSessionAsync();
      var t = this.oidc.tokens;
      this.hadRefreshToken = !!(t && t.refreshToken);
    }
  };

  // What an application does when it needs a token: the library's getValidTokenAsync
  // (it waits for its own renewal, up to 50 x 200 ms).
  P.getToken = async function () {
    if (!this.oidc.tokens) return null;
    var valid = await this.oidc.getValidTokenAsync();
    return valid.isTokensValid ? valid.tokens.accessToken : null;
  };

  P.command = async function (cmd) {
    if (cmd.do === 'login') return this.link.loginAtIdp(cmd.sub);
    if (cmd.do === 'use') {
      await this.link.concurrently(cmd.count, this.getToken.bind(this));
    } else if (cmd.do === 'api_call') {
      var oidc = this.oidc;
      await this.link.apiCall(cmd, this.getToken.bind(this), async function () {
        var tokens = await oidc.renewTokensAsync();
        return tokens && tokens.accessToken;
      });
    } else if (cmd.do === 'logout') {
      this.quiet = true;
      // revokes what logout_tokens_to_invalidate names, then clears the session; no
      // navigation to the end-session endpoint (as the other targets' logout step)
      await this.oidc.logoutAsync(null, {'no_reload:oidc': 'true'});
      this.quiet = false;
      this.post({event: 'logged_out'});
    } else if (cmd.do !== 'finish') {
      this.post({event: 'page_error', detail: 'unknown command ' + cmd.do});
    }
    return this.post({event: 'step_done', seq: cmd.seq});
  };

  window.renewlabMakeClient = function (cfg, link) { return new AxaClient(cfg, link); };
})();
