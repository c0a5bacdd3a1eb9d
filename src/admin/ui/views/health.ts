/** Deployment health: the store, uptime, and users and groups per tenant. */
import { api } from '../api.js';
import { badge, h, kv, loading, table } from '../dom.js';

interface Health {
  status: string;
  store: { dialect: string; describe: string; ok: boolean; error?: string };
  uptimeSeconds: number;
  node: string;
  tenants: { id: string; name: string; users: number; groups: number }[];
}

export async function renderHealth(box: HTMLElement): Promise<void> {
  box.replaceChildren(loading('Checking…'));
  const r = await api<Health>('GET', '/health');
  box.replaceChildren(
    h(
      'div',
      { class: 'card' },
      h('h1', { id: 'health-title', text: 'Health' }),
      kv([
        ['Status', badge(r.status, r.status === 'ok' ? 'ok' : 'bad')],
        ['Store', h('span', { class: 'mono', text: `${r.store.dialect} · ${r.store.describe}` })],
        r.store.error ? ['Store error', r.store.error] : null,
        ['Uptime', `${Math.round(r.uptimeSeconds / 60)} min`],
        ['Node.js', r.node],
      ]),
    ),
    h(
      'div',
      { class: 'card' },
      h('h2', { text: 'Tenants' }),
      table(
        'health-table',
        'Tenants',
        ['Name', 'Id', 'Users', 'Groups'],
        r.tenants.map((t) => [
          t.name,
          h('span', { class: 'mono', text: t.id }),
          String(t.users),
          String(t.groups),
        ]),
      ),
    ),
  );
}
