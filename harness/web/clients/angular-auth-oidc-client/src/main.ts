// The angular-auth-oidc-client target: a minimal standalone Angular application (no
// Angular CLI: esbuild, with Angular's linker at build time, build.mjs; no root
// component, so no compiler at run time: createApplication) whose only job is the library's own
// renewal, configured from the scenario:
// - with a refresh token (methods "refresh"): useRefreshToken, rotating, revoked on logoff;
// - else silent renew in the library's hidden iframe, answered by silent-renew.html, which
//   dispatches oidc-silent-renew-message to this window as the library's docs show.
// The periodic check renews renewTimeBeforeTokenExpiresInSeconds (the scenario's
// renew_before) ahead. This file only translates what the library signals (its public
// events, its auth state, what its HTTP calls got) into the harness's events.
import {provideZonelessChangeDetection} from '@angular/core';
import {HttpErrorResponse, HttpInterceptorFn, provideHttpClient, withInterceptors}
  from '@angular/common/http';
import {createApplication} from '@angular/platform-browser';
import {provideRouter} from '@angular/router';
import {firstValueFrom, tap} from 'rxjs';
import {AbstractSecurityStorage, DefaultLocalStorageService, EventTypes, LogLevel,
        OidcSecurityService, OpenIdConfiguration, PublicEventsService, provideAuth}
  from 'angular-auth-oidc-client';

const INTERACTION = ['login_required', 'interaction_required', 'consent_required',
                     'account_selection_required'];

// What the library's token requests last got back: its errors carry no status or OAuth
// error code, so an interceptor (as an application adds one) keeps them for the report.
interface LastAnswer {status: number; error?: string; description?: string;}
let lastTokenAnswer: LastAnswer | null = null;
const watchTokenAnswers: HttpInterceptorFn = (req, next) => {
  if (!/\/token$/.test(new URL(req.url, location.href).pathname)) return next(req);
  return next(req).pipe(tap({
    next: (ev: any) => { if (ev && ev.status) lastTokenAnswer = {status: ev.status}; },
    error: (e: HttpErrorResponse) => {
      lastTokenAnswer = {status: e.status, error: e.error && e.error.error,
                         description: e.error && e.error.error_description};
    },
  }));
};

function reasonOf(a: LastAnswer | null, oauthError?: string | null): string {
  const error = oauthError || (a && a.error);
  if (error && INTERACTION.indexOf(error) >= 0) return 'RC_EINTERACTION';
  if (error === 'invalid_grant') return 'RC_EINVALID_GRANT';
  if (a && a.status === 0) return 'RC_ETRANSPORT';
  if (a && a.status >= 500) return 'RC_EHTTP';
  return 'RC_EOAUTH';
}

class AngularClient {
  private oidc!: OidcSecurityService;
  private authenticated = false;
  private quiet = false;
  private silentError: {error: string | null; description: string | null} | null = null;
  private readonly refresh: boolean;

  constructor(private cfg: any, private link: any) {
    this.refresh = cfg.methods.indexOf('refresh') >= 0;
  }

  private post(ev: any) { return this.link.post(ev); }

  private method() { return this.refresh ? 'refresh_token' : 'silent'; }

  // The library's configuration: the manifest's settings and options, then what is no
  // plain value (this origin's URLs, the mode).
  private configuration(): OpenIdConfiguration {
    const cfg = this.cfg;
    return Object.assign({logLevel: LogLevel.Warn}, this.link.libraryOptions(), {
      redirectUrl: cfg.origin + '/callback',
      postLogoutRedirectUri: cfg.origin + '/',
      silentRenew: true,
      useRefreshToken: this.refresh,
      // the library reads it on every code exchange, whatever the mode (and logs an error
      // when it is unset); with useRefreshToken it is never loaded
      silentRenewUrl: cfg.origin + '/silent-callback',
    });
  }

  async init() {
    const q = new URLSearchParams(location.search);
    const app = await createApplication({providers: [
      provideZonelessChangeDetection(),
      provideHttpClient(withInterceptors([watchTokenAnswers])),
      provideRouter([{path: '**', children: []}]), // /callback too: no route is an error
      provideAuth({config: this.configuration()}),
      // several tabs share the session through localStorage (the library's documented
      // DefaultLocalStorageService); one tab keeps its default, sessionStorage
      ...(this.cfg.tabs > 1
        ? [{provide: AbstractSecurityStorage, useClass: DefaultLocalStorageService}] : []),
    ]});
    this.oidc = app.injector.get(OidcSecurityService);
    if (q.get('login') === 'go') {
      this.oidc.authorize();
      return new Promise(() => {}); // the page is leaving
    }
    this.listen(app.injector.get(PublicEventsService));
    if (location.pathname === '/callback') {
      this.quiet = true;
      const r = await firstValueFrom(this.oidc.checkAuth());
      this.quiet = false;
      if (r.isAuthenticated) this.post({event: 'logged_in'});
      else this.post({event: 'login_failed', reason: reasonOf(lastTokenAnswer, null),
                      detail: String(r.errorMessage || 'checkAuth: not authenticated')});
      history.replaceState({}, '', '/');
    } else {
      await firstValueFrom(this.oidc.checkAuth());
    }
  }

  private listen(events: PublicEventsService) {
    // The error of the iframe's answer, read from the same CustomEvent the library gets.
    window.addEventListener('oidc-silent-renew-message', (e: any) => {
      const url = new URL(String(e.detail && (e.detail.url || e.detail)));
      this.silentError = url.searchParams.get('error')
        ? {error: url.searchParams.get('error'), description: url.searchParams.get('error_description')}
        : null;
    });
    events.registerForEvents().subscribe((n) => {
      if (this.quiet) return;
      if (n.type === EventTypes.NewAuthenticationResult && n.value && n.value.isRenewProcess) {
        if (n.value.isAuthenticated) this.post({event: 'renewed', method: this.method()});
        else this.renewFailed('NewAuthenticationResult ' + n.value.validationResult);
      } else if (n.type === EventTypes.CheckSessionReceived) {
        // the library only reports it (checkSessionChanged$); what to do is the app's
        this.link.log('CheckSessionReceived ' + n.value);
      } else if (n.type === EventTypes.SilentRenewFailed) {
        this.renewFailed('SilentRenewFailed ' + String(n.value && (n.value.message || n.value)));
      }
    });
    this.oidc.isAuthenticated$.subscribe((r) => {
      const was = this.authenticated;
      this.authenticated = r.isAuthenticated;
      if (was && !r.isAuthenticated && !this.quiet)
        this.post({event: 'session_lost', reason: reasonOf(lastTokenAnswer, this.silentError && this.silentError.error),
                   detail: 'angular-auth-oidc-client reset its authorization data'});
    });
  }

  private renewFailed(what: string) {
    const a = this.refresh ? lastTokenAnswer : null;
    const oauth = this.refresh ? null : this.silentError && this.silentError.error;
    const reason = reasonOf(a, oauth);
    const said = a ? ` (token endpoint: ${a.status} ${a.error || ''})` :
      this.silentError ? ` (iframe: ${this.silentError.error})` : '';
    this.post({event: 'renew_failed', reason, method: this.method(), transient: false,
               detail: what + said});
    if (reason === 'RC_EINTERACTION')
      this.post({event: 'interaction_required', reason, detail: oauth || (a && a.error)});
  }

  // What an application does when it needs a token: the library's stored one (it renews
  // on its own schedule, never on demand).
  private async getToken(): Promise<string | null> {
    return (await firstValueFrom(this.oidc.getAccessToken())) || null;
  }

  async command(cmd: any) {
    if (cmd.do === 'login') return this.link.loginAtIdp(cmd.sub);
    if (cmd.do === 'use') {
      await this.link.concurrently(cmd.count, () => this.getToken());
    } else if (cmd.do === 'api_call') {
      await this.link.apiCall(cmd, () => this.getToken(), async () => {
        const r = await firstValueFrom(this.oidc.forceRefreshSession());
        return r && r.accessToken;
      });
    } else if (cmd.do === 'logout') {
      this.quiet = true;
      // no navigation to the end-session endpoint (as the other targets' logout step)
      const options = {urlHandler: () => {}};
      try {
        await firstValueFrom(this.cfg.revoke_on_logout
          ? this.oidc.logoffAndRevokeTokens(undefined, options)
          : this.oidc.logoff(undefined, options), {defaultValue: null});
      } catch (e: any) {
        this.link.log('logoff failed: ' + (e && e.message || e));
      }
      this.quiet = false;
      this.post({event: 'logged_out'});
    } else if (cmd.do !== 'finish') {
      this.post({event: 'page_error', detail: 'unknown command ' + cmd.do});
    }
    return this.post({event: 'step_done', seq: cmd.seq});
  }
}

(window as any).renewlabMakeClient = (cfg: any, link: any) => new AngularClient(cfg, link);
