// console.test.mjs — the operators' web console (web/) in a real browser against
// real programs: vigil-station, vigil-console and vigil-panel on 127.0.0.1
// ephemeral ports, one temporary directory, one configuration file.
//
// Run: VIGIL_BUILD=/path/to/cmake/build node --test tests/browser/console.test.mjs
// (ctest -L browser does the same). Screenshots: $VIGIL_BUILD/browser-screenshots/.
//
// What it must never do: talk to any address but 127.0.0.1, load anything from
// outside the repository, or weaken an assertion to make a program pass. Every
// wait is bounded.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  console.error('playwright-core is not installed: run `npm ci` in tests/browser (scripts/install-deps does it)');
  throw e;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const BUILD = path.resolve(process.env.VIGIL_BUILD || path.join(REPO, 'build'));
const BIN = {
  station: path.join(BUILD, 'station', 'vigil-station'),
  console: path.join(BUILD, 'console', 'vigil-console'),
  vigil: path.join(BUILD, 'cli', 'vigil'),
  panel: path.join(BUILD, 'panel-sim', 'vigil-panel'),
};
const CHROMIUM = process.env.VIGIL_CHROMIUM || '/usr/bin/chromium';
const SHOTS = path.join(BUILD, 'browser-screenshots');

const ESCALATE_S = 3;
const KEY_HEX = Buffer.from('DemoKey-16-Bytes').toString('hex');
const MASTER = '2468';
const DURESS_CODE = '9305';
const VERBAL = 'blue heron';           // the account's normal verbal passcode
const VERBAL_DURESS = 'grey falcon';   // its verbal duress passcode
const DURESS_ACCT = '1234';
const HOLDUP_ACCT = '5678';
const PREMISES_PHONE = '+1 416 555 0134';
const OWNER_PHONE = '+1 416 555 0111';   // the duress user's own number
const ROUTINE = Array.from({ length: 20 }, (_, i) => (0x2001 + i).toString(16).toUpperCase());
const ROUTINE_NAMES = ['Bakery Lemaire', 'Nguyen residence', 'Harbour Pharmacy', 'St. Clair Dental',
  'Parkdale Hardware', 'Okafor home', 'Queen St Books', 'Maple Leaf Motors', 'Dufferin Tailor',
  'Riverside Daycare', 'Bloor Jewellers', 'Kowalski home', 'Danforth Florist', 'Yonge Optical',
  'Liberty Gym', 'Patel residence', 'Kensington Deli', 'Annex Cafe', 'Leslieville Vet',
  'Roncy Hardware'];

// ------------------------------------------------------------------ helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The alarm view is redrawn when the station's change notice arrives, which
// can land between Playwright finding an element and scrolling to it (the
// element it found is then detached).  Scroll again to the redrawn one.
async function scrollTo(locator) {
  for (let i = 0; ; i++) {
    try { await locator.scrollIntoViewIfNeeded(); return; }
    catch (e) {
      if (i >= 9 || !/not attached to the DOM/.test(String(e && e.message))) throw e;
      await sleep(100);
    }
  }
}

async function until(what, fn, timeoutMs = 10000, everyMs = 50) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    if (Date.now() > end) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` + (last ? `: ${last.message}` : ''));
    }
    await sleep(everyMs);
  }
}

function run(file, argv, { input, timeout = 30000 } = {}) {
  return new Promise((resolve) => {
    const p = execFile(file, argv, { timeout, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
    if (input !== undefined) p.stdin.end(input);
  });
}

const R = {
  dir: null, conf: null, store: null, procs: [], dc09: null, http: null, base: null,
  ops: {}, secrets: [], browser: null, panel: null, failed: false,
};

async function vigil(...argv) {
  const r = await run(BIN.vigil, ['-c', R.conf, ...argv.map(String)]);
  if (r.code !== 0) {
    throw new Error(`vigil ${argv.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return r.stdout;
}

function start(name, file, argv, opts = {}) {
  const log = path.join(R.dir, name + '.log');
  const fd = fs.openSync(log, 'a');
  const p = spawn(file, argv, { stdio: [opts.stdin ? 'pipe' : 'ignore', opts.pipeOut ? 'pipe' : fd, fd] });
  fs.closeSync(fd);
  const rec = { name, p, log, exited: null };
  p.on('exit', (code, sig) => { rec.exited = { code, sig }; });
  R.procs.push(rec);
  return rec;
}

const logText = (rec) => { try { return fs.readFileSync(rec.log, 'utf8'); } catch { return ''; } };

async function stop(rec, sig = 'SIGTERM', ms = 15000) {
  if (!rec || rec.exited) return rec && rec.exited;
  rec.p.kill(sig);
  try {
    await until(`${rec.name} to exit`, () => rec.exited, ms, 20);
  } catch (e) {
    rec.p.kill('SIGKILL');
    await until(`${rec.name} to die`, () => rec.exited, 5000, 20).catch(() => {});
    throw e;
  }
  return rec.exited;
}

process.on('exit', () => {
  for (const r of R.procs) if (!r.exited) { try { r.p.kill('SIGKILL'); } catch { /* gone */ } }
});

async function writeSecretFile(name, text) {
  const f = path.join(R.dir, name);
  fs.writeFileSync(f, text + '\n', { mode: 0o600 });
  return f;
}

// A CID frame from a (keyless) routine account through `vigil dc09 send`: exit 0 is an ACK.
async function sendCid(account, cid, seq = 1) {
  const r = await run(BIN.vigil, ['dc09', 'send', '--host', '127.0.0.1', '--port', String(R.dc09),
    '--account', account, '--cid', cid, '--seq', String(seq), '--timeout', '5']);
  assert.equal(r.code, 0, `dc09 send ${account} ${cid}: exit ${r.code}\n${r.stdout}${r.stderr}`);
}

// A vigil-panel in script mode, driven line by line through its stdin.
class Panel {
  constructor(account, name = 'panel') {
    this.conf = path.join(R.dir, name + '.conf');
    fs.writeFileSync(this.conf, [
      `account ${account}`, `receiver 127.0.0.1:${R.dc09}`, 'transport tcp',
      `state ${path.join(R.dir, name + '.state')}`, `key_hex ${KEY_HEX}`,
      'ack_timeout_ms 500', 'backoff_max_ms 2000', ''].join('\n'));
    this.rec = start(name, BIN.panel, ['-c', this.conf, '--script', '-'], { stdin: true, pipeOut: true });
    this.lines = [];
    let buf = '';
    this.rec.p.stdout.on('data', (d) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.lines.push({ at: Date.now(), line });
        fs.appendFileSync(this.rec.log, line + '\n');
      }
    });
  }

  cmd(...lines) { this.rec.p.stdin.write(lines.map((l) => l + '\n').join('')); }

  async waitFor(rx, since = 0, ms = 10000) {
    return until(`panel output /${rx.source}/`, () => {
      if (this.rec.exited) throw new Error('vigil-panel exited ' + JSON.stringify(this.rec.exited));
      return this.lines.slice(since).find((l) => rx.test(l.line));
    }, ms, 10);
  }

  async finish() {
    try { this.rec.p.stdin.end(); } catch { /* closed */ }
    await until('vigil-panel to stop at end of input', () => this.rec.exited, 15000, 20)
      .catch(() => stop(this.rec, 'SIGKILL'));
  }
}

async function newPage(viewport = { width: 1280, height: 720 }) {
  const ctx = await R.browser.newContext({ viewport, baseURL: R.base });
  ctx.setDefaultTimeout(10000);
  const page = await ctx.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('console', (m) => { // 4xx answers are part of the scenario (refusals shown to the operator)
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) page.errors.push(m.text()); });
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (u.protocol !== 'data:' && u.origin !== R.base) page.errors.push('request outside the console: ' + req.url());
  });
  return page;
}

async function login(page, name) {
  await page.goto('/');
  await page.getByTestId('login-name').fill(name);
  await page.getByTestId('login-password').fill(R.ops[name]);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('counts').waitFor({ state: 'visible' });
  await until('the live feed', () => page.evaluate(() => window.vigil && window.vigil.live), 10000);
}

const rowOf = (page, id) => page.locator(`[data-testid=queue-row][data-alarm-id="${id}"]`);
const topRow = (page) => page.getByTestId('queue-row').first();

async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, name) });
}

// Steps of one scenario: a failed step skips the ones that depend on it.
let broken = null;
function step(name, fn, { independent = false, timeout = 60000 } = {}) {
  test(name, { timeout }, async (t) => {
    if (broken && !independent) { t.skip(`an earlier step failed (${broken})`); return; }
    try {
      await fn(t);
    } catch (e) {
      R.failed = true;
      if (!independent) broken = name;
      throw e;
    }
  });
}

// ------------------------------------------------------------------ the rig

describe('vigil web console', { timeout: 280000 }, () => {
  const S = {};   // what the scenario learns as it goes

  before(async () => {
    for (const [k, f] of Object.entries(BIN)) {
      assert.ok(fs.existsSync(f), `${k}: ${f} is missing (set VIGIL_BUILD to a cmake build folder)`);
    }
    assert.ok(fs.existsSync(CHROMIUM), `no browser at ${CHROMIUM}`);
    R.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-browser-'));
    R.store = path.join(R.dir, 'store.db');
    R.conf = path.join(R.dir, 'vigil.conf');
    const ready = path.join(R.dir, 'ready');
    fs.writeFileSync(R.conf, [
      '# written by tests/browser/console.test.mjs',
      'dc09_listen 127.0.0.1:0',
      `store sqlite:${R.store}`,
      `ready_file ${ready}`,
      'log_level info',
      `escalate_after_s ${ESCALATE_S}`,
      'http_listen 127.0.0.1:0',
      `web_root ${path.join(REPO, 'web')}`,
      'station_name Vigil test station',
      'station_phone +1 416 555 0100',
      'billing_admin_fee_cents 2500',
      ''].join('\n'));

    // Accounts, as an installer provisions them (before the station starts).
    await vigil('account', 'add', DURESS_ACCT, '--name', 'Lakeshore Savings Bank',
      '--address', '1140 Queen St W, Toronto ON', '--key-hex', KEY_HEX, '--phone', PREMISES_PHONE,
      '--permit', 'TPS-2024-0042');
    await vigil('account', 'user', DURESS_ACCT, 'add', 1, '--name', 'Dana Owner');
    await vigil('account', 'contact', DURESS_ACCT, 'add', '--name', 'Dana Owner', '--phone', OWNER_PHONE,
      '--relation', 'owner', '--user', 1);
    await vigil('account', 'contact', DURESS_ACCT, 'add', '--name', 'Branch line', '--phone', '+1 416 555 0135',
      '--relation', 'premises', '--lives-at-premises');
    await vigil('account', 'contact', DURESS_ACCT, 'add', '--name', 'Sam Keyholder', '--phone', '+1 416 555 0122',
      '--relation', 'keyholder');
    await vigil('account', 'passcode', DURESS_ACCT, '--verbal-file', await writeSecretFile('verbal', VERBAL));
    await vigil('account', 'passcode', DURESS_ACCT, '--duress-file', await writeSecretFile('duress', VERBAL_DURESS));
    R.secrets.push(VERBAL, VERBAL_DURESS, MASTER, DURESS_CODE);
    await vigil('account', 'add', HOLDUP_ACCT, '--name', 'Harbour Jewellers', '--address', '5 Harbour Sq, Toronto ON',
      '--phone', '+1 416 555 0177');
    // both premises answer to the Toronto Police Service, by the rules the station ships
    await vigil('agency', 'import', path.join(REPO, 'packaging', 'agencies', 'toronto-ps.json'));
    for (const acct of [DURESS_ACCT, HOLDUP_ACCT]) await vigil('account', 'edit', acct, '--agency', 'toronto-ps');
    for (let i = 0; i < ROUTINE.length; i++) {
      await vigil('account', 'add', ROUTINE[i], '--name', ROUTINE_NAMES[i], '--address', `${10 + i} Test Street, Toronto ON`,
        ...(i === 4 ? ['--police-status', 'suspended'] : []));
    }

    // vigil-station
    const st = start('station', BIN.station, ['-c', R.conf]);
    const tcp = await until('vigil-station ready file', () => {
      if (st.exited) throw new Error('vigil-station exited at start:\n' + logText(st));
      if (!fs.existsSync(ready)) return null;
      const m = /^tcp 127\.0\.0\.1:(\d+)$/m.exec(fs.readFileSync(ready, 'utf8'));
      return m && Number(m[1]);
    }, 20000);
    R.dc09 = tcp;
    R.station = st;

    // vigil-console, same file
    const con = start('console', BIN.console, ['-c', R.conf]);
    R.http = await until("vigil-console 'listening http'", () => {
      if (con.exited) throw new Error('vigil-console exited at start:\n' + logText(con));
      const m = /info main: listening http 127\.0\.0\.1:(\d+)/.exec(logText(con));
      return m && Number(m[1]);
    }, 20000);
    R.console = con;
    R.base = `http://127.0.0.1:${R.http}`;

    // two operators
    for (const [name, role] of [['alice', 'operator'], ['bob', 'supervisor']]) {
      const out = await vigil('operator', 'add', name, '--role', role);
      const m = /^password: (\S+)\s*$/m.exec(out);
      assert.ok(m, `vigil operator add printed no 'password: X' line: ${JSON.stringify(out)}`);
      R.ops[name] = m[1];
      R.secrets.push(m[1]);
    }

    R.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'],
    });
  });

  after(async () => {
    const problems = [];
    if (R.panel) await R.panel.finish().catch((e) => problems.push(e.message));
    if (R.setupPanel) await R.setupPanel.finish().catch((e) => problems.push(e.message));
    if (R.browser) await R.browser.close().catch(() => {});
    for (const rec of [R.console, R.station]) {
      if (!rec) continue;
      const ex = await stop(rec).catch((e) => ({ code: null, err: e.message }));
      if (!ex || ex.code !== 0) problems.push(`${rec.name} did not exit 0 on SIGTERM: ${JSON.stringify(ex)}`);
    }
    for (const rec of R.procs) {
      if (rec.name !== 'station' && rec.name !== 'console') continue;
      const text = logText(rec);
      for (const s of R.secrets) {
        if (s && text.includes(s)) problems.push(`${rec.name} logged a secret (${s.length} chars)`);
      }
    }
    if (R.failed || problems.length) {
      for (const rec of R.procs) {
        process.stdout.write(`---- ${rec.name} log (last 3000 chars) ----\n${logText(rec).slice(-3000)}\n`);
      }
    }
    if (R.dir && !process.env.VIGIL_KEEP && !R.failed && !problems.length) {
      fs.rmSync(R.dir, { recursive: true, force: true });
    } else if (R.dir) {
      process.stdout.write(`kept ${R.dir}\n`);
    }
    assert.deepEqual(problems, [], 'teardown');
  });

  // ---------------------------------------------------------------- the scenario

  step('a page without a session gets the login', async () => {
    const page = await newPage();
    const r = await page.request.get('/api/session');
    assert.equal(r.status(), 401, 'GET /api/session without a cookie');
    await page.goto('/');
    await page.getByTestId('login-name').waitFor({ state: 'visible' });
    assert.equal(await page.getByTestId('queue').isVisible(), false, 'the queue is hidden before login');
    // a wrong password is refused in plain words
    await page.getByTestId('login-name').fill('alice');
    await page.getByTestId('login-password').fill('not-the-password');
    await page.getByTestId('login-submit').click();
    await page.getByTestId('login-error').filter({ hasText: /invalid/i }).waitFor();
    assert.deepEqual(page.errors, []);
    await page.context().close();
  }, { independent: true });

  step('operator logs in; the queue, counts and key legend are shown', async () => {
    S.a = await newPage();
    await login(S.a, 'alice');
    await S.a.getByTestId('queue').waitFor({ state: 'attached' });
    const legend = await S.a.locator('footer.keys').innerText();
    for (const k of ['move', 'open', 'take', 'release', 'next step', 'passcode', 'dispatch', 'close', 'back']) {
      assert.ok(legend.includes(k), `key legend shows "${k}": ${legend}`);
    }
    assert.match(await S.a.getByTestId('counts').innerText(), /P1\s*0/);
    // every state-changing request of this page must carry the CSRF token
    S.a.on('request', (req) => {
      if (req.method() === 'POST' && new URL(req.url()).pathname !== '/api/login' &&
          !req.headers()['x-csrf-token']) S.a.errors.push('POST without X-CSRF-Token: ' + req.url());
    });
  });

  step('twenty routine alarms are queued, live', async () => {
    await Promise.all(ROUTINE.map((acct, i) => sendCid(acct, `1130 01 ${String(i + 1).padStart(3, '0')}`)));
    await until('20 rows in the queue', async () => (await S.a.getByTestId('queue-row').count()) === 20, 10000);
    const pri = await S.a.getByTestId('queue-row').evaluateAll((rows) => rows.map((r) => r.dataset.priority));
    assert.deepEqual([...new Set(pri)], ['4'], 'burglaries are priority 4');
    assert.match(await S.a.getByTestId('counts').innerText(), /P4\s*20/);
    const sus = S.a.locator(`[data-testid=queue-row]:has-text("${ROUTINE_NAMES[4]}")`);
    assert.match(await sus.innerText(), /suspended/i, 'a suspended account shows its police status');
    await shot(S.a, 'queue.png');
  });

  step('a duress typed at the keypad is on top of the queue within 1 s', async () => {
    const p = R.panel = new Panel(DURESS_ACCT);
    p.cmd(`user 1 ${MASTER}`, `user 2 ${DURESS_CODE} duress for 1`);
    await p.waitFor(/^queue delivered sia="YG" text="duress code programmed"/, 0, 15000);
    p.cmd('show queue');
    await p.waitFor(/^queue \S+ 0 events, 0 trouble, 0 in flight/, 0, 10000);
    await S.a.evaluate(() => {
      window.__top = null;
      const tb = document.querySelector('[data-testid=queue]');
      const check = () => {
        const r = tb.querySelector('[data-testid=queue-row]');
        if (!window.__top && r && r.dataset.priority === '1') {
          window.__top = { at: Date.now(), id: r.dataset.alarmId, kind: r.dataset.kind };
        }
      };
      new MutationObserver(check).observe(tb, { childList: true, subtree: true, attributes: true });
    });
    const mark = p.lines.length;
    const t0 = Date.now();
    p.cmd(`keys ${DURESS_CODE}#`);
    const top = await until('a priority-1 row at the top', () => S.a.evaluate(() => window.__top), 5000, 5);
    const ms = top.at - t0;
    const tx = await p.waitFor(/^tx .*cid="1121 /, mark, 5000);
    console.log(`duress: keypad entry -> frame sent ${tx.at - t0} ms -> top of the queue ${ms} ms`);
    assert.ok(ms < 1000, `duress reached the top of the queue in ${ms} ms (must be < 1000)`);
    assert.equal(top.kind, 'duress');
    S.duressId = top.id;
    const row = rowOf(S.a, S.duressId);
    assert.match(await row.innerText(), /DURESS/);
    assert.match(await row.innerText(), /Lakeshore Savings Bank/);
    assert.match(await S.a.getByTestId('counts').innerText(), /P1\s*1/);
    assert.ok(await row.evaluate((r) => r.classList.contains('p1')), 'the P1 row has its own class');
    assert.ok(await S.a.evaluate(() => window.vigil.p1Sounds) >= 1, 'a new P1 played its sound');
    await p.waitFor(/^display EXIT DELAY/, mark, 5000);   // the premises saw a normal arming
  });

  step('the operator takes it; the duress plan never calls the premises', async () => {
    const a = S.a;
    await rowOf(a, S.duressId).click();
    await a.getByTestId('detail').locator(`[data-alarm-id="${S.duressId}"]`).waitFor();
    await a.getByTestId('btn-take').click();
    await a.getByTestId('detail-taken-by').filter({ hasText: 'held by alice' }).waitFor();
    await rowOf(a, S.duressId).filter({ hasText: 'held by alice' }).waitFor();
    const steps = await a.locator('[data-testid^="step-"]').evaluateAll(
      (els) => els.map((e) => ({ id: e.dataset.step, text: e.closest('li').innerText })));
    const ids = steps.map((s) => s.id);
    assert.ok(ids.includes('dispatch') && ids.includes('call_list'), `duress plan steps: ${ids}`);
    assert.ok(!ids.includes('call_premises'), `no premises call in the duress plan: ${ids}`);
    for (const s of steps) {
      assert.doesNotMatch(s.text, /^\s*call the premises/i, `step ${s.id} calls the premises: ${s.text}`);
    }
    const detail = await a.getByTestId('detail').innerText();
    assert.ok(!detail.includes(PREMISES_PHONE), 'the premises phone is withheld on a duress');
    const calls = await a.locator('#d-calls').innerText();
    assert.ok(calls.includes('Sam Keyholder'), `call list: ${calls}`);
    assert.ok(!calls.includes(OWNER_PHONE), `the duress user's own number is not on the call list: ${calls}`);
    assert.ok(!calls.includes('Branch line'), `the premises' contacts are not on the call list: ${calls}`);
    // tick what is not the dispatch (dispatch is its own action, below)
    for (const id of ids.filter((x) => x !== 'dispatch')) {
      await a.getByTestId('step-' + id).check();
      await until(`step ${id} done`, () => a.locator(`li.step-done[data-step="${id}"]`).count(), 5000);
    }
  });

  step('passcode check: normal, then the verbal duress passcode shows DURESS', async () => {
    const a = S.a;
    await a.getByTestId('passcode-input').fill(VERBAL);
    await a.getByTestId('passcode-submit').click();
    await a.getByTestId('passcode-result').filter({ hasText: 'normal passcode' }).waitFor();
    assert.equal(await a.getByTestId('passcode-input').inputValue(), '', 'the words typed are cleared');
    await a.getByTestId('passcode-input').click();
    await a.keyboard.type(VERBAL_DURESS);
    await a.keyboard.press('Enter');
    await a.getByTestId('passcode-result').filter({ hasText: 'DURESS passcode' }).waitFor();
    assert.match(await a.getByTestId('passcode-result').innerText(), /thank them, hang up, dispatch/);
  });

  step('dispatch, then PSAP accepted (event number), dispatched, arrived', async () => {
    const a = S.a;
    await a.getByTestId('btn-dispatch').click();
    await a.locator(`#detail-body[data-state="dispatched"]`).waitFor();
    await until('the dispatch step ticked', () => a.locator('li.step-done[data-step="dispatch"]').count(), 5000);
    await a.getByTestId('psap-status').selectOption('accepted');
    await a.getByTestId('psap-event-number').fill('TPS-24-118842');
    await a.getByTestId('psap-submit').click();
    await a.getByTestId('psap-current').filter({ hasText: /accepted/i }).waitFor();
    assert.ok((await a.getByTestId('detail').innerText()).includes('TPS-24-118842'));
    for (const st of ['dispatched', 'arrived']) {
      await a.getByTestId('psap-status').selectOption(st);
      await a.getByTestId('psap-submit').click();
      await a.getByTestId('psap-current').filter({ hasText: new RegExp(st, 'i') }).waitFor();
    }
    await a.getByTestId('passcode-result').filter({ hasText: 'DURESS' }).waitFor();
    // the picture: dispatch record and passcode result under the alarm's header
    await a.evaluate(() => {
      const pane = document.getElementById('detail');
      const box = document.querySelector('.box-dispatch');
      const head = document.querySelector('.d-head');
      pane.scrollTop += box.getBoundingClientRect().top - pane.getBoundingClientRect().top - head.offsetHeight - 6;
    });
    await shot(a, 'duress.png');
    // out of order: the API's reason shown plainly, where the operator looks; nothing changes
    await a.getByTestId('psap-status').selectOption('accepted');
    await a.getByTestId('psap-event-number').fill('X-1');
    await a.getByTestId('psap-submit').click();
    await a.getByTestId('error').waitFor({ state: 'visible' });
    assert.ok((await a.getByTestId('error').innerText()).length > 3);
    const box = await a.getByTestId('error').boundingBox();
    assert.ok(box && box.y >= 0 && box.y + box.height <= 720, `the error is on screen: ${JSON.stringify(box)}`);
    await a.getByTestId('psap-current').filter({ hasText: /arrived/i }).waitFor();
  });

  step('a second operator sees it held by the first and cannot take it', async () => {
    const b = S.b = await newPage();
    await login(b, 'bob');
    const row = rowOf(b, S.duressId);
    await row.filter({ hasText: 'held by alice' }).waitFor();
    assert.equal(await row.getAttribute('data-state'), 'dispatched');
    await row.click();
    await b.getByTestId('detail-taken-by').filter({ hasText: 'held by alice' }).waitFor();
    await b.getByTestId('btn-take').click();
    await b.getByTestId('error').filter({ hasText: /held by alice/i }).waitFor();
    assert.equal(await b.getByTestId('close-override').isVisible(), true, 'a supervisor sees the override');
    assert.equal(await S.a.getByTestId('close-override').isVisible(), false, 'an operator does not');
    await b.keyboard.press('Escape');
  });

  step('close with a disposition: gone from every queue', async () => {
    const a = S.a;
    await a.getByTestId('btn-close').click();                      // no disposition: refused, plainly
    await a.getByTestId('error').waitFor({ state: 'visible' });
    await a.getByTestId('close-disposition').selectOption('real_emergency');
    await a.getByTestId('btn-close').click();
    await a.locator('#detail-body[data-state="closed"]').waitFor();
    await rowOf(a, S.duressId).waitFor({ state: 'detached' });
    await rowOf(S.b, S.duressId).waitFor({ state: 'detached' });
    assert.match(await a.getByTestId('counts').innerText(), /P1\s*0/);
    await a.keyboard.press('Escape');
  });

  step(`a priority 1 untaken past ${ESCALATE_S} s shows the banner to everyone; the keyboard takes it`, async () => {
    await sendCid(HOLDUP_ACCT, '1122 01 001');
    const id = await until('the hold-up row', async () => {
      const r = S.b.locator('[data-testid=queue-row][data-kind="holdup"]');
      return (await r.count()) ? r.first().getAttribute('data-alarm-id') : null;
    }, 5000);
    for (const pg of [S.a, S.b]) {
      const banner = pg.locator(`[data-testid=banner-escalated][data-alarm-id="${id}"]`);
      await banner.waitFor({ state: 'visible', timeout: (ESCALATE_S + 10) * 1000 });
      const txt = await banner.innerText();
      assert.match(txt, new RegExp(`alarm ${id}\\b`));
      assert.match(txt, /untaken for \d+s/);
      assert.match(txt, /supervisors alerted/);
    }
    assert.equal(await rowOf(S.b, id).getAttribute('data-state'), 'escalated');
    // the wall: a supervisor's 1920x1080 screen with the banner up
    const w = S.w = await newPage({ width: 1920, height: 1080 });
    await login(w, 'bob');
    await w.locator(`[data-testid=banner-escalated][data-alarm-id="${id}"]`).waitFor();
    await shot(w, 'wall.png');
    // keyboard only: the hold-up is the top row; Enter opens, t takes
    const b = S.b;
    await b.keyboard.press('Escape');
    for (let i = 0; i < 25; i++) await b.keyboard.press('k');
    assert.equal(await b.locator('[data-testid=queue-row].selected').getAttribute('data-alarm-id'), id);
    await b.keyboard.press('j');
    await b.keyboard.press('ArrowUp');
    await b.keyboard.press('Enter');
    await b.locator(`#detail-body[data-alarm-id="${id}"]`).waitFor();
    await b.keyboard.press('t');
    await b.getByTestId('detail-taken-by').filter({ hasText: 'held by bob' }).waitFor();
    for (const pg of [S.a, S.b, w]) {
      await pg.locator(`[data-testid=banner-escalated][data-alarm-id="${id}"]`).waitFor({ state: 'detached' });
    }
    await rowOf(S.a, id).filter({ hasText: 'held by bob' }).waitFor();
    // n ticks the next open step: the hold-up plan starts with dispatch, so n goes to it
    await b.keyboard.press('n');
    assert.equal(await b.evaluate(() => document.activeElement && document.activeElement.id), 'dispatch-details');
    await b.keyboard.press('Escape');
    await b.keyboard.press('r');
    await rowOf(S.a, id).filter({ hasNotText: 'held by' }).waitFor();
    S.holdupId = id;
  });

  step('a reload keeps the session (GET /api/session gives the CSRF token back)', async () => {
    const a = S.a;
    await a.reload();
    await a.getByTestId('counts').waitFor({ state: 'visible' });
    assert.equal(await a.getByTestId('login-name').isVisible(), false, 'no login after a reload');
    await until('the live feed', () => a.evaluate(() => window.vigil && window.vigil.live), 10000);
    await rowOf(a, S.holdupId).click();
    await a.getByTestId('btn-take').click();
    await a.getByTestId('detail-taken-by').filter({ hasText: 'held by alice' }).waitFor();
    await a.locator(`[data-testid=banner-escalated][data-alarm-id="${S.holdupId}"]`).waitFor({ state: 'detached' });
  });

  step('before dispatch the standing with the agency and the next fee; found false: the invoice line', async () => {
    const a = S.a;   // alice holds the hold-up (Harbour Jewellers, Toronto Police Service)
    const box = a.getByTestId('agency-standing');
    await box.filter({ hasText: 'Toronto Police Service' }).waitFor();
    assert.match(await a.getByTestId('next-false-fee').innerText(), /\$155\.00 CAD .*\$130\.00/,
      'the next false dispatch: $130 agency fee + $25 admin fee');
    assert.match(await box.innerText(), /0 in the window/);
    await a.getByTestId('false-dispatches').filter({ hasText: 'no false dispatches billed' }).waitFor();
    await a.getByTestId('btn-dispatch').click();
    await a.locator('#detail-body[data-state="dispatched"]').waitFor();
    await a.getByTestId('psap-status').selectOption('accepted');
    await a.getByTestId('psap-event-number').fill('TPS-24-200001');
    await a.getByTestId('psap-submit').click();
    await a.getByTestId('psap-current').filter({ hasText: /accepted/i }).waitFor();
    await a.getByTestId('psap-status').selectOption('closed');
    await a.getByTestId('psap-finding').selectOption('false');
    await a.getByTestId('psap-submit').click();
    await a.getByTestId('psap-current').filter({ hasText: /closed/i }).waitFor();
    const line = a.getByTestId('charge');
    await line.waitFor();
    assert.match(await line.innerText(), /\$155\.00 CAD .*toronto-ps: false holdup alarm no\. 1/);
    // the account's view: its false dispatches, and the warning before the caution at 2
    await a.getByTestId('standing-warning').filter({ hasText: /next false alarm brings a caution/ }).waitFor();
    await a.getByTestId('false-dispatches').filter({ hasText: `alarm ${S.holdupId}` }).waitFor();
    await a.evaluate(() => {
      const pane = document.getElementById('detail');
      const box = document.querySelector('.box-dispatch');
      pane.scrollTop += box.getBoundingClientRect().top - pane.getBoundingClientRect().top - 60;
    });
    await shot(a, 'billing.png');
    const csv = await vigil('billing', 'export', '--month', new Date().toISOString().slice(0, 7));
    const rows = csv.trim().split('\r\n');
    assert.equal(rows.length, 2, `one invoice line: ${csv}`);
    assert.match(rows[1], new RegExp(`^\\d+,${S.holdupId},.*,Harbour Jewellers,toronto-ps,holdup,residential,false,TPS-24-200001,1,no,station,CAD,alice,13000,\\$130\\.00,2500,\\$25\\.00,15500,\\$155\\.00,`));
    assert.deepEqual(a.errors, [], 'page errors');
  });

  // ---- the account page (issue 14, "Must show": a duress handled and found false by
  // the police -> invoice line and warning on the account page). A real duress from
  // the keypad of Lakeshore Savings Bank (Toronto Police Service, no false alarm yet),
  // handled through the page: plan, dispatch, PSAP accepted -> closed, finding false.
  step('a duress found false by the police: the invoice line in the alarm view and on the account page, with the warning before the caution', async () => {
    const a = S.a, p = R.panel;
    const EVENT = 'TPS-24-410077';
    const mark = p.lines.length;
    p.cmd(`keys ${DURESS_CODE}#`);
    await p.waitFor(/^tx .*cid="1121 /, mark, 10000);
    const row = a.locator(`[data-testid=queue-row][data-kind="duress"]:has-text("Lakeshore Savings Bank")`);
    await row.waitFor();
    const id = await row.getAttribute('data-alarm-id');
    assert.notEqual(id, S.duressId, 'a new alarm, not the first duress');
    await row.click();
    await a.locator(`#detail-body[data-alarm-id="${id}"]`).waitFor();
    await a.getByTestId('btn-take').click();
    await a.getByTestId('detail-taken-by').filter({ hasText: 'held by alice' }).waitFor();
    // before dispatch: no false alarm yet with Toronto, the next costs $130 + $25
    await a.getByTestId('agency-standing').filter({ hasText: '0 in the window' }).waitFor();
    assert.match(await a.getByTestId('next-false-fee').innerText(), /\$155\.00 CAD/);
    // the plan: every step but the dispatch ticked on the page, then the dispatch
    const ids = await a.locator('[data-testid^="step-"]').evaluateAll((els) => els.map((e) => e.dataset.step));
    assert.ok(ids.includes('dispatch') && ids.includes('call_list'), `duress plan: ${ids}`);
    for (const sid of ids.filter((x) => x !== 'dispatch')) {
      await a.getByTestId('step-' + sid).check();
      await until(`step ${sid} done`, () => a.locator(`li.step-done[data-step="${sid}"]`).count(), 5000);
    }
    await a.getByTestId('btn-dispatch').click();
    await a.locator('#detail-body[data-state="dispatched"]').waitFor();
    await a.getByTestId('psap-status').selectOption('accepted');
    await a.getByTestId('psap-event-number').fill(EVENT);
    await a.getByTestId('psap-submit').click();
    await a.getByTestId('psap-current').filter({ hasText: /accepted/i }).waitFor();
    for (const st of ['dispatched', 'arrived']) {
      await a.getByTestId('psap-status').selectOption(st);
      await a.getByTestId('psap-submit').click();
      await a.getByTestId('psap-current').filter({ hasText: new RegExp(st, 'i') }).waitFor();
    }
    await a.getByTestId('psap-status').selectOption('closed');
    await a.getByTestId('psap-finding').selectOption('false');
    await a.getByTestId('psap-submit').click();
    await a.getByTestId('psap-current').filter({ hasText: /closed/i }).waitFor();
    // the invoice line, in the alarm view
    const line = a.getByTestId('charge');
    await line.waitFor();
    assert.match(await line.innerText(), /\$155\.00 CAD .*toronto-ps: false duress alarm no\. 1/);
    await a.evaluate(() => {
      const pane = document.getElementById('detail');
      const box = document.querySelector('.box-dispatch');
      pane.scrollTop += box.getBoundingClientRect().top - pane.getBoundingClientRect().top - 60;
    });
    await shot(a, 'duress-false.png');

    // key a: the alarm's account page
    await a.locator('body').focus();
    await a.keyboard.press('a');
    const pg = a.getByTestId('account-page');
    await a.locator(`[data-testid=account-page][data-account="${DURESS_ACCT}"]`).waitFor();
    assert.equal(await a.getByTestId('queue').isVisible(), false, 'the queue gives way to the account page');
    assert.equal(await a.getByTestId('acct-page-name').innerText(), 'Lakeshore Savings Bank');
    assert.match(await a.getByTestId('acct-page-address').innerText(), /1140 Queen St W, Toronto ON/);
    assert.match(await a.getByTestId('account-permit').innerText(), /TPS-2024-0042/);
    // the warning before the caution, big, above everything else
    const warn = a.getByTestId('account-warning');
    await warn.filter({ hasText: /next false alarm brings a caution from Toronto Police Service/i }).waitFor();
    assert.equal(await warn.count(), 1, 'one warning: the caution (the suspension is at 4)');
    assert.equal(await a.getByTestId('account-count').innerText(), '1');
    const win = await a.getByTestId('account-window-list').innerText();
    assert.match(win, new RegExp(`#1[\\s\\S]*alarm ${id}[\\s\\S]*DURESS · found false`), `the false dispatch in the window: ${win}`);
    const caution = a.getByTestId('account-threshold').filter({ hasText: 'Caution' });
    assert.match(await caution.innerText(), /1 of 2 — 1 more false dispatch\b/);
    assert.match(await a.getByTestId('account-next-fee').innerText(), /\$155\.00 CAD/);
    // the invoice line, with its amount, linked to its alarm
    const inv = a.locator(`[data-testid=account-invoice][data-alarm-id="${id}"]`);
    await inv.waitFor();
    const invText = await inv.innerText();
    assert.match(invText, /DURESS/);
    assert.match(invText, /toronto-ps: false duress alarm no\. 1/);
    assert.match(invText, /\$155\.00 CAD/);
    assert.equal(await a.getByTestId('account-invoice').count(), 1, 'one invoice line for this account');
    // its alarms: this one open, the first duress closed as a real emergency
    const open = a.locator(`[data-testid=account-alarm][data-alarm-id="${id}"]`);
    assert.equal(await open.getAttribute('data-state'), 'dispatched');
    assert.match(await a.locator(`[data-testid=account-alarm][data-alarm-id="${S.duressId}"]`).innerText(),
      /closed — real emergency/);
    // a duress is open: the premises phone is withheld here too; no secret on the page
    const text = await pg.innerText();
    assert.ok(!text.includes(PREMISES_PHONE), 'the premises phone is withheld while a duress is open');
    assert.match(await a.getByTestId('acct-page-phone').innerText(), /withheld: open DURESS/);
    for (const x of R.secrets) assert.ok(!text.includes(x), `a secret (${x.length} chars) on the account page`);
    await shot(a, 'account.png');

    // back to the alarm from its line; close it; the account link shows the page again
    await inv.getByTestId('account-alarm-link').click();
    await a.getByTestId('account-view').waitFor({ state: 'hidden' });
    await a.locator(`#detail-body[data-alarm-id="${id}"]`).waitFor();
    await a.getByTestId('close-disposition').selectOption('false_user_error');
    await a.getByTestId('btn-close').click();
    await a.locator('#detail-body[data-state="closed"]').waitFor();
    const link = a.getByTestId('account-link');
    await scrollTo(link);
    assert.match(await link.innerText(), /1234\s+Lakeshore Savings Bank[\s\S]*account page/);
    await shot(a, 'alarm-account-link.png');
    await link.click();
    await a.locator(`[data-testid=account-alarm][data-alarm-id="${id}"][data-state="closed"]`).waitFor();
    assert.match(await a.getByTestId('acct-page-phone').innerText(), new RegExp(PREMISES_PHONE.replace(/\+/g, '\\+')),
      'the phone is shown once no silent alarm is open');
    // Esc: back to the alarm; Esc: the queue; a with nothing open: search by name
    await a.keyboard.press('Escape');
    await a.getByTestId('account-view').waitFor({ state: 'hidden' });
    await a.locator(`#detail-body[data-alarm-id="${id}"]`).waitFor({ state: 'visible' });
    await a.keyboard.press('Escape');
    await a.keyboard.press('a');
    await a.getByTestId('account-view').waitFor({ state: 'visible' });
    assert.equal(await a.evaluate(() => document.activeElement && document.activeElement.id), 'acct-search-input');
    await a.keyboard.type('harbour');
    await a.keyboard.press('Enter');
    const matches = a.getByTestId('acct-match');
    await until('two accounts match "harbour"', async () => (await matches.count()) === 2, 5000);
    assert.deepEqual((await matches.evaluateAll((els) => els.map((e) => e.dataset.account))).sort(), [HOLDUP_ACCT, ROUTINE[2]].sort());
    await shot(a, 'account-search.png');
    await a.locator(`[data-testid=acct-match][data-account="${HOLDUP_ACCT}"]`).click();
    await a.locator(`[data-testid=account-page][data-account="${HOLDUP_ACCT}"]`).waitFor();
    assert.equal(await a.getByTestId('account-invoice').count(), 1, 'Harbour Jewellers: the false hold-up');
    await a.getByTestId('account-warning').filter({ hasText: /next false alarm brings a caution/ }).waitFor();
    assert.match(await a.getByTestId('acct-page-silent').innerText(), new RegExp(`OPEN HOLD-UP — alarm ${S.holdupId}`, "i"));
    await shot(a, 'account-holdup.png');
    await a.keyboard.press('Escape');
    await a.getByTestId('queue').waitFor({ state: 'visible' });
    assert.deepEqual(a.errors, [], 'page errors');
  }, { timeout: 90000 });

  // ---- the dispute packet (issue 14): a duress found false, its packet opened as a
  // user would, its audit proof checked by tests/integration/console/check_dispute.py
  // (written from docs/audit.md alone), and the month's billing CSV shown as a table.
  step('a false duress closed: the Dispute packet button opens the printable packet; its JSON proof checks', async () => {
    const EVENT = 'TPS-24-300417';
    await vigil('account', 'user', HOLDUP_ACCT, 'add', 1, '--name', 'Rita Manager');
    await vigil('account', 'zone', HOLDUP_ACCT, 'add', 1, '--name', 'Front counter');
    await vigil('account', 'edit', HOLDUP_ACCT, '--permit', 'TPS-2025-0917');
    const HJ_VERBAL = 'amber otter';
    await vigil('account', 'passcode', HOLDUP_ACCT, '--verbal-file', await writeSecretFile('hj-verbal', HJ_VERBAL));
    R.secrets.push(HJ_VERBAL);
    const a = await newPage({ width: 1280, height: 900 });
    await login(a, 'alice');
    await sendCid(HOLDUP_ACCT, '1121 01 001', 41);
    const row = a.locator(`[data-testid=queue-row][data-kind="duress"]:has-text("Harbour Jewellers")`);
    await row.waitFor();
    const id = await row.getAttribute('data-alarm-id');
    await row.click();
    await a.getByTestId('detail').locator(`[data-alarm-id="${id}"]`).waitFor();
    await a.getByTestId('btn-take').click();
    await a.getByTestId('detail-taken-by').filter({ hasText: 'held by alice' }).waitFor();
    // the rest of the handling through the API the page uses (each action is covered above)
    const act = (what, body) => a.evaluate(async ([i, w, b]) => {
      const r = await fetch(`/api/alarms/${i}/${w}`, { method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': window.vigil.me.csrf },
        body: JSON.stringify(b) });
      return { status: r.status, body: await r.text() };
    }, [id, what, body]);
    for (const [what, body] of [
      ['dispatch', { details: 'silent duress, person may be under threat' }],
      ['psap', { status: 'accepted', event_number: EVENT }],
      ['passcode', { passcode: HJ_VERBAL }],
      ['step', { step: 'call_list', note: 'keyholder reached: says it was a mistake' }],
      ['psap', { status: 'dispatched' }],
      ['psap', { status: 'arrived' }],
      ['psap', { status: 'closed', finding: 'false' }],
      // the account is cautioned since the false hold-up above: calling 911 is required too
      ['step', { step: 'call_911', note: 'person-under-threat call placed' }],
      ['close', { disposition: 'false_user_error', note: 'user pressed the duress code by mistake' }]]) {
      const r = await act(what, body);
      assert.equal(r.status, 200, `${what} ${JSON.stringify(body)}: ${r.status} ${r.body}`);
    }
    await a.locator('#detail-body[data-state="closed"]').waitFor();
    const btn = a.getByTestId('btn-dispute');
    await btn.waitFor();
    await scrollTo(btn);
    await shot(a, 'dispute-button.png');
    // the printable page, in a new tab
    const [pk] = await Promise.all([a.context().waitForEvent('page'), btn.click()]);
    const outside = [];
    pk.on('request', (req) => { if (!req.url().startsWith(R.base)) outside.push(req.url()); });
    await pk.waitForLoadState('load');
    assert.equal(new URL(pk.url()).pathname, `/api/alarms/${id}/dispute.html`);
    assert.equal(await pk.title(), `Dispute packet — alarm ${id}`);
    const text = await pk.locator('body').innerText();
    for (const want of ['Harbour Jewellers', '5 Harbour Sq, Toronto ON', '+1 416 555 0177', 'TPS-2025-0917',
      'Toronto Police Service', '1121 01 001', 'Rita Manager', EVENT, 'keyholder reached', '$155.00',
      'false_user_error', 'alarm.dispute', 'How to check']) {
      assert.ok(text.includes(want), `the packet page lacks ${JSON.stringify(want)}`);
    }
    assert.equal(await pk.locator('script').count(), 0, 'the packet page has no script');
    // the audit hashes (64 hex digits each, dozens of them) hold any 4-digit code by
    // chance now and then: they are taken out before looking for a code's digits
    const noHashes = text.replace(/\b[0-9a-f]{64}\b/g, '#');
    assert.ok(noHashes.length < text.length, 'the packet page shows its hashes');
    for (const s of R.secrets) assert.ok(!noHashes.includes(s), `a secret (${s.length} chars) is in the packet page`);
    fs.mkdirSync(SHOTS, { recursive: true });
    await pk.screenshot({ path: path.join(SHOTS, 'dispute.png'), fullPage: true });
    assert.deepEqual(outside, [], 'the packet page loaded nothing');
    await pk.close();
    // the JSON, downloaded from the same box, checked by a script that shares no code with the project
    const [dl] = await Promise.all([a.waitForEvent('download'), a.getByTestId('dispute-json').click()]);
    assert.equal(dl.suggestedFilename(), `dispute-${id}.json`);
    const file = path.join(R.dir, `dispute-${id}.json`);
    await dl.saveAs(file);
    const checker = path.join(REPO, 'tests', 'integration', 'console', 'check_dispute.py');
    const ok = await run('/usr/bin/python3', [checker, file]);
    assert.equal(ok.code, 0, `check_dispute.py: ${ok.stdout}${ok.stderr}`);
    assert.match(ok.stdout, new RegExp(`^ok alarm ${id}: `));
    const packet = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(packet.dispatch.PsapEventNumber, EVENT);
    assert.equal(packet.charge.total_cents, 15500);
    const mine = packet.audit.chain.filter((e) => e.about === 'alarm').map((e) => e.kind);
    for (const k of ['alarm.opened', 'alarm.take', 'alarm.dispatch', 'alarm.psap', 'alarm.passcode', 'alarm.close', 'alarm.dispute']) {
      assert.ok(mine.includes(k), `${k} in the packet's audit entries: ${mine}`);
    }
    // ... and which fails once an entry is edited (the finding turned into "valid")
    const e = packet.audit.chain.find((x) => x.kind === 'alarm.psap' && /"false"/.test(x.after || ''));
    assert.ok(e, 'the finding entry');
    e.after = e.after.replace('"false"', '"valid"');
    fs.writeFileSync(file + '.edited', JSON.stringify(packet));
    const bad = await run('/usr/bin/python3', [checker, file + '.edited']);
    assert.equal(bad.code, 1, `an edited packet must fail: ${bad.stdout}${bad.stderr}`);
    assert.match(bad.stdout, new RegExp(`entry ${e.seq}: its hash does not match`));
    assert.deepEqual(a.errors, [], 'page errors');

    // the month's billing CSV as a user opens it: a table (what a spreadsheet shows)
    const csv = await vigil('billing', 'export', '--month', new Date().toISOString().slice(0, 7));
    const parse = (t) => { // RFC 4180
      const rows = []; let row = [], f = '', q = false;
      for (let i = 0; i < t.length; i++) {
        const c = t[i];
        if (q) { if (c === '"' && t[i + 1] === '"') { f += '"'; i++; } else if (c === '"') q = false; else f += c; }
        else if (c === '"') q = true;
        else if (c === ',') { row.push(f); f = ''; }
        else if (c === '\r') { /* CRLF */ }
        else if (c === '\n') { row.push(f); rows.push(row); row = []; f = ''; }
        else f += c;
      }
      if (f || row.length) { row.push(f); rows.push(row); }
      return rows;
    };
    const rows = parse(csv);
    assert.ok(rows.length >= 3, `two invoice lines at least: ${csv}`);
    const head = rows[0];
    const line = rows.find((r) => r[head.indexOf('alarm')] === String(id));
    assert.ok(line, `the duress's invoice line is in the CSV: ${csv}`);
    assert.equal(line[head.indexOf('psap_event_number')], EVENT);
    assert.equal(line[head.indexOf('total')], '$155.00');
    const t = await newPage({ width: 1600, height: 400 });
    await t.setContent('<!doctype html><meta charset="utf-8"><title>billing CSV</title><style>'
      + 'body{font:13px system-ui,sans-serif;margin:12px}table{border-collapse:collapse}'
      + 'th,td{border:1px solid #aaa;padding:3px 6px;white-space:nowrap}th{background:#e8eef5}'
      + 'td.num{text-align:right}td.wrap{white-space:normal;min-width:18em;max-width:24em}'
      + 'tr:nth-child(even) td{background:#f6f6f6}caption{text-align:left;font-weight:600;margin-bottom:6px}'
      + '</style><table id="csv"><caption></caption><thead></thead><tbody></tbody></table>');
    await t.evaluate(([r, name]) => {
      document.querySelector('caption').textContent = name;
      const tr = (cells, tag) => { const x = document.createElement('tr'); for (const c of cells) { const d = document.createElement(tag); d.textContent = c; x.append(d); } return x; };
      document.querySelector('thead').append(tr(r[0], 'th'));
      for (const row of r.slice(1)) {
        const x = tr(row, 'td');
        r[0].forEach((h, i) => {   // amounts right-aligned, the rule's sentence wrapped, as a spreadsheet would
          if (/^count_|cents$|fee$|^total$/.test(h)) x.children[i].className = 'num';
          if (h === 'rule') x.children[i].className = 'wrap';
        });
        document.querySelector('tbody').append(x);
      }
    }, [rows, `vigil billing export --month ${new Date().toISOString().slice(0, 7)} (${rows.length - 1} lines)`]);
    const w = await t.locator('#csv').evaluate((el) => Math.ceil(el.getBoundingClientRect().width) + 24);
    await t.setViewportSize({ width: Math.max(800, w), height: 120 });
    await t.screenshot({ path: path.join(SHOTS, 'billing-csv.png'), fullPage: true });
    await t.context().close();
    await a.context().close();
  }, { independent: true, timeout: 90000 });

  step('signing out, or a session that ends, brings the login back', async () => {
    const w = S.w;
    await w.locator('#btn-logout').click();
    await w.getByTestId('login-name').waitFor({ state: 'visible' });
    // the session ended elsewhere (cookie gone): the next 401 shows the login
    await S.b.context().clearCookies();
    await S.b.getByTestId('queue-row').first().click();
    await S.b.getByTestId('login-name').waitFor({ state: 'visible' });
    assert.equal(await S.b.getByTestId('queue').isVisible(), false);
    for (const pg of [S.a, S.b, S.w]) assert.deepEqual(pg.errors, [], 'page errors');
  });

  step('a frame from an unregistered account: a supervisor creates it from Signals, then it is ACKed', async () => {
    const NEW = 'C0FFEE', OTHER = 'BADC0DE';
    const send = (acct) => run(BIN.vigil, ['dc09', 'send', '--host', '127.0.0.1', '--port', String(R.dc09),
      '--account', acct, '--cid', '1130 01 001', '--seq', '1', '--timeout', '5']);
    for (const acct of [NEW, OTHER]) {
      const r = await send(acct);
      assert.equal(r.code, 1, `dc09 send from unknown ${acct}: a DUH exits 1, got ${r.code}\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /"id":"DUH"/, `unknown ${acct} is answered DUH`);
    }
    // the supervisor: the badge counts them; s opens the view
    const b = await newPage();
    await login(b, 'bob');
    await until('the signals badge', async () => (await b.getByTestId('signals-badge').innerText()) === '2', 5000);
    await b.keyboard.press('s');
    await b.getByTestId('signals-view').waitFor({ state: 'visible' });
    assert.equal(await b.getByTestId('queue').isVisible(), false, 'the queue gives way to the signals');
    const row = b.locator(`[data-testid=signal-row][data-account="${NEW}"]`);
    await row.waitFor();
    const txt = await row.innerText();
    assert.match(txt, /unknown account/i);
    assert.match(txt, /1130 01 001/, `the row says what the panel sent: ${txt}`);
    assert.equal(await row.locator('td.s-count').innerText(), '1');
    await row.getByTestId('btn-create-account').click();
    assert.equal(await b.locator('#account-number').inputValue(), NEW);
    assert.equal(await b.locator('#account-number').getAttribute('readonly'), '', 'the number is read-only');
    await b.getByTestId('account-submit').click();                 // no name: refused, plainly
    await b.getByTestId('account-result').filter({ hasText: /name is required/ }).waitFor();
    await b.getByTestId('account-name').fill('Bean There Cafe');
    await b.getByTestId('account-address').fill('77 Ossington Ave, Toronto ON');
    await b.getByTestId('account-phone').fill('+1 416 555 0190');
    await shot(b, 'signals.png');
    await b.getByTestId('account-submit').click();
    const res = b.getByTestId('account-result');
    await res.filter({ hasText: `account ${NEW} created: its signals are now received` }).waitFor();
    assert.match(await res.innerText(), /vigil account edit/);
    await row.getByTestId('btn-create-account').waitFor({ state: 'detached' });
    assert.match(await row.innerText(), /now registered/);
    await until('the badge counts the other one only', async () => (await b.getByTestId('signals-badge').innerText()) === '1', 5000);
    await shot(b, 'signals-created.png');
    // the same frame again is ACKed once the station has picked the account up
    let last;
    await until(`a frame from ${NEW} ACKed`, async () => { last = await send(NEW); return last.code === 0; }, 5000, 200)
      .catch((e) => { throw new Error(`${e.message}\nlast: exit ${last && last.code} ${last && last.stdout}${last && last.stderr}`); });
    // an operator sees the list, never the button; the API says no too
    const a = await newPage();
    await login(a, 'alice');
    await a.keyboard.press('s');
    await a.getByTestId('signals-view').waitFor({ state: 'visible' });
    const other = a.locator(`[data-testid=signal-row][data-account="${OTHER}"]`);
    await other.waitFor();
    assert.match(await other.innerText(), /a supervisor can create it/);
    await a.locator(`[data-testid=signal-row][data-account="${NEW}"]`).filter({ hasText: /now registered/ }).waitFor();
    assert.equal(await a.getByTestId('btn-create-account').count(), 0, 'no Create button for an operator');
    const st = await a.evaluate(async (n) => (await fetch('/api/accounts', { method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': window.vigil.me.csrf },
      body: JSON.stringify({ number: n, name: 'x' }) })).status, OTHER);
    assert.equal(st, 403, 'POST /api/accounts as an operator');
    // Esc goes back to the queue
    await a.keyboard.press('Escape');
    await a.getByTestId('signals-view').waitFor({ state: 'hidden' });
    await a.getByTestId('queue').waitFor({ state: 'visible' });
    for (const pg of [a, b]) assert.deepEqual(pg.errors, [], 'page errors');
    await a.context().close();
    await b.context().close();
  }, { independent: true });

  // ---- assisted duress set-up (docs/console.md "Set-up sessions"): a real vigil-panel
  // of a new customer; a refused code (R2), then a good one, then the test signal.
  step('assisted duress set-up with a real panel: refused (R2), programmed, the TEST duress', async () => {
    const ACCT = '7788', NEAR = '2469';   // NEAR: one digit from the master (R2)
    R.secrets.push(NEAR);
    await vigil('account', 'add', ACCT, '--name', 'Okafor residence', '--address', '12 Dunn Ave, Toronto ON',
      '--key-hex', KEY_HEX, '--phone', '+1 416 555 0150');
    await vigil('account', 'user', ACCT, 'add', 1, '--name', 'Ada Okafor');
    await sleep(1500);   // the station picks the new account up at its next check
    const p = R.setupPanel = new Panel(ACCT, 'panel-setup');
    p.cmd(`user 1 ${MASTER}`);
    await p.waitFor(/^queue delivered sia="YG" text="user code programmed"/, 0, 15000);
    const a = await newPage({ width: 1280, height: 800 });
    await login(a, 'alice');
    await a.keyboard.press('u');
    await a.getByTestId('setup-view').waitFor({ state: 'visible' });
    assert.equal(await a.getByTestId('queue').isVisible(), false, 'the queue gives way to the set-up');
    await a.getByTestId('setup-account').fill(ACCT);
    await a.getByTestId('setup-kind').selectOption('setup');
    await a.getByTestId('setup-open').click();
    await a.locator('[data-testid=setup-session][data-open="1"]').waitFor();
    assert.match(await a.getByTestId('setup-session').innerText(), /Okafor residence/);
    await shot(a, 'setup-open.png');
    const noDigits = async (what) => {
      const txt = await a.getByTestId('setup-view').innerText();
      for (const c of [MASTER, NEAR, DURESS_CODE]) assert.ok(!txt.includes(c), `${what}: a code's digits on the page`);
    };
    // a code one digit away from the master: refused, the rule and the slot shown
    let mark = p.lines.length;
    p.cmd(`user 2 ${NEAR} duress for 1`);
    await p.waitFor(/^error user 2 refused: R2 one-edit slot 1/, mark, 10000);
    const refused = a.locator('[data-testid=setup-report][data-result=refused]');
    await refused.waitFor({ timeout: 10000 });
    assert.match(await refused.innerText(), /REFUSED/);
    assert.match(await refused.innerText(), /R2 one edit: .*slot 1/);
    await noDigits('refusal');
    await shot(a, 'setup-refused.png');
    // a good one
    mark = p.lines.length;
    p.cmd(`user 2 ${DURESS_CODE} duress for 1`);
    const ok = a.locator('[data-testid=setup-report][data-result=programmed]');
    await ok.waitFor({ timeout: 10000 });
    assert.match(await ok.innerText(), /PROGRAMMED[\s\S]*Duress code · slot 2/);
    await noDigits('programmed');
    await shot(a, 'setup-programmed.png');
    // on test, then the customer enters the duress code once
    await a.getByTestId('setup-test-on').click();
    await a.getByTestId('setup-on-test').waitFor();
    assert.match(await a.getByTestId('setup-on-test').innerText(), new RegExp(`ACCOUNT ${ACCT} ON TEST`));
    mark = p.lines.length;
    p.cmd(`keys ${DURESS_CODE}#`);
    await p.waitFor(/^rx .* ack seq=\d+ cid="1121 /, mark, 10000);
    const sig = a.locator('[data-testid=setup-alarm][data-test="1"]');
    await sig.waitFor({ timeout: 10000 });
    assert.equal(await sig.getAttribute('data-dispatch-step'), '0', 'no dispatch step');
    assert.match(await sig.innerText(), /DURESS[\s\S]*TEST/);
    assert.match(await sig.getByTestId('setup-delivery').innerText(),
      /panel sent .*station received\s+\d\d:\d\d:\d\d\.\d{3}\s.*stored, ACK sent .*delivered within \d+\.\d s/s);
    assert.match(await sig.getByTestId('setup-nodispatch').innerText(), /No dispatch step/);
    assert.equal(await a.getByTestId('setup-dispatch').count(), 0, 'no dispatch step anywhere');
    await noDigits('test signal');
    await shot(a, 'setup-test-signal.png');
    // the queue shows it, marked TEST, at priority 1; its plan has no dispatch step
    await a.keyboard.press('Escape');
    await a.getByTestId('queue').waitFor({ state: 'visible' });
    const id = await a.evaluate((n) =>
      [...window.vigil.alarms.values()].find((x) => x.account === n && x.kind === 'duress').id, ACCT);
    const row = rowOf(a, id);
    await row.getByTestId('tag-test').waitFor();
    assert.equal(await row.getAttribute('data-priority'), '1');
    await row.click();
    await a.locator('#detail-body').getByTestId('tag-test').waitFor();
    assert.match(await a.getByTestId('test-notice').innerText(), /no dispatch step/);
    assert.equal(await a.locator('[data-testid=step-dispatch]').count(), 0, 'the test plan has no dispatch step');
    await a.getByTestId('step-confirm_test').waitFor();
    await shot(a, 'setup-queue-test.png');
    // back to the set-up: end the session (the account leaves test mode with it)
    await a.keyboard.press('Escape');
    await a.keyboard.press('u');
    await a.getByTestId('setup-end').click();
    await a.getByTestId('setup-ended').waitFor();
    assert.equal(await a.getByTestId('setup-on-test').count(), 0, 'test mode ended with the session');
    await shot(a, 'setup-ended.png');
    assert.deepEqual(a.errors, [], 'page errors');
    await a.context().close();
  }, { independent: true, timeout: 90000 });
});
