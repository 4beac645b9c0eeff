// The page's link to the harness: configuration in, commands in (handed over through
// DevTools, or fetched from the page's own origin), outcomes out (POST /event, serialised
// so they arrive in order, each with the page's time).
'use strict';
(function () {
  var chain = Promise.resolve();
  // Which tab of the run this page is (a multi-tab run opens the others at /?tab=N): kept
  // in this tab's sessionStorage, so it survives the tab's own navigations.
  var given = new URLSearchParams(location.search).get('tab');
  if (given !== null) sessionStorage.setItem('renewlab.tab', given);
  var TAB = Number(sessionStorage.getItem('renewlab.tab') || '0');
  var link = {
    config: null,
    tab: TAB,
    post: function (ev) {
      ev.at = Date.now(); // the page's clock is the run's virtual clock
      ev.tab = TAB;
      chain = chain.then(function () {
        return fetch('/event', {method: 'POST', body: JSON.stringify(ev), keepalive: true});
      }).catch(function () {});
      return chain;
    },
    log: function (text) { console.log('renewlab: ' + text); },
    // The library's options for this run (docs/page-protocol.md): each scenario setting
    // the manifest's "settings" maps, under the library's names, then the manifest's own
    // "options" over them (a team's configuration is what gets graded).
    // A mapping is an option name, or {option, times (a unit: 1000 for milliseconds),
    // if_true, if_false (the values a boolean setting stands for)}.
    libraryOptions: function () {
      var cfg = link.config, out = {};
      Object.keys(cfg.settings || {}).forEach(function (key) {
        [].concat(cfg.settings[key]).forEach(function (m) {
          var v = cfg[key];
          if (typeof m === 'string') return void (out[m] = v);
          if (typeof m.times === 'number') v = v * m.times;
          if (v === true && 'if_true' in m) v = m.if_true;
          else if (v === false && 'if_false' in m) v = m.if_false;
          out[m.option] = v;
        });
      });
      return Object.assign(out, cfg.options || {});
    },
    // The login step: the IdP's /_mock/login sets its session cookie as a first party,
    // then the page starts the client's own code flow (?login=go).
    loginAtIdp: function (sub) {
      location.assign(link.config.issuer + '/_mock/login?' + new URLSearchParams({
        sub: sub || 'alice', return_to: link.config.origin + '/?login=go'}));
      return new Promise(function () {}); // the page is leaving
    },
    // The api_call step: call the IdP's resource with the client's token; on a 401, once
    // more with what the client's renew() gives (a token, or null when it has none).
    apiCall: async function (cmd, getToken, renew) {
      var url = link.config.issuer + (cmd.path || '/resource');
      var token = await getToken();
      if (!token) return;
      var r = await fetch(url, {headers: {Authorization: 'Bearer ' + token}});
      if (r.status !== 401) return;
      try {
        token = await renew();
      } catch (e) { /* the library reports its own failures, if at all */
        token = null;
      }
      if (token) await fetch(url, {headers: {Authorization: 'Bearer ' + token}});
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

  // The harness hands each command over through DevTools (Runtime.evaluate of
  // renewlab.push(cmd), which runs while the page's clock stands still); the page also
  // reads GET /commands when it boots (a command given while it was navigating) and every
  // POLL_MS of its time. Commands run one at a time, in order, each once.
  var POLL_MS = 250;
  var pushed = [], woken = false, wakeUp = null;
  link.push = function (cmd) {
    pushed.push(cmd);
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

  async function runCommands(client, cmds) {
    for (var i = 0; i < cmds.length; i++) {
      var last = Number(sessionStorage.getItem('renewlab.cmdseq') || '0');
      if (cmds[i].seq <= last) continue; // handed over and fetched both
      if ((cmds[i].tab || 0) !== TAB) continue; // another tab's
      sessionStorage.setItem('renewlab.cmdseq', String(cmds[i].seq)); // before: login leaves
      await client.command(cmds[i]);
    }
  }

  async function pollCommands(client) {
    for (;;) {
      woken = false;
      if (pushed.length) {
        var given = pushed;
        pushed = [];
        await runCommands(client, given);
        continue;
      }
      var after = Number(sessionStorage.getItem('renewlab.cmdseq') || '0');
      var cmds = [];
      try {
        cmds = await (await fetch('/commands?after=' + after)).json();
      } catch (e) { /* the harness is ending the run */ }
      await runCommands(client, cmds);
      await sleepUnlessWoken();
    }
  }

  // An application that handles window "message" events itself (the scenario's
  // app.swallow_messages), installed before the client's scripts load:
  // - capture: the first capturing listener, stopping immediate propagation: no listener
  //   at all hears the message;
  // - bubble: the first bubbling listener, stopping immediate propagation: capturing
  //   listeners still hear it, bubbling ones registered after it do not;
  // (stopPropagation() alone stops nothing here: the message's target is window itself,
  // whose other listeners still run, capturing or not; measured in Chromium 156)
  // - return_false: window.onmessage returning false, which only cancels the event
  //   (stops nothing: the control case).
  function swallowMessages(mode) {
    var noted = false;
    function note(e) {
      if (!noted) link.log('the app swallowed a message event (' + mode + ')');
      noted = true;
    }
    if (mode === 'capture')
      window.addEventListener('message', function (e) { note(e); e.stopImmediatePropagation(); }, true);
    else if (mode === 'bubble')
      window.addEventListener('message', function (e) { note(e); e.stopImmediatePropagation(); });
    else if (mode === 'return_false')
      window.onmessage = function (e) { note(e); return false; };
  }

  link.boot = async function () {
    try {
      var cfg = await (await fetch('/config.json')).json();
      link.config = cfg;
      window.renewlabConfig = cfg;
      if (cfg.app && cfg.app.swallow_messages) swallowMessages(cfg.app.swallow_messages);
      for (var i = 0; i < cfg.scripts.length; i++) // the page client's, from its manifest
        await loadScript(cfg.scripts[i]);
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
