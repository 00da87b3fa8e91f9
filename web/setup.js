/* Vigil operators' console — the assisted duress set-up view (docs/console.md,
 * "Set-up sessions"; docs/DURESS.md "Assisted set-up").
 *
 * The operator, on the phone with the customer, opens a session for an account
 * (set-up: a new duress code is programmed; drill: the existing one is checked),
 * watches the panel's programming reports arrive (programmed, or the rule that
 * refused it and the colliding slot — never digits: the station sends none),
 * puts the account on test for a bounded time, and sees the customer's duress
 * arrive with its delivery time, marked TEST, with no dispatch step.
 *
 * The session is polled (GET /api/setup/ID) every second while it is open.
 * Everything from the API goes through textContent (S.lib.h). This file only
 * uses what web/app.js hands it in window.vigil.lib; app.js calls back through
 * window.vigil.setup (openView, close, open).
 */
'use strict';

(function () {
  const S = window.vigil;
  if (!S || !S.lib) return;
  const { api, h, put, fmtTime, fmtAge, now, closeSignals, kindLabel } = S.lib;
  const $ = (id) => document.getElementById(id);

  const U = {
    open: false,      // the view is shown
    id: null,         // the session shown
    data: null,       // its last GET
    timer: null,
    gen: 0,
    busy: false,
  };

  function showError(msg) {
    const e = $('setup-error');
    e.hidden = !msg;
    e.textContent = msg || '';
  }

  function openView() {
    if (!S.me) return;
    closeSignals();
    if (S.account && S.account.open) S.account.close();
    U.open = true;
    $('main').hidden = true;
    $('setup-view').hidden = false;
    $('btn-setup').classList.add('active');
    document.body.classList.add('setup-open');
    if (U.id == null) $('setup-account').focus();
    poll();
  }

  function close() {
    if (!U.open) return;
    U.open = false;
    $('setup-view').hidden = true;
    $('main').hidden = false;
    $('btn-setup').classList.remove('active');
    document.body.classList.remove('setup-open');
  }

  // ---- the API

  async function openSession(ev) {
    if (ev) ev.preventDefault();
    if (U.busy) return;
    const acct = $('setup-account').value.trim();
    if (!/^[0-9A-Fa-f]{3,16}$/.test(acct)) { showError('Account: 3 to 16 hex digits.'); return; }
    U.busy = true;
    try {
      const d = await api('POST', '/api/accounts/' + encodeURIComponent(acct) + '/setup',
        { kind: $('setup-kind').value });
      showError('');
      U.id = d.id;
      render(d);
      schedule();
    } catch (e) {
      showError(e.message);
    } finally {
      U.busy = false;
    }
  }

  async function poll() {
    if (U.id == null || !S.me) { render(null); return; }
    const gen = ++U.gen;
    try {
      const d = await api('GET', '/api/setup/' + U.id);
      if (gen !== U.gen) return;
      render(d);
    } catch (e) {
      if (gen === U.gen) showError('Set-up session: ' + e.message);
    }
  }

  function schedule() {
    clearInterval(U.timer);
    U.timer = setInterval(() => {
      if (!S.me) { clearInterval(U.timer); return; }
      if (U.data && !U.data.open) { clearInterval(U.timer); return; }
      poll();
    }, 1000);
  }

  async function act(method, path, body, what) {
    if (U.busy) return;
    U.busy = true;
    try {
      await api(method, path, body);
      showError('');
    } catch (e) {
      showError(what + ': ' + e.message);
    } finally {
      U.busy = false;
    }
    await poll();
  }

  const testOn = () => {
    const m = parseInt($('setup-test-minutes').value, 10);
    if (!(m >= 1)) { showError('Test mode: minutes, at least 1.'); return; }
    act('POST', '/api/accounts/' + U.data.account + '/test', { minutes: m }, 'Test mode');
  };
  const testOff = () => act('POST', '/api/accounts/' + U.data.account + '/test/end', {}, 'End test');
  const endSession = () => act('POST', '/api/setup/' + U.id + '/close', {}, 'End session');
  const newSession = () => {
    U.id = null; U.data = null; clearInterval(U.timer);
    render(null);
    $('setup-account').focus();
  };

  // ---- rendering

  // HH:MM:SS.mmm: the chain panel → station → store is a matter of milliseconds
  const msTime = (iso) => {
    const t = Date.parse(iso);
    if (!isFinite(t)) return '?';
    const d = new Date(t);
    return d.toLocaleTimeString('en-GB', { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
  };
  const left = (s) => fmtAge(s * 1000);

  function reportRow(r) {
    const cls = r.result === 'refused' ? 'rep-refused' : r.result === 'programmed' ? 'rep-ok' : 'rep-other';
    const badge = r.result === 'refused' ? 'REFUSED' : r.result === 'programmed' ? 'PROGRAMMED'
      : r.result === 'deleted' ? 'DELETED' : 'REPORT';
    return h('li', { class: 'rep ' + cls, 'data-testid': 'setup-report', 'data-result': r.result },
      h('span', { class: 'rep-time', text: fmtTime(r.at) }),
      h('span', { class: 'rep-badge', text: badge }),
      h('span', { class: 'rep-what' },
        h('b', { text: (r.code === 'duress' ? 'Duress' : r.code === 'user' ? 'User' : 'A') + ' code' +
          (r.slot != null ? ' · slot ' + r.slot : '') }),
        r.rule_text ? h('span', { class: 'rep-rule', 'data-testid': 'setup-rule', text: r.rule_text }) : null,
        r.result === 'refused'
          ? h('span', { class: 'rep-hint', text: 'Ask the customer to choose a code further from it, and program again.' })
          : null));
  }

  function alarmRow(a) {
    const real = !a.test;
    return h('li', { class: 'sig ' + (real ? 'sig-real' : 'sig-test'), 'data-testid': 'setup-alarm',
      'data-test': a.test ? '1' : '0', 'data-dispatch-step': a.dispatch_step ? '1' : '0' },
      h('div', { class: 'sig-title' },
        h('span', { class: 'pri pri-' + a.priority, text: 'P' + a.priority }),
        h('span', { class: 'kind', text: kindLabel(a.kind) }),
        a.test ? h('span', { class: 'tag tag-test', text: 'TEST' }) : h('span', { class: 'tag tag-real', text: 'REAL ALARM' }),
        h('span', { class: 'muted', text: 'alarm ' + a.alarm + (a.user != null ? ' · user ' + a.user : '') })),
      h('div', { class: 'sig-times', 'data-testid': 'setup-delivery' },
        h('span', null, 'panel sent ', h('b', { text: a.panel_time ? fmtTime(a.panel_time) : '?' })),
        h('span', { class: 'arrow', text: '→' }),
        h('span', null, 'station received ', h('b', { text: msTime(a.received_at) })),
        h('span', { class: 'arrow', text: '→' }),
        h('span', null, 'stored, ACK sent ', h('b', { text: a.stored_at ? msTime(a.stored_at) : '?' })),
        // the frame's timestamp has whole seconds: received − that is an upper bound
        a.delivery_ms != null
          ? h('span', { class: 'sig-delay', title: 'the panel\'s timestamp has whole seconds: this is an upper bound',
            text: 'delivered within ' + (Math.max(0, a.delivery_ms) / 1000).toFixed(1) + ' s' })
          : null),
      a.dispatch_step
        ? h('div', { class: 'sig-plan sig-plan-real', 'data-testid': 'setup-dispatch',
          text: 'REAL alarm: its plan has a dispatch step — it is in the queue and must be handled there.' })
        : h('div', { class: 'sig-plan sig-plan-test', 'data-testid': 'setup-nodispatch',
          text: 'No dispatch step: test plan (' + a.steps.join(', ') + '). No police are sent. ' +
            (a.state === 'closed' ? 'Closed' + (a.disposition ? ' as ' + a.disposition : '') + '.'
              : 'Close it in the queue with disposition "test".') }));
  }

  function box(n, title, done, ...kids) {
    return h('section', { class: 'box setup-step' + (done ? ' setup-step-done' : '') },
      h('h2', null, h('span', { class: 'step-no', text: n }), title), ...kids);
  }

  function render(d) {
    U.data = d;
    const el = $('setup-session');
    $('setup-form').hidden = !!(d && d.open);
    if (!d) { el.hidden = true; put(el); return; }
    el.hidden = false;
    el.dataset.open = d.open ? '1' : '0';
    const drill = d.kind === 'drill';
    const reports = d.reports || [];
    const alarms = d.alarms || [];
    const programmed = reports.some((r) => r.result === 'programmed' && r.code === 'duress');
    const testAlarms = alarms.filter((a) => a.test && a.kind === 'duress');

    const head = h('div', { class: 'setup-head' + (d.open ? '' : ' setup-head-closed') },
      h('span', { class: 'setup-kind', text: drill ? 'DRILL' : 'SET-UP' }),
      h('span', { class: 'acct-no', text: d.account }),
      h('span', { class: 'acct-name-big', text: d.account_name || '' }),
      h('span', { class: 'muted', text: 'session ' + d.id + ' · opened by ' + (d.operator || '?') + ' ' + fmtTime(d.opened_at) }),
      d.open
        ? h('span', { class: 'setup-left', 'data-testid': 'setup-remaining', text: 'ends by itself in ' + left(d.remaining_s) })
        : h('span', { class: 'setup-ended', 'data-testid': 'setup-ended',
          text: 'Session ended ' + fmtTime(d.closed_at || d.ends_at) + ' — ' + (d.close_reason || 'time up') }),
      d.open
        ? h('button', { type: 'button', class: 'btn-quiet', 'data-testid': 'setup-end', onclick: endSession }, 'End session')
        : h('button', { type: 'button', class: 'btn-quiet', 'data-testid': 'setup-new', onclick: newSession }, 'New session'));

    const testBand = d.on_test
      ? h('div', { class: 'test-band', 'data-testid': 'setup-on-test' },
        h('b', { text: 'ACCOUNT ' + d.account + ' ON TEST' }),
        h('span', { text: ' until ' + fmtTime(d.test_until) + ' (' + left(d.test_remaining_s) + ' left). ' +
          'Its alarms show marked TEST, with no dispatch step. Other accounts are not affected.' }),
        d.open ? h('button', { type: 'button', class: 'btn-quiet', 'data-testid': 'setup-test-off', onclick: testOff }, 'End test now') : null)
      : null;

    const step1 = drill
      ? box('1', 'Existing duress code', true,
        h('p', { class: 'muted', text: 'Drill: nothing to program. The customer checks the duress code they already have.' }),
        reports.length ? h('ul', { class: 'reps' }, ...reports.map(reportRow)) : null)
      : box('1', 'The customer programs the duress code at their keypad', programmed,
        h('p', { class: 'setup-say', text: 'Never ask for the code. The panel checks it against every other code and reports the result here.' }),
        reports.length
          ? h('ul', { class: 'reps', 'data-testid': 'setup-reports' }, ...reports.map(reportRow))
          : h('p', { class: 'waiting', text: d.open ? 'Waiting for the panel\'s report…' : 'No report arrived.' }));

    const step2 = box('2', 'Put the account on test', d.on_test || testAlarms.length > 0,
      testBand ||
      (d.open
        ? h('div', { class: 'row-form' },
          h('label', null, 'for ',
            h('input', { id: 'setup-test-minutes', 'data-testid': 'setup-test-minutes', type: 'number', min: '1', max: '60', value: '10', class: 'num' }),
            ' minutes'),
          h('button', { type: 'button', class: 'btn-test', 'data-testid': 'setup-test-on', onclick: testOn,
            disabled: !drill && !programmed, title: !drill && !programmed ? 'first a programmed duress code' : null }, 'Put on test'),
          !drill && !programmed ? h('span', { class: 'muted', text: 'after the code is programmed' }) : null)
        : h('p', { class: 'muted', text: testAlarms.length ? 'Test mode has ended.' : 'Not on test.' })));

    const step3 = box('3', 'The customer enters the duress code once', testAlarms.length > 0,
      alarms.length
        ? h('ul', { class: 'sigs', 'data-testid': 'setup-alarms' }, ...alarms.map(alarmRow))
        : h('p', { class: 'waiting', text: d.on_test ? 'Waiting for the signal…' : 'Put the account on test first.' }));

    put(el, head, step1, step2, step3);
  }

  // ---- wiring
  $('setup-form').addEventListener('submit', openSession);
  $('btn-setup').addEventListener('click', () => { if (U.open) close(); else openView(); });
  $('btn-setup-back').addEventListener('click', close);

  S.setup = {
    get open() { return U.open; },
    openView,
    close,
    get session() { return U.data; },
  };
  void now;
})();
