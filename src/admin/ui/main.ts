/**
 * The operator console: asks the server for the session (an HttpOnly cookie the page never sees), shows the
 * sign-in form without any navigation when there is none, and otherwise renders the page the address names
 * (router.ts) under a top navigation that fits the operator's role.
 */
import { api, ApiError, can, session, useSession, whenSignedOut, type Role, type Session } from './api.js';
import { errorBox, h } from './dom.js';
import { closeStreams } from './live.js';
import { parseRoute, type Route } from './router.js';
import { loadTenants, say, state } from './state.js';
import { renderAccount } from './views/account.js';
import { renderAudit } from './views/audit.js';
import { renderEngine } from './views/engine.js';
import { renderHealth } from './views/health.js';
import { renderOperators } from './views/operators.js';
import { renderSignIn } from './views/sign-in.js';
import { renderTenantPage, renderTenantsHome } from './views/tenants.js';
import { renderWebhooks } from './views/webhooks.js';

const app = (): HTMLElement => document.getElementById('app')!;
const topnav = (): HTMLElement => document.getElementById('topnav')!;

const NAV: readonly { page: Route['page']; label: string; hash: string; role: Role }[] = [
  { page: 'tenants', label: 'Tenants', hash: '#/tenants', role: 'viewer' },
  { page: 'health', label: 'Health', hash: '#/health', role: 'viewer' },
  { page: 'engine', label: 'Engine', hash: '#/engine', role: 'viewer' },
  { page: 'webhooks', label: 'Webhooks', hash: '#/webhooks', role: 'viewer' },
  { page: 'audit', label: 'Audit', hash: '#/audit', role: 'viewer' },
  { page: 'operators', label: 'Operators', hash: '#/operators', role: 'admin' },
];

function renderNav(route: Route, s: Session): void {
  const nav = topnav();
  const current =
    route.page === 'tenant' || route.page === 'user' || route.page === 'group' ? 'tenants' : route.page;
  nav.replaceChildren(
    ...NAV.filter((n) => can(n.role)).map((n) =>
      h('a', {
        class: 'navlink',
        href: n.hash,
        'aria-current': n.page === current ? 'page' : undefined,
        text: n.label,
      }),
    ),
    h('a', {
      class: 'navlink who',
      href: '#/account',
      'aria-current': route.page === 'account' ? 'page' : undefined,
      'aria-label': `Account: ${s.operator.name}, ${s.operator.role}`,
      text: `${s.operator.name} · ${s.operator.role}`,
    }),
    h('button', {
      type: 'button',
      class: 'navlink',
      id: 'sign-out',
      text: 'Sign out',
      onclick: () => void signOut(),
    }),
  );
  nav.hidden = false;
}

function showSignIn(message: string): void {
  closeStreams();
  useSession(null);
  state.secret = null;
  state.tenants = [];
  topnav().hidden = true;
  topnav().replaceChildren();
  renderSignIn(app(), message, async (s) => {
    useSession(s);
    say('');
    await show();
  });
}

async function signOut(): Promise<void> {
  try {
    await api('DELETE', '/session');
  } catch {
    // Already ended: the form is what follows either way.
  }
  showSignIn('');
  say('Signed out.');
}

let rendering = 0;

/** Renders the page of the current address (and only the latest one, if addresses change quickly). */
async function show(): Promise<void> {
  const s = session();
  if (!s) return showSignIn('');
  const mine = ++rendering;
  closeStreams();
  const route = parseRoute(location.hash);
  renderNav(route, s);
  const box = app();
  try {
    if (route.page === 'tenants') await loadTenants();
    if (mine !== rendering) return;
    switch (route.page) {
      case 'tenant':
      case 'user':
      case 'group':
        await renderTenantPage(box, route);
        break;
      case 'health':
        await renderHealth(box);
        break;
      case 'audit':
        await renderAudit(box);
        break;
      case 'engine':
        await renderEngine(box, route.job);
        break;
      case 'webhooks':
        await renderWebhooks(box, route.id);
        break;
      case 'operators':
        await renderOperators(box);
        break;
      case 'account':
        renderAccount(box, s, () => showSignIn('You signed out everywhere.'));
        break;
      default:
        renderTenantsHome(box);
    }
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    box.replaceChildren(errorBox((e as Error).message));
  }
}

async function boot(): Promise<void> {
  whenSignedOut(showSignIn);
  window.addEventListener('hashchange', () => {
    say('');
    void show();
  });
  try {
    useSession(await api<Session>('GET', '/session'));
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) {
      app().replaceChildren(errorBox((e as Error).message));
      return;
    }
  }
  await show();
}

void boot();
