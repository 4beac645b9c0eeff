// The oidc-client-ts target: the library (npm, pinned in package-lock.json, served as its
// UMD build) configured from the scenario, with automaticSilentRenew on. This adapter only
// translates what the library signals into the harness's events; it never renews, retries
// or drops a session on the library's behalf.
'use strict';
(function () {
  var INTERACTION = ['login_required', 'interaction_required', 'consent_required',
                     'account_selection_required'];

  function reasonOf(err) {
    if (err && err.name === 'ErrorTimeout') return 'RC_ETIMEOUT';
    if (err && err.error) {
      if (INTERACTION.indexOf(err.error) >= 0) return 'RC_EINTERACTION';
      return err.error === 'invalid_grant' ? 'RC_EINVALID_GRANT' : 'RC_EOAUTH';
    }
    var m = String(err && err.message || err);
    if (/state/i.test(m)) return 'RC_ESTATE';
    if (/sub/i.test(m)) return 'RC_EJWT_SUB';
    if (/nonce/i.test(m)) return 'RC_EJWT_NONCE';
    if (/fetch|network/i.test(m)) return 'RC_ETRANSPORT';
    return 'RC_EOAUTH';
  }

  function OctsClient(cfg, link) {
    this.cfg = cfg;
    this.link = link;
    var silent = cfg.methods.indexOf('silent') >= 0;
    // the manifest's settings map and options (docs/page-protocol.md); what is no plain
    // value (URLs of this origin, the store) is set here. includeIdTokenInSilentRenew
    // (id_token_hint with prompt=none) defaults to false in the library (3.5.0,
    // src/UserManagerSettings.ts); the manifest maps the scenario's id_token_hint to it.
    var settings = Object.assign(link.libraryOptions(), {
      redirect_uri: cfg.origin + '/callback',
      // one tab: its sessionStorage (the library's default); several: the shared
      // localStorage, as an app whose tabs share one session configures it
      userStore: new oidc.WebStorageStateStore({
        store: cfg.tabs > 1 ? window.localStorage : window.sessionStorage}),
    });
    // refresh-token renewal: no silent_redirect_uri (the oidc-client-ts ADR)
    if (silent) settings.silent_redirect_uri = cfg.origin + '/silent-callback';
    this.mgr = new oidc.UserManager(settings);
    this.hadRefreshToken = false;
  }
  var P = OctsClient.prototype;

  P.post = function (ev) { return this.link.post(ev); };

  P.listen = function () {
    var self = this, ev = this.mgr.events;
    ev.addUserLoaded(function (user) {
      if (self.quiet) return; // the login itself
      self.post({event: 'renewed', method: self.hadRefreshToken ? 'refresh_token' : 'silent'});
      self.hadRefreshToken = !!user.refresh_token;
    });
    ev.addSilentRenewError(function (err) {
      var reason = reasonOf(err);
      self.post({event: 'renew_failed', reason: reason, transient: reason === 'RC_ETIMEOUT',
                 method: self.hadRefreshToken ? 'refresh_token' : 'silent',
                 detail: String(err && err.message || err)});
      if (reason === 'RC_EINTERACTION')
        self.post({event: 'interaction_required', reason: reason, detail: err.error});
    });
    ev.addUserSignedOut(function () {
      self.post({event: 'session_lost', reason: 'RC_ELOGGED_OUT',
                 detail: 'oidc-client-ts: userSignedOut (check_session_iframe)'});
    });
    ev.addUserUnloaded(function () {
      if (!self.quiet)
        self.post({event: 'session_lost', detail: 'oidc-client-ts removed the user'});
    });
    ev.addAccessTokenExpired(function () {
      self.post({event: 'access_token_expired', detail: 'oidc-client-ts: accessTokenExpired'});
    });
  };

  P.init = async function () {
    var q = new URLSearchParams(location.search);
    if (q.get('login') === 'go') {
      await this.mgr.signinRedirect();
      return new Promise(function () {}); // the page is leaving
    }
    this.listen();
    if (location.pathname === '/callback') {
      this.quiet = true;
      try {
        var user = await this.mgr.signinRedirectCallback();
        this.hadRefreshToken = !!user.refresh_token;
        this.post({event: 'logged_in'});
      } catch (e) {
        this.post({event: 'login_failed', reason: reasonOf(e), detail: String(e && e.message || e)});
      }
      this.quiet = false;
      history.replaceState({}, '', '/');
    } else {
      var u = await this.mgr.getUser();
      this.hadRefreshToken = !!(u && u.refresh_token);
    }
  };

  // What an application does when it needs a token: use it, or ask the library to renew.
  P.getToken = async function () {
    var user = await this.mgr.getUser();
    if (!user) return null;
    if (user.expires_in > this.mgr.settings.accessTokenExpiringNotificationTimeInSeconds)
      return user.access_token;
    try {
      return (await this.mgr.signinSilent()).access_token;
    } catch (e) {
      return null; // the library reported it through silentRenewError or not at all
    }
  };

  P.command = async function (cmd) {
    if (cmd.do === 'login') return this.link.loginAtIdp(cmd.sub);
    if (cmd.do === 'use') {
      await this.link.concurrently(cmd.count, this.getToken.bind(this));
    } else if (cmd.do === 'api_call') {
      var mgr = this.mgr;
      await this.link.apiCall(cmd, this.getToken.bind(this), async function () {
        return (await mgr.signinSilent()).access_token;
      });
    } else if (cmd.do === 'logout') {
      this.quiet = true;
      try {
        if (this.mgr.settings.revokeTokensOnSignout) await this.mgr.revokeTokens();
      } catch (e) { // best effort, as the library's own signout does; the console keeps why
        this.link.log('revokeTokens failed: ' + (e && e.message || e));
      }
      await this.mgr.removeUser();
      this.quiet = false;
      this.post({event: 'logged_out'});
    } else if (cmd.do !== 'finish') {
      this.post({event: 'page_error', detail: 'unknown command ' + cmd.do});
    }
    return this.post({event: 'step_done', seq: cmd.seq});
  };

  window.renewlabMakeClient = function (cfg, link) { return new OctsClient(cfg, link); };
})();
