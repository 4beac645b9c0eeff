// The silent pages' client (silent-login.html, silent.html): in the hidden iframe, the
// library built from the same configuration as the app page's (read from the parent), or
// null when the page is not in the app's frame (silent-link.js then reports a hijack).
'use strict';
window.renewlabAxaSilentClient = function () {
  var cfg = window.renewlabSilent();
  if (!cfg) return null;
  var configuration =
      window.parent.renewlabAxaConfiguration(cfg, window.parent.renewlabAxaOptions);
  return window['oidc-client'].OidcClient.getOrCreate(function () { return fetch; })(configuration);
};
