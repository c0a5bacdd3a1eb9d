/**
 * The IT admin's setup page (/setup#<link>): opens the link once (binding it to this browser), then walks the admin
 * through their identity provider's steps with the Tenant URL and a Secret Token (or an OAuth client) to copy, shows
 * the attribute table generated from the schema, and watches the connection live (polling /setup/api/watch) so
 * each check turns green without a reload. Data reaches the page only as text (dom.ts), under a strict CSP.
 */
import { badge, copyField, h, table, whenText } from '../dom.js';

const API = '/setup/api';

interface Overview {
  tenant: { id: string; name: string };
  tenantUrl: string;
  tokenEndpoint: string;
  link: { id: string; expiresAt: string };
  secretTokens: {
    id: string;
    hint: string;
    createdAt: string;
    lastUsedAt: string | null;
    revokedAt: string | null;
    state: string;
  }[];
  oauthClients: {
    id: string;
    name: string;
    secretHint: string;
    createdAt: string;
    revokedAt: string | null;
  }[];
}

interface Watch {
  state: string;
  reason: string;
  checks: { id: string; label: string; done: boolean; at: string | null; detail: string }[];
  failures: { at: string; status: number; request: string; detail: string; fix: string }[];
}

interface AttributeRow {
  resource: string;
  target: string;
  type: string;
  required: boolean;
  description: string;
  entraSource: string | null;
  addToEntraList: boolean;
}

class Refused extends Error {}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const init: RequestInit = { method, headers, cache: 'no-store', credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['X-Joyn-Setup'] = '1';
    init.body = JSON.stringify(body);
  } else if (method !== 'GET') headers['X-Joyn-Setup'] = '1';
  const res = await fetch(API + path, init);
  if (res.status === 204) return null as T;
  const data = (await res.json().catch(() => null)) as any;
  if (res.status === 403 && data?.error === 'link_refused') throw new Refused(String(data.detail));
  if (!res.ok) throw new Error(data?.detail ?? `HTTP ${res.status}`);
  return data as T;
}

const app = (): HTMLElement => document.getElementById('app')!;
const say = (msg: string): void => {
  document.getElementById('status')!.textContent = msg;
};
const ui = (name: string): HTMLElement => h('span', { class: 'ui-name', text: name });

function refusedPage(message: string): void {
  stopWatching();
  app().replaceChildren(
    h(
      'section',
      { class: 'card refused', id: 'refused', role: 'alert' },
      h('h1', { text: 'This setup link cannot be used' }),
      h('p', { text: message }),
      h('p', {
        class: 'muted',
        text: 'Nothing was changed. Your directory connection, if you already set one up, keeps working.',
      }),
    ),
  );
}

// ---- live watch ---------------------------------------------------------------------------------------

let timer: number | undefined;
const stopWatching = () => {
  if (timer !== undefined) window.clearInterval(timer);
  timer = undefined;
};

const STATE_KIND: Record<string, 'ok' | 'warn' | 'bad' | 'off' | 'info'> = {
  healthy: 'ok',
  connected: 'ok',
  awaiting_setup: 'info',
  idle: 'warn',
  unhealthy: 'bad',
  disabled: 'off',
};

function renderWatch(w: Watch): void {
  const box = document.getElementById('watch');
  if (!box) return;
  box.replaceChildren(
    h(
      'p',
      {},
      'Connection: ',
      badge(w.state.replace('_', ' '), STATE_KIND[w.state] ?? 'info'),
      ' ',
      w.reason,
    ),
    h(
      'ul',
      { class: 'checklist', id: 'checks' },
      w.checks.map((c) =>
        h(
          'li',
          { class: c.done ? 'done' : 'waiting', 'data-check': c.id, 'data-done': String(c.done) },
          h('span', { class: 'mark', 'aria-hidden': 'true', text: c.done ? '✓' : '…' }),
          h(
            'span',
            {},
            h('span', { class: 'label', text: c.label }),
            c.at && c.id !== 'last-request' ? ` (${whenText(c.at)})` : '',
            h('span', { class: 'detail', text: c.detail }),
          ),
        ),
      ),
    ),
    w.failures.length
      ? h(
          'div',
          { id: 'failures' },
          h('h3', { text: 'Recent failures and what to change' }),
          w.failures.map((f) =>
            h(
              'div',
              { class: 'failure' },
              h('strong', { text: `${f.status} · ${f.request}` }),
              ` ${whenText(f.at)}`,
              h('div', { text: f.detail }),
              h('p', { class: 'fix', text: `What to change: ${f.fix}` }),
            ),
          ),
        )
      : h('p', { class: 'muted', id: 'failures', text: 'No failed requests so far.' }),
  );
}

async function poll(): Promise<void> {
  try {
    renderWatch(await call<Watch>('GET', '/watch'));
  } catch (e) {
    if (e instanceof Refused) refusedPage(e.message);
  }
}

// ---- credentials --------------------------------------------------------------------------------------

function secretBox(title: string, fields: [string, string, string][], note: string): HTMLElement {
  return h(
    'div',
    { class: 'secret-box', role: 'region', 'aria-label': title },
    h('strong', { text: title }),
    fields.map(([label, value, id]) => copyField(label, value, id, (what) => say(`${what} copied.`))),
    h('p', { class: 'hint', text: note }),
  );
}

function credentialsBlock(ov: Overview): HTMLElement {
  const out = h('div', { id: 'credential-out' });
  const issue = h('button', {
    type: 'button',
    id: 'issue-token',
    class: 'primary',
    text: 'Create a Secret Token',
    onclick: async () => {
      issue.setAttribute('disabled', '');
      try {
        const r = await call<{ token: string }>('POST', '/secret-token', {});
        out.replaceChildren(
          secretBox(
            'Your new Secret Token',
            [['Secret Token', r.token, 'secret-token']],
            'Shown only this once: copy it into the Secret Token field now. Joyn FSM keeps only a fingerprint of it.',
          ),
        );
        void refreshCredentials();
      } catch (e) {
        say((e as Error).message);
        issue.removeAttribute('disabled');
      }
    },
  });
  const oauth = h('button', {
    type: 'button',
    id: 'create-oauth',
    text: 'Use OAuth 2.0 client credentials instead',
    onclick: async () => {
      try {
        const r = await call<{ tokenEndpoint: string; clientId: string; clientSecret: string }>(
          'POST',
          '/oauth-clients',
          {},
        );
        out.replaceChildren(
          secretBox(
            'Your OAuth client (Authentication Method: OAuth2 client credentials grant)',
            [
              ['Token Endpoint', r.tokenEndpoint, 'token-endpoint'],
              ['Client Identifier', r.clientId, 'client-id'],
              ['Client Secret', r.clientSecret, 'client-secret'],
            ],
            'The Client Secret is shown only this once. Entra offers this method for gallery applications; for a non-gallery application use the Secret Token.',
          ),
        );
        void refreshCredentials();
      } catch (e) {
        say((e as Error).message);
      }
    },
  });
  return h(
    'div',
    {},
    copyField('Tenant URL', ov.tenantUrl, 'tenant-url', (what) => say(`${what} copied.`)),
    h('div', { class: 'actions' }, issue, ' ', oauth),
    out,
  );
}

async function refreshCredentials(): Promise<void> {
  const ov = await call<Overview>('GET', '/overview');
  const box = document.getElementById('credentials');
  if (!box) return;
  const active = ov.secretTokens.filter((t) => t.state === 'active');
  box.replaceChildren(
    h('h2', { text: 'Your credentials' }),
    h('p', {
      class: 'hint',
      text: 'Rotate a token when you suspect it leaked or on your schedule: the old one keeps working for 24 hours, so you can paste the new one into Entra first.',
    }),
    table(
      'token-table',
      'Secret Tokens',
      ['Token', 'Created', 'Last used', 'State', ''],
      ov.secretTokens.map((t) => [
        h('code', { text: t.hint }),
        whenText(t.createdAt),
        whenText(t.lastUsedAt),
        t.state === 'active' && t.revokedAt ? `active until ${whenText(t.revokedAt)}` : t.state,
        t.state === 'active' && !t.revokedAt
          ? h('button', {
              type: 'button',
              'data-rotate': t.id,
              text: 'Rotate',
              onclick: async () => {
                try {
                  const r = await call<{ token: string; replacedTokenStopsAt: string }>(
                    'POST',
                    '/secret-token',
                    {
                      replace: t.id,
                      overlap: '24h',
                    },
                  );
                  document
                    .getElementById('credential-out')
                    ?.replaceChildren(
                      secretBox(
                        'Your new Secret Token',
                        [['Secret Token', r.token, 'secret-token']],
                        `Shown only this once. Paste it into Admin Credentials → Secret Token, click Test Connection and Save. The old token stops working at ${whenText(r.replacedTokenStopsAt)}.`,
                      ),
                    );
                  document.getElementById('credential-out')?.scrollIntoView();
                  void refreshCredentials();
                } catch (e) {
                  say((e as Error).message);
                }
              },
            })
          : '',
      ]),
      'No Secret Token yet.',
    ),
    ov.oauthClients.length
      ? table(
          'client-table',
          'OAuth clients',
          ['Client Identifier', 'Secret', 'Created', 'State', ''],
          ov.oauthClients.map((c) => [
            h('code', { text: c.id }),
            h('code', { text: c.secretHint }),
            whenText(c.createdAt),
            c.revokedAt ? 'revoked' : 'active',
            // Rotating a client: create a new one, switch Entra to it, then revoke the old one here.
            c.revokedAt
              ? ''
              : h('button', {
                  type: 'button',
                  'data-revoke-client': c.id,
                  text: 'Revoke',
                  onclick: async () => {
                    if (!window.confirm(`Revoke ${c.id}? Entra stops getting tokens with it at once.`))
                      return;
                    try {
                      await call('DELETE', `/oauth-clients/${encodeURIComponent(c.id)}`);
                      say(`OAuth client ${c.id} revoked.`);
                      void refreshCredentials();
                    } catch (e) {
                      say((e as Error).message);
                    }
                  },
                }),
          ]),
        )
      : '',
    active.length === 0 && ov.oauthClients.every((c) => c.revokedAt)
      ? h('p', { class: 'muted', text: 'No active credential: create one in step 3.' })
      : '',
  );
}

// ---- identity provider steps ----------------------------------------------------------------------------

function entraSteps(ov: Overview): HTMLElement {
  return h(
    'ol',
    { class: 'steps', id: 'steps-entra' },
    h(
      'li',
      {},
      'In the Microsoft Entra admin center open ',
      ui('Enterprise applications'),
      ' → ',
      ui('New application'),
      ' → ',
      ui('Create your own application'),
      ', name it (for example "Joyn FSM"), choose ',
      ui("Integrate any other application you don't find in the gallery (Non-gallery)"),
      ' and click ',
      ui('Create'),
      '.',
    ),
    h(
      'li',
      {},
      'In the new application open ',
      ui('Provisioning'),
      ', click ',
      ui('Get started'),
      ' (newer portals: ',
      ui('New configuration'),
      ') and set ',
      ui('Provisioning Mode'),
      ' to ',
      ui('Automatic'),
      '.',
    ),
    h(
      'li',
      {},
      'Under ',
      ui('Admin Credentials'),
      ', paste the ',
      ui('Tenant URL'),
      ' and a ',
      ui('Secret Token'),
      ' from here:',
      credentialsBlock(ov),
    ),
    h(
      'li',
      {},
      'Click ',
      ui('Test Connection'),
      '. Entra says "The supplied credentials are authorized to enable provisioning", and the check ',
      h('em', { text: 'Test Connection received' }),
      ' on this page turns green. Then click ',
      ui('Save'),
      '.',
    ),
    h(
      'li',
      {},
      'Open ',
      ui('Mappings'),
      ': ',
      ui('Provision Microsoft Entra ID Users'),
      ' and ',
      ui('Provision Microsoft Entra ID Groups'),
      ' should map the attributes in the table below. To send the Joyn FSM attributes, tick ',
      ui('Show advanced options'),
      ', click ',
      ui('Edit attribute list for customappsso'),
      ' and add each attribute marked "add to Entra" with its exact name and type ',
      ui('String'),
      '; then click ',
      ui('Add New Mapping'),
      ' for each and choose its source attribute.',
    ),
    h(
      'li',
      {},
      'Under ',
      ui('Settings'),
      ' → ',
      ui('Scope'),
      ', choose ',
      ui('Sync only assigned users and groups'),
      ' and assign them under ',
      ui('Users and groups'),
      '.',
    ),
    h(
      'li',
      {},
      'Set ',
      ui('Provisioning Status'),
      ' to ',
      ui('On'),
      ' and click ',
      ui('Save'),
      '. The first cycle starts within minutes: watch ',
      h('em', { text: 'First user created' }),
      ' and ',
      h('em', { text: 'First group created' }),
      ' turn green above.',
    ),
  );
}

function oktaSteps(ov: Overview): HTMLElement {
  return h(
    'ol',
    { class: 'steps', id: 'steps-okta' },
    h(
      'li',
      {},
      'In the Okta Admin Console open ',
      ui('Applications'),
      ' → ',
      ui('Browse App Catalog'),
      ', add ',
      ui('SCIM 2.0 Test App (OAuth Bearer Token)'),
      ' and name it "Joyn FSM".',
    ),
    h(
      'li',
      {},
      'On its ',
      ui('Provisioning'),
      ' tab click ',
      ui('Configure API Integration'),
      ', tick ',
      ui('Enable API integration'),
      ', and paste the Tenant URL as ',
      ui('SCIM 2.0 Base Url'),
      ' and a Secret Token as ',
      ui('OAuth Bearer Token'),
      ':',
      credentialsBlock(ov),
    ),
    h('li', {}, 'Click ', ui('Test API Credentials'), ', then ', ui('Save'), '.'),
    h(
      'li',
      {},
      'Under ',
      ui('To App'),
      ' enable ',
      ui('Create Users'),
      ', ',
      ui('Update User Attributes'),
      ' and ',
      ui('Deactivate Users'),
      '; assign people and push groups under ',
      ui('Assignments'),
      ' and ',
      ui('Push Groups'),
      '.',
    ),
  );
}

function genericSteps(ov: Overview): HTMLElement {
  return h(
    'ol',
    { class: 'steps', id: 'steps-generic' },
    h(
      'li',
      {},
      'Joyn FSM speaks SCIM 2.0 (RFC 7643, RFC 7644). Configure your client with the base URL below and send ',
      h('code', { text: 'Authorization: Bearer <Secret Token>' }),
      ' with every request:',
      credentialsBlock(ov),
    ),
    h(
      'li',
      {},
      'Or obtain short-lived access tokens with the OAuth 2.0 client credentials grant at ',
      h('code', { text: ov.tokenEndpoint }),
      ' (client_secret_basic or client_secret_post) and send them the same way.',
    ),
    h(
      'li',
      {},
      'Discovery: ',
      h('code', { text: `${ov.tenantUrl}/ServiceProviderConfig` }),
      ', ',
      h('code', { text: '/Schemas' }),
      ', ',
      h('code', { text: '/ResourceTypes' }),
      '. Users go to ',
      h('code', { text: '/Users' }),
      ', groups to ',
      h('code', { text: '/Groups' }),
      '.',
    ),
  );
}

const IDPS = [
  { id: 'entra', label: 'Microsoft Entra ID', steps: entraSteps },
  { id: 'okta', label: 'Okta', steps: oktaSteps },
  { id: 'generic', label: 'Any SCIM client', steps: genericSteps },
] as const;

function stepsSection(ov: Overview): HTMLElement {
  const body = h('div', { id: 'steps' });
  const tabs = h('div', { class: 'tabs', role: 'group', 'aria-label': 'Identity provider' });
  const choose = (id: string) => {
    for (const b of tabs.querySelectorAll('button'))
      b.setAttribute('aria-pressed', String(b.dataset.idp === id));
    body.replaceChildren(IDPS.find((i) => i.id === id)!.steps(ov));
  };
  for (const i of IDPS)
    tabs.append(
      h('button', { type: 'button', 'data-idp': i.id, text: i.label, onclick: () => choose(i.id) }),
    );
  choose('entra');
  return h('section', { class: 'card' }, h('h2', { text: 'Connect your identity provider' }), tabs, body);
}

// ---- attribute table ------------------------------------------------------------------------------------

function attributesSection(rows: AttributeRow[]): HTMLElement {
  const headers = ['Resource', 'Target attribute (Entra)', 'Type', 'Entra default source', 'Note'];
  const cells = (r: AttributeRow) => [
    r.resource,
    h('code', { class: 'attr', text: r.target }),
    r.type,
    r.entraSource ? h('code', { text: r.entraSource }) : '',
    r.required ? 'required' : r.addToEntraList ? 'add to Entra' : '',
  ];
  const main = rows.filter((r) => r.required || r.entraSource || r.addToEntraList);
  const rest = rows.filter((r) => !(r.required || r.entraSource || r.addToEntraList));
  return h(
    'section',
    { class: 'card', id: 'attributes' },
    h('h2', { text: 'Attributes Joyn FSM expects' }),
    h('p', {
      class: 'hint',
      text: 'Generated from the schema Joyn FSM publishes (/Schemas). "add to Entra": add it under Mappings → Show advanced options → Edit attribute list for customappsso with exactly this name and type String, then map it.',
    }),
    table('attribute-table', 'Attributes', headers, main.map(cells)),
    h(
      'details',
      {},
      h('summary', { text: `${rest.length} more attributes the schema accepts` }),
      table('attribute-table-more', 'More attributes', headers, rest.map(cells)),
    ),
  );
}

// ---- the page -------------------------------------------------------------------------------------------

async function render(ov: Overview): Promise<void> {
  const attrs = await call<{ attributes: AttributeRow[] }>('GET', '/attributes');
  app().replaceChildren(
    h(
      'section',
      { class: 'setup-head' },
      h('h1', { text: `Connect ${ov.tenant.name} to Joyn FSM` }),
      h('p', {
        class: 'muted',
        text: `This page works in this browser until ${whenText(ov.link.expiresAt)}. Everything it shows and changes belongs to ${ov.tenant.name} only.`,
      }),
    ),
    h(
      'section',
      { class: 'card', id: 'live' },
      h('h2', { text: 'Live status' }),
      h('div', { id: 'watch' }, h('p', { class: 'muted', text: 'Waiting for the first update…' })),
    ),
    stepsSection(ov),
    attributesSection(attrs.attributes),
    h('section', { class: 'card', id: 'credentials' }),
  );
  await refreshCredentials();
  await poll();
  stopWatching();
  timer = window.setInterval(() => void poll(), 2000);
}

async function start(): Promise<void> {
  const secret = location.hash.replace(/^#/, '');
  try {
    // The link's secret leaves the address bar at once: a screenshot or a shoulder sees nothing to reuse.
    if (secret) history.replaceState(null, '', location.pathname);
    const ov = secret
      ? await call<Overview>('POST', '/open', { link: secret })
      : await call<Overview>('GET', '/overview');
    await render(ov);
  } catch (e) {
    if (e instanceof Refused) return refusedPage(e.message);
    app().replaceChildren(h('div', { class: 'error-box', role: 'alert', text: (e as Error).message }));
  }
}

void start();
