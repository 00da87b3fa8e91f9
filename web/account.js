/* Vigil operators' console — the account page (docs/console.md, "The account page").
 *
 * One account at a glance, from GET /api/accounts/{number}: the customer, the
 * police agency and alarm permit, the standing with the agency (false
 * dispatches in the window with their dates and alarms, caution, suspension,
 * a warning before each threshold, what the next false dispatch costs), the
 * invoice lines billed, and the account's alarms (each opens in the alarm view).
 *
 * Reached with key a (the open alarm's account, else a search field: number or
 * name), the key legend's button, or a click on the account in the alarm view.
 * Esc goes back where the operator was. Refreshed every 5 s while shown.
 *
 * The premises phone is withheld while the account has an open duress or
 * hold-up, as the alarm view withholds it (whoever is there may be under
 * threat). Contacts and passcodes are not shown here: the call list is the
 * alarm view's, and a passcode never leaves the station.
 * Everything from the API goes through textContent (S.lib.h).
 */
'use strict';

(function () {
  const S = window.vigil;
  if (!S || !S.lib) return;
  const { api, h, put, fmtTime, now, closeSignals, kindLabel, fmtCents, openAlarmFromPage } = S.lib;
  const $ = (id) => document.getElementById(id);

  const A = {
    open: false,
    number: null,     // the account shown
    data: null,       // its last GET
    sig: null,        // its text, to repaint only on a change
    gen: 0,
    timer: null,
    list: null,       // GET /api/accounts, for the search (fetched once per opening)
  };

  const SILENT = new Set(['duress', 'holdup']);
  const DISPOSITION = {
    real_emergency: 'real emergency', false_user_error: 'false — user error',
    false_equipment: 'false — equipment', cancelled_before_dispatch: 'cancelled before dispatch',
    cancelled_after_dispatch: 'cancelled after dispatch', test: 'test',
  };
  const DAY = 86400000;

  function showError(msg) {
    const e = $('acct-error');
    e.hidden = !msg;
    e.textContent = msg || '';
  }

  // ---- the view

  function openView(number) {
    if (!S.me) return;
    closeSignals();
    if (S.setup && S.setup.open) S.setup.close();
    A.open = true;
    A.list = null;
    $('main').hidden = true;
    $('account-view').hidden = false;
    $('btn-account').classList.add('active');
    document.body.classList.add('account-open');
    showMatches([]);
    showError('');
    clearInterval(A.timer);
    A.timer = setInterval(() => { if (A.open && A.number && S.me) load(A.number, true); }, 5000);
    if (number) {
      $('acct-search-input').value = '';
      load(number, false);
    } else {
      A.number = null;
      A.data = null;
      $('acct-page').hidden = true;
      $('acct-search-input').value = '';
      showMatches([], '');
      $('acct-search-input').focus();
    }
  }

  function close() {
    if (!A.open) return;
    A.open = false;
    clearInterval(A.timer);
    A.timer = null;
    A.gen++;
    $('account-view').hidden = true;
    $('main').hidden = false;
    $('btn-account').classList.remove('active');
    document.body.classList.remove('account-open');
  }

  async function load(number, quiet) {
    const gen = ++A.gen;
    try {
      const d = await api('GET', '/api/accounts/' + encodeURIComponent(number));
      if (gen !== A.gen || !A.open) return;
      showError('');
      const sig = JSON.stringify(d);
      if (quiet && A.number === d.number && A.sig === sig) return;   // nothing moved: no repaint
      A.number = d.number;
      A.data = d;
      A.sig = sig;
      render(d);
    } catch (e) {
      if (gen !== A.gen || e.status === 401) return;
      if (!quiet) {
        showError(e.status === 404 ? 'No account ' + number + '.' : 'Account ' + number + ': ' + e.message);
        if (e.status === 404) { $('acct-page').hidden = true; A.number = null; }
      }
    }
  }

  // ---- search: a number opens the account; else the names and numbers that match
  async function search(ev) {
    if (ev) ev.preventDefault();
    const q = $('acct-search-input').value.trim();
    if (!q) return;
    if (!A.list) {
      try { A.list = await api('GET', '/api/accounts'); } catch (e) { if (e.status !== 401) showError('Accounts: ' + e.message); return; }
    }
    const up = q.toUpperCase(), low = q.toLowerCase();
    const exact = A.list.find((a) => a.number === up);
    if (exact) { showMatches([]); $('acct-search-input').blur(); load(exact.number, false); return; }
    const hits = A.list.filter((a) => a.number.startsWith(up) || String(a.name || '').toLowerCase().includes(low));
    if (hits.length === 1) { showMatches([]); $('acct-search-input').blur(); load(hits[0].number, false); return; }
    showMatches(hits, q);
  }

  function showMatches(hits, q) {
    const ul = $('acct-matches');
    if (q === undefined) { ul.hidden = true; put(ul); return; }
    if (q === '') { ul.hidden = false; put(ul, h('li', { class: 'muted', text: 'Type an account number or part of its name, then Enter.' })); return; }
    ul.hidden = false;
    if (!hits.length) { put(ul, h('li', { class: 'muted', text: 'No account matches "' + q + '".' })); return; }
    put(ul, ...hits.slice(0, 20).map((a) => h('li', null,
      h('button', { type: 'button', class: 'acct-match', 'data-testid': 'acct-match', 'data-account': a.number,
        onclick: () => { showMatches([]); load(a.number, false); } },
      h('span', { class: 'acct-no', text: a.number }), ' ', h('span', { text: a.name || '' }),
      a.police_status && a.police_status !== 'normal'
        ? h('span', { class: 'tag police police-' + a.police_status, text: 'police ' + a.police_status }) : null))),
    hits.length > 20 ? h('li', { class: 'muted', text: (hits.length - 20) + ' more: type more of the name' }) : null);
  }

  // ---- rendering

  const kv = (label, value, cls, testid) => (value === null || value === undefined || value === '')
    ? null
    : h('div', { class: 'kv' + (cls ? ' ' + cls : ''), 'data-testid': testid || null },
      h('span', { class: 'k', text: label }),
      value instanceof Node ? h('span', { class: 'v' }, value) : h('span', { class: 'v', text: String(value) }));

  const day = (iso) => {            // "2026-12-07" (UTC), the way permits and windows are stated
    const t = Date.parse(iso);
    return isFinite(t) ? new Date(t).toISOString().slice(0, 10) : '';
  };
  const inDays = (iso) => Math.ceil((Date.parse(iso) - now()) / DAY);
  const plural = (n, one, many) => n + ' ' + (n === 1 ? one : (many || one + 's'));

  // whether an invoice line counts in the agency's present window
  function inWindow(c, s) {
    if (!s || !s.rules || !s.window || !s.window.start || !c.counted) return false;
    const t = Date.parse(c.at), a = Date.parse(s.window.start), b = s.window.end ? Date.parse(s.window.end) : Infinity;
    return t >= a && t <= b;
  }

  function alarmLink(id, text) {
    return h('button', { type: 'button', class: 'link-alarm', 'data-testid': 'account-alarm-link',
      'data-alarm-id': id, title: 'open alarm ' + id + ' in the alarm view',
      onclick: () => { close(); openAlarmFromPage(id); } }, text || 'alarm ' + id);
  }

  function render(d) {
    const s = d.agency_standing;
    const rules = s && s.rules;
    const alarms = d.alarms || [];
    const charges = d.false_dispatches || [];
    const silentOpen = alarms.find((x) => x.state !== 'closed' && SILENT.has(x.kind));
    const page = $('acct-page');
    page.hidden = false;
    page.dataset.account = d.number;

    // --- the big lines first: what the operator must not miss
    const alerts = [];
    const ps = (rules && s.status) || d.police_status || 'normal';
    if (rules && s.suspended) {
      alerts.push(h('div', { class: 'acct-alert alert-red', 'data-testid': 'account-alert',
        text: 'POLICE RESPONSE SUSPENDED by ' + s.agency.name + (s.suspended_until ? ' until ' + day(s.suspended_until) : '') +
          ' — duress, hold-up and panic are still answered' }));
    } else if (ps === 'suspended') {
      alerts.push(h('div', { class: 'acct-alert alert-red', 'data-testid': 'account-alert', text: 'POLICE RESPONSE SUSPENDED for these premises' }));
    }
    if (rules && s.permit_revoked) alerts.push(h('div', { class: 'acct-alert alert-red', 'data-testid': 'account-alert', text: 'ALARM PERMIT REVOKED by ' + s.agency.name }));
    if (rules && s.permit_missing) alerts.push(h('div', { class: 'acct-alert alert-red', 'data-testid': 'account-alert', text: 'ALARM PERMIT MISSING — ' + s.agency.name + ' requires one' }));
    if (rules && s.permit_expired) alerts.push(h('div', { class: 'acct-alert alert-red', 'data-testid': 'account-alert', text: 'ALARM PERMIT EXPIRED on ' + day(s.permit_expires || d.permit_expires) }));
    if ((rules && s.cautioned) || (!rules && ps === 'cautioned')) {
      alerts.push(h('div', { class: 'acct-alert alert-amber', 'data-testid': 'account-alert',
        text: 'CAUTIONED' + (rules ? ' by ' + s.agency.name + ': ' + plural(s.count, 'false dispatch', 'false dispatches') + ' in the window (caution at ' + s.caution_at + ')' : '') }));
    }
    for (const w of (rules && s.warnings) || []) {
      alerts.push(h('div', { class: 'acct-warning', 'data-testid': 'account-warning', text: '⚠ ' + w.charAt(0).toUpperCase() + w.slice(1) }));
    }

    // --- header
    const head = h('div', { class: 'acct-head' },
      h('span', { class: 'acct-no acct-no-big', 'data-testid': 'acct-page-number', text: d.number }),
      h('span', { class: 'acct-name-huge', 'data-testid': 'acct-page-name', text: d.name || '(no name)' }),
      ps !== 'normal' ? h('span', { class: 'tag police police-' + ps, text: 'police ' + ps }) : null,
      silentOpen ? h('button', { type: 'button', class: 'tag tag-silent', 'data-testid': 'acct-page-silent',
        title: 'open alarm ' + silentOpen.id + ' in the alarm view',
        onclick: () => { close(); openAlarmFromPage(silentOpen.id); } },
      'OPEN ' + kindLabel(silentOpen.kind) + ' — alarm ' + silentOpen.id) : null);

    // --- customer
    const phone = silentOpen
      ? kv('Phone', 'withheld: open ' + kindLabel(silentOpen.kind) + ' (alarm ' + silentOpen.id + ') — never call the premises (whoever is there may be under threat)', 'kv-withheld', 'acct-page-phone')
      : kv('Phone', d.phone || 'none on file', d.phone ? 'kv-phone' : 'kv-missing', 'acct-page-phone');
    const customer = h('section', { class: 'box box-customer' }, h('h2', { text: 'Customer' }),
      kv('Name', d.name),
      kv('Address', d.address || 'none on file', d.address ? 'kv-address' : 'kv-missing', 'acct-page-address'),
      kv('Premises', d.location),
      phone,
      kv('Time zone', d.time_zone),
      kv('Last heard', d.last_seen ? fmtTime(d.last_seen) : 'never'));

    // --- agency and permit
    const permitKids = [];
    if (d.permit) {
      permitKids.push(h('span', { class: 'permit-no', text: d.permit }));
      const exp = d.permit_expires || (rules && s.permit_expires);
      if (exp) {
        const n = inDays(exp);
        permitKids.push(' ', h('span', {
          class: n < 0 ? 'permit-bad' : n <= 30 ? 'permit-soon' : 'muted',
          text: n < 0 ? 'EXPIRED ' + day(exp) : 'expires ' + day(exp) + (n <= 30 ? ' — in ' + plural(n, 'day') : '') }));
      } else {
        permitKids.push(' ', h('span', { class: 'muted', text: 'no expiry on file' }));
      }
    } else {
      permitKids.push(h('span', {
        class: rules && s.permit_required ? 'permit-bad' : 'muted',
        text: rules && s.permit_required ? 'MISSING — required by ' + s.agency.name : 'none' + (rules ? ' (not required by ' + s.agency.name + ')' : '') }));
    }
    const agency = h('section', { class: 'box box-agency' }, h('h2', { text: 'Police agency and permit' }),
      kv('Agency', !d.agency ? 'none named' : rules ? s.agency.name + ' (' + s.agency.id + ')' : d.agency + (s && s.note ? ' — ' + s.note : '')),
      kv('Permit', h('span', { 'data-testid': 'account-permit' }, ...permitKids)),
      kv('Police', h('span', { class: 'police-word police-word-' + ps, 'data-testid': 'account-police', text: ps === 'normal' ? 'normal response' : ps.toUpperCase() })),
      rules && s.verification_required ? kv('Verification', s.agency.name + ' needs verification before it answers a burglar alarm') : null,
      rules ? kv('Billed to', s.agency.billed === 'user' ? 'the customer, by the agency (the station adds its fee)' : 'the station (passed on to the customer)') : null);

    // --- standing with the agency
    let standing;
    if (!rules) {
      standing = h('section', { class: 'box box-standing', 'data-testid': 'account-standing' }, h('h2', { text: 'Standing with the agency' }),
        h('p', { class: 'muted', text: !s ? 'No police agency named: no false-dispatch rules apply.' : 'Rules of ' + ((s.agency && s.agency.id) || '?') + ' not imported: ' + (s.note || '') }));
    } else {
      const inWin = charges.filter((c) => inWindow(c, s)).sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
      const w = s.window || {};
      const winText = (w.type === 'rolling' ? 'rolling ' + w.days + ' days' : w.type === 'from_first' ? w.days + ' days from the first false alarm' : String(w.type || '').replace(/_/g, ' ') + ' ' + w.days + ' days') +
        (w.start ? ' · ' + day(w.start) + ' → ' + day(w.end) : '');
      const meter = [];
      if (s.caution_at) meter.push(threshold('Caution', s.count, s.caution_at, s.cautioned, s.cautioned ? 'now' : null));
      if (s.suspension_at) meter.push(threshold('Suspension', s.count, s.suspension_at, s.suspended, s.suspended ? (s.suspended_until ? 'until ' + day(s.suspended_until) : 'now') : null));
      if (s.revocation_at) meter.push(threshold('Permit revoked', s.count, s.revocation_at, s.permit_revoked, s.permit_revoked ? 'now' : null));
      const nf = s.next_false;
      standing = h('section', { class: 'box box-standing', 'data-testid': 'account-standing' },
        h('h2', { text: 'Standing with ' + s.agency.name }),
        h('div', { class: 'standing-count' },
          h('b', { class: 'big-count', 'data-testid': 'account-count', text: String(s.count) }),
          h('span', null, ' false ' + (s.count === 1 ? 'dispatch' : 'dispatches') + ' in the window ', h('span', { class: 'muted', text: '(' + winText + ')' }))),
        inWin.length
          ? h('ol', { class: 'window-list', 'data-testid': 'account-window-list' }, ...inWin.map((c, i) => h('li', null,
            h('span', { class: 'wl-no', text: '#' + (i + 1) }),
            h('span', { class: 'h-at', text: fmtTime(c.at) }),
            alarmLink(c.alarm), ' ',
            h('span', { text: kindLabel(c.kind) + ' · ' + (c.finding === 'cancelled' ? 'cancelled after acceptance' : 'found false') }))))
          : h('p', { class: 'muted', text: 'None in the window.' }),
        meter.length ? h('div', { class: 'thresholds' }, ...meter) : null,
        nf ? h('div', { class: 'kv kv-next-fee', 'data-testid': 'account-next-fee' },
          h('span', { class: 'k', text: 'Next false dispatch' }),
          h('span', { class: 'v' },
            h('b', { class: 'fee', text: nf.total + ' ' + nf.currency }),
            nf.billed === 'user' ? ' (agency ' + nf.agency_fee + ' billed to the customer by the agency)' : '',
            h('span', { class: 'muted', text: ' — ' + nf.rule }))) : null,
        null);
    }

    // --- invoice lines
    const total = charges.reduce((t, c) => t + (c.total_cents | 0), 0);
    const cur = charges.length ? charges[0].currency : '';
    const invoices = h('section', { class: 'box box-invoices' },
      h('h2', null, 'Invoice lines ', h('span', { class: 'muted', text: charges.length ? '— ' + plural(charges.length, 'line') + ', ' + fmtCents(total) + ' ' + cur + ' in all (newest first)' : '' })),
      charges.length
        ? h('table', { class: 'acct-table', 'data-testid': 'account-invoices' },
          h('thead', null, h('tr', null, ...['Date', 'Alarm', 'Kind', 'Finding', 'No.', 'Rule', 'Amount'].map((t) => h('th', { text: t })))),
          h('tbody', null, ...charges.map((c) => h('tr', {
            'data-testid': 'account-invoice', 'data-alarm-id': c.alarm,
            class: inWindow(c, s) ? 'in-window' : 'out-window' },
          h('td', { class: 'mono', text: fmtTime(c.at) }),
          h('td', null, alarmLink(c.alarm, String(c.alarm))),
          h('td', { text: kindLabel(c.kind) }),
          h('td', { text: c.finding === 'cancelled' ? 'cancelled after acceptance' : c.finding }),
          h('td', { class: 'num', text: c.count_in_window != null ? '#' + c.count_in_window : '' }),
          h('td', { class: 'rule', text: c.rule }),
          h('td', { class: 'num amount', text: fmtCents(c.total_cents) + ' ' + c.currency + (c.forgiven ? ' (forgiven)' : '') })))))
        : h('p', { class: 'muted', 'data-testid': 'account-invoices', text: 'No invoice lines: no false dispatch billed to this account.' }));

    // --- alarms
    const open = alarms.filter((x) => x.state !== 'closed');
    const alarmBox = h('section', { class: 'box box-acct-alarms' },
      h('h2', null, 'Alarms ', h('span', { class: 'muted', text: open.length ? '— ' + open.length + ' open, then the latest' : '— the latest (none open)' })),
      alarms.length
        ? h('table', { class: 'acct-table', 'data-testid': 'account-alarms' },
          h('thead', null, h('tr', null, ...['P', 'Alarm', 'Kind', 'Received', 'State', ''].map((t) => h('th', { text: t })))),
          h('tbody', null, ...alarms.map((x) => h('tr', { class: 'acct-alarm' + (x.state !== 'closed' ? ' is-open' : '') + (x.priority === 1 ? ' p1' : ''),
            'data-testid': 'account-alarm', 'data-alarm-id': x.id, 'data-state': x.state },
          h('td', null, h('span', { class: 'pri pri-' + x.priority, text: 'P' + x.priority })),
          h('td', null, alarmLink(x.id, String(x.id))),
          h('td', null, kindLabel(x.kind), x.test ? h('span', { class: 'tag tag-test', text: 'TEST' }) : null),
          h('td', { class: 'mono', text: fmtTime(x.received_at) }),
          h('td', { text: x.state === 'closed'
            ? 'closed' + (x.disposition ? ' — ' + (DISPOSITION[x.disposition] || x.disposition) : '') + (x.closed_at ? ' ' + fmtTime(x.closed_at) : '')
            : x.state + (x.taken_by ? ' · held by ' + x.taken_by : '') }),
          h('td', null, x.dispatched_at ? h('span', { class: 'tag tag-psap', text: 'police sent' }) : null)))))
        : h('p', { class: 'muted', text: 'No alarms.' }));

    put(page,
      head,
      alerts.length ? h('div', { class: 'acct-alerts' }, ...alerts) : null,
      h('div', { class: 'acct-grid' },
        h('div', { class: 'acct-col' }, customer, agency),
        h('div', { class: 'acct-col' }, standing, invoices, alarmBox)));
  }

  // "Caution  ▮▯  1 of 2 — 1 more"
  function threshold(label, count, at, reached, when) {
    const cells = [];
    for (let i = 1; i <= at; i++) cells.push(h('span', { class: 'cell' + (i <= count ? ' cell-on' : '') }));
    const left = Math.max(0, at - count);
    return h('div', { class: 'threshold' + (reached ? ' reached' : left === 1 ? ' next' : ''), 'data-testid': 'account-threshold' },
      h('span', { class: 'th-label', text: label }),
      h('span', { class: 'cells' }, ...cells),
      h('span', { class: 'th-text', text: reached ? 'REACHED' + (when ? ' — ' + when : '') : Math.min(count, at) + ' of ' + at + ' — ' + plural(left, 'more false dispatch', 'more false dispatches') }));
  }

  $('acct-search').addEventListener('submit', search);
  $('btn-account-back').addEventListener('click', close);
  $('btn-account').addEventListener('click', () => {
    if (A.open) close();
    else openView(S.openId != null && S.detail ? (S.detail.account && S.detail.account.number) || null : null);
  });

  S.account = {
    openView,
    close,
    focusSearch: () => { const i = $('acct-search-input'); i.focus(); i.select(); },
    get open() { return A.open; },
    get number() { return A.number; },
  };
})();
