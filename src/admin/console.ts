/**
 * The operator web console: one HTML page, one script, one stylesheet, embedded as strings so that
 * `npm run build` (tsc copies only .ts output to dist/) serves exactly what `npm run dev` serves, with no
 * build step, framework or CDN (production hosts may have no Internet).
 *
 * Safety rules the script follows:
 * - Every piece of data is rendered with textContent / value / createTextNode, never innerHTML.
 * - The admin token lives in sessionStorage (gone when the tab closes) and travels only in the
 *   Authorization header, never in a URL.
 * - A Secret Token is shown once, right after it is issued, and dropped from memory when dismissed.
 * The page is served with a strict Content-Security-Policy (script-src 'self', no inline script).
 */

export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Joyn SCIM · operator console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/admin/console.css">
<script src="/admin/console.js" defer></script>
</head>
<body>
<a class="skip" href="#app">Skip to content</a>
<header class="topbar">
  <div class="brand"><span class="logo" aria-hidden="true">J</span> Joyn SCIM <span class="sub">operator console</span></div>
  <nav id="topnav" aria-label="Console" hidden>
    <button type="button" id="nav-tenants" class="link">Tenants</button>
    <button type="button" id="nav-health" class="link">Health</button>
    <button type="button" id="sign-out" class="link">Sign out</button>
  </nav>
</header>
<div id="status" class="status" role="status" aria-live="polite"></div>
<main id="app" tabindex="-1"><p class="muted pad">Loading…</p></main>
<noscript><p class="pad">This console needs JavaScript.</p></noscript>
</body>
</html>
`;

export const CONSOLE_CSS = `
:root {
  --bg: #f5f6f8; --panel: #fff; --text: #1d2430; --muted: #5d6675; --line: #dde1e7;
  --accent: #1f5fbf; --accent-dark: #174a95; --ok: #1d7a3e; --ok-bg: #e5f4ea; --warn: #8a5a00;
  --warn-bg: #fff4d6; --bad: #b3261e; --bad-bg: #fbe7e6; --focus: #ffbf47;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 15px; color: var(--text); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 8px; top: 8px; background: #fff; padding: 6px 10px; z-index: 10; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.topbar { display: flex; align-items: center; justify-content: space-between; padding: 10px 20px;
  background: #17233a; color: #fff; }
.brand { font-weight: 600; font-size: 17px; display: flex; align-items: center; gap: 8px; }
.brand .sub { font-weight: 400; opacity: .75; font-size: 14px; }
.logo { display: inline-grid; place-items: center; width: 26px; height: 26px; border-radius: 6px;
  background: var(--accent); font-weight: 700; }
.topbar nav { display: flex; gap: 6px; }
.topbar .link { color: #fff; background: transparent; border: 1px solid transparent; }
.topbar .link:hover { border-color: rgba(255,255,255,.4); }
.topbar .link[aria-current="page"] { border-color: rgba(255,255,255,.7); }
.status { min-height: 0; }
.status:not(:empty) { margin: 10px 20px 0; padding: 8px 12px; border-radius: 6px; background: var(--ok-bg);
  color: var(--ok); border: 1px solid #b9dfc6; }
.status.error:not(:empty) { background: var(--bad-bg); color: var(--bad); border-color: #f0c2bf; }
main { padding: 16px 20px 40px; }
main:focus { outline: none; }
.pad { padding: 16px 20px; }
.muted { color: var(--muted); }
.layout { display: grid; grid-template-columns: 290px 1fr; gap: 18px; align-items: start; }
@media (max-width: 860px) { .layout { grid-template-columns: 1fr; } }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px;
  margin-bottom: 16px; }
.card h2, .card h3 { margin: 0 0 10px; font-size: 16px; }
.card .stats + h3 { margin-top: 22px; }
details { margin-top: 18px; border-top: 1px solid var(--line); padding-top: 12px; }
summary { cursor: pointer; color: var(--bad); font-weight: 600; }
h1 { font-size: 20px; margin: 0 0 4px; }
.tenant-list { list-style: none; padding: 0; margin: 0 0 4px; }
.tenant-list li + li { margin-top: 4px; }
.tenant-btn { width: 100%; text-align: left; display: block; padding: 8px 10px; border-radius: 6px;
  background: transparent; border: 1px solid transparent; color: var(--text); }
.tenant-btn:hover { background: #eef3fb; }
.tenant-btn[aria-current="true"] { background: #e3ecfa; border-color: #b8cdef; }
.tenant-btn .name { font-weight: 600; display: block; overflow-wrap: anywhere; }
.tenant-btn .meta { font-size: 13px; color: var(--muted); }
label { display: block; font-weight: 600; font-size: 13px; margin: 0 0 4px; }
input[type=text], input[type=password], input[type=search], input:not([type]) {
  width: 100%; padding: 7px 9px; border: 1px solid #b9c0cb; border-radius: 6px; font: inherit; background: #fff; }
input[readonly] { background: #f7f8fa; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 13px; }
.hint { font-size: 13px; color: var(--muted); margin: 4px 0 0; }
button { font: inherit; padding: 7px 12px; border-radius: 6px; border: 1px solid #b9c0cb; background: #fff;
  color: var(--text); cursor: pointer; }
button:hover:not(:disabled) { background: #f0f2f5; }
button:disabled { opacity: .5; cursor: not-allowed; }
button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
button.primary:hover:not(:disabled) { background: var(--accent-dark); }
button.danger { color: var(--bad); border-color: #e3a29d; }
button.danger:hover:not(:disabled) { background: var(--bad-bg); }
button.small { padding: 3px 9px; font-size: 13px; }
.row { display: flex; gap: 8px; align-items: end; flex-wrap: wrap; }
.row > .grow { flex: 1 1 220px; }
.stack > * + * { margin-top: 10px; }
.tabs { display: flex; gap: 2px; border-bottom: 1px solid var(--line); margin: 12px 0 14px; flex-wrap: wrap; }
.tabs [role=tab] { border: 1px solid transparent; border-bottom: none; border-radius: 6px 6px 0 0;
  background: transparent; padding: 8px 14px; color: var(--muted); }
.tabs [role=tab][aria-selected=true] { background: var(--panel); border-color: var(--line); color: var(--text);
  font-weight: 600; margin-bottom: -1px; }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
th, td { text-align: left; padding: 7px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); font-weight: 600; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.mono, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px;
  overflow-wrap: anywhere; }
.table-wrap { overflow-x: auto; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
  border: 1px solid transparent; white-space: nowrap; }
.badge.ok { background: var(--ok-bg); color: var(--ok); border-color: #b9dfc6; }
.badge.warn { background: var(--warn-bg); color: var(--warn); border-color: #f0d58c; }
.badge.bad { background: var(--bad-bg); color: var(--bad); border-color: #f0c2bf; }
.badge.off { background: #eceff3; color: var(--muted); }
.secret { border: 2px solid #e0a800; background: #fffaf0; }
.secret h2 { color: #6b4700; }
.secret .warning { font-weight: 600; color: #6b4700; margin: 0 0 10px; }
.field { margin-bottom: 10px; }
.copy-row { display: flex; gap: 6px; }
.copy-row input { flex: 1; }
.stats { display: flex; gap: 24px; flex-wrap: wrap; margin: 6px 0 0; }
.stat .n { font-size: 22px; font-weight: 700; display: block; }
.stat .l { font-size: 13px; color: var(--muted); }
.error-box { padding: 8px 12px; border-radius: 6px; background: var(--bad-bg); color: var(--bad);
  border: 1px solid #f0c2bf; margin: 8px 0; }
.pager { display: flex; gap: 8px; align-items: center; margin-top: 10px; }
.signin { max-width: 420px; margin: 60px auto; }
.checks { list-style: none; padding: 0; margin: 10px 0 0; }
.checks li { padding: 6px 0; border-bottom: 1px solid var(--line); }
.empty { color: var(--muted); padding: 10px 0; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; overflow-wrap: anywhere; }
`;

// Plain JavaScript for the browser. Written without template literals so it can live in this TS string.
export const CONSOLE_JS = String.raw`'use strict';
(() => {
  const KEY = 'joyn-scim-admin-token';
  const API = '/admin/api';
  const PAGE = 25;
  const TABS = [
    ['overview', 'Overview'],
    ['tokens', 'Tokens'],
    ['users', 'Users'],
    ['groups', 'Groups'],
    ['activity', 'Activity'],
    ['test', 'Test connection'],
  ];
  const state = {
    token: sessionStorage.getItem(KEY) || '',
    tenants: [],
    view: 'tenants',
    tenantId: null,
    tab: 'overview',
    secret: null,
    lists: { users: { filter: '', start: 1 }, groups: { filter: '', start: 1 } },
  };
  const app = document.getElementById('app');
  const statusEl = document.getElementById('status');
  const topnav = document.getElementById('topnav');

  // ---- DOM helpers: data only ever goes through textContent, value or text nodes ----
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') el.textContent = String(v);
      else if (k === 'class') el.className = v;
      else if (k === 'value') el.value = String(v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  let uid = 0;
  const nextId = (p) => p + '-' + ++uid;
  function field(labelText, input, hint) {
    input.id = input.id || nextId('f');
    const parts = [h('label', { for: input.id, text: labelText }), input];
    if (hint) {
      const hid = nextId('h');
      input.setAttribute('aria-describedby', hid);
      parts.push(h('p', { class: 'hint', id: hid, text: hint }));
    }
    return h('div', { class: 'field' }, parts);
  }
  function when(iso) {
    if (!iso) return 'never';
    const d = new Date(iso);
    return isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
  }
  function say(msg, isError) {
    statusEl.textContent = msg || '';
    statusEl.classList.toggle('error', Boolean(isError));
  }
  function errorBox(msg) {
    return h('div', { class: 'error-box', role: 'alert', text: msg });
  }
  function statusBadge(code) {
    const cls = code >= 500 ? 'bad' : code >= 400 ? 'warn' : 'ok';
    return h('span', { class: 'badge ' + cls, text: String(code) });
  }
  async function copyText(text, what) {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Plain-HTTP pages have no clipboard API: fall back to the selection.
      const ta = h('textarea', { 'aria-hidden': 'true' });
      ta.value = text;
      ta.style.position = 'fixed';
      ta.style.opacity = '0';
      document.body.append(ta);
      ta.select();
      document.execCommand('copy');
      ta.remove();
    }
    say(what + ' copied to the clipboard.');
  }
  function copyField(labelText, value, id) {
    const input = h('input', { type: 'text', readonly: true, value: value, id: id, spellcheck: 'false' });
    input.addEventListener('focus', () => input.select());
    const btn = h('button', {
      type: 'button',
      text: 'Copy',
      'aria-label': 'Copy ' + labelText,
      onclick: () => copyText(value, labelText),
    });
    return h('div', { class: 'field' }, h('label', { for: id, text: labelText }), h('div', { class: 'copy-row' }, input, btn));
  }

  // ---- API ----
  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }
  async function api(method, path, body) {
    // X-Joyn-Client: the audit log records console actions as such.
    const headers = { Authorization: 'Bearer ' + state.token, Accept: 'application/json', 'X-Joyn-Client': 'console' };
    const init = { method: method, headers: headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(API + path, init);
    if (res.status === 204) return null;
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (res.status === 401) {
      signOut('The admin token was not accepted. Sign in again.');
      throw new ApiError(401, 'signed out');
    }
    if (!res.ok) throw new ApiError(res.status, (data && data.detail) || 'HTTP ' + res.status);
    return data;
  }
  const enc = encodeURIComponent;
  const current = () => state.tenants.find((t) => t.id === state.tenantId) || null;

  // ---- sign in / out ----
  function signOut(msg) {
    sessionStorage.removeItem(KEY);
    state.token = '';
    state.secret = null;
    topnav.hidden = true;
    renderSignIn(msg);
  }
  function renderSignIn(msg) {
    const input = h('input', { type: 'password', autocomplete: 'current-password', required: true, spellcheck: 'false' });
    const err = msg ? errorBox(msg) : null;
    const form = h(
      'form',
      { class: 'card signin stack', 'aria-labelledby': 'signin-title' },
      h('h1', { id: 'signin-title', text: 'Sign in' }),
      h('p', { class: 'muted', text: 'Paste the ADMIN_TOKEN this server was started with. It is kept in this browser tab only.' }),
      err,
      field('Admin token', input),
      h('button', { type: 'submit', class: 'primary', text: 'Sign in' }),
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      state.token = input.value.trim();
      try {
        await api('GET', '/health');
      } catch (e) {
        if (e.status !== 401) renderSignIn(e.message);
        return;
      }
      sessionStorage.setItem(KEY, state.token);
      say('');
      await start();
    });
    app.replaceChildren(form);
    input.focus();
  }

  // ---- main layout ----
  async function start() {
    topnav.hidden = false;
    await loadTenants();
    render();
  }
  async function loadTenants() {
    state.tenants = (await api('GET', '/tenants')).tenants;
    if (state.tenantId && !current()) state.tenantId = null;
  }
  function render() {
    document.getElementById('nav-tenants').setAttribute('aria-current', state.view === 'tenants' ? 'page' : 'false');
    document.getElementById('nav-health').setAttribute('aria-current', state.view === 'health' ? 'page' : 'false');
    if (state.view === 'health') {
      const box = h('section', { 'aria-labelledby': 'health-title' });
      app.replaceChildren(box);
      renderHealth(box);
      return;
    }
    const detail = h('section', { id: 'detail', 'aria-live': 'off' });
    app.replaceChildren(h('div', { class: 'layout' }, renderSidebar(), detail));
    renderDetail(detail);
  }

  function renderSidebar() {
    const list = h('ul', { class: 'tenant-list' });
    for (const t of state.tenants) {
      const btn = h(
        'button',
        {
          type: 'button',
          class: 'tenant-btn',
          'aria-current': t.id === state.tenantId ? 'true' : 'false',
          onclick: () => selectTenant(t.id),
        },
        h('span', { class: 'name', text: t.name }),
        h('span', { class: 'meta', text: t.users + ' users · ' + t.groups + ' groups · ' + t.activeTokens + ' active tokens' }),
      );
      list.append(h('li', {}, btn));
    }
    const name = h('input', { type: 'text', required: true, maxlength: '100', autocomplete: 'off' });
    const form = h(
      'form',
      { 'aria-labelledby': 'new-tenant-title' },
      h('h2', { id: 'new-tenant-title', text: 'New tenant' }),
      field('Tenant name', name, "Letters, digits, spaces, '.', '_' or '-'."),
      h('button', { type: 'submit', class: 'primary', text: 'Create tenant' }),
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const issued = await api('POST', '/tenants', { name: name.value });
        state.secret = { ...issued, reason: 'New tenant' };
        state.tenantId = issued.tenantId;
        state.tab = 'overview';
        await loadTenants();
        say('Tenant "' + issued.name + '" created.');
        render();
        const tok = document.getElementById('secret-token');
        if (tok) tok.focus();
      } catch (e) {
        if (e.status !== 401) say(e.message, true);
      }
    });
    return h(
      'aside',
      {},
      h(
        'nav',
        { class: 'card', 'aria-labelledby': 'tenants-title' },
        h('h2', { id: 'tenants-title', text: 'Tenants (' + state.tenants.length + ')' }),
        state.tenants.length ? list : h('p', { class: 'empty', text: 'No tenants yet: create the first one below.' }),
      ),
      h('div', { class: 'card' }, form),
    );
  }

  function selectTenant(id) {
    state.tenantId = id;
    state.tab = 'overview';
    state.lists = { users: { filter: '', start: 1 }, groups: { filter: '', start: 1 } };
    say('');
    render();
    const heading = document.getElementById('tenant-title');
    if (heading) heading.focus();
  }

  function renderSecret() {
    const s = state.secret;
    if (!s) return null;
    const done = h('button', {
      type: 'button',
      class: 'primary',
      text: 'I have copied it',
      onclick: () => {
        state.secret = null;
        render();
      },
    });
    return h(
      'section',
      { class: 'card secret', 'aria-labelledby': 'secret-title', id: 'secret-panel' },
      h('h2', { id: 'secret-title', text: s.reason + ': Secret Token for "' + s.name + '"' }),
      h('p', {
        class: 'warning',
        text: 'Shown only once. Copy the Secret Token now and paste it with the Tenant URL into the Entra ID provisioning settings. It cannot be displayed again; if it is lost, issue a new token.',
      }),
      copyField('Tenant URL', s.tenantUrl, 'secret-url'),
      copyField('Secret Token', s.token, 'secret-token'),
      done,
    );
  }

  function renderDetail(box) {
    const t = current();
    box.append(...[renderSecret()].filter(Boolean));
    if (!t) {
      box.append(
        h(
          'div',
          { class: 'card' },
          h('h1', { text: 'Tenants' }),
          h('p', { class: 'muted', text: 'Choose a tenant on the left, or create one. Each tenant is one Joyn FSM customer with its own Tenant URL and Secret Tokens.' }),
        ),
      );
      return;
    }
    const tablist = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Tenant sections' });
    const panel = h('div', { role: 'tabpanel', id: 'tab-panel', tabindex: '0' });
    for (const [key, label] of TABS) {
      const selected = key === state.tab;
      const tab = h('button', {
        type: 'button',
        role: 'tab',
        id: 'tab-' + key,
        'aria-selected': selected ? 'true' : 'false',
        'aria-controls': 'tab-panel',
        tabindex: selected ? '0' : '-1',
        text: label,
        onclick: () => switchTab(key),
      });
      tablist.append(tab);
      if (selected) panel.setAttribute('aria-labelledby', tab.id);
    }
    // WAI-ARIA tabs: arrow keys move between tabs, Home/End jump.
    tablist.addEventListener('keydown', (ev) => {
      const keys = TABS.map((x) => x[0]);
      let i = keys.indexOf(state.tab);
      if (ev.key === 'ArrowRight') i = (i + 1) % keys.length;
      else if (ev.key === 'ArrowLeft') i = (i - 1 + keys.length) % keys.length;
      else if (ev.key === 'Home') i = 0;
      else if (ev.key === 'End') i = keys.length - 1;
      else return;
      ev.preventDefault();
      switchTab(keys[i]);
    });
    box.append(
      h(
        'div',
        { class: 'card' },
        h('h1', { id: 'tenant-title', tabindex: '-1', text: t.name }),
        h('p', { class: 'muted mono', text: t.id }),
        tablist,
        panel,
      ),
    );
    const renderers = { overview: tabOverview, tokens: tabTokens, users: tabUsers, groups: tabGroups, activity: tabActivity, test: tabTest };
    renderers[state.tab](panel, t);
  }

  // Switching tabs also refreshes the tenant list, so the counts in the sidebar follow provisioning.
  async function switchTab(key) {
    state.tab = key;
    say('');
    try {
      await loadTenants();
    } catch (e) {
      if (e.status === 401) return;
    }
    render();
    const tab = document.getElementById('tab-' + key);
    if (tab) tab.focus();
  }

  async function guarded(panel, fn) {
    try {
      await fn();
    } catch (e) {
      if (e.status !== 401) panel.replaceChildren(errorBox(e.message));
    }
  }

  // ---- tabs ----
  function tabOverview(panel, t) {
    const confirmInput = h('input', { type: 'text', autocomplete: 'off' });
    const del = h('button', { type: 'button', class: 'danger', text: 'Delete tenant', disabled: true });
    confirmInput.addEventListener('input', () => {
      del.disabled = confirmInput.value !== t.name;
    });
    del.addEventListener('click', async () => {
      try {
        await api('DELETE', '/tenants/' + enc(t.id));
        state.tenantId = null;
        state.secret = null;
        await loadTenants();
        say('Tenant "' + t.name + '" and all its data were deleted.');
        render();
      } catch (e) {
        if (e.status !== 401) say(e.message, true);
      }
    });
    panel.replaceChildren(
      h(
        'div',
        { class: 'stats' },
        h('div', { class: 'stat' }, h('span', { class: 'n', text: t.users }), h('span', { class: 'l', text: 'users' })),
        h('div', { class: 'stat' }, h('span', { class: 'n', text: t.groups }), h('span', { class: 'l', text: 'groups' })),
        h('div', { class: 'stat' }, h('span', { class: 'n', text: t.activeTokens }), h('span', { class: 'l', text: 'active tokens' })),
      ),
      h('h3', { text: 'Connection settings for Entra ID' }),
      copyField('Tenant URL', t.tenantUrl, 'tenant-url'),
      h('dl', { class: 'kv' }, h('dt', { text: 'Created' }), h('dd', { text: when(t.createdAt) })),
      h(
        'details',
        { class: 'stack' },
        h('summary', { text: 'Delete this tenant' }),
        h('p', { text: 'Deletes every user, group, token and activity entry of this tenant. Entra ID provisioning for it stops working at once.' }),
        field('Type the tenant name to confirm', confirmInput),
        del,
      ),
    );
  }

  function tabTokens(panel, t) {
    panel.replaceChildren(h('p', { class: 'muted', text: 'Loading tokens…' }));
    guarded(panel, async () => {
      const { tokens } = await api('GET', '/tenants/' + enc(t.id) + '/tokens');
      const issue = async (path, body, reason) => {
        try {
          const issued = await api('POST', '/tenants/' + enc(t.id) + path, body);
          state.secret = { ...issued, reason: reason };
          await loadTenants();
          render();
          const tok = document.getElementById('secret-token');
          if (tok) tok.focus();
        } catch (e) {
          if (e.status !== 401) say(e.message, true);
        }
      };
      const rows = tokens.map((k) =>
        h(
          'tr',
          {},
          h('td', { class: 'mono', text: k.hint }),
          h('td', { text: when(k.createdAt) }),
          h('td', { text: when(k.lastUsedAt) }),
          h(
            'td',
            {},
            k.active
              ? h('span', { class: 'badge ok', text: k.revokedAt ? 'active until ' + when(k.revokedAt) : k.expiresAt ? 'active, expires ' + when(k.expiresAt) : 'active' })
              : h('span', { class: 'badge off', text: k.state === 'expired' ? 'expired ' + when(k.expiresAt) : 'revoked ' + when(k.revokedAt) }),
          ),
          h(
            'td',
            {},
            k.active
              ? h(
                  'div',
                  { class: 'row' },
                  h('button', {
                    type: 'button',
                    class: 'small',
                    text: 'Rotate',
                    'aria-label': 'Rotate token ' + k.hint,
                    onclick: () => {
                      if (confirm('Issue a new token and revoke ' + k.hint + ' now? Entra ID keeps failing until it has the new token.'))
                        issue('/tokens/rotate', { revokeTokenId: k.id }, 'Rotated token');
                    },
                  }),
                  h('button', {
                    type: 'button',
                    class: 'small danger',
                    text: 'Revoke',
                    'aria-label': 'Revoke token ' + k.hint,
                    onclick: async () => {
                      if (!confirm('Revoke ' + k.hint + '? Requests with it get 401 at once.')) return;
                      try {
                        await api('DELETE', '/tenants/' + enc(t.id) + '/tokens/' + enc(k.id));
                        await loadTenants();
                        say('Token ' + k.hint + ' revoked.');
                        render();
                      } catch (e) {
                        if (e.status !== 401) say(e.message, true);
                      }
                    },
                  }),
                )
              : '',
          ),
        ),
      );
      panel.replaceChildren(
        h(
          'div',
          { class: 'row' },
          h('button', { type: 'button', class: 'primary', text: 'Issue new token', onclick: () => issue('/tokens', undefined, 'New token') }),
        ),
        h('p', { class: 'hint', text: 'To rotate without downtime: issue a new token, paste it into Entra ID, then revoke the old one.' }),
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { id: 'tokens-table' },
            h('caption', { class: 'skip', text: 'Secret Tokens' }),
            h('thead', {}, h('tr', {}, ['Token', 'Created', 'Last used', 'Status', 'Actions'].map((c) => h('th', { scope: 'col', text: c })))),
            h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: '5', class: 'empty', text: 'No tokens.' }))),
          ),
        ),
      );
    });
  }

  function listTab(kind, panel, t) {
    const st = state.lists[kind];
    const filterInput = h('input', { type: 'search', value: st.filter, spellcheck: 'false', autocomplete: 'off' });
    const results = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted', text: 'Loading…' }));
    const example = kind === 'users' ? 'userName sw "j" and active eq true' : 'displayName co "sales"';
    const hintId = nextId('h');
    filterInput.setAttribute('aria-describedby', hintId);
    const form = h(
      'form',
      { role: 'search' },
      h(
        'div',
        { class: 'row' },
        h('div', { class: 'grow' }, field('SCIM filter', filterInput)),
        h('div', { class: 'field' }, h('button', { type: 'submit', class: 'primary', text: 'Apply' })),
      ),
      h('p', { class: 'hint', id: hintId, text: 'For example: ' + example + '. Empty shows all.' }),
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      st.filter = filterInput.value.trim();
      st.start = 1;
      load();
    });
    panel.replaceChildren(form, results);
    async function load() {
      const q = new URLSearchParams({ startIndex: String(st.start), count: String(PAGE) });
      if (st.filter) q.set('filter', st.filter);
      try {
        const page = await api('GET', '/tenants/' + enc(t.id) + '/' + kind + '?' + q.toString());
        results.replaceChildren(kind === 'users' ? usersTable(page.Resources) : groupsTable(page.Resources), pager(page));
      } catch (e) {
        if (e.status !== 401) results.replaceChildren(errorBox(e.message));
      }
    }
    function pager(page) {
      const total = page.totalResults;
      const from = total === 0 ? 0 : st.start;
      const to = st.start + page.Resources.length - 1;
      const prev = h('button', { type: 'button', text: 'Previous', disabled: st.start <= 1 });
      const next = h('button', { type: 'button', text: 'Next', disabled: to >= total });
      prev.addEventListener('click', () => {
        st.start = Math.max(1, st.start - PAGE);
        load();
      });
      next.addEventListener('click', () => {
        st.start = st.start + PAGE;
        load();
      });
      return h('div', { class: 'pager' }, prev, next, h('span', { class: 'muted', text: 'Showing ' + from + '–' + Math.max(to, 0) + ' of ' + total }));
    }
    load();
  }
  const primaryEmail = (u) => {
    const list = Array.isArray(u.emails) ? u.emails : [];
    const e = list.find((x) => x && x.primary) || list[0];
    return e && e.value ? e.value : '';
  };
  function table(id, caption, headers, rows) {
    return h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { id: id },
        h('caption', { class: 'skip', text: caption }),
        h('thead', {}, h('tr', {}, headers.map((c) => h('th', { scope: 'col', text: c })))),
        h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: String(headers.length), class: 'empty', text: 'Nothing matches.' }))),
      ),
    );
  }
  function usersTable(list) {
    const rows = list.map((u) =>
      h(
        'tr',
        {},
        h('td', { class: 'mono', text: u.userName || '' }),
        h('td', { text: u.displayName || (u.name && u.name.formatted) || '' }),
        h('td', { text: primaryEmail(u) }),
        h('td', {}, u.active === false ? h('span', { class: 'badge off', text: 'inactive' }) : h('span', { class: 'badge ok', text: 'active' })),
        h('td', { class: 'mono', text: u.externalId || '' }),
        h('td', { text: when(u.meta && u.meta.lastModified) }),
      ),
    );
    return table('users-table', 'Users', ['userName', 'Display name', 'Email', 'Status', 'externalId', 'Last modified'], rows);
  }
  function groupsTable(list) {
    const rows = list.map((g) =>
      h(
        'tr',
        {},
        h('td', { text: g.displayName || '' }),
        h('td', { text: String(g.memberCount) }),
        h('td', { class: 'mono', text: g.externalId || '' }),
        h('td', { text: when(g.meta && g.meta.lastModified) }),
      ),
    );
    return table('groups-table', 'Groups', ['Display name', 'Members', 'externalId', 'Last modified'], rows);
  }
  const tabUsers = (panel, t) => listTab('users', panel, t);
  const tabGroups = (panel, t) => listTab('groups', panel, t);

  function tabActivity(panel, t) {
    const tbody = h('tbody');
    const more = h('button', { type: 'button', text: 'Load older entries', hidden: true });
    const refresh = h('button', { type: 'button', text: 'Refresh', onclick: () => tabActivity(panel, t) });
    let before = null;
    async function load() {
      try {
        const q = '?limit=50' + (before ? '&before=' + before : '');
        const page = await api('GET', '/tenants/' + enc(t.id) + '/activity' + q);
        for (const a of page.entries)
          tbody.append(
            h(
              'tr',
              {},
              h('td', { text: when(a.at) }),
              h('td', {}, statusBadge(a.status)),
              h('td', { class: 'mono', text: a.method }),
              h('td', { class: 'mono', text: a.path }),
              h('td', { text: a.summary }),
              h('td', { text: a.durationMs === undefined ? '' : a.durationMs + ' ms' }),
            ),
          );
        if (!tbody.children.length) tbody.append(h('tr', {}, h('td', { colspan: '6', class: 'empty', text: 'No activity yet. Writes and failed requests appear here.' })));
        before = page.nextBefore;
        more.hidden = !before;
      } catch (e) {
        if (e.status !== 401) panel.replaceChildren(errorBox(e.message));
      }
    }
    more.addEventListener('click', load);
    panel.replaceChildren(
      h('div', { class: 'row' }, refresh),
      h('p', { class: 'hint', text: 'Newest first: every write and every failed request from the identity provider (no bodies, no tokens).' }),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { id: 'activity-table' },
          h('caption', { class: 'skip', text: 'Provisioning activity' }),
          h('thead', {}, h('tr', {}, ['Time', 'Status', 'Method', 'Path', 'Summary', 'Duration'].map((c) => h('th', { scope: 'col', text: c })))),
          tbody,
        ),
      ),
      h('div', { class: 'pager' }, more),
    );
    load();
  }

  function tabTest(panel, t) {
    const token = h('input', { type: 'password', autocomplete: 'off', spellcheck: 'false', required: true });
    const out = h('div', { 'aria-live': 'polite' });
    const run = h('button', { type: 'submit', class: 'primary', text: 'Test connection' });
    const form = h(
      'form',
      { class: 'stack' },
      h('p', { class: 'muted', text: 'Sends the same requests as Entra ID\u2019s "Test Connection" to this tenant\u2019s Tenant URL with the token you paste.' }),
      field('Secret Token', token, 'The token is sent once to this server and not stored.'),
      run,
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      run.disabled = true;
      out.replaceChildren(h('p', { class: 'muted', text: 'Testing…' }));
      try {
        const r = await api('POST', '/tenants/' + enc(t.id) + '/test-connection', { token: token.value });
        out.replaceChildren(
          h('div', { class: r.ok ? 'status' : 'error-box', role: r.ok ? 'status' : 'alert', id: 'test-result' },
            h('strong', { text: r.ok ? 'Success. ' : 'Failed. ' }), r.message),
          h(
            'ul',
            { class: 'checks' },
            r.results.map((c) =>
              h(
                'li',
                {},
                h('span', { class: 'badge ' + (c.status === 'pass' ? 'ok' : c.status === 'fail' ? 'bad' : 'off'), text: c.status }),
                ' ',
                c.title,
                h('div', { class: 'hint', text: c.explanation }),
              ),
            ),
          ),
        );
      } catch (e) {
        if (e.status !== 401) out.replaceChildren(errorBox(e.message));
      } finally {
        run.disabled = false;
      }
    });
    panel.replaceChildren(form, out);
  }

  // ---- health ----
  async function renderHealth(box) {
    box.replaceChildren(h('p', { class: 'muted', text: 'Checking…' }));
    let r;
    try {
      r = await api('GET', '/health');
    } catch (e) {
      if (e.status !== 401) box.replaceChildren(errorBox(e.message));
      return;
    }
    const rows = r.tenants.map((t) => h('tr', {}, h('td', { text: t.name }), h('td', { class: 'mono', text: t.id }), h('td', { text: String(t.users) }), h('td', { text: String(t.groups) })));
    box.replaceChildren(
      h(
        'div',
        { class: 'card' },
        h('h1', { id: 'health-title', text: 'Health' }),
        h(
          'dl',
          { class: 'kv' },
          h('dt', { text: 'Status' }),
          h('dd', {}, h('span', { class: 'badge ' + (r.status === 'ok' ? 'ok' : 'bad'), text: r.status })),
          h('dt', { text: 'Store' }),
          h('dd', { class: 'mono', text: r.store.dialect + ' · ' + r.store.describe }),
          r.store.error ? [h('dt', { text: 'Store error' }), h('dd', { text: r.store.error })] : null,
          h('dt', { text: 'Uptime' }),
          h('dd', { text: Math.round(r.uptimeSeconds / 60) + ' min' }),
          h('dt', { text: 'Node.js' }),
          h('dd', { text: r.node }),
        ),
      ),
      h('div', { class: 'card' }, h('h2', { text: 'Tenants' }), table('health-table', 'Tenants', ['Name', 'Id', 'Users', 'Groups'], rows)),
    );
  }

  document.getElementById('sign-out').addEventListener('click', () => signOut(''));
  document.getElementById('nav-tenants').addEventListener('click', async () => {
    state.view = 'tenants';
    try {
      await loadTenants();
    } catch (e) {
      if (e.status !== 401) say(e.message, true);
      return;
    }
    render();
  });
  document.getElementById('nav-health').addEventListener('click', () => {
    state.view = 'health';
    render();
  });

  if (state.token) start().catch((e) => e.status === 401 || renderSignIn(e.message));
  else renderSignIn('');
})();
`;
