/**
 * A tenant's connection in the console's overview (issue 15): the connection state with its reason, and the setup
 * link an operator sends to the customer's IT admin (shown once, with a copy button).
 */
import { api, ApiError, enc } from '../api.js';
import { badge, copyField, field, h, select, whenText } from '../dom.js';
import { say } from '../state.js';

const KIND: Record<string, 'ok' | 'warn' | 'bad' | 'off' | 'info'> = {
  healthy: 'ok',
  connected: 'ok',
  awaiting_setup: 'info',
  idle: 'warn',
  unhealthy: 'bad',
  disabled: 'off',
};

interface Connection {
  state: string;
  reason: string;
  lastRequestAt: string | null;
}

export function connectionCard(tenantId: string): HTMLElement {
  const status = h('p', { id: 'connection-state', class: 'muted', text: 'Loading the connection state…' });
  const out = h('div', { id: 'setup-link-out' });
  const expires = select(
    [
      ['24h', '24 hours'],
      ['3d', '3 days'],
      ['7d', '7 days'],
      ['1h', '1 hour'],
    ],
    '24h',
  );
  const create = h('button', {
    type: 'button',
    id: 'create-setup-link',
    text: 'Create setup link',
    onclick: async () => {
      try {
        const l = await api<{ url: string; expiresAt: string }>(
          'POST',
          `/tenants/${enc(tenantId)}/setup-links`,
          {
            expiresIn: expires.value,
          },
        );
        out.replaceChildren(
          copyField('Setup link', l.url, 'setup-link-url', (what) => say(`${what} copied to the clipboard.`)),
          h('p', {
            class: 'hint',
            text: `Shown only this once. Send it to the customer's IT admin: it works in the first browser that opens it, until ${whenText(l.expiresAt)}.`,
          }),
        );
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 401)) say((e as Error).message, true);
      }
    },
  });
  void api<Connection>('GET', `/tenants/${enc(tenantId)}/connection`).then(
    (c) =>
      status.replaceChildren(
        'Connection: ',
        badge(c.state.replace('_', ' '), KIND[c.state] ?? 'info'),
        ` ${c.reason}`,
      ),
    () => status.replaceChildren('Connection state unavailable.'),
  );
  return h(
    'div',
    { class: 'stack', id: 'connection' },
    h('h3', { text: 'Connection' }),
    status,
    field('Setup link expires after', expires),
    create,
    out,
  );
}
