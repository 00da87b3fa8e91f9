/* Vigil operators' console — plain JS, no framework, nothing loaded from outside web/.
 *
 * The API is docs/console.md. The page holds: the session (name, role, CSRF token,
 * in memory only), the open alarms (a Map by id, fed by GET /api/alarms and the
 * SSE stream), the selected row, and the opened alarm's detail.
 *
 * Rules kept here:
 *  - every text from the API goes through textContent (never innerHTML);
 *  - every state-changing fetch sends X-CSRF-Token;
 *  - any 401 ends the page's session and shows the login;
 *  - the queue order is the alarm engine's (alm_queue_rank: priority, a registered
 *    account before an unknown one of the same priority), then received_at, then id;
 *  - the operator's selection never moves by itself when alarms arrive.
 *
 * The Signals view (key s) shows the refused signals (GET /api/signals) grouped by
 * account; a supervisor may create an unknown account from there (POST /api/accounts).
 */
'use strict';

(function () {
  // ------------------------------------------------------------ state
  const S = {
    me: null,            // {name, role, csrf}
    alarms: new Map(),   // id -> list object
    order: [],           // ids in queue order
    selected: null,      // id of the highlighted row
    openId: null,        // id of the alarm in the detail pane
    detail: null,        // its detail object
    detailSeq: 0,        // guards against out-of-order detail replies
    es: null,            // EventSource
    esBuffer: null,      // events received while the list is being fetched
    listGen: 0,
    live: false,
    liveLostAt: null,
    seenP1: new Set(),   // P1 ids already announced by sound
    skewMs: 0,           // server clock - local clock
    lastAlarmSound: 0,
    passcodeFor: null,   // alarm id the shown passcode result belongs to
    busy: false,
    sig: {               // the Signals view
      open: false,
      list: [],          // GET /api/signals, last 7 days
      known: new Map(),  // number -> name: an account that was unknown and now exists
      rows: new Map(),   // number -> {tr, sig}
      ages: [],          // [{el, t}] "… ago" texts kept current by tick()
      gen: 0,
      timer: null,       // every 10 s while the view is open
      loadedAt: null,
      error: null,
      unknownSignals: 0, // the top bar's badge
      unknownAccounts: 0,
    },
  };
  window.vigil = S;      // for tests and for a curious supervisor's devtools
  S.setup = null;        // the set-up view (web/setup.js) registers itself here
  S.p1Sounds = 0;        // how many times the P1 pattern played (tests read it)

  const $ = (id) => document.getElementById(id);
  const ROLE_RANK = { operator: 1, supervisor: 2, admin: 3 };
  const KIND_LABEL = {
    duress: 'DURESS', holdup: 'HOLD-UP', fire: 'FIRE', medical: 'MEDICAL', panic: 'PANIC',
    burglary: 'BURGLARY', comm_failure: 'COMM FAIL', decrypt_failure: 'DECRYPT FAIL',
    clear_on_keyed: 'CLEAR ON KEYED', flood: 'FLOOD', unknown_account: 'UNKNOWN ACCT',
    trouble: 'TROUBLE', unknown_event: 'UNKNOWN EVENT',
  };
  const DISPOSITION_LABEL = {
    real_emergency: 'real emergency', false_user_error: 'false — user error',
    false_equipment: 'false — equipment', cancelled_before_dispatch: 'cancelled before dispatch',
    cancelled_after_dispatch: 'cancelled after dispatch', test: 'test',
  };

  // h('div', {class: 'x', dataset: {...}}, child, 'text', ...)
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'dataset') Object.assign(el.dataset, v);
        else if (k === 'text') el.textContent = v;
        else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
        else if (v === true) el.setAttribute(k, '');
        else el.setAttribute(k, String(v));
      }
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }

  // replaceChildren without the null/false holes of conditional children
  function put(el, ...kids) {
    el.replaceChildren(...kids.flat().filter((k) => k !== null && k !== undefined && k !== false));
  }
  // The list object has account = the number; the detail object has account = {number, ...}.
  const acctNo = (a) => (a.account && typeof a.account === 'object') ? a.account.number : a.account;

  const now = () => Date.now() + S.skewMs;
  const tms = (iso) => (iso ? Date.parse(iso) : NaN);
  const isSupervisor = () => S.me && (ROLE_RANK[S.me.role] || 0) >= ROLE_RANK.supervisor;
  const kindLabel = (k) => KIND_LABEL[k] || String(k || '?').toUpperCase();

  function fmtAge(ms) {
    if (!isFinite(ms)) return '?';
    let s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + 's';
    const m = Math.floor(s / 60); s %= 60;
    if (m < 60) return m + 'm ' + String(s).padStart(2, '0') + 's';
    const hh = Math.floor(m / 60);
    if (hh < 48) return hh + 'h ' + String(m % 60).padStart(2, '0') + 'm';
    return Math.floor(hh / 24) + 'd ' + (hh % 24) + 'h';
  }

  function fmtTime(iso) {
    const t = tms(iso);
    if (!isFinite(t)) return '';
    const d = new Date(t);
    const hms = d.toLocaleTimeString('en-GB', { hour12: false });
    const today = new Date(now());
    if (d.toDateString() === today.toDateString()) return hms;
    return d.toISOString().slice(0, 10) + ' ' + hms;
  }

  function ageClass(a) {
    const age = (now() - tms(a.received_at)) / 1000;
    if (a.danger_s != null && age >= a.danger_s) return 'age-danger';
    if (a.warning_s != null && age >= a.warning_s) return 'age-warn';
    return 'age-ok';
  }

  // ------------------------------------------------------------ HTTP
  class ApiError extends Error {
    constructor(status, msg, body) { super(msg); this.status = status; this.body = body; }
  }

  function noteSkew(res) {
    const d = res.headers.get('Date');
    if (!d) return;
    const server = Date.parse(d);
    if (!isFinite(server)) return;
    // The Date header has a one-second resolution: only correct a real skew.
    const skew = server + 500 - Date.now();
    S.skewMs = Math.abs(skew) > 2000 ? skew : 0;
  }

  async function api(method, path, body) {
    const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (method !== 'GET') {
      opts.headers['Content-Type'] = 'application/json';
      if (S.me && S.me.csrf) opts.headers['X-CSRF-Token'] = S.me.csrf;
      opts.body = JSON.stringify(body || {});
    }
    let res;
    try {
      res = await fetch(path, opts);
    } catch (e) {
      throw new ApiError(0, 'the console did not answer (' + e.message + ')');
    }
    noteSkew(res);
    let data = null;
    const text = await res.text();
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = null; }
    }
    if (res.status === 401 && path !== '/api/login') {
      sessionEnded();
      throw new ApiError(401, (data && data.error) || 'signed out');
    }
    if (!res.ok) {
      const msg = (data && data.error) || (res.status + ' ' + res.statusText);
      throw new ApiError(res.status, msg, data);
    }
    return data;
  }

  // ------------------------------------------------------------ session
  function showLogin(msg) {
    $('app-view').hidden = true;
    $('login-view').hidden = false;
    const err = $('login-error');
    err.hidden = !msg;
    err.textContent = msg || '';
    $('login-password').value = '';
    $('login-name').focus();
  }

  function sessionEnded() {
    if (!S.me && !$('login-view').hidden) return;
    S.me = null;
    stopStream();
    S.alarms.clear();
    S.order = [];
    closeDetail();
    closeSignals();
    if (S.account) S.account.close();
    showLogin('Your session ended. Sign in again.');
  }

  async function startApp(me) {
    S.me = me;
    $('login-view').hidden = true;
    $('app-view').hidden = false;
    $('who').textContent = me.name + ' · ' + me.role;
    $('close-override-wrap').hidden = !isSupervisor();
    document.body.dataset.role = me.role;
    tick();
    unlockAudio();
    startStream();
    S.sig.list = [];
    S.sig.known.clear();
    renderSignals();
    loadSignals();          // the top bar's badge
    await loadAlarms();
  }

  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = $('login-name').value.trim();
    const password = $('login-password').value;
    $('login-submit').disabled = true;
    try {
      const me = await api('POST', '/api/login', { name, password });
      $('login-password').value = '';
      $('login-error').hidden = true;
      await startApp(me);
    } catch (e) {
      $('login-error').hidden = false;
      $('login-error').textContent = e.status === 429
        ? 'Too many attempts — wait a minute. (' + e.message + ')'
        : e.message;
      $('login-password').select();
    } finally {
      $('login-submit').disabled = false;
    }
  });

  $('btn-logout').addEventListener('click', async () => {
    try { await api('POST', '/api/logout', {}); } catch (e) { /* shown by the login anyway */ }
    S.me = null;
    stopStream();
    S.alarms.clear();
    closeDetail();
    closeSignals();
    if (S.account) S.account.close();
    showLogin('Signed out.');
  });

  // ------------------------------------------------------------ the queue: data
  // The queue order is the alarm engine's (alm_queue_rank, include/vigil/alarm.h):
  // by priority, and within a priority a registered account's alarm before one
  // raised by an unknown account's signals; then oldest first, then id.
  function queueRank(a) {
    return (a.priority | 0) * 2 + (a.kind === 'unknown_account' ? 1 : 0);
  }
  function cmpAlarm(a, b) {
    return (queueRank(a) - queueRank(b)) ||
      ((a.test ? 1 : 0) - (b.test ? 1 : 0)) ||   // an account on test: after the real ones
      (tms(a.received_at) - tms(b.received_at)) ||
      (a.id - b.id);
  }

  function upsert(a, fromStream) {
    if (!a || a.id === undefined || a.id === null) return;
    const old = S.alarms.get(a.id);
    if (old && old.change != null && a.change != null && a.change < old.change) return;
    if (a.state === 'closed') {
      S.alarms.delete(a.id);
    } else {
      S.alarms.set(a.id, a);
      if (fromStream && a.priority === 1 && !a.test && !old && !S.seenP1.has(a.id)) {
        S.seenP1.add(a.id);
        playP1();
      }
    }
    if (a.id === S.openId) refreshDetailSoon(a);
  }

  async function loadAlarms() {
    const gen = ++S.listGen;
    S.esBuffer = [];
    let list;
    try {
      list = await api('GET', '/api/alarms');
    } catch (e) {
      S.esBuffer = null;
      if (e.status !== 401) setLive(false, 'queue not loaded: ' + e.message);
      return;
    }
    if (gen !== S.listGen) return;
    const buffered = S.esBuffer || [];
    S.esBuffer = null;
    const fresh = new Map();
    for (const a of list || []) fresh.set(a.id, a);
    const hadAny = S.alarms.size > 0 || S.seenP1.size > 0;
    S.alarms = fresh;
    for (const a of fresh.values()) {
      if (a.priority === 1 && !S.seenP1.has(a.id)) {
        S.seenP1.add(a.id);
        if (hadAny) playP1();       // a P1 that arrived while the feed was down
      }
    }
    // Changes that arrived while the list was in flight: newer ones win.
    for (const a of buffered) upsert(a, true);
    if (S.openId != null && !S.alarms.has(S.openId)) refreshDetailSoon(null);
    renderQueue();
  }

  // ------------------------------------------------------------ the queue: live
  function setLive(on, why) {
    S.live = on;
    const el = $('live');
    if (on) {
      S.liveLostAt = null;
      el.className = 'live live-on';
      el.textContent = '● live';
      el.title = 'live feed of the queue';
    } else {
      if (!S.liveLostAt) S.liveLostAt = now();
      el.className = 'live live-off';
      el.textContent = '● LIVE FEED LOST — reconnecting';
      el.title = why || '';
    }
  }

  function startStream() {
    stopStream();
    const es = new EventSource('/api/alarms/stream');
    S.es = es;
    es.addEventListener('open', () => {
      const wasDown = !S.live;
      setLive(true);
      // The stream starts at the present: changes during the gap come from the list.
      if (wasDown && S.me) loadAlarms();
    });
    es.addEventListener('alarm', (ev) => {
      let a;
      try { a = JSON.parse(ev.data); } catch (e) { return; }
      if (a && a.kind === 'unknown_account' && !S.alarms.has(a.id)) signalsSoon();
      if (S.esBuffer) { S.esBuffer.push(a); return; }
      upsert(a, true);
      renderQueue();
    });
    es.addEventListener('reset', () => { loadAlarms(); });
    es.addEventListener('error', () => {
      if (S.es !== es) return;
      setLive(false, 'stream error');
      if (es.readyState === EventSource.CLOSED) {
        // Refused (401, 503 ...): find out whether the session is still there.
        S.es = null;
        setTimeout(async () => {
          if (!S.me) return;
          try {
            await api('GET', '/api/session');
            if (S.me && !S.es) startStream();
          } catch (e) {
            if (e.status !== 401 && S.me) setTimeout(() => { if (S.me && !S.es) startStream(); }, 3000);
          }
        }, 1000);
      }
    });
  }

  function stopStream() {
    if (S.es) { S.es.close(); S.es = null; }
    S.live = false;
  }

  // ------------------------------------------------------------ the queue: view
  const rowEls = new Map();   // id -> {tr, cells}

  function makeRow(id) {
    const c = {
      pri: h('td', { class: 'c-pri' }),
      kind: h('td', { class: 'c-kind' }),
      acct: h('td', { class: 'c-acct' }),
      age: h('td', { class: 'c-age' }),
      state: h('td', { class: 'c-state' }),
      plan: h('td', { class: 'c-plan' }),
    };
    const tr = h('tr', { 'data-testid': 'queue-row', 'data-alarm-id': id, tabindex: '-1' },
      c.pri, c.kind, c.acct, c.age, c.state, c.plan);
    tr.addEventListener('click', () => { select(id); openAlarm(id); });
    return { tr, c, sig: '' };
  }

  function fillRow(r, a) {
    const sig = JSON.stringify([a.priority, a.kind, a.test, acctNo(a), a.account_name, a.state,
      a.taken_by, a.police_status, a.steps_done, a.steps_total, a.dispatch_status,
      a.escalated, a.restored, S.me && S.me.name]);
    if (sig !== r.sig) {
      r.sig = sig;
      const tr = r.tr;
      tr.dataset.priority = a.priority;
      tr.dataset.kind = a.kind;
      tr.dataset.state = a.state;
      put(r.c.pri, h('span', { class: 'pri pri-' + a.priority, text: 'P' + a.priority }));
      put(r.c.kind,
        h('span', { class: 'kind', text: kindLabel(a.kind) }),
        testTag(a),   // on its own line (CSS): the narrow Kind column never cuts it
        a.restored ? h('span', { class: 'tag tag-restored', text: 'restored' }) : null);
      tr.classList.toggle('is-test', !!a.test);
      // the police status goes before the name: a long name may be cut, never the status
      put(r.c.acct, h('div', { class: 'acct-cell' },
        h('span', { class: 'acct-no', text: acctNo(a) }),
        a.police_status && a.police_status !== 'normal'
          ? h('span', { class: 'tag police police-' + a.police_status, text: 'police ' + a.police_status })
          : null,
        h('span', { class: 'acct-name', text: a.account_name || '' })));
      // "taken" is said by "held by NAME"; other states keep their word.
      const stateKids = [];
      if (!(a.state === 'taken' && a.taken_by)) stateKids.push(h('span', { class: 'state state-' + a.state, text: a.state }));
      if (a.taken_by) {
        const mine = S.me && a.taken_by === S.me.name;
        stateKids.push(h('span', { class: 'held' + (mine ? ' held-mine' : ''), text: 'held by ' + a.taken_by }));
      }
      if (a.dispatch_status) stateKids.push(h('span', { class: 'tag tag-psap', text: 'PSAP ' + a.dispatch_status }));
      put(r.c.state, ...stateKids);
      const total = a.steps_total || 0, done = a.steps_done || 0;
      put(r.c.plan, total
        ? h('span', { class: 'plan' + (done >= total ? ' plan-done' : '') },
          h('span', { class: 'plan-bar' }, h('span', { class: 'plan-fill', style: 'width:' + Math.round(100 * done / total) + '%' })),
          h('span', { class: 'plan-num', text: done + '/' + total }))
        : '');
      tr.classList.toggle('p1', a.priority === 1);
      tr.classList.toggle('untaken', !a.taken_by);
      tr.classList.toggle('escalated', a.state === 'escalated');
    }
    tickRow(r, a);
  }

  function tickRow(r, a) {
    const cls = ageClass(a);
    const tr = r.tr;
    if (!tr.classList.contains(cls)) {
      tr.classList.remove('age-ok', 'age-warn', 'age-danger');
      tr.classList.add(cls);
    }
    const txt = fmtAge(now() - tms(a.received_at));
    if (r.c.age.textContent !== txt) r.c.age.textContent = txt;
  }

  function renderQueue() {
    // A selection resting on the top row, with nothing open, stays on the top row:
    // a new priority 1 arriving is then one Enter (or t) away.
    const followTop = S.openId == null && (S.selected == null || S.selected === S.order[0]);
    const list = [...S.alarms.values()].sort(cmpAlarm);
    S.order = list.map((a) => a.id);
    const tbody = $('queue');
    const keep = new Set(S.order);
    for (const [id, r] of rowEls) {
      if (!keep.has(id)) { r.tr.remove(); rowEls.delete(id); }
    }
    let prev = null;
    for (const a of list) {
      let r = rowEls.get(a.id);
      if (!r) { r = makeRow(a.id); rowEls.set(a.id, r); }
      fillRow(r, a);
      const want = prev ? prev.nextSibling : tbody.firstChild;
      if (want !== r.tr) tbody.insertBefore(r.tr, want);
      prev = r.tr;
    }
    if (followTop && S.order.length) S.selected = S.order[0];
    if (S.selected != null && !S.alarms.has(S.selected)) {
      S.selected = S.order.length ? S.order[0] : null;
    }
    if (S.selected == null && S.order.length) S.selected = S.order[0];
    for (const [id, r] of rowEls) {
      r.tr.classList.toggle('selected', id === S.selected);
      r.tr.classList.toggle('opened', id === S.openId);
    }
    $('queue-empty').hidden = S.order.length > 0;
    renderCounts();
    renderBanners();
  }

  function renderCounts() {
    const n = [0, 0, 0, 0, 0, 0];
    let untaken = 0;
    for (const a of S.alarms.values()) {
      const p = Math.min(Math.max(a.priority | 0, 1), 5);
      n[p]++;
      if (!a.taken_by) untaken++;
    }
    const el = $('counts');
    const kids = [];
    for (let p = 1; p <= 5; p++) {
      kids.push(h('span', { class: 'count count-p' + p + (n[p] ? ' count-some' : ''),
        'data-priority': p, title: 'priority ' + p },
        h('span', { class: 'count-label', text: 'P' + p }), h('b', { text: n[p] })));
    }
    kids.push(h('span', { class: 'count count-total' },
      h('span', { class: 'count-label', text: 'open' }), h('b', { text: S.alarms.size })));
    kids.push(h('span', { class: 'count count-untaken' + (untaken ? ' count-some' : '') },
      h('span', { class: 'count-label', text: 'untaken' }), h('b', { text: untaken })));
    put(el, ...kids);
  }

  // An escalated, untaken priority-1 alarm: a banner for everyone.
  function renderBanners() {
    const box = $('banners');
    const esc = [...S.alarms.values()]
      .filter((a) => a.escalated && a.state === 'escalated')
      .sort(cmpAlarm);
    const have = new Map();
    for (const el of box.children) have.set(Number(el.dataset.alarmId), el);
    for (const [id, el] of have) if (!esc.some((a) => a.id === id)) el.remove();
    for (const a of esc) {
      let el = have.get(a.id);
      if (!el) {
        el = h('div', { class: 'banner banner-escalated', 'data-testid': 'banner-escalated',
          'data-alarm-id': a.id, role: 'alert',
          onclick: () => { select(a.id); openAlarm(a.id); } });
        box.append(el);
      }
      const what = a.kind === 'duress' ? 'DURESS' : a.kind === 'holdup' ? 'HOLD-UP' : 'priority-1';
      const txt = what + ' alarm ' + a.id + ' — ' + acctNo(a) + (a.account_name ? ' ' + a.account_name : '') +
        ' — untaken for ' + Math.floor((now() - tms(a.received_at)) / 1000) +
        's — supervisors alerted. Take it: select and press t.';
      if (el.textContent !== txt) el.textContent = txt;
    }
    document.body.classList.toggle('has-banner', esc.length > 0);
  }

  // ------------------------------------------------------------ selection
  function select(id) {
    S.selected = id;
    for (const [rid, r] of rowEls) r.tr.classList.toggle('selected', rid === id);
    const r = rowEls.get(id);
    if (r) r.tr.scrollIntoView({ block: 'nearest' });
  }

  function moveSelection(delta) {
    if (!S.order.length) return;
    let i = S.order.indexOf(S.selected);
    if (i < 0) i = 0; else i = Math.min(S.order.length - 1, Math.max(0, i + delta));
    select(S.order[i]);
  }

  // ------------------------------------------------------------ detail
  function closeDetail() {
    document.body.classList.add('no-detail');
    S.openId = null;
    S.detail = null;
    S.detailSeq++;
    $('detail-body').hidden = true;
    $('detail-empty').hidden = false;
    for (const [, r] of rowEls) r.tr.classList.remove('opened');
  }

  function resetForms() {
    $('passcode-input').value = '';
    $('passcode-result').hidden = true;
    $('passcode-result').textContent = '';
    S.passcodeFor = null;
    $('dispatch-details').value = '';
    $('psap-event-number').value = '';
    $('psap-disposition').value = '';
    $('close-disposition').value = '';
    $('close-note').value = '';
    $('close-override').checked = false;
    $('step-note').value = '';
    showError(null);
  }

  async function openAlarm(id) {
    if (S.sig.open) closeSignals();
    if (S.account && S.account.open) S.account.close();
    if (S.openId !== id) {
      document.body.classList.remove('no-detail');
      S.openId = id;
      S.detail = null;
      resetForms();
      const a = S.alarms.get(id);
      if (a) renderDetailHead(a);
      $('detail-empty').hidden = true;
      $('detail-body').hidden = false;
      $('detail-body').classList.add('loading');
    }
    for (const [rid, r] of rowEls) r.tr.classList.toggle('opened', rid === id);
    await fetchDetail(id);
  }

  async function fetchDetail(id) {
    const seq = ++S.detailSeq;
    try {
      const d = await api('GET', '/api/alarms/' + encodeURIComponent(id));
      if (seq !== S.detailSeq || S.openId !== id) return;
      renderDetail(d);
    } catch (e) {
      if (seq !== S.detailSeq || S.openId !== id) return;
      if (e.status !== 401) showError(e.message);
    }
  }

  let refreshTimer = null;
  function refreshDetailSoon(a) {
    if (S.openId == null) return;
    if (a && S.detail && S.detail.change != null && a.change != null && a.change <= S.detail.change) return;
    clearTimeout(refreshTimer);
    const id = S.openId;
    refreshTimer = setTimeout(() => { if (S.openId === id) fetchDetail(id); }, 80);
  }

  function showError(msg) {
    const el = $('error');
    el.hidden = !msg;
    el.textContent = msg || '';
  }

  function renderDetailHead(a) {
    const pri = $('d-pri');
    pri.className = 'pri pri-' + a.priority;
    pri.textContent = 'P' + a.priority;
    put($('d-kind'), testTag(a), kindLabel(a.kind));
    $('d-id').textContent = 'alarm ' + a.id + ' · ' + acctNo(a) + (a.account_name ? ' ' + a.account_name : '');
    const st = $('d-state');
    st.className = 'state state-' + a.state;
    st.textContent = a.state + (a.state === 'closed' && a.disposition
      ? ' — ' + (DISPOSITION_LABEL[a.disposition] || a.disposition) : '');
    const mine = S.me && a.taken_by === S.me.name;
    const tb = $('detail-taken-by');
    tb.textContent = a.taken_by ? 'held by ' + a.taken_by + (mine ? ' (you)' : '') : 'not taken';
    tb.className = 'd-taken' + (a.taken_by ? (mine ? ' held-mine' : ' held-other') : ' free');
    $('detail-body').classList.toggle('p1', a.priority === 1);
    $('detail-body').dataset.alarmId = a.id;
    $('detail-body').dataset.state = a.state;
    const closed = a.state === 'closed';
    $('btn-take').disabled = closed || mine;
    $('btn-takeover').hidden = !(isSupervisor() && a.taken_by && !mine && !closed);
    $('btn-release').disabled = closed || !a.taken_by || (!mine && !isSupervisor());
    tickDetail(a);
  }

  function tickDetail(a) {
    const el = $('d-age');
    el.textContent = 'age ' + fmtAge(now() - tms(a.received_at));
    el.className = 'age ' + ageClass(a);
  }

  function field(label, value, cls) {
    if (value === null || value === undefined || value === '') return null;
    return h('div', { class: 'kv' + (cls ? ' ' + cls : '') },
      h('span', { class: 'k', text: label }), h('span', { class: 'v', text: String(value) }));
  }

  // The premises' standing with its police agency, shown before dispatch
  // (docs/console.md, agency_standing): count in the window, caution,
  // suspension, permit, whether police answer this kind, what the next false
  // dispatch costs, a warning before each threshold; then this alarm's
  // invoice line once the police found it false.
  function renderStanding(d) {
    const s = d.agency_standing, ch = d.charge, kids = [];
    if (!s) {
      kids.push(h('p', { class: 'muted', text: 'No police agency rules for these premises.' }));
    } else if (!s.rules) {
      kids.push(h('p', { class: 'muted', text: 'Agency ' + ((s.agency && s.agency.id) || '?') + ': ' + (s.note || 'no rules') }));
    } else {
      const bad = [];
      if (s.suspended) bad.push('police response SUSPENDED' + (s.suspended_until ? ' until ' + fmtTime(s.suspended_until) : ''));
      if (s.permit_missing) bad.push('alarm permit MISSING');
      if (s.permit_expired) bad.push('alarm permit EXPIRED');
      if (s.permit_revoked) bad.push('alarm permit REVOKED');
      if (s.cautioned) bad.push('CAUTIONED');
      if (bad.length) kids.push(h('div', { class: 'police-alert police-' + (s.respond ? 'cautioned' : 'suspended'), 'data-testid': 'standing-alert', text: bad.join(' · ') }));
      if (!s.respond) kids.push(h('div', { class: 'police-alert police-suspended', text: s.agency.name + ' will not respond to this alarm kind: call 911 as a person-under-threat call if anyone is at risk' }));
      else if (s.exempt && bad.length) kids.push(h('p', { class: 'muted', text: d.kind + ' is exempt: the police still respond' }));
      if (s.verification_required) kids.push(h('p', { class: 'standing-verify', text: s.agency.name + ' needs verification before it responds to a ' + d.kind + ' alarm' }));
      kids.push(field('Agency', s.agency.name + ' (' + s.agency.id + ')'));
      kids.push(field('False dispatches', s.count + ' in the window (' + s.window.type.replace('_', ' ') + ', ' + s.window.days + ' days)'));
      const nf = s.next_false;
      if (nf) kids.push(h('div', { class: 'kv kv-next-fee', 'data-testid': 'next-false-fee' },
        h('span', { class: 'k', text: 'Next false dispatch' }),
        h('span', { class: 'v', text: nf.total + ' ' + nf.currency + (nf.billed === 'user' ? ' (agency ' + nf.agency_fee + ' billed to the user)' : '') + ' — ' + nf.rule })));
      for (const w of s.warnings || []) kids.push(h('div', { class: 'standing-warning', 'data-testid': 'standing-warning', text: '⚠ ' + w }));
      kids.push(h('div', { class: 'k', text: 'Billed false dispatches of the account' }));
      kids.push(h('ul', { id: 'd-false-list', class: 'false-list', 'data-testid': 'false-dispatches' }));
      loadFalseDispatches(d);
    }
    if (ch) kids.push(h('div', { class: 'kv kv-charge', 'data-testid': 'charge' },
      h('span', { class: 'k', text: 'Invoice line' }),
      h('span', { class: 'v', text: fmtCents(ch.total_cents) + ' ' + ch.currency + ' — ' + ch.rule })));
    put($('d-standing'), ...kids.filter(Boolean));
  }

  // The account's invoice lines (GET /api/accounts/{n}: false_dispatches), under its standing.
  async function loadFalseDispatches(d) {
    const no = acctNo(d), id = d.id;
    if (!isNumber(no)) return;
    let a;
    try { a = await api('GET', '/api/accounts/' + encodeURIComponent(no)); } catch (e) { return; }
    const box = $('d-false-list');
    if (S.openId !== id || !box) return;
    const list = (a && a.false_dispatches) || [];
    put(box, ...list.slice(0, 10).map((f) => h('li', null,
      h('span', { class: 'h-at', text: fmtTime(f.at) }),
      h('span', { text: 'alarm ' + f.alarm + ' · ' + f.kind + ' · ' + (f.finding === 'cancelled' ? 'cancelled after acceptance' : 'false') +
        ' · ' + fmtCents(f.total_cents) + ' ' + (f.currency || '') + (f.forgiven ? ' (forgiven)' : '') }))));
    if (!list.length) box.append(h('li', { class: 'muted', text: 'no false dispatches billed' }));
  }

  function fmtCents(c) {
    const n = Math.abs(c | 0), whole = Math.floor(n / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return (c < 0 ? '-' : '') + '$' + whole + '.' + String(n % 100).padStart(2, '0');
  }

  function renderDetail(d) {
    S.detail = d;
    $('detail-body').classList.remove('loading');
    renderDetailHead(d);
    const closed = d.state === 'closed';
    const mine = S.me && d.taken_by === S.me.name;

    // Account
    const ac = d.account || {};
    const ps = ac.police_status || d.police_status;
    put($('d-account'), 
      h('button', { type: 'button', class: 'acct-title acct-title-link', 'data-testid': 'account-link',
        title: 'the account page: standing with the agency, invoice lines, alarms (key a)',
        onclick: () => { if (S.account) S.account.openView(ac.number || acctNo(d)); } },
        h('span', { class: 'acct-no', text: ac.number || acctNo(d) }),
        h('span', { class: 'acct-name-big', text: ac.name || d.account_name || '' }),
        h('span', { class: 'acct-page-hint' }, h('kbd', { text: 'a' }), ' account page')),
      ps && ps !== 'normal'
        ? h('div', { class: 'police-alert police-' + ps, text: 'Police response ' + ps.toUpperCase() + ' for these premises' })
        : null,
      field('Address', ac.address, 'kv-address'),
      field('Location', ac.location),
      ac.phone
        ? field('Phone', ac.phone)
        : field('Phone', ac.phone_withheld || (ac.phone === null ? 'withheld' : null), 'kv-withheld'),
      field('Police', ps),
      field('Agency', ac.agency),
      field('Permit', ac.permit),
      field('Zone / user', [d.partition != null ? 'partition ' + d.partition : null,
        d.zone != null ? 'zone ' + d.zone : null, d.user != null ? 'user ' + d.user : null]
        .filter(Boolean).join(' · ')),
      field('Received', fmtTime(d.received_at) + (d.event_count > 1 ? ' · ' + d.event_count + ' events' : '')),
      d.detail ? field('Detail', d.detail) : null);

    // Plan
    $('d-plan-name').textContent = d.plan ? '(' + d.plan + ')' : '';
    const steps = d.steps || [];
    put($('d-steps'), ...steps.map((s) => {
      const isDispatch = s.id === 'dispatch' && !s.done;
      const box = isDispatch
        ? h('button', { type: 'button', class: 'step-btn', 'data-testid': 'step-' + s.id,
          'data-step': s.id, disabled: closed || !mine,
          title: 'the dispatch step is ticked by dispatching',
          onclick: () => doDispatch() }, 'Dispatch')
        : h('input', { type: 'checkbox', 'data-testid': 'step-' + s.id, 'data-step': s.id,
          checked: !!s.done, disabled: !!s.done || closed || !mine,
          onchange: (ev) => { const cb = ev.target; cb.disabled = true; tickStep(s.id).then((ok) => { if (!ok && cb.isConnected) { cb.checked = false; cb.disabled = false; } }); } });
      return h('li', { class: 'step' + (s.done ? ' step-done' : '') + (s.mandatory ? ' step-mandatory' : ''),
        'data-step': s.id },
        h('label', null, box,
          h('span', { class: 'step-text', text: s.text }),
          s.mandatory ? h('span', { class: 'tag tag-mandatory', text: 'required' }) : null),
        s.done
          ? h('div', { class: 'step-meta', text: '✓ ' + (s.done_by || '') + ' ' + fmtTime(s.done_at) + (s.note ? ' — ' + s.note : '') })
          : null);
    }));
    if (!steps.length) $('d-steps').append(h('li', { class: 'muted', text: 'no plan steps' }));

    renderTestNotice(d);

    // Dispatch
    const dr = d.dispatch;
    const dbox = [];
    if (dr) {
      const g = (k) => dr[k];
      dbox.push(h('div', { class: 'psap-now' },
        h('span', { class: 'k', text: 'PSAP status' }),
        h('span', { class: 'psap-badge psap-' + (g('PsapStatus') || 'requested'),
          'data-testid': 'psap-current', text: g('PsapStatus') || 'requested' })));
      dbox.push(field('Event no.', g('PsapEventNumber')));
      dbox.push(field('Category', [g('AlarmEventCategory'), g('AlarmAudibleDescriptionCode')].filter(Boolean).join(' · ')));
      dbox.push(field('Requested', fmtTime(g('DispatchRequestedDate'))));
      dbox.push(field('Accepted', fmtTime(g('PsapAcceptedDate'))));
      dbox.push(field('Rejected', g('PsapRejectReason')));
      dbox.push(field('Dispatched', fmtTime(g('PsapDispatchedDate'))));
      dbox.push(field('Arrived', fmtTime(g('PsapArrivedDate'))));
      dbox.push(field('Closed', fmtTime(g('PsapClosedDate')) + (g('PsapDisposition') ? ' — ' + g('PsapDisposition') : '')));
      dbox.push(field('Cancel requested', fmtTime(g('CancelRequestedDate'))));
      dbox.push(field('Agency', g('AlarmEventDispatchAgency')));
      dbox.push(h('div', { class: 'links' },
        h('a', { href: '/api/alarms/' + d.id + '/dispatch.json', target: '_blank', rel: 'noopener', text: 'record (JSON)' }),
        ' · ',
        h('a', { href: '/api/alarms/' + d.id + '/dispatch.xml', target: '_blank', rel: 'noopener', text: 'record (XML)' })));
    } else {
      dbox.push(h('p', { class: 'muted', text: 'No dispatch yet.' }));
    }
    put($('d-dispatch'), ...dbox.filter(Boolean));
    renderStanding(d);
    const canDispatch = !closed && mine && (!dr || dr.PsapStatus === 'rejected');
    $('btn-dispatch').disabled = !canDispatch;
    $('dispatch-details').disabled = !canDispatch;
    const psapOk = !closed && mine && !!dr;
    for (const id of ['psap-status', 'psap-event-number', 'psap-reason', 'psap-disposition', 'psap-finding', 'psap-submit']) $(id).disabled = !psapOk;
    if (dr && psapOk && !S.psapTouched) suggestPsap(dr.PsapStatus);

    // Passcode
    $('passcode-input').disabled = closed || !mine;
    $('passcode-submit').disabled = closed || !mine;

    // Call list
    const calls = d.call_list || [];
    put($('d-calls'), ...calls.map((c) => h('li', null,
      h('span', { class: 'call-pos', text: c.position }),
      h('span', { class: 'call-name', text: c.name }),
      h('span', { class: 'call-phone', text: c.phone }),
      c.relation ? h('span', { class: 'muted', text: c.relation }) : null)));
    if (!calls.length) $('d-calls').append(h('li', { class: 'muted', text: 'no contacts' }));

    // Close
    $('close-override-wrap').hidden = !isSupervisor();
    for (const id of ['close-disposition', 'close-note', 'close-override', 'btn-close']) $(id).disabled = closed || !mine;
    const mo = d.mandatory_open || [];
    $('btn-close').title = mo.length ? 'required steps still open: ' + mo.join(', ') : '';

    // History
    const hist = d.history || [];
    put($('d-history'), ...hist.map((x) => h('li', null,
      h('span', { class: 'h-at', text: fmtTime(x.at) }),
      h('span', { class: 'h-op', text: x.operator || 'station' }),
      h('span', { class: 'h-act', text: x.action }),
      x.detail ? h('span', { class: 'h-detail', text: typeof x.detail === 'string' ? x.detail : JSON.stringify(x.detail) }) : null)));

    // Events
    const evs = d.events || [];
    put($('d-events'), ...evs.slice(0, 50).map((e) => {
      let what = '';
      if (e.cid) what = 'CID ' + e.cid.qualifier + ' ' + String(e.cid.event).padStart(3, '0') + ' p' + e.cid.partition + ' z' + e.cid.zone + (e.cid.description ? ' ' + e.cid.description : '');
      else if (e.sia) what = 'SIA ' + e.sia.code + (e.sia.zone != null ? ' z' + e.sia.zone : '') + (e.sia.text ? ' ' + e.sia.text : '');
      else what = e.kind || '';
      return h('li', null, h('span', { class: 'h-at', text: fmtTime(e.received_at) }), h('span', { text: what }));
    }));
    renderDispute(d);
  }

  // ------------------------------------------------------------ dispute packet (issue 14)
  // A box of its own after History, made here (index.html untouched): the
  // printable packet opens in a new tab, its JSON (with the audit proof)
  // downloads. Each is an alarm.dispute entry in the audit trail.
  function renderDispute(d) {
    let box = $('d-dispute');
    if (!box) {
      const hist = document.querySelector('.box-history');
      if (!hist) return;
      box = h('section', { class: 'box box-dispute', id: 'd-dispute', 'data-testid': 'dispute-box' });
      hist.after(box);
    }
    const base = '/api/alarms/' + encodeURIComponent(d.id) + '/dispute.';
    put(box,
      h('h2', { text: 'Dispute packet' }),
      h('p', { class: 'muted', text: 'For a disputed false-dispatch fee: the customer, signals, verification attempts, dispatch record, finding, invoice line, operator actions and the audit proof, in one printable page.' }),
      h('div', { class: 'links' },
        h('a', { href: base + 'html', target: '_blank', rel: 'noopener', class: 'btn-dispute',
          'data-testid': 'btn-dispute', text: 'Dispute packet' }),
        ' · ',
        h('a', { href: base + 'json', download: 'dispute-' + d.id + '.json',
          'data-testid': 'dispute-json', text: 'packet data (JSON, with the audit proof)' })),
      d.state !== 'closed'
        ? h('p', { class: 'muted', text: 'The alarm is still open: the packet shows it as it is now.' })
        : null);
  }

  // ------------------------------------------------------------ actions
  async function act(path, body, what) {
    const id = S.openId;
    if (id == null) return null;
    showError(null);
    try {
      const d = await api('POST', '/api/alarms/' + encodeURIComponent(id) + '/' + path, body || {});
      if (S.openId === id && d && d.id !== undefined) {
        S.detailSeq++;
        renderDetail(d);
        const { account, steps, call_list, dispatch, history, events, result, advice,
          agency_standing, charge, ...listObj } = d;
        listObj.account = acctNo(d);
        upsert(listObj, false);
        renderQueue();
      }
      return d;
    } catch (e) {
      if (e.status !== 401 && S.openId === id) showError((what ? what + ': ' : '') + e.message);
      return null;
    }
  }

  function takeAlarm(force) { return act('take', { force: !!force }, force ? 'Take over' : 'Take'); }
  function releaseAlarm() { return act('release', {}, 'Release'); }

  function tickStep(stepId) {
    const note = $('step-note').value.trim();
    const body = { step: stepId };
    if (note) body.note = note;
    return act('step', body, 'Step').then((d) => { if (d) $('step-note').value = ''; return !!d; });
  }

  function tickNext() {
    if (!S.detail) return;
    // An optional dispatch step is passed over (dispatching is its own decision: d).
    const next = (S.detail.steps || []).find((s) => !s.done && (s.id !== 'dispatch' || s.mandatory));
    if (!next) { showError('Every step of the plan is done.'); return; }
    if (next.id === 'dispatch') { focusDispatch(); return; }
    tickStep(next.id);
  }

  function focusDispatch() {
    const el = $('dispatch-details');
    el.scrollIntoView({ block: 'nearest' });
    if (!el.disabled) el.focus();
    else showError('Dispatch: take the alarm first (t).');
  }

  async function doDispatch() {
    const details = $('dispatch-details').value.trim();
    const d = await act('dispatch', details ? { details } : {}, 'Dispatch');
    if (d) { $('dispatch-details').value = ''; $('dispatch-details').blur(); S.psapTouched = false; }
  }

  // After the dispatch record moves on, the PSAP select proposes the next status.
  function suggestPsap(cur) {
    const next = { requested: 'accepted', undefined: 'accepted', null: 'accepted', rejected: 'accepted',
      accepted: 'dispatched', dispatched: 'arrived', arrived: 'closed', closed: 'closed',
      cancel_requested: 'arrived' }[cur];
    if (next) $('psap-status').value = next;
    syncPsapFields();
  }

  function syncPsapFields() {
    const s = $('psap-status').value;
    $('psap-event-wrap').hidden = s !== 'accepted';
    $('psap-reason-wrap').hidden = s !== 'rejected';
    $('psap-disp-wrap').hidden = s !== 'closed';
    $('psap-finding-wrap').hidden = s !== 'closed';
  }
  $('psap-status').addEventListener('change', () => { S.psapTouched = true; syncPsapFields(); });

  async function submitPsap() {
    const status = $('psap-status').value;
    const body = { status };
    if (status === 'accepted') body.event_number = $('psap-event-number').value.trim();
    if (status === 'rejected') body.reason = $('psap-reason').value;
    if (status === 'closed' && $('psap-disposition').value.trim()) body.disposition = $('psap-disposition').value.trim();
    if (status === 'closed' && $('psap-finding').value) body.finding = $('psap-finding').value;
    const d = await act('psap', body, 'PSAP ' + status);
    if (d) {
      $('psap-event-number').value = '';
      $('psap-disposition').value = '';
      $('psap-finding').value = '';
      S.psapTouched = false;
      if (d.dispatch) suggestPsap(d.dispatch.PsapStatus);
    }
  }

  async function checkPasscode() {
    const input = $('passcode-input');
    const passcode = input.value;
    if (!passcode) { input.focus(); return; }
    const id = S.openId;
    const d = await act('passcode', { passcode }, 'Passcode');
    input.value = '';            // what the caller said is not kept anywhere
    if (!d || S.openId !== id) return;
    const box = $('passcode-result');
    const r = d.result;
    const text = {
      normal: 'normal passcode',
      duress: 'DURESS passcode — thank them, hang up, dispatch',
      no_match: 'no match',
    }[r] || String(r);
    const advice = d.advice && d.advice.trim() && !text.toLowerCase().includes(d.advice.trim().toLowerCase())
      ? d.advice : null;
    put(box, h('div', { class: 'pc-main', text }), advice ? h('div', { class: 'pc-advice', text: advice }) : null);
    box.className = 'passcode-result pc-' + r;
    box.dataset.result = r;
    box.hidden = false;
    S.passcodeFor = id;
  }

  async function closeAlarm() {
    const disposition = $('close-disposition').value;
    const body = {};
    if (disposition) body.disposition = disposition;
    if (isSupervisor() && $('close-override').checked) body.override = true;
    const note = $('close-note').value.trim();
    if (note) body.note = note;
    await act('close', body, 'Close');
  }

  $('btn-take').addEventListener('click', () => takeAlarm(false));
  $('btn-takeover').addEventListener('click', () => takeAlarm(true));
  $('btn-release').addEventListener('click', releaseAlarm);
  $('btn-dispatch').addEventListener('click', doDispatch);
  $('psap-submit').addEventListener('click', submitPsap);
  $('passcode-submit').addEventListener('click', checkPasscode);
  $('btn-close').addEventListener('click', closeAlarm);
  $('passcode-input').addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); checkPasscode(); } });
  $('dispatch-details').addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); doDispatch(); } });
  $('psap-event-number').addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); submitPsap(); } });
  $('step-note').addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); tickNext(); } });

  // ------------------------------------------------------------ signals (refused, grouped by account)
  const SIG_SINCE = '7d';
  const REASON_LABEL = {
    unknown_account: 'unknown account', decrypt_failure: 'cannot decrypt', clear_on_keyed: 'clear on keyed',
    time_reject: 'timestamp out of window', replay: 'replay', throttled: 'throttled',
  };
  const reasonLabel = (r) => REASON_LABEL[r] || String(r || '?').replace(/_/g, ' ');
  const isNumber = (n) => /^[0-9A-F]{3,16}$/.test(n);

  // What the panel said, when it can be read: the data between [ ] after the account.
  function lastMessage(x) {
    const tok = x.id_token || '';
    if (tok.startsWith('*')) return { text: tok + ' (encrypted)', what: null };
    const m = typeof x.raw === 'string' ? /\[([^\]]*)\]/.exec(x.raw) : null;
    const data = m ? m[1].split('|').pop().trim() : '';
    return { text: (tok + ' ' + data).trim(), what: tok.endsWith('CID') ? cidWhat(data) : null };
  }

  // A Contact ID code in words (Q EEE ...), so a refused fire or hold-up stands out.
  function cidWhat(data) {
    const m = /^([136])(\d{3})\b/.exec(data);
    if (!m) return null;
    const e = Number(m[2]);
    const word = e === 121 ? 'duress' : e === 122 ? 'hold-up' : e >= 120 && e < 130 ? 'panic'
      : e >= 100 && e < 110 ? 'medical' : e >= 110 && e < 120 ? 'fire' : e >= 130 && e < 140 ? 'burglary'
      : e >= 140 && e < 170 ? 'alarm' : e >= 300 && e < 400 ? 'trouble' : e >= 400 && e < 500 ? 'open/close'
      : e >= 600 && e < 700 ? 'test' : null;
    if (!word) return null;
    const grave = e >= 100 && e < 140;
    return { word: (m[1] === '3' ? word + ' restore' : word), grave: grave && m[1] === '1' };
  }

  function groupSignals(list) {
    const groups = new Map();
    for (const x of list || []) {
      const no = String(x.account || '').toUpperCase();
      let g = groups.get(no);
      if (!g) {
        g = { account: no, count: 0, unknown: 0, first: null, firstAt: null, last: null, lastAt: null, reasons: new Map(), lastSig: null };
        groups.set(no, g);
      }
      g.count++;
      if (x.reason === 'unknown_account') g.unknown++;
      g.reasons.set(x.reason, (g.reasons.get(x.reason) || 0) + 1);
      const t = tms(x.received_at);
      if (g.first === null || t < g.first) { g.first = t; g.firstAt = x.received_at; }
      if (g.last === null || t >= g.last) { g.last = t; g.lastAt = x.received_at; g.lastSig = x; }
    }
    const rank = (g) => (g.unknown ? (S.sig.known.has(g.account) ? 2 : 0) : 1);
    return [...groups.values()].sort((a, b) => (rank(a) - rank(b)) || (b.last - a.last));
  }

  // An unknown account another supervisor (or `vigil account add`) created meanwhile:
  // its old refusals stay in the list, marked, and leave the badge.
  async function checkKnown(groups) {
    const ask = groups.filter((g) => g.unknown && isNumber(g.account) && !S.sig.known.has(g.account)).slice(0, 50);
    await Promise.all(ask.map(async (g) => {
      try {
        const a = await api('GET', '/api/accounts/' + encodeURIComponent(g.account));
        S.sig.known.set(g.account, (a && a.name) || '');
      } catch (e) { /* 404: still unknown */ }
    }));
  }

  async function loadSignals() {
    if (!S.me) return;
    const gen = ++S.sig.gen;
    let list;
    try {
      list = await api('GET', '/api/signals?since=' + SIG_SINCE);
      await checkKnown(groupSignals(list));
    } catch (e) {
      if (gen !== S.sig.gen || e.status === 401) return;
      S.sig.error = 'Signals not loaded: ' + e.message;
      renderSignals();
      return;
    }
    if (gen !== S.sig.gen || !S.me) return;
    S.sig.list = Array.isArray(list) ? list : [];
    S.sig.error = null;
    S.sig.loadedAt = now();
    renderSignals();
  }

  let signalsSoonTimer = null;
  function signalsSoon() {
    clearTimeout(signalsSoonTimer);
    signalsSoonTimer = setTimeout(loadSignals, 300);
  }
  // the badge is kept current without the view: every 30 s, and on a new unknown-account alarm
  setInterval(() => { if (S.me && !S.sig.open) loadSignals(); }, 30000);

  function renderBadge(groups) {
    const open = groups.filter((g) => g.unknown && !S.sig.known.has(g.account));
    const n = open.reduce((t, g) => t + g.unknown, 0);
    S.sig.unknownSignals = n;
    S.sig.unknownAccounts = open.length;
    const b = $('signals-badge');
    b.hidden = n === 0;
    b.textContent = String(n);
    $('btn-signals').classList.toggle('has-unknown', n > 0);
    $('btn-signals').title = n
      ? n + ' signal' + (n === 1 ? '' : 's') + ' from ' + open.length + ' unknown account' + (open.length === 1 ? '' : 's') + ' — not processed'
      : 'no signal from an unknown account in the last 7 days';
  }

  function renderSignals() {
    const groups = groupSignals(S.sig.list);
    renderBadge(groups);
    const err = $('signals-error');
    err.hidden = !S.sig.error;
    err.textContent = S.sig.error || '';
    $('signals-updated').textContent = S.sig.loadedAt ? 'updated ' + fmtTime(new Date(S.sig.loadedAt).toISOString()) : '';
    const tbody = $('signals-body');
    const keep = new Set(groups.map((g) => g.account));
    for (const [no, r] of S.sig.rows) if (!keep.has(no)) { r.tr.remove(); S.sig.rows.delete(no); }
    const sup = isSupervisor();
    S.sig.ages = [];
    let prev = null;
    for (const g of groups) {
      const known = S.sig.known.has(g.account);
      const sig = JSON.stringify([g.count, g.unknown, g.firstAt, g.lastAt, [...g.reasons], known, S.sig.known.get(g.account), sup,
        g.lastSig && g.lastSig.id]);
      let r = S.sig.rows.get(g.account);
      if (!r) {
        r = { tr: h('tr', { 'data-testid': 'signal-row', 'data-account': g.account }), sig: '', age: null };
        S.sig.rows.set(g.account, r);
      }
      if (r.sig !== sig) {
        r.sig = sig;
        fillSignalRow(r, g, known, sup);
      }
      S.sig.ages.push({ el: r.age, t: g.last });
      const want = prev ? prev.nextSibling : tbody.firstChild;
      if (want !== r.tr) tbody.insertBefore(r.tr, want);
      prev = r.tr;
    }
    $('signals-empty').hidden = groups.length > 0;
    tickSignals();
  }

  function fillSignalRow(r, g, known, sup) {
    const tr = r.tr;
    const unknownNow = g.unknown > 0 && !known;
    tr.className = unknownNow ? 'sig-unknown' : known ? 'sig-known' : 'sig-other';
    tr.dataset.unknown = unknownNow ? '1' : '0';
    const reasons = [...g.reasons].map(([why, n]) => h('span', {
      class: 'tag reason reason-' + why }, reasonLabel(why) + (g.reasons.size > 1 ? ' ×' + n : '')));
    const x = g.lastSig || {};
    const peer = String(x.peer || '').replace(/:\d+$/, '');
    const msg = lastMessage(x);
    r.age = h('span', { class: 'sig-age' });
    let action = null;
    if (known) {
      action = h('span', { class: 'sig-now', text: '✓ now registered' });
    } else if (unknownNow && isNumber(g.account)) {
      action = sup
        ? h('button', { type: 'button', class: 'btn-create', 'data-testid': 'btn-create-account',
          'data-account': g.account, onclick: () => openCreate(g.account) }, 'Create account')
        : h('span', { class: 'muted', text: 'a supervisor can create it' });
    }
    put(tr,
      h('td', { class: 's-acct' },
        h('span', { class: 'acct-no sig-no', text: g.account || '(none)' }),
        known ? h('span', { class: 'acct-name', text: S.sig.known.get(g.account) }) : null),
      h('td', { class: 's-count', text: String(g.count) }),
      h('td', { class: 's-first', text: fmtTime(g.firstAt) }),
      h('td', { class: 's-last' }, h('span', { text: fmtTime(g.lastAt) }), ' ', r.age),
      h('td', { class: 's-reason' }, ...reasons),
      h('td', { class: 's-msg', title: typeof x.raw === 'string' ? x.raw.trim() : '' },
        msg.what ? h('span', { class: 'sig-what' + (msg.what.grave ? ' sig-grave' : ''), text: msg.what.word }) : null,
        h('span', { class: 'sig-msg', text: msg.text }),
        peer ? h('span', { class: 'sig-peer', text: peer }) : null),
      h('td', { class: 's-act' }, action));
  }

  function tickSignals() {
    if (!S.sig.open) return;
    for (const { el, t } of S.sig.ages) {
      if (!el) continue;
      const txt = '(' + fmtAge(now() - t) + ' ago)';
      if (el.textContent !== txt) el.textContent = txt;
    }
  }

  function openSignals() {
    if (!S.me) return;
    if (S.account && S.account.open) S.account.close();
    if (!S.sig.open) {
      S.sig.open = true;
      $('main').hidden = true;
      $('signals-view').hidden = false;
      $('btn-signals').classList.add('active');
      document.body.classList.add('signals-open');
      clearInterval(S.sig.timer);
      S.sig.timer = setInterval(loadSignals, 10000);
    }
    renderSignals();
    loadSignals();
  }

  function closeSignals() {
    if (!S.sig.open) return;
    S.sig.open = false;
    clearInterval(S.sig.timer);
    S.sig.timer = null;
    closeCreate();
    $('account-result').hidden = true;
    $('signals-view').hidden = true;
    $('main').hidden = false;
    $('btn-signals').classList.remove('active');
    document.body.classList.remove('signals-open');
    const r = S.selected != null && rowEls.get(S.selected);
    if (r) r.tr.scrollIntoView({ block: 'nearest' });
  }

  // ---- create an unknown account (supervisor): POST /api/accounts
  function openCreate(number) {
    if (!isSupervisor()) return;
    $('account-number').value = number;
    for (const id of ['account-name', 'account-address', 'account-phone']) $(id).value = '';
    $('account-result').hidden = true;
    $('account-form').hidden = false;
    $('account-submit').disabled = false;
    for (const [no, r] of S.sig.rows) r.tr.classList.toggle('sig-creating', no === number);
    $('account-name').focus();
  }

  function closeCreate() {
    $('account-form').hidden = true;
    for (const [, r] of S.sig.rows) r.tr.classList.remove('sig-creating');
  }

  function showAccountResult(ok, ...kids) {
    const el = $('account-result');
    put(el, ...kids);
    el.className = 'account-result ' + (ok ? 'ar-ok' : 'ar-error');
    el.dataset.ok = ok ? '1' : '0';
    el.hidden = false;
  }

  $('account-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const number = $('account-number').value;
    const name = $('account-name').value.trim();
    if (!name) {
      showAccountResult(false, 'Not created: the name is required.');
      $('account-name').focus();
      return;
    }
    const body = { number, name };
    const address = $('account-address').value.trim();
    const phone = $('account-phone').value.trim();
    if (address) body.address = address;
    if (phone) body.phone = phone;
    $('account-submit').disabled = true;
    try {
      const a = await api('POST', '/api/accounts', body);
      const no = (a && a.number) || number;
      S.sig.known.set(no, (a && a.name) || name);
      closeCreate();
      showAccountResult(true, 'account ' + no + ' created: its signals are now received; an installer sets its key with ',
        h('code', { text: 'vigil account edit' }));
      renderSignals();
      loadSignals();
    } catch (e) {
      if (e.status === 401) return;
      showAccountResult(false, 'Not created: ' + e.message);
    } finally {
      $('account-submit').disabled = false;
    }
  });
  // a refusal shown for the form goes once the supervisor types again
  for (const id of ['account-name', 'account-address', 'account-phone']) {
    $(id).addEventListener('input', () => { if ($('account-result').dataset.ok === '0') $('account-result').hidden = true; });
  }
  $('account-cancel').addEventListener('click', () => { closeCreate(); $('account-result').hidden = true; });
  $('btn-signals').addEventListener('click', () => { if (S.sig.open) closeSignals(); else openSignals(); });
  $('btn-signals-back').addEventListener('click', closeSignals);

  // ------------------------------------------------------------ keyboard
  function typing(el) {
    if (!el) return false;
    const t = el.tagName;
    return t === 'INPUT' && !['checkbox', 'radio', 'button', 'submit'].includes(el.type) ||
      t === 'TEXTAREA' || t === 'SELECT' || el.isContentEditable;
  }

  document.addEventListener('keydown', (ev) => {
    unlockAudio();
    if (!S.me || $('app-view').hidden) return;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const el = document.activeElement;
    if (ev.key === 'Escape') {
      // first Esc leaves a text field; the next one goes back to the queue
      if (typing(el)) { el.blur(); ev.preventDefault(); return; }
      if (el && el !== document.body && el.blur) el.blur();
      if (S.setup && S.setup.open) S.setup.close();
      else if (S.account && S.account.open) S.account.close();
      else if (S.sig.open) closeSignals();
      else if (S.openId != null) { const id = S.openId; closeDetail(); select(id); }
      ev.preventDefault();
      return;
    }
    if (typing(el)) return;
    if (S.setup && S.setup.open) {   // the set-up view (web/setup.js): only its own key
      if (ev.key === 'u') { S.setup.close(); ev.preventDefault(); }
      return;
    }
    if (S.account && S.account.open) {   // the account page (web/account.js): a searches again
      if (ev.key === 'a') { S.account.focusSearch(); ev.preventDefault(); }
      return;
    }
    if (S.sig.open) {
      // the queue's keys do nothing here: the alarms they would act on are out of sight
      if (ev.key === 's') { closeSignals(); ev.preventDefault(); }
      return;
    }
    const withDetail = (fn) => {
      if (S.openId == null && S.selected != null) {
        openAlarm(S.selected).then(fn);
      } else if (S.openId != null) fn();
    };
    switch (ev.key) {
      case 'j': case 'ArrowDown': moveSelection(1); break;
      case 'k': case 'ArrowUp': moveSelection(-1); break;
      case 'Enter':
        if (el && el.tagName === 'BUTTON') return;   // let the button act
        if (S.selected != null) openAlarm(S.selected);
        break;
      case 't': withDetail(() => takeAlarm(false)); break;
      case 'r': withDetail(() => releaseAlarm()); break;
      case 'n': withDetail(() => tickNext()); break;
      case 'p': withDetail(() => { const i = $('passcode-input'); i.scrollIntoView({ block: 'nearest' }); if (!i.disabled) i.focus(); else showError('Passcode: take the alarm first (t).'); }); break;
      case 'd': withDetail(() => focusDispatch()); break;
      case 's': openSignals(); break;
      case 'a':   // the open alarm's account page; with none open, type a number or name
        if (S.account) S.account.openView(S.openId != null ? acctNo(S.detail || S.alarms.get(S.openId) || {}) : null);
        break;
      case 'u': if (S.setup) { if (S.sig.open) closeSignals(); S.setup.openView(); } break;
      case 'c': withDetail(() => { const s = $('close-disposition'); s.scrollIntoView({ block: 'nearest' }); if (!s.disabled) s.focus(); else showError('Close: take the alarm first (t).'); }); break;
      default: return;
    }
    ev.preventDefault();
  });

  // ------------------------------------------------------------ TEST marks (assisted set-up)
  // An alarm raised while its account was on test (docs/console.md, "Set-up sessions"):
  // still in the queue at its priority, marked TEST, plan without a dispatch step.
  function testTag(a) {
    return a && a.test
      ? h('span', { class: 'tag tag-test', 'data-testid': 'tag-test',
        title: 'account on test (set-up or drill): no dispatch step', text: 'TEST' })
      : null;
  }

  function renderTestNotice(d) {
    let n = $('d-test-notice');
    if (!d.test) { if (n) n.remove(); return; }
    if (!n) {
      n = h('div', { id: 'd-test-notice', class: 'test-notice', 'data-testid': 'test-notice' });
      $('d-standing').before(n);
    }
    n.textContent = 'TEST signal: the account was on test (duress set-up or drill). ' +
      'Its plan has no dispatch step; close it with disposition "test". ' +
      'Only a supervisor can still dispatch (if the customer reports a real emergency).';
  }

  // ------------------------------------------------------------ sound (WebAudio, no files)
  let audioCtx = null;
  function unlockAudio() {
    try {
      if (!audioCtx) {
        const AC = window.AudioContext || window.webkitAudioContext;
        if (!AC) return;
        audioCtx = new AC();
      }
      if (audioCtx.state === 'suspended') audioCtx.resume();
    } catch (e) { /* no audio on this machine */ }
    renderSound();
  }
  document.addEventListener('pointerdown', unlockAudio);

  function renderSound() {
    const el = $('sound');
    const ok = audioCtx && audioCtx.state === 'running';
    el.textContent = ok ? '♪ P1 sound on' : '♪ click to enable P1 sound';
    el.className = 'sound ' + (ok ? 'sound-on' : 'sound-off');
  }

  // Priority 1: three rising two-tone chirps, twice — unlike any other sound in the room.
  function playP1() {
    S.p1Sounds++;
    document.body.dataset.p1Sounds = S.p1Sounds;
    S.lastAlarmSound = Date.now();
    if (!audioCtx) return;
    try {
      if (audioCtx.state === 'suspended') audioCtx.resume();
      const t0 = audioCtx.currentTime + 0.02;
      const gain = audioCtx.createGain();
      gain.gain.value = 0.0001;
      gain.connect(audioCtx.destination);
      const osc = audioCtx.createOscillator();
      osc.type = 'square';
      osc.connect(gain);
      const freqs = [740, 988, 1319];
      let t = t0;
      for (let rep = 0; rep < 2; rep++) {
        for (const f of freqs) {
          osc.frequency.setValueAtTime(f, t);
          gain.gain.setValueAtTime(0.0001, t);
          gain.gain.exponentialRampToValueAtTime(0.18, t + 0.015);
          gain.gain.setValueAtTime(0.18, t + 0.11);
          gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.13);
          t += 0.16;
        }
        t += 0.25;
      }
      osc.start(t0);
      osc.stop(t + 0.05);
    } catch (e) { /* sound is a help, never a requirement */ }
  }

  // ------------------------------------------------------------ the second tick
  function tick() {
    const t = new Date(now());
    $('clock').textContent = t.toLocaleTimeString('en-GB', { hour12: false });
    for (const [id, r] of rowEls) {
      const a = S.alarms.get(id);
      if (a) tickRow(r, a);
    }
    renderBanners();
    tickSignals();
    if (S.detail && S.openId != null) {
      const a = S.alarms.get(S.openId) || S.detail;
      tickDetail(a);
    }
    // An untaken escalated priority 1 is repeated every 15 s until someone takes it.
    const waiting = [...S.alarms.values()].some((a) => a.priority === 1 && a.state === 'escalated');
    if (waiting && Date.now() - S.lastAlarmSound > 15000) playP1();
    if (!S.live && S.me && S.liveLostAt && now() - S.liveLostAt > 5000) {
      document.body.classList.add('feed-lost');
    } else {
      document.body.classList.remove('feed-lost');
    }
  }
  setInterval(tick, 1000);

  // for web/setup.js (the assisted duress set-up view): the same API helper and
  // element builder, so CSRF, 401 and text-only rendering stay one rule
  S.lib = { api, h, put, fmtTime, fmtAge, now, closeSignals, kindLabel, fmtCents,
    openAlarmFromPage: (id) => { select(id); openAlarm(id); } };   // web/account.js

  // ------------------------------------------------------------ start
  document.body.classList.add('no-detail');
  syncPsapFields();
  renderSound();
  (async function boot() {
    try {
      const me = await api('GET', '/api/session');
      await startApp(me);
    } catch (e) {
      showLogin(e.status === 401 || e.status === undefined ? '' : e.message);
    }
  })();
})();
