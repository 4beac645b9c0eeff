// What every silent-renew callback page does first (harness/web/silent.html, or a page
// client's own silent.html): loaded as the top page, the IdP has hijacked the app, which
// the harness is told; in the hidden iframe, the run's configuration is the parent's.
window.renewlabSilent = function () {
  if (window.parent === window) {
    fetch('/event', {method: 'POST', keepalive: true, body: JSON.stringify(
      {event: 'page_hijacked', detail: 'the app was navigated to ' + window.location.href}) });
    return null;
  }
  return window.parent.renewlabConfig || null;
};
