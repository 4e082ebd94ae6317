/* global document, location, history, Node */
// The ops dashboard: reads the JSON API with the bearer token kept in this tab, refreshes every few
// seconds, and builds the page with textContent only (no innerHTML), so nothing the API returns can
// become markup. The access report, which is HTML rendered by the gateway, goes into a sandboxed
// frame that runs no script.

const REFRESH_MS = 5_000;
const TOKEN_KEY = 'partner-gateway-ops-token';
const $ = (selector) => document.querySelector(selector);

let caller = null;
let timer = null;

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (value !== false && value !== undefined && value !== null) node.setAttribute(key, String(value));
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function say(text, kind = 'info') {
  const message = $('#message');
  message.textContent = text;
  message.dataset.kind = kind;
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const response = await fetch(path, {
    ...options,
    headers: {
      authorization: `Bearer ${token ?? ''}`,
      ...(options.body ? { 'content-type': 'application/json' } : {}),
    },
  });
  const type = response.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, typeof body === 'object' ? body.error : String(body));
  return body;
}

const when = (iso) =>
  iso
    ? new Date(iso)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '-';

function rateCell(p) {
  if (p.rateUse === null) return el('td', {}, `${p.callsPerSecond}/s (no limit)`);
  const percent = Math.round(p.rateUse * 100);
  return el(
    'td',
    { class: 'rate' },
    el('meter', { min: 0, max: 1, high: 0.95, value: Math.min(1, p.rateUse) }),
    ` ${percent}% (${p.callsPerSecond} of ${p.limitPerSecond}/s)`,
  );
}

function renderPartners(overview) {
  const rows = overview.partners.map((p) =>
    el(
      'tr',
      { 'data-partner': p.partner },
      el('td', {}, p.partner),
      el('td', { class: 'n' }, p.queued),
      // A server older than this page does not report lag.
      el('td', { class: 'n' }, p.lagSeconds > 0 ? `${p.lagSeconds} s` : p.lagSeconds === 0 ? '0' : '-'),
      el('td', { class: p.retrying > 0 ? 'n warn' : 'n' }, p.retrying),
      el('td', { class: 'n' }, p.active),
      el('td', { class: p.deadLetters > 0 ? 'n bad' : 'n' }, p.deadLetters),
      el('td', { class: p.failedCalls24h > 0 ? 'n warn' : 'n' }, p.failedCalls24h),
      rateCell(p),
      el('td', {}, p.pausedSeconds > 0 ? `${p.pausedSeconds} s` : '-'),
    ),
  );
  $('#partners tbody').replaceChildren(...rows);
  $('#updated').textContent = `updated ${when(overview.generatedAt)}`;
  $('#log-state').textContent =
    `transfer log: ${overview.log.unsealed} row(s) not sealed yet · version ${overview.version}`;
}

function renderDeadLetters(letters) {
  const table = $('#dead-letters table');
  $('#dead-letters .empty').hidden = letters.length > 0;
  table.hidden = letters.length === 0;
  const operator = caller?.role === 'operator';
  $('#dead-letters tbody').replaceChildren(
    ...letters.map((d) =>
      el(
        'tr',
        { 'data-id': d.id },
        el('td', { class: 'id' }, d.id),
        el('td', {}, d.partner),
        el('td', {}, d.subjectId),
        el('td', {}, d.trigger),
        el('td', {}, when(d.createdOn)),
        el('td', {}, d.error ?? '-'),
        el(
          'td',
          {},
          el(
            'button',
            {
              type: 'button',
              class: 'retry',
              disabled: !operator,
              title: operator ? 'put it back on the queue' : 'needs the operator role',
              onclick: () => retry(d.partner, d.id),
            },
            'Retry',
          ),
        ),
      ),
    ),
  );
}

function renderErasures(erasures) {
  $('#erasure-counts').textContent = `${erasures.pendingCount} pending, ${erasures.overdue} overdue`;
  const table = $('#erasures table');
  table.hidden = erasures.pending.length === 0;
  $('#erasures tbody').replaceChildren(
    ...erasures.pending.map((e) =>
      el(
        'tr',
        {},
        el('td', {}, e.subjectId),
        el('td', {}, when(e.dueAt)),
        el('td', {}, e.partners.map((p) => `${p.partner} ${p.state}`).join(', ') || '-'),
      ),
    ),
  );
}

async function refresh() {
  try {
    const [overview, letters] = await Promise.all([api('/api/v1/overview'), api('/api/v1/dead-letters')]);
    renderPartners(overview);
    renderDeadLetters(letters);
    renderErasures(overview.erasures);
  } catch (error) {
    failed(error);
  }
}

function failed(error) {
  if (error.status === 401) {
    signOut();
    say(`Signed out: ${error.message}`, 'bad');
  } else say(error.message, 'bad');
}

async function retry(partner, id) {
  try {
    const result = await api('/api/v1/dead-letters/retry', {
      method: 'POST',
      body: JSON.stringify({ partner, ids: [id] }),
    });
    say(`Requeued ${result.requeued} dead letter(s) at ${partner}; ${result.deadLetters} left there`, 'ok');
    await refresh();
  } catch (error) {
    failed(error);
  }
}

async function verify() {
  const out = $('#verify-result');
  out.textContent = 'verifying...';
  try {
    const result = await api('/api/v1/audit/verify');
    out.dataset.kind = result.ok ? 'ok' : 'bad';
    out.textContent = result.ok
      ? `verified: ${result.rowsChecked} row(s) checked, ${result.purgedRows} purged by retention, ${result.unsealed} not sealed yet`
      : `FAILED: ${result.problems.map((p) => `${p.seq ? `seq ${p.seq}` : `position ${p.chainPos}`}: ${p.problem}`).join('; ')}`;
  } catch (error) {
    out.textContent = '';
    failed(error);
  }
}

async function showAccessReport(event) {
  event.preventDefault();
  const subject = $('#access-subject').value.trim();
  const query = new URLSearchParams({
    format: 'html',
    lang: $('#access-lang').value,
    live: String($('#access-live').checked),
  });
  const frame = $('#access-report');
  try {
    frame.srcdoc = await api(`/api/v1/subjects/${encodeURIComponent(subject)}/access?${query}`);
    frame.hidden = false;
    say(`Access report for ${subject}`, 'ok');
  } catch (error) {
    frame.hidden = true;
    failed(error);
  }
}

async function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    caller = await api('/api/v1/whoami');
  } catch (error) {
    sessionStorage.removeItem(TOKEN_KEY);
    say(error.status === 401 ? `Not signed in: ${error.message}` : error.message, 'bad');
    return;
  }
  $('#who').textContent = `signed in as ${caller.name} (${caller.role})`;
  $('#sign-in').hidden = true;
  $('#sign-out').hidden = false;
  $('#main').hidden = false;
  const operator = caller.role === 'operator';
  for (const input of document.querySelectorAll('#access-form input, #access-form select, #access-form button'))
    input.disabled = !operator;
  if (!operator) say('Read-only token: retrying dead letters and access reports need the operator role');
  else say('');
  await refresh();
  clearInterval(timer);
  timer = setInterval(refresh, REFRESH_MS);
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  caller = null;
  clearInterval(timer);
  $('#who').textContent = 'not signed in';
  $('#sign-in').hidden = false;
  $('#sign-out').hidden = true;
  $('#main').hidden = true;
}

function start() {
  $('#sign-in').addEventListener('submit', (event) => {
    event.preventDefault();
    void signIn($('#token').value.trim());
    $('#token').value = '';
  });
  $('#sign-out').addEventListener('click', () => {
    signOut();
    say('Signed out');
  });
  $('#verify').addEventListener('click', () => void verify());
  $('#access-form').addEventListener('submit', (event) => void showAccessReport(event));
  // A link printed by `npm start -- --serve` carries the token in the fragment (never sent to the
  // server); it moves into the tab's storage and out of the address bar at once.
  const fragment = new URLSearchParams(location.hash.slice(1));
  const fromLink = fragment.get('token');
  if (fromLink) history.replaceState(null, '', location.pathname);
  const token = fromLink ?? sessionStorage.getItem(TOKEN_KEY);
  if (token) void signIn(token);
}

start();
