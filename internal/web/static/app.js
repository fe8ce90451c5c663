// licensehost admin page (docs/web.md). Plain JavaScript, no build step, no
// library. A client of the host's JSON API like any other: it signs in with
// POST /api/session and then calls the same routes as the CLI and the tray,
// sending the session's CSRF token on every state-changing request.
// Every text from the network is put in the page with textContent, never as
// HTML.

const API = {
  session: '/api/session',
  status: '/api/sponsor/status',
  activate: '/api/sponsor/activate',
  heartbeat: '/api/sponsor/heartbeat',
  clear: '/api/sponsor/clear',
  switchDevice: '/api/sponsor/device-switch-request',
  events: '/api/events?limit=20',
  activations: '/api/activations',
  activationRequest: '/api/activation/request',
  activationInstall: '/api/activation/install',
  activationUninstall: '/api/activation/uninstall',
  activationReceipt: '/api/activation/receipt',
  activationDelete: '/api/activation/delete',
  policyReload: '/api/policy/reload',
  policy: '/api/policy',
};
const POLL_MS = 30000;
const MAX_REASON_BYTES = 1024;
const MACHINE_ID = /^server_[0-9a-f]{16}$/;
const LANGS = ['en', 'zh'];

const state = {
  lang: 'en',
  dict: {},
  session: null, // {signedIn, role, csrfToken, expiresAt}
  status: null,
  statusSeq: 0,
  appliedSeq: 0,
  timer: 0,
  mounted: [], // {def, el}
};

// ---------- i18n ----------

// A message is {k, p} (a key of the translation files and its parameters)
// or a plain string (text from the network, shown as it is); rendering waits
// until it is shown, so a language switch re-renders everything.
const m = (k, p) => ({ k, p });

function t(msg) {
  if (msg == null) return '';
  if (typeof msg === 'string') return msg;
  let s = state.dict[msg.k] ?? msg.k;
  if (msg.p) {
    s = s.replace(/\{\{\.(\w+)\}\}/g, (all, name) => (name in msg.p ? t(msg.p[name]) : all));
  }
  return s;
}

function pickLang() {
  const saved = safeStorage('get', 'licensehost.lang');
  if (LANGS.includes(saved)) return saved;
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const base = String(l).toLowerCase().split('-')[0];
    if (LANGS.includes(base)) return base;
  }
  return 'en';
}

function safeStorage(op, key, value) {
  try {
    if (op === 'get') return window.localStorage.getItem(key);
    window.localStorage.setItem(key, value);
  } catch {
    // storage may be off; the language then follows the browser
  }
  return null;
}

async function setLang(lang) {
  let dict = {};
  if (lang !== 'en') {
    const res = await fetch(new URL(`i18n/${lang}.json`, import.meta.url));
    if (res.ok) dict = await res.json();
  }
  state.lang = lang;
  state.dict = dict;
  document.documentElement.lang = lang === 'zh' ? 'zh-Hans' : 'en';
  document.getElementById('lang').value = lang;
  translate(document);
  renderAll();
}

// translate fills every data-i18n element under root.
function translate(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(m(el.dataset.i18n));
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(m(el.dataset.i18nPlaceholder));
  document.title = t(m('licensehost admin'));
}

// ---------- formatting (the tray's words: docs/tray.md) ----------

const pad = (n) => String(n).padStart(2, '0');
function fmtTime(v) {
  const d = new Date(v);
  if (!v || Number.isNaN(d.getTime()) || d.getTime() <= 0) return '—';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
const orDash = (s) => (s == null || String(s).trim() === '' ? '—' : String(s));
const httpCode = (c) => (c ? `HTTP ${c}` : m('no HTTP answer'));
const graceDays = (left) => (left > 0 ? Math.ceil(left - 1e-9) : 0);

const STATUS = {
  active: { label: 'Active', sym: '✓', cls: 'ok' },
  grace: { label: 'Grace period', sym: '!', cls: 'warn' },
  grace_limited: { label: 'Grace period (limited)', sym: '!', cls: 'warn' },
  pending: { label: 'Pending verification', sym: '…', cls: 'warn' },
  expired: { label: 'Expired', sym: '✕', cls: 'bad' },
  switching: { label: 'Switching device', sym: '⇄', cls: 'info' },
  tampered: { label: 'Data altered', sym: '!', cls: 'bad' },
  community: { label: 'Not activated', sym: '–', cls: 'none' },
};
const statusInfo = (s) => STATUS[s] || { label: s || 'Not activated', sym: '–', cls: 'none' };
const statusLabel = (s) => m(statusInfo(s).label);

function editionLabel(st) {
  return !st.edition || st.edition === 'community' ? m('Community edition') : st.edition;
}

const KINDS = { activate: 'activation', heartbeat: 'refresh', switch: 'device switch' };

function lastRefreshText(lr) {
  if (!lr) return m('Never refreshed');
  const p = { Kind: m(KINDS[lr.kind] || lr.kind || ''), HTTP: httpCode(lr.httpStatus), When: fmtTime(lr.at), Message: orDash(lr.message) };
  return lr.success ? m('Last {{.Kind}}: OK · {{.HTTP}} · {{.When}}', p) : m('Last {{.Kind}}: failed · {{.HTTP}} · {{.When}} · {{.Message}}', p);
}

function graceNotice(st) {
  if (st.status !== 'grace' && st.status !== 'grace_limited') return null;
  const parts = [m('Verification is currently failing, please refresh later. Grace period: {{.N}} days left; everything keeps working meanwhile, then the installation falls back to the community edition.',
    { N: String(graceDays(st.graceDaysLeft ?? 0)) })];
  if (st.graceEndsAt) parts.push(' ', m('(until {{.When}})', { When: fmtTime(st.graceEndsAt) }));
  if (st.status === 'grace_limited') parts.push('\n', m('Too many failed verifications: batch creation is capped at 20 until the license server confirms the key again.'));
  return parts;
}

function mismatchProblem(id) {
  return {
    title: m('License key mismatch'),
    detail: [m('This license key is bound to another machine code: this machine changed (hardware, network interfaces or a move to another server). Either get a key for this machine\'s code {{.ID}} and activate it again, or move the license here from the old machine with "Switch device".', { ID: orDash(id) })],
  };
}

function statusProblem(st) {
  switch (st.status) {
    case 'expired':
      if (st.reason === 'machine_changed') return mismatchProblem(st.machineId);
      if (st.reason === 'license_expired') return { title: m('The license has expired'), detail: [m('The installation runs as the community edition. Renew the license, then activate it again.')] };
      if (st.reason === 'grace_over') return { title: m('Grace period over'), detail: [m('Verification kept failing, so the installation fell back to the community edition. Press Refresh now once the license server is reachable.')] };
      return { title: m('The license is not in force'), detail: [orDash(st.reason)] };
    case 'tampered': {
      // docs/reliability.md, "Tamper evidence": the message says what disagrees.
      const what = m('Until the license is verified again the installation runs with community limits. Press Refresh now to verify it with the license server again; if that fails, clear the license and activate it again.');
      return { title: m('Local license data was altered'), detail: st.message && st.message.trim() ? [st.message.trim(), '\n', what] : [what] };
    }
    case 'pending':
      return { title: m('Not verified yet'), detail: [m('The key is stored but the license server has not confirmed it yet; it is retried automatically. Press Refresh now to retry.')] };
    case 'switching':
      return { title: m('Moving to another machine'), detail: [m('This machine handed its license to {{.To}}; it keeps working until the switch window closes, then falls back to the community edition.', { To: orDash(st.switchedTo) })] };
    case 'community':
      if (st.reason === 'switch_window_over') return { title: m('The license moved to another machine'), detail: [m('This installation runs as the community edition.')] };
  }
  return null;
}

const serverSaid = (code, msg) => m('License server said ({{.HTTP}}): {{.Message}}', { HTTP: httpCode(code), Message: orDash(msg) });
const isMismatch = (msg) => /mismatch|不匹配/i.test(msg || '');

// explain puts a failed API answer in plain words, as the tray does
// (docs/tray.md, "Errors in plain words").
function explain(res, action) {
  const b = res.data || {};
  if (res.status === 0) {
    return { title: m('The license host is not running'), detail: [m('Start it with `licensehost` (or `make run` in a source checkout), then press Refresh now.')] };
  }
  const re = b.remoteError || null;
  const remoteCode = re ? re.httpStatus : 0;
  const remoteMsg = (re && re.message) || b.message || '';
  switch (res.status) {
    case 403:
      if (b.error === 'csrf') return { title: m('The request was refused'), detail: [orDash(b.message)] };
      return { title: m('This token may not do that'), detail: [m('A read-only app token cannot change the license. Use the admin token (admin.token).')] };
    case 400:
      if (action === 'activate') return { title: m('Invalid license key format'), detail: [m('The key is incomplete or malformed. Copy the whole key again from where you got it and paste it here.')] };
      return { title: m('The request was refused'), detail: [orDash(b.message)] };
    case 409:
      if (action === 'reload') return { title: m('The request was refused'), detail: [orDash(b.message)] };
      return { title: m('No license is stored'), detail: [m('Activate a license key first.')] };
    case 422:
      if (action === 'reload') return { title: m('The request was refused'), detail: [orDash(b.message)] };
      if (isMismatch(remoteMsg)) {
        const p = mismatchProblem(state.status && state.status.machineId);
        p.detail.unshift(serverSaid(remoteCode, remoteMsg), '\n');
        return p;
      }
      return { title: m('Invalid license key'), detail: [serverSaid(remoteCode, remoteMsg), '\n', m('The license server rejected this key: it may have expired, been suspended or not exist. Check it where you got it, or get a new one.')] };
    case 503:
      // The host is busy with another call to the license server, or
      // starting: nothing was done.
      return { title: m('The license host did not answer in time'), detail: [m('Try again in a moment.'), '\n', orDash(b.message)] };
    case 502:
      return {
        title: m('No answer from the license server'),
        detail: [m('The license server is unreachable or failed ({{.HTTP}}): {{.Message}}', { HTTP: httpCode(remoteCode), Message: orDash(remoteMsg) }), '\n',
          b.fallback && b.fallback.isSponsored ? m('The license keeps working during the grace period; try again later.') : m('Nothing was lost; try again later.')],
      };
  }
  return { title: m('Something went wrong'), detail: [`HTTP ${res.status}: ${orDash(b.message)}`] };
}

// explainFile: the host refuses a bad activation file or serial with one
// plain message (docs/activation-files.md); show it as it is.
function explainFile(res, title) {
  const b = res.data || {};
  if (res.status === 0 || (res.status === 403 && b.error === 'forbidden') || res.status === 403 && b.error === 'csrf') return explain(res, 'file');
  return { title, detail: [orDash(b.message)] };
}

// ---------- license details (read leniently: any field may be missing) ----------

function str(o, k) {
  const v = o ? o[k] : undefined;
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return '';
}
function maskKey(k) {
  const r = Array.from(k || '');
  if (r.length === 0) return '';
  if (r.length <= 8) return '•'.repeat(r.length);
  return r.slice(0, 4).join('') + '…' + r.slice(-4).join('');
}
function maybeTime(s) {
  return /^\d{4}-\d\d-\d\dT/.test(s) && !Number.isNaN(new Date(s).getTime()) ? fmtTime(s) : s;
}
function licenseRows(lic) {
  if (!lic || typeof lic !== 'object' || Array.isArray(lic)) return [];
  const pair = (a, b) => (a === '' && b === '' ? '' : `${orDash(a)} / ${orDash(b)}`);
  const quota = (k) => (str(lic, k) !== '' ? str(lic, k) : m('unlimited'));
  let activated = str(lic, 'activatedAt');
  if (activated && str(lic, 'timezone')) activated = `${maybeTime(activated)} (${str(lic, 'timezone')})`;
  const rows = [
    ['Application', str(lic, 'applicationName')],
    ['License type', str(lic, 'licenseTypeDisplayName') || str(lic, 'licenseTypeName')],
    ['License key', maskKey(str(lic, 'licenseKey'))],
    ['Remote status', str(lic, 'status')],
    ['Expires', maybeTime(str(lic, 'expiresAt'))],
    ['Activated', maybeTime(activated)],
    ['Devices (used / max)', pair(str(lic, 'currentDevices'), str(lic, 'maxDevices'))],
    ['Uses (used / max)', pair(str(lic, 'currentUses'), str(lic, 'maxUses'))],
    ['Total quota', quota('customField1')],
    ['Batch quota', quota('customField2')],
    ['Custom field 3', str(lic, 'customField3')],
    ['Client IP', str(lic, 'clientIP')],
  ];
  return rows.filter(([, v]) => v !== '').map(([k, v]) => [m(k), v]);
}

// ---------- DOM helpers ----------

const $ = (root, sel) => root.querySelector(sel);
const field = (root, name) => root.querySelector(`[data-f="${name}"]`);

// put sets an element's text from messages (strings, {k,p}, or '\n' for a
// line break; CSS keeps the breaks).
function put(el, ...msgs) {
  if (!el) return;
  el.textContent = msgs.flat().map(t).join('');
}

function kvRows(dl, rows, emptyMsg) {
  dl.replaceChildren();
  if (rows.length === 0 && emptyMsg) {
    const dd = document.createElement('dd');
    put(dd, emptyMsg);
    dl.append(dd);
  }
  for (const [k, v] of rows) {
    const dt = document.createElement('dt');
    const dd = document.createElement('dd');
    put(dt, k);
    put(dd, v);
    dl.append(dt, dd);
  }
}

// A result is what an action answered; it is kept as messages and drawn
// again on a language switch. {kind: 'ok'|'error'|'busy', title, detail, rows, caption}
function drawResult(el, r) {
  el.replaceChildren();
  el.className = 'result' + (r ? ` ${r.kind}` : '');
  if (!r) return;
  if (r.title) {
    const s = document.createElement('strong');
    put(s, r.title);
    el.append(s);
  }
  if (r.detail && r.detail.length) {
    const p = document.createElement('p');
    p.className = 'pre';
    put(p, r.detail);
    el.append(p);
  }
  if (r.rows && r.rows.length) {
    if (r.caption) {
      const c = document.createElement('p');
      c.className = 'help';
      put(c, r.caption);
      el.append(c);
    }
    const dl = document.createElement('dl');
    dl.className = 'kv';
    kvRows(dl, r.rows);
    el.append(dl);
  }
}

// ---------- the API ----------

// api calls the host. body: an object (sent as JSON), or {text} (sent as
// text/plain, e.g. an activation file).
async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const isText = body && typeof body.text === 'string' && Object.keys(body).length === 1;
  if (body !== undefined) headers['Content-Type'] = isText ? 'text/plain; charset=utf-8' : 'application/json';
  if (method !== 'GET' && state.session && state.session.csrfToken) headers['X-CSRF-Token'] = state.session.csrfToken;
  let res;
  try {
    res = await fetch(path, {
      method, headers, credentials: 'same-origin', cache: 'no-store', redirect: 'error',
      body: body === undefined ? undefined : isText ? body.text : JSON.stringify(body),
    });
  } catch {
    return { status: 0, ok: false, data: null };
  }
  let data = null;
  const ct = res.headers.get('Content-Type') || '';
  try {
    data = ct.startsWith('application/json') ? await res.json() : await res.text();
  } catch {
    data = null;
  }
  if (res.status === 401 && path !== API.session) sessionEnded();
  return { status: res.status, ok: res.ok, data };
}

// ---------- sections ----------
// A section is a <template> in index.html plus these hooks; to add one, add
// both. admin: only for the admin token (never added for the app token).
// mount(el) wires it once; update(el, status) runs after every status read;
// draw(el) re-renders what it keeps on a language switch.

const SECTIONS = [
  { id: 'status', tpl: 'tpl-status', admin: false, mount: mountStatus, update: updateStatus, draw: drawKept },
  { id: 'activate', tpl: 'tpl-activate', admin: true, mount: mountActivate, update: updateActivate, draw: drawKept },
  { id: 'switch', tpl: 'tpl-switch', admin: true, mount: mountSwitch, draw: drawKept },
  { id: 'features', tpl: 'tpl-features', admin: false, update: updateFeatures, draw: drawKept },
  { id: 'activations', tpl: 'tpl-activations', admin: true, mount: mountActivations, update: updateActivations, draw: drawActivations },
  { id: 'policy', tpl: 'tpl-policy', admin: true, mount: mountPolicy, update: updatePolicy, draw: drawPolicy },
  { id: 'events', tpl: 'tpl-events', admin: true, update: updateEvents, draw: drawEvents },
];

const kept = new WeakMap(); // section element → {resultField: result}

function keep(el, name, r) {
  const k = kept.get(el) || {};
  k[name] = r;
  kept.set(el, k);
  drawResult(field(el, name), r);
}
function drawKept(el, resultsOnly) {
  const k = kept.get(el) || {};
  for (const [name, r] of Object.entries(k)) drawResult(field(el, name), r);
  if (state.status && !resultsOnly) {
    const def = state.mounted.find((x) => x.el === el)?.def;
    if (def && def.update) def.update(el, state.status);
  }
}

function isAdmin() {
  return state.session && state.session.role === 'admin';
}

function mountSections() {
  const host = document.getElementById('sections');
  host.replaceChildren();
  state.mounted = [];
  for (const def of SECTIONS) {
    if (def.admin && !isAdmin()) continue;
    const frag = document.getElementById(def.tpl).content.cloneNode(true);
    const el = frag.firstElementChild;
    host.append(frag);
    translate(el);
    if (def.mount) def.mount(el);
    state.mounted.push({ def, el });
  }
}

function renderAll() {
  for (const { def, el } of state.mounted) {
    translate(el);
    if (def.draw) def.draw(el);
  }
  renderWho();
}

// busy disables a section's controls while its call runs (aria-busy tells
// assistive technology, and tests, when it is done).
async function busy(el, fn) {
  const controls = Array.from(el.querySelectorAll('button, input')).filter((c) => !c.disabled);
  for (const c of controls) c.disabled = true;
  el.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    for (const c of controls) c.disabled = false;
    el.removeAttribute('aria-busy');
    if (state.status) updateStatusControls();
  }
}

// -- status card --

function mountStatus(el) {
  $(el, '[data-act="copy"]').addEventListener('click', () => copyMachineCode(el));
  if (!isAdmin()) return;
  const slot = $(el, '[data-slot="actions"]');
  const frag = document.getElementById('tpl-status-actions').content.cloneNode(true);
  slot.append(frag);
  translate(slot);
  $(el, '[data-act="refresh"]').addEventListener('click', () => busy(el, async () => {
    keep(el, 'actionResult', { kind: 'busy', title: m('Contacting the license server…') });
    const res = await api('POST', API.heartbeat, {});
    if (res.ok) keep(el, 'actionResult', { kind: 'ok', title: m('Verified with the license server: {{.Status}}.', { Status: statusLabel(res.data.status) }) });
    else if (res.status !== 401) {
      const p = explain(res, 'heartbeat');
      keep(el, 'actionResult', { kind: 'error', title: p.title, detail: withStays(p.detail, res) });
    }
    await loadStatus();
  }));
  $(el, '[data-act="clear"]').addEventListener('click', async () => {
    const ok = await confirmDialog(m('Clear the license?'), m('The license key is removed from this installation, which falls back to the community edition.\nYou can activate the same key again later.'), m('Clear license'));
    if (!ok) return;
    await busy(el, async () => {
      const res = await api('POST', API.clear, {});
      if (res.ok) keep(el, 'actionResult', { kind: 'ok', title: m('License cleared: the installation runs as the community edition.') });
      else if (res.status !== 401) keep(el, 'actionResult', { kind: 'error', ...explain(res, 'clear') });
      await loadStatus();
    });
  });
}

function withStays(detail, res) {
  const s = res.data && (res.data.fallback ? res.data.fallback.status : res.data.status);
  return s ? [...detail, '\n', m('The installation stays: {{.Status}}.', { Status: statusLabel(s) })] : detail;
}

function updateStatus(el, st) {
  const info = statusInfo(st.status);
  const badge = field(el, 'badge');
  badge.className = `badge ${info.cls}`;
  badge.dataset.status = st.status;
  put(field(el, 'sym'), info.sym);
  put(field(el, 'badgeText'), statusLabel(st.status));
  put(field(el, 'machineId'), st.machineId);
  put(field(el, 'edition'), editionLabel(st));
  put(field(el, 'licenseKey'), orDash(st.licenseKey));
  const lim = st.limits || {};
  const usage = st.usage ? st.usage.total : 0;
  put(field(el, 'usage'), `${usage} / `, lim.total == null ? m('unlimited') : String(lim.total));
  put(field(el, 'lastRefresh'), lastRefreshText(st.lastRefresh));
  const g = graceNotice(st);
  field(el, 'grace').hidden = !g;
  put(field(el, 'grace'), g || '');
  const p = statusProblem(st);
  field(el, 'problem').hidden = !p;
  if (p) {
    put(field(el, 'problemTitle'), p.title);
    put(field(el, 'problemDetail'), p.detail);
  }
  // Setup warnings, in the host's words (English: docs/reliability.md, "Warnings").
  const notes = (st.notes || []).map((n) => String(n).trim()).filter((n) => n);
  field(el, 'notes').hidden = notes.length === 0;
  field(el, 'notesList').replaceChildren(...notes.map((n) => {
    const li = document.createElement('li');
    li.textContent = n;
    return li;
  }));
  kvRows(field(el, 'details'), licenseRows(st.license), m('No license details yet.'));
  updateStatusControls();
}

// Clear needs a stored key (and no call running).
function updateStatusControls() {
  const clear = document.querySelector('#status [data-act="clear"]');
  if (clear && !clear.closest('[aria-busy]')) clear.disabled = !(state.status && state.status.licenseKey);
}

async function copyMachineCode(el) {
  const code = field(el, 'machineId').textContent;
  let ok = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(code);
      ok = true;
    }
  } catch {
    ok = false;
  }
  if (!ok) {
    // Plain-HTTP pages on a LAN address have no clipboard API: select the
    // code so Ctrl+C copies it, and try the legacy command.
    const range = document.createRange();
    range.selectNodeContents(field(el, 'machineId'));
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
  }
  const c = field(el, 'copied');
  put(c, ok ? m('Copied') : m('Selected: press Ctrl+C to copy.'));
  c.dataset.ok = ok ? '1' : '0';
}

// -- activation --

function mountActivate(el) {
  const form = field(el, 'form');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = $(el, '#licenseKey');
    const key = input.value.trim();
    if (!key) {
      keep(el, 'result', { kind: 'error', title: m('Enter a license key first.') });
      input.focus();
      return;
    }
    busy(el, async () => {
      keep(el, 'result', { kind: 'busy', title: m('Contacting the license server…') });
      const res = await api('POST', API.activate, { licenseKey: key });
      if (res.ok) {
        input.value = '';
        keep(el, 'result', {
          kind: 'ok', title: m('License activated. Status: {{.Status}}.', { Status: statusLabel(res.data.status) }),
          rows: licenseRows(res.data.license), caption: m('Details from the license server, just now.'),
        });
      } else if (res.status !== 401) {
        const p = explain(res, 'activate');
        keep(el, 'result', {
          kind: 'error', title: p.title, detail: withStays(p.detail, res),
          rows: licenseRows(res.data && res.data.license), caption: m('Details sent by the license server with this answer.'),
        });
      }
      // Re-read the status; it never overwrites what the activation showed.
      await loadStatus();
    });
  });
}

function updateActivate(el, st) {
  put(field(el, 'machineId'), st.machineId);
}

// -- device switch --

function mountSwitch(el) {
  field(el, 'form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const id = $(el, '#newMachineId').value.trim();
    const reason = $(el, '#reason').value;
    let bad = null;
    if (!MACHINE_ID.test(id)) bad = m('A machine code is server_ followed by 16 lowercase hex characters.');
    else if (state.status && id === state.status.machineId) bad = m("That is this machine's own code.");
    else if (new TextEncoder().encode(reason).length > MAX_REASON_BYTES) bad = m('The reason is too long.');
    if (bad) {
      keep(el, 'result', { kind: 'error', title: bad });
      return;
    }
    const ok = await confirmDialog(m('Move the license?'), m('The license moves to {{.ID}}. This machine keeps it during the switch window, then falls back to the community edition.', { ID: id }), m('Move license'));
    if (!ok) return;
    await busy(el, async () => {
      keep(el, 'result', { kind: 'busy', title: m('Contacting the license server…') });
      const res = await api('POST', API.switchDevice, { newMachineId: id, reason });
      if (res.ok) keep(el, 'result', { kind: 'ok', title: m('The license moves to {{.ID}}. Status here: {{.Status}}.', { ID: id, Status: statusLabel(res.data.status) }) });
      else if (res.status !== 401) {
        const p = explain(res, 'switch');
        keep(el, 'result', { kind: 'error', title: p.title, detail: withStays(p.detail, res) });
      }
      await loadStatus();
    });
  });
}

// -- features (from the status: docs/features.md) --

const FEATURE_REASONS = {
  not_licensed: m('Not licensed'), expired: m('Expired'), preauth_over: m('Pre-authorization over'), unknown_feature: m('Unknown feature'),
};
const GRANT_KINDS = { preauth: m('Pre-authorization'), temporary: m('Temporary'), formal: m('Formal') };

function grantSource(f) {
  const kind = f.kind ? GRANT_KINDS[f.kind] || f.kind : '';
  if (!f.source) return kind;
  if (f.source === 'online') return [kind, ' · ', m('online license')];
  if (f.source === 'preauth') return kind;
  const serial = f.source.startsWith('activation:') ? f.source.slice('activation:'.length) : f.source;
  return [kind, ' · ', m('activation file {{.Serial}}', { Serial: serial })];
}

function daysText(at, left) {
  if (!at) return m('never');
  const when = fmtTime(at);
  return left == null ? when : [when, ' ', m('({{.N}} days left)', { N: String(graceDays(left)) })];
}

function updateFeatures(el, st) {
  const list = Array.isArray(st.features) ? st.features : [];
  el.hidden = list.length === 0 && !st.preauth;
  const tbody = field(el, 'rows');
  tbody.replaceChildren();
  for (const f of list) {
    const tr = document.createElement('tr');
    tr.dataset.feature = f.name;
    const name = document.createElement('td');
    put(name, f.title && f.title !== f.name ? `${f.title} (${f.name})` : f.name);
    const state = document.createElement('td');
    put(state, f.enabled ? ['✓ ', m('Enabled')] : ['✕ ', FEATURE_REASONS[f.reason] || f.reason || FEATURE_REASONS.not_licensed]);
    state.className = f.enabled ? 'ok' : '';
    const by = document.createElement('td');
    put(by, grantSource(f));
    const exp = document.createElement('td');
    put(exp, f.kind ? daysText(f.expiresAt, f.enabled ? f.daysLeft : null) : '—');
    tr.append(name, state, by, exp);
    tbody.append(tr);
  }
  const p = st.preauth;
  let pre = '';
  if (p && p.superseded) pre = m('Pre-authorization: superseded by a temporary or formal license.');
  else if (p && p.daysLeft > 0) pre = m('Pre-authorization: {{.Days}} days left (until {{.Date}}).', { Days: String(graceDays(p.daysLeft)), Date: fmtTime(p.endsAt) });
  else if (p) pre = m('Pre-authorization: over since {{.Date}}.', { Date: fmtTime(p.endsAt) });
  put(field(el, 'preauth'), pre);
}

// -- activation files (docs/activation-files.md) --

// download saves text as a file through the browser.
function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

const ACT_STATES = { in_force: m('In force'), expired: m('Expired'), untrusted: m('Untrusted key'), wrong_machine: m('Another machine'), damaged: m('Damaged') };
let lastActivations = null;

function mountActivations(el) {
  field(el, 'requestForm').addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(el, async () => {
      const key = $(el, '#requestKey').value.trim();
      const res = await api('POST', API.activationRequest, key ? { licenseKey: key } : {});
      if (res.ok && res.data && res.data.file) {
        download(`activation-request-${res.data.machineId || 'host'}.txt`, res.data.file);
        keep(el, 'result', { kind: 'ok', title: m('Request file downloaded: send it to your vendor.') });
      } else if (res.status !== 401) {
        keep(el, 'result', { kind: 'error', ...explainFile(res, m('The request was refused')) });
      }
    });
  });
  field(el, 'installForm').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = $(el, '#activationFile');
    const file = input.files && input.files[0];
    if (!file) {
      keep(el, 'result', { kind: 'error', title: m('Choose an activation file first.') });
      return;
    }
    busy(el, async () => {
      const text = await file.text();
      const res = await api('POST', API.activationInstall, { text });
      if (res.ok && res.data) {
        const a = res.data.activation || {};
        keep(el, 'result', {
          kind: 'ok',
          title: res.data.already ? m('Already installed: {{.Serial}}.', { Serial: a.serial }) : m('Installed: {{.Serial}}.', { Serial: a.serial }),
        });
        input.value = '';
      } else if (res.status !== 401) {
        keep(el, 'result', { kind: 'error', ...explainFile(res, m('The activation file was refused')) });
      }
      await loadStatus();
    });
  });
  field(el, 'receiptForm').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const serial = $(el, '#receiptSerial').value.trim();
    if (!serial) return;
    busy(el, async () => {
      await receipt(el, API.activationReceipt, serial, m('Receipt downloaded: {{.Serial}}.', { Serial: serial }));
    });
  });
}

async function receipt(el, path, serial, okMsg) {
  const res = await api('POST', path, { serial });
  if (res.ok && res.data && res.data.file) {
    download(`uninstall-receipt-${serial}.txt`, res.data.file);
    keep(el, 'result', { kind: 'ok', title: okMsg });
  } else if (res.status !== 401) {
    keep(el, 'result', { kind: 'error', ...explainFile(res, m('The request was refused')) });
  }
}

async function updateActivations(el) {
  const res = await api('GET', API.activations);
  if (res.ok && res.data) lastActivations = res.data;
  drawActivations(el);
}

function drawActivations(el) {
  drawKept(el, true);
  const list = (lastActivations && lastActivations.activations) || [];
  field(el, 'table').hidden = list.length === 0;
  field(el, 'empty').hidden = list.length > 0;
  const tbody = field(el, 'rows');
  tbody.replaceChildren();
  for (const a of list) {
    const tr = document.createElement('tr');
    tr.dataset.serial = a.serial;
    const cells = [
      a.serial,
      GRANT_KINDS[a.kind] || a.kind || '',
      [ACT_STATES[a.state] || a.state || '', a.reason ? ` (${a.reason})` : ''],
      a.licenseTypeDisplayName || a.licenseType || '',
      (a.features || []).map((f) => f.name).join(', '),
      daysText(a.expiresAt, a.daysLeft),
    ];
    for (const c of cells) {
      const td = document.createElement('td');
      put(td, c);
      tr.append(td);
    }
    const td = document.createElement('td');
    if (a.kind === 'formal' && a.uninstallable && a.state === 'in_force') {
      td.append(rowButton(m('Uninstall…'), 'danger', () => uninstall(el, a.serial)));
    }
    if (a.state !== 'in_force') {
      td.append(rowButton(m('Delete…'), 'secondary', () => deleteFile(el, a.serial)));
    }
    tr.append(td);
    tbody.append(tr);
  }
}

function rowButton(label, cls, fn) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = `small ${cls}`;
  put(b, label);
  b.addEventListener('click', fn);
  return b;
}

async function uninstall(el, serial) {
  const ok = await confirmDialog(m('Uninstall {{.Serial}}?', { Serial: serial }),
    m('The license is removed from this machine for good and an uninstall receipt is downloaded: send it to your vendor to free the license.'), m('Uninstall'));
  if (!ok) return;
  await busy(el, async () => {
    await receipt(el, API.activationUninstall, serial, m('Uninstalled {{.Serial}}: the receipt was downloaded; send it to your vendor.', { Serial: serial }));
    await loadStatus();
  });
}

async function deleteFile(el, serial) {
  const ok = await confirmDialog(m('Delete {{.Serial}}?', { Serial: serial }), m('The file no longer grants anything here; it is removed from the list.'), m('Delete'));
  if (!ok) return;
  await busy(el, async () => {
    const res = await api('POST', API.activationDelete, { serial });
    if (res.ok) keep(el, 'result', { kind: 'ok', title: m('Deleted {{.Serial}}.', { Serial: serial }) });
    else if (res.status !== 401) keep(el, 'result', { kind: 'error', ...explainFile(res, m('The request was refused')) });
    await loadStatus();
  });
}

// -- quota policy --

function mountPolicy(el) {
  $(el, '[data-act="reload"]').addEventListener('click', () => busy(el, async () => {
    const res = await api('POST', API.policyReload, {});
    if (res.ok) keep(el, 'result', { kind: 'ok', title: m('Policies reloaded.') });
    else if (res.status === 409) keep(el, 'result', { kind: 'error', title: m('No policy directory is configured: the builtin policy is in force.') });
    else if (res.status !== 401) keep(el, 'result', { kind: 'error', ...explain(res, 'reload') });
    await loadStatus();
  }));
}

// The routing rules and the decisions per module come from GET /api/policy.
let lastPolicies = null;

async function updatePolicy(el, st) {
  put(field(el, 'policy'), st.policy || 'builtin');
  const res = await api('GET', API.policy);
  if (res.ok && res.data) lastPolicies = res.data;
  drawPolicy(el);
}

function rowsInto(tbody, rows) {
  tbody.replaceChildren();
  for (const r of rows) {
    const tr = document.createElement('tr');
    for (const v of r) {
      const td = document.createElement('td');
      put(td, v);
      tr.append(td);
    }
    tbody.append(tr);
  }
}

function drawPolicy(el) {
  drawKept(el, true);
  if (state.status) put(field(el, 'policy'), state.status.policy || 'builtin');
  const p = lastPolicies;
  if (!p) return;
  const routes = (p.routes || []).map((r) => [
    r.match === 'default' ? m('every other type (default)') : r.match,
    r.policy,
    r.path ? `${r.path}${r.sha256 ? ` · sha256 ${r.sha256.slice(0, 12)}…` : ''}` : '—',
  ]);
  rowsInto($(field(el, 'routes'), 'tbody'), routes);
  const stats = (p.stats || []).map((s) => {
    const fb = Object.entries(s.fallbacks || {}).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
    return [s.policy, String(s.decisions), fb.length ? fb.join(', ') : '0'];
  });
  field(el, 'decisions').hidden = stats.length === 0;
  rowsInto($(field(el, 'decisions'), 'tbody'), stats);
  field(el, 'nodir').hidden = !!p.configured;
}

// -- events --

let lastEvents = [];
async function updateEvents(el) {
  const res = await api('GET', API.events);
  if (res.ok && res.data && Array.isArray(res.data.events)) lastEvents = res.data.events;
  drawEvents(el);
}
function drawEvents(el) {
  const tbody = field(el, 'rows');
  tbody.replaceChildren();
  for (const ev of lastEvents) {
    const tr = document.createElement('tr');
    for (const v of [fmtTime(ev.at), ev.kind || '', ev.message || '']) {
      const td = document.createElement('td');
      td.textContent = v;
      tr.append(td);
    }
    tbody.append(tr);
  }
  field(el, 'empty').hidden = lastEvents.length > 0;
}

// ---------- confirmation dialog ----------

function confirmDialog(title, body, okLabel) {
  const d = document.getElementById('confirm');
  put(document.getElementById('confirm-title'), title);
  put(document.getElementById('confirm-body'), body);
  put(document.getElementById('confirm-ok'), okLabel);
  return new Promise((resolve) => {
    const ok = document.getElementById('confirm-ok');
    const cancel = document.getElementById('confirm-cancel');
    // Escape fires 'cancel' at once (the 'close' event comes later, as a
    // task, and could reach the next dialog's listeners).
    const done = (v) => {
      ok.removeEventListener('click', onOk);
      cancel.removeEventListener('click', onCancel);
      d.removeEventListener('cancel', onCancel);
      if (d.open) d.close();
      resolve(v);
    };
    const onOk = () => done(true);
    const onCancel = () => done(false);
    ok.addEventListener('click', onOk);
    cancel.addEventListener('click', onCancel);
    d.addEventListener('cancel', onCancel);
    d.showModal();
    cancel.focus(); // the safe choice has the focus
  });
}

// ---------- status reads ----------

async function loadStatus() {
  const seq = ++state.statusSeq;
  const res = await api('GET', API.status);
  if (seq < state.appliedSeq) return; // an older read answering late never wins
  state.appliedSeq = seq;
  const banner = document.getElementById('banner');
  if (!res.ok) {
    if (res.status === 401) return;
    const p = explain(res, 'status');
    banner.hidden = false;
    put(banner, p.title, '\n', p.detail);
    return;
  }
  banner.hidden = true;
  state.status = res.data;
  for (const { def, el } of state.mounted) if (def.update) def.update(el, state.status);
  document.body.dataset.status = state.status.status;
}

// ---------- session ----------

function renderWho() {
  const who = document.getElementById('who');
  const out = document.getElementById('signout');
  const signed = state.session && state.session.signedIn;
  who.hidden = !signed;
  out.hidden = !signed;
  if (signed) put(who, isAdmin() ? m('Signed in with the admin token') : m('Signed in with the read-only app token: status only'));
}

function showSignIn(msg) {
  clearInterval(state.timer);
  state.session = null;
  state.status = null;
  state.mounted = [];
  document.getElementById('sections').replaceChildren();
  document.getElementById('signin').hidden = false;
  document.getElementById('banner').hidden = true;
  put(document.getElementById('signin-error'), msg || '');
  renderWho();
  document.getElementById('token').focus();
}

function sessionEnded() {
  if (state.session) showSignIn(m('Your session ended; sign in again.'));
}

async function startSession(sess) {
  state.session = sess;
  document.getElementById('signin').hidden = true;
  mountSections();
  renderWho();
  await refreshAll();
  clearInterval(state.timer);
  state.timer = setInterval(refreshAll, POLL_MS);
  document.getElementById('main').focus();
}

async function refreshAll() {
  await loadStatus();
}

async function signIn(ev) {
  ev.preventDefault();
  const input = document.getElementById('token');
  const token = input.value.trim();
  const err = document.getElementById('signin-error');
  if (!token) {
    put(err, m('Enter a token first.'));
    return;
  }
  const res = await api('POST', API.session, { token });
  input.value = ''; // the token never stays in the page
  if (res.ok && res.data && res.data.signedIn) {
    put(err, '');
    await startSession(res.data);
  } else if (res.status === 401) {
    put(err, m('Wrong token'), ': ', m('Paste the admin token (admin.token in the host\'s data directory) for the full page, or the read-only app token to see the status only.'));
  } else {
    put(err, explain(res, 'signin').title);
  }
}

async function signOut() {
  await api('DELETE', API.session);
  showSignIn(m('Signed out.'));
}

async function main() {
  document.getElementById('signin-form').addEventListener('submit', signIn);
  document.getElementById('signout').addEventListener('click', signOut);
  document.getElementById('lang').addEventListener('change', (ev) => {
    safeStorage('set', 'licensehost.lang', ev.target.value);
    setLang(ev.target.value);
  });
  await setLang(pickLang());
  // A one-time sign-in link (licensehost web --link): the code leaves the
  // address bar and the history at once, and works once.
  if (location.hash.startsWith('#signin=')) {
    const code = decodeURIComponent(location.hash.slice('#signin='.length));
    history.replaceState(null, '', location.pathname + location.search);
    const link = await api('POST', API.session, { code });
    document.getElementById('loading').hidden = true;
    if (link.ok && link.data && link.data.signedIn) await startSession(link.data);
    else showSignIn(m('This sign-in link was used already or has expired: run `licensehost web --link` again, or sign in with the token.'));
    document.body.dataset.ready = '1';
    return;
  }
  const res = await api('GET', API.session);
  document.getElementById('loading').hidden = true;
  if (res.ok && res.data && res.data.signedIn) await startSession(res.data);
  else if (res.status === 0) {
    const banner = document.getElementById('banner');
    banner.hidden = false;
    const p = explain(res, 'status');
    put(banner, p.title, '\n', p.detail);
  } else showSignIn();
  document.body.dataset.ready = '1';
}

main();
