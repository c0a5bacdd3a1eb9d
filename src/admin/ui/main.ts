/**
 * The operator console: signs in, then renders the page the address names (router.ts). The top navigation exists
 * only once signed in; the sign-in page shows nothing but the form.
 */
import { api, ApiError, hasToken, useToken, whenSignedOut } from './api.js';
import { errorBox, h } from './dom.js';
import { parseRoute, type Route } from './router.js';
import { loadTenants, say, state } from './state.js';
import { renderHealth } from './views/health.js';
import { renderSignIn } from './views/sign-in.js';
import { renderTenantPage, renderTenantsHome } from './views/tenants.js';

const app = (): HTMLElement => document.getElementById('app')!;
const topnav = (): HTMLElement => document.getElementById('topnav')!;

const NAV: readonly { page: Route['page']; label: string; hash: string }[] = [
  { page: 'tenants', label: 'Tenants', hash: '#/tenants' },
  { page: 'health', label: 'Health', hash: '#/health' },
];

function renderNav(route: Route): void {
  const nav = topnav();
  const current =
    route.page === 'tenant' || route.page === 'user' || route.page === 'group' ? 'tenants' : route.page;
  nav.replaceChildren(
    ...NAV.map((n) =>
      h('a', {
        class: 'navlink',
        href: n.hash,
        'aria-current': n.page === current ? 'page' : undefined,
        text: n.label,
      }),
    ),
    h('button', {
      type: 'button',
      class: 'navlink',
      id: 'sign-out',
      text: 'Sign out',
      onclick: () => signOut(''),
    }),
  );
  nav.hidden = false;
}

function signOut(message: string): void {
  useToken(null);
  state.secret = null;
  topnav().hidden = true;
  topnav().replaceChildren();
  renderSignIn(app(), message, async (token) => {
    useToken(token);
    await api('GET', '/health');
    say('');
    await show();
  });
}

let rendering = 0;

/** Renders the page of the current address (and only the latest one, if addresses change quickly). */
async function show(): Promise<void> {
  if (!hasToken()) return signOut('');
  const mine = ++rendering;
  const route = parseRoute(location.hash);
  renderNav(route);
  const box = app();
  try {
    if (!state.tenants.length || route.page === 'tenants') await loadTenants();
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
      default:
        renderTenantsHome(box);
    }
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    box.replaceChildren(errorBox((e as Error).message));
  }
}

whenSignedOut(signOut);
window.addEventListener('hashchange', () => {
  say('');
  void show();
});
void show();
