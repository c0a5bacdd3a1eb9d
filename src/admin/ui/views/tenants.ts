/**
 * Tenants: the list (left column, or the whole page on a phone), the "shown only once" panel, and a tenant's page
 * with its tabs. Arrow keys move between tabs (WAI-ARIA tabs pattern).
 */
import { api, ApiError, can, enc } from '../api.js';
import { copyField, errorBox, field, h, when } from '../dom.js';
import { go, href, TENANT_TABS, type Route } from '../router.js';
import { loadTenants, say, state, tenantById, type TenantSummary } from '../state.js';
import { renderActivity } from './activity.js';
import { renderUserDetail, renderGroupDetail } from './detail.js';
import { connectionCard } from './connection.js';
import { renderDirectory } from './directory.js';
import { renderEvents } from './events.js';
import { levelBadge, renderTenantHealth } from './health.js';
import { renderTestConnection } from './test-connection.js';
import { renderTokens } from './tokens.js';

const TAB_LABELS: Record<(typeof TENANT_TABS)[number], string> = {
  overview: 'Overview',
  health: 'Health',
  tokens: 'Tokens',
  users: 'Users',
  groups: 'Groups',
  activity: 'Activity',
  events: 'Events',
  test: 'Test connection',
};

/** Test connection needs the operator role. */
const tabs = () => TENANT_TABS.filter((t) => t !== 'test' || can('operator'));

function sidebar(selected: string | undefined): HTMLElement {
  const list = h('ul', { class: 'tenant-list' });
  for (const t of state.tenants)
    list.append(
      h(
        'li',
        {},
        h(
          'a',
          {
            class: 'tenant-link',
            href: href('tenants', t.id),
            'aria-current': t.id === selected ? 'page' : undefined,
          },
          h('span', { class: 'name', text: t.name }),
          h('span', {
            class: 'meta',
            text: `${t.users} users · ${t.groups} groups · ${t.activeTokens} active tokens`,
          }),
        ),
      ),
    );
  const name = h('input', { type: 'text', required: true, maxlength: '100', autocomplete: 'off' });
  const form = h(
    'form',
    { 'aria-labelledby': 'new-tenant-title' },
    h('h2', { id: 'new-tenant-title', text: 'New tenant' }),
    field('Tenant name', name, "Letters, digits, spaces, '.', '_' or '-'."),
    h('button', { type: 'submit', class: 'primary', text: 'Create tenant' }),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void (async () => {
      try {
        const issued = await api('POST', '/tenants', { name: name.value });
        state.secret = {
          reason: 'New tenant',
          name: issued.name,
          tenantUrl: issued.tenantUrl,
          token: issued.token,
        };
        await loadTenants();
        say(`Tenant "${issued.name}" created.`);
        go('tenants', issued.tenantId);
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 401)) say((e as Error).message, true);
      }
    })();
  });
  return h(
    'aside',
    { class: 'sidebar' },
    h(
      'nav',
      { class: 'card', 'aria-labelledby': 'tenants-title' },
      h('h2', { id: 'tenants-title', text: `Tenants (${state.tenants.length})` }),
      state.tenants.length
        ? list
        : h('p', { class: 'empty', text: 'No tenants yet: create the first one below.' }),
    ),
    can('admin') ? h('div', { class: 'card' }, form) : null,
  );
}

/** The "shown only once" panel: the Secret Token is on the page until "I have copied it", then gone for good. */
export function secretPanel(onDismiss: () => void): HTMLElement | null {
  const s = state.secret;
  if (!s) return null;
  const copied = (what: string) => say(`${what} copied to the clipboard.`);
  return h(
    'section',
    { class: 'card secret', 'aria-labelledby': 'secret-title', id: 'secret-panel' },
    h('h2', { id: 'secret-title', text: `${s.reason}: Secret Token for "${s.name}"` }),
    h('p', {
      class: 'warning',
      text: 'Shown only once. Copy the Secret Token now and paste it with the Tenant URL into the Entra ID provisioning settings. It cannot be displayed again; if it is lost, issue a new token.',
    }),
    copyField('Tenant URL', s.tenantUrl, 'secret-url', copied),
    copyField('Secret Token', s.token, 'secret-token', copied),
    h('button', {
      type: 'button',
      class: 'primary',
      text: 'I have copied it',
      onclick: () => {
        state.secret = null;
        onDismiss();
      },
    }),
  );
}

export function renderTenantsHome(box: HTMLElement): void {
  box.replaceChildren(
    h(
      'div',
      { class: 'layout' },
      sidebar(undefined),
      h(
        'section',
        { class: 'detail' },
        h(
          'div',
          { class: 'card' },
          h('h1', { text: 'Tenants' }),
          h('p', {
            class: 'muted',
            text: 'Choose a tenant, or create one. Each tenant is one Joyn FSM customer with its own Tenant URL and Secret Tokens.',
          }),
        ),
      ),
    ),
  );
}

/** Set when a tab was chosen from the keyboard: the new page puts the focus back on the selected tab. */
let focusTabAfterRender = false;

function tablist(t: TenantSummary, current: string): HTMLElement {
  const list = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Tenant sections' });
  for (const key of tabs()) {
    const selected = key === current;
    list.append(
      h('button', {
        type: 'button',
        role: 'tab',
        id: `tab-${key}`,
        'aria-selected': selected ? 'true' : 'false',
        'aria-controls': 'tab-panel',
        tabindex: selected ? '0' : '-1',
        text: TAB_LABELS[key],
        onclick: () => go('tenants', t.id, key),
      }),
    );
  }
  list.addEventListener('keydown', (ev) => {
    const keys: string[] = tabs();
    let i = keys.indexOf(current);
    if (ev.key === 'ArrowRight') i = (i + 1) % keys.length;
    else if (ev.key === 'ArrowLeft') i = (i - 1 + keys.length) % keys.length;
    else if (ev.key === 'Home') i = 0;
    else if (ev.key === 'End') i = keys.length - 1;
    else return;
    ev.preventDefault();
    focusTabAfterRender = true;
    go('tenants', t.id, keys[i]!);
  });
  return list;
}

/** A tenant's page: header, tabs and the selected tab, or a user's / group's detail page. */
export async function renderTenantPage(
  box: HTMLElement,
  route: Extract<Route, { tenant: string }>,
): Promise<void> {
  // Coming back to a tenant refreshes the counts in the list, so they follow provisioning.
  await loadTenants();
  const t = tenantById(route.tenant);
  const detail = h('section', { class: 'detail' });
  box.replaceChildren(h('div', { class: 'layout has-tenant' }, sidebar(t?.id), detail));
  if (!t) {
    detail.replaceChildren(errorBox(`No tenant '${route.tenant}': it may have been deleted.`));
    return;
  }
  const rerender = () => void renderTenantPage(box, route);
  const secret = secretPanel(rerender);
  const tab = route.page === 'tenant' ? route.tab : route.page === 'user' ? 'users' : 'groups';
  const panel = h('div', {
    role: 'tabpanel',
    id: 'tab-panel',
    tabindex: '0',
    'aria-labelledby': `tab-${tab}`,
  });
  detail.replaceChildren(
    ...(secret ? [secret] : []),
    h(
      'div',
      { class: 'card' },
      h('a', { class: 'back-link', href: '#/tenants', text: '← All tenants' }),
      h('h1', { id: 'tenant-title', tabindex: '-1', text: t.name }),
      h('p', { class: 'muted mono', text: t.id }),
      tablist(t, tab),
      panel,
    ),
  );
  if (secret) document.getElementById('secret-token')?.focus();
  else if (focusTabAfterRender) document.getElementById(`tab-${tab}`)?.focus();
  focusTabAfterRender = false;
  if (route.page === 'user') return renderUserDetail(panel, t, route.id);
  if (route.page === 'group') return renderGroupDetail(panel, t, route.id);
  switch (route.tab) {
    case 'tokens':
      return renderTokens(panel, t, rerender);
    case 'users':
    case 'groups':
      return renderDirectory(panel, t, tab as 'users' | 'groups');
    case 'activity':
      return renderActivity(panel, t);
    case 'test':
      return renderTestConnection(panel, t);
    case 'events':
      return renderEvents(panel, t);
    case 'health':
      return renderTenantHealth(panel, t);
    case 'overview':
      return renderOverview(panel, t);
    default:
      panel.replaceChildren(errorBox('This page arrives with a later version of the console.'));
  }
}

function renderOverview(panel: HTMLElement, t: TenantSummary): void {
  const confirmInput = h('input', { type: 'text', autocomplete: 'off' });
  const del = h('button', { type: 'button', class: 'danger', text: 'Delete tenant', disabled: true });
  confirmInput.addEventListener('input', () => {
    del.disabled = confirmInput.value !== t.name;
  });
  del.addEventListener('click', () => {
    void (async () => {
      try {
        await api('DELETE', `/tenants/${enc(t.id)}`);
        state.secret = null;
        await loadTenants();
        say(`Tenant "${t.name}" and all its data were deleted.`);
        go('tenants');
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 401)) say((e as Error).message, true);
      }
    })();
  });
  const stat = (n: number, l: string) =>
    h('div', { class: 'stat' }, h('span', { class: 'n', text: n }), h('span', { class: 'l', text: l }));
  panel.replaceChildren();
  panel.append(
    h(
      'div',
      { class: 'stats' },
      stat(t.users, 'users'),
      stat(t.groups, 'groups'),
      stat(t.activeTokens, 'active tokens'),
    ),
    connectionCard(t.id),
    h('h3', { text: 'Connection settings for Entra ID' }),
    copyField('Tenant URL', t.tenantUrl, 'tenant-url', (what) => say(`${what} copied to the clipboard.`)),
    h('dl', { class: 'kv' }, h('dt', { text: 'Created' }), h('dd', {}, when(t.createdAt))),
  );
  // The tenant's state in words (the Health tab has the charts and every signal).
  const signalBox = h('div', { class: 'overview-signal', 'aria-live': 'polite' });
  panel.prepend(signalBox);
  void api<{ level: 'ok' | 'warn' | 'bad'; signals: { level: 'ok' | 'warn' | 'bad'; text: string }[] }>(
    'GET',
    `/tenants/${enc(t.id)}/health`,
  ).then(
    (r) => {
      const s = r.signals[0];
      if (s)
        signalBox.replaceChildren(
          h(
            'p',
            { class: `notice ${s.level}` },
            levelBadge(s.level),
            ' ',
            s.text,
            ' ',
            h('a', { href: href('tenants', t.id, 'health'), text: 'Health' }),
          ),
        );
    },
    () => undefined,
  );
  if (can('admin'))
    panel.append(
      h(
        'details',
        { class: 'stack danger-zone' },
        h('summary', { text: 'Delete this tenant' }),
        h('p', {
          text: 'Deletes every user, group, token and activity entry of this tenant. Entra ID provisioning for it stops working at once.',
        }),
        field('Type the tenant name to confirm', confirmInput),
        del,
      ),
    );
}
