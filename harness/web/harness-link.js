// The page's link to the harness: configuration in, commands in (polled from the page's
// own origin, woken by the harness), outcomes out (POST /event, serialised so they
// arrive in order).
'use strict';
(function () {
  var chain = Promise.resolve();
  var link = {
    config: null,
    post: function (ev) {
      chain = chain.then(function () {
        return fetch('/event', {method: 'POST', body: JSON.stringify(ev), keepalive: true});
      }).catch(function () {});
      return chain;
    },
    log: function (text) { console.log('renewlab: ' + text); },
    // The login step: the IdP's /_mock/login sets its session cookie as a first party,
    // then the page starts the client's own code flow (?login=go).
    loginAtIdp: function (sub) {
      location.assign(link.config.issuer + '/_mock/login?' + new URLSearchParams({
        sub: sub || 'alice', return_to: link.config.origin + '/?login=go'}));
      return new Promise(function () {}); // the page is leaving
    },
    // The use step: `count` callers ask for a token at the same instant.
    concurrently: function (count, fn) {
      var calls = [];
      for (var i = 0; i < (count || 1); i++) calls.push(fn());
      return Promise.all(calls);
    },
  };

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      s.src = src;
      s.onload = resolve;
      s.onerror = function () { reject(new Error('cannot load ' + src)); };
      document.head.appendChild(s);
    });
  }

  // The harness wakes the loop when it queues a command (DevTools Runtime.evaluate); the
  // page also looks every POLL_MS of its (virtual) time, and when it boots.
  var POLL_MS = 250;
  var woken = false, wakeUp = null;
  link.wake = function () {
    woken = true;
    if (wakeUp) wakeUp();
  };
  function sleepUnlessWoken() {
    return new Promise(function (resolve) {
      if (woken) return resolve();
      var timer = setTimeout(done, POLL_MS);
      function done() { clearTimeout(timer); wakeUp = null; resolve(); }
      wakeUp = done;
    });
  }

  async function pollCommands(client) {
    for (;;) {
      woken = false;
      var after = Number(sessionStorage.getItem('renewlab.cmdseq') || '0');
      var cmds = [];
      try {
        cmds = await (await fetch('/commands?after=' + after)).json();
      } catch (e) { /* the harness is ending the run */ }
      for (var i = 0; i < cmds.length; i++) {
        sessionStorage.setItem('renewlab.cmdseq', String(cmds[i].seq)); // before: login leaves
        await client.command(cmds[i]);
      }
      await sleepUnlessWoken();
    }
  }

  link.boot = async function () {
    try {
      var cfg = await (await fetch('/config.json')).json();
      link.config = cfg;
      window.renewlabConfig = cfg;
      if (cfg.target === 'oidc-client-ts') {
        await loadScript('/lib/oidc-client-ts.js');
        await loadScript('/web/octs-client.js');
      } else {
        await loadScript('/web/iframe-client.js');
      }
      var client = window.renewlabMakeClient(cfg, link);
      await client.init();
      link.post({event: 'ready', path: location.pathname});
      pollCommands(client);
    } catch (e) {
      link.post({event: 'page_error', detail: String(e && e.stack || e)});
    }
  };
  window.renewlab = link;
})();
