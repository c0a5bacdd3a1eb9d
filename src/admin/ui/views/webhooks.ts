/**
 * Webhooks: the endpoints that receive the directory events (docs/events.md "Webhooks"), each endpoint's recent
 * deliveries, and what each role may do with them, on the admin routes of src/events/webhook-routes.ts:
 *
 * - viewer: the endpoints (never a secret: only its hint) and their deliveries, with state, attempts, next retry;
 * - operator: + redeliver an event and send a ping (they send to the receiver but change no endpoint);
 * - admin: + create, disable / enable, rotate the signing secret, delete.
 *
 * A signing secret (on create and on rotation) is shown once, in a panel above the page, like a Secret Token; it
 * is gone from the page when dismissed or when the operator leaves the page.
 */
import { api, ApiError, can, enc } from '../api.js';
import {
  badge,
  copyField,
  errorBox,
  field,
  h,
  kv,
  loading,
  select,
  statusBadge,
  table,
  when,
  whenText,
} from '../dom.js';
import { go, href } from '../router.js';
import { loadTenants, say, state } from '../state.js';

interface EndpointView {
  id: string;
  url: string;
  description: string;
  tenantId: string | null;
  types: string[];
  enabled: boolean;
  disabledReason: string | null;
  disabledAt: string | null;
  failingSince: string | null;
  lastSuccessAt: string | null;
  previousSecretExpiresAt: string | null;
  secretHint: string;
  createdAt: string;
}

interface DeliveryView {
  id: number;
  eventId: string;
  eventType: string;
  occurredAt: string;
  origin: 'event' | 'redelivery' | 'ping';
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  finishedAt: string | null;
}

interface PingAnswer {
  status: number | null;
  durationMs: number;
  error: string | null;
  outcome: string;
}

const LIST_HEADERS = ['Endpoint', 'Tenant', 'Events', 'State', 'Last success'];
const DELIVERY_HEADERS = ['Event', 'Occurred', 'State', 'Attempts', 'Last answer', 'Next retry', 'Actions'];

/** Errors other than a session that just ended (main.ts shows the sign-in form for that). */
const failed = (e: unknown) => {
  if (!(e instanceof ApiError && e.status === 401)) say((e as Error).message, true);
};

/** The signing secret, once: the receiver verifies every delivery with it (docs/events.md "Signatures"). */
function secretPanel(title: string, secret: string, note: string): HTMLElement {
  const panel = h(
    'section',
    { class: 'card secret', id: 'webhook-secret-panel', 'aria-labelledby': 'wh-secret-title' },
    h('h2', { id: 'wh-secret-title', text: title }),
    h('p', { class: 'warning', text: `Shown only once. ${note}` }),
    copyField('Signing secret', secret, 'webhook-secret', (w) => say(`${w} copied to the clipboard.`)),
    h('button', { type: 'button', class: 'primary', text: 'Done', onclick: () => panel.remove() }),
  );
  return panel;
}

const tenantName = (id: string | null): string =>
  id === null ? 'every tenant' : (state.tenants.find((t) => t.id === id)?.name ?? id);

function endpointState(e: EndpointView): HTMLElement {
  if (!e.enabled) return badge(`disabled: ${e.disabledReason ?? 'by an operator'}`, 'off');
  if (e.failingSince) return badge(`failing since ${whenText(e.failingSince)}`, 'bad');
  return badge('enabled', 'ok');
}

export async function renderWebhooks(box: HTMLElement, id?: string): Promise<void> {
  box.replaceChildren(loading());
  try {
    await loadTenants();
    if (id) await renderEndpoint(box, id);
    else await renderList(box);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) box.replaceChildren(errorBox((e as Error).message));
  }
}

async function renderList(box: HTMLElement, shown?: HTMLElement): Promise<void> {
  const { webhooks } = await api<{ webhooks: EndpointView[] }>('GET', '/webhooks');
  const rows = webhooks.map((e) => [
    h(
      'div',
      {},
      h('a', { href: href('webhooks', e.id), class: 'mono', text: e.url }),
      e.description ? h('div', { class: 'muted', text: e.description }) : '',
    ),
    tenantName(e.tenantId),
    e.types.length ? e.types.join(', ') : 'every type',
    endpointState(e),
    when(e.lastSuccessAt),
  ]);
  box.replaceChildren(
    shown ?? '',
    h(
      'div',
      { class: 'card' },
      h('h1', { text: `Webhooks (${webhooks.length})` }),
      h('p', {
        class: 'muted',
        text: 'Endpoints that receive the directory events, signed with their own secret. Open one for its deliveries.',
      }),
      table('webhooks-table', 'Webhook endpoints', LIST_HEADERS, rows, 'No webhook endpoints.'),
    ),
    can('admin')
      ? newEndpointCard(box)
      : h('p', {
          class: 'notice warn',
          text: 'Your role can see webhooks; creating and changing endpoints needs the admin role.',
        }),
  );
}

function newEndpointCard(box: HTMLElement): HTMLElement {
  const url = h('input', { type: 'url', required: true, autocomplete: 'off', spellcheck: 'false' });
  const tenant = select([['', 'every tenant'], ...state.tenants.map((t) => [t.id, t.name] as const)], '');
  const types = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false' });
  const description = h('input', { type: 'text', autocomplete: 'off' });
  const problem = h('div');
  const form = h(
    'form',
    { 'aria-labelledby': 'new-webhook' },
    field('Endpoint URL', url, 'HTTPS, answered by the Joyn FSM application’s receiver.'),
    h(
      'div',
      { class: 'row' },
      h('div', { class: 'grow' }, field('Tenant', tenant)),
      h(
        'div',
        { class: 'grow' },
        field('Event types', types, 'Comma-separated, e.g. user.created,user.deleted; empty: every type.'),
      ),
    ),
    field('Description', description),
    h('button', { type: 'submit', class: 'primary', text: 'Create endpoint' }),
    problem,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    problem.replaceChildren();
    void api<EndpointView & { secret: string }>('POST', '/webhooks', {
      url: url.value.trim(),
      types: types.value.trim(),
      ...(tenant.value ? { tenant: tenant.value } : {}),
      ...(description.value.trim() ? { description: description.value.trim() } : {}),
    })
      .then(async (created) => {
        say(`Webhook endpoint ${created.url} created.`);
        await renderList(
          box,
          secretPanel(
            `Signing secret for ${created.url}`,
            created.secret,
            'Give it to the receiver, which checks every delivery’s signature with it.',
          ),
        );
        document.getElementById('webhook-secret')?.focus();
      })
      .catch((e: unknown) => {
        if (!(e instanceof ApiError && e.status === 401))
          problem.replaceChildren(errorBox((e as Error).message));
      });
  });
  return h('div', { class: 'card' }, h('h2', { id: 'new-webhook', text: 'New endpoint' }), form);
}

async function renderEndpoint(box: HTMLElement, id: string, shown?: HTMLElement): Promise<void> {
  const [e, { deliveries }] = await Promise.all([
    api<EndpointView>('GET', `/webhooks/${enc(id)}`),
    api<{ deliveries: DeliveryView[] }>('GET', `/webhooks/${enc(id)}/deliveries?limit=50`),
  ]);
  const reload = (panel?: HTMLElement) => renderEndpoint(box, id, panel).catch(failed);
  const act = (label: string, cls: string, run: () => Promise<void>) =>
    h('button', {
      type: 'button',
      class: `small ${cls}`.trim(),
      text: label,
      onclick: () => void run().catch(failed),
    });

  const actions: HTMLElement[] = [];
  if (can('operator'))
    actions.push(
      act('Send a ping', '', async () => {
        const p = await api<PingAnswer>('POST', `/webhooks/${enc(id)}/ping`);
        say(
          p.outcome === 'delivered'
            ? `Ping delivered: the receiver answered ${p.status} in ${p.durationMs} ms.`
            : `Ping not delivered: ${p.status ?? p.error ?? 'no answer'}.`,
          p.outcome !== 'delivered',
        );
        await reload();
      }),
    );
  if (can('admin'))
    actions.push(
      e.enabled
        ? act('Disable', 'danger', async () => {
            await api('POST', `/webhooks/${enc(id)}/disable`);
            say('Endpoint disabled: its events wait until it is enabled again.');
            await reload();
          })
        : act('Enable', '', async () => {
            await api('POST', `/webhooks/${enc(id)}/enable`);
            say('Endpoint enabled.');
            await reload();
          }),
      act('Rotate secret', '', async () => {
        const ok = confirm(
          'Issue a new signing secret? During the overlap deliveries carry the current one’s signature too, so the receiver can switch without missing one.',
        );
        if (!ok) return;
        const r = await api<{ secret: string; previousSecretExpiresAt: string | null }>(
          'POST',
          `/webhooks/${enc(id)}/rotate-secret`,
          {},
        );
        await reload(
          secretPanel(
            `New signing secret for ${e.url}`,
            r.secret,
            r.previousSecretExpiresAt
              ? `Deliveries carry both signatures until ${whenText(r.previousSecretExpiresAt)}: update the receiver before then.`
              : 'The previous secret no longer signs: update the receiver now.',
          ),
        );
      }),
      act('Delete', 'danger', async () => {
        if (!confirm(`Delete ${e.url}? Its pending deliveries and delivery log go with it.`)) return;
        await api('DELETE', `/webhooks/${enc(id)}`);
        say(`Webhook endpoint ${e.url} deleted.`);
        go('webhooks');
      }),
    );

  const redeliver = (d: DeliveryView) =>
    // A ping is no directory event: there is nothing to send again.
    can('operator') && d.origin !== 'ping'
      ? h('button', {
          type: 'button',
          class: 'small',
          text: 'Redeliver',
          'aria-label': `Redeliver ${d.eventType} ${d.eventId}`,
          onclick: () =>
            void api<{ queued: number }>('POST', `/webhooks/${enc(id)}/redeliver`, { eventId: d.eventId })
              .then(async () => {
                say(`${d.eventType} queued for delivery again.`);
                await reload();
              })
              .catch(failed),
        })
      : '';
  const deliveryState = (d: DeliveryView) =>
    d.state === 'delivered'
      ? badge('delivered', 'ok')
      : d.state === 'failed'
        ? badge('given up', 'bad')
        : badge(d.attempts ? 'retrying' : 'pending', d.attempts ? 'warn' : 'info');
  const lastAnswer = (d: DeliveryView) =>
    h(
      'div',
      {},
      d.lastStatus !== null ? statusBadge(d.lastStatus) : '',
      d.lastError ? h('div', { class: 'muted', text: d.lastError }) : d.lastStatus === null ? '—' : '',
    );
  const nextRetry = (d: DeliveryView) =>
    d.state !== 'pending'
      ? h('span', { class: 'muted', text: '—' })
      : d.nextAttemptAt
        ? when(d.nextAttemptAt)
        : h('span', { class: 'muted', text: 'after the resource’s earlier event' });
  const rows = deliveries.map((d) => [
    h('div', {}, h('span', { text: d.eventType }), h('div', { class: 'muted mono', text: d.eventId })),
    when(d.occurredAt),
    deliveryState(d),
    String(d.attempts),
    lastAnswer(d),
    nextRetry(d),
    redeliver(d),
  ]);

  box.replaceChildren(
    shown ?? '',
    h(
      'div',
      { class: 'card stack', id: 'webhook-endpoint' },
      h('p', {}, h('a', { href: href('webhooks'), text: '← Webhooks' })),
      h('h1', { class: 'mono', text: e.url }),
      kv([
        e.description ? ['Description', e.description] : null,
        ['State', endpointState(e)],
        ['Tenant', tenantName(e.tenantId)],
        ['Events', e.types.length ? e.types.join(', ') : 'every type'],
        ['Signing secret', h('span', { class: 'mono', text: e.secretHint })],
        e.previousSecretExpiresAt ? ['Previous secret signs until', when(e.previousSecretExpiresAt)] : null,
        ['Last success', when(e.lastSuccessAt)],
        ['Created', when(e.createdAt)],
      ]),
      actions.length
        ? h('div', { class: 'row' }, actions)
        : h('p', {
            class: 'notice warn',
            text: 'Your role (viewer) can see this endpoint and its deliveries but not ping, redeliver or change it.',
          }),
    ),
    h(
      'div',
      { class: 'card' },
      h(
        'div',
        { class: 'row' },
        h('h2', { class: 'grow', text: 'Recent deliveries' }),
        h('button', { type: 'button', class: 'small', text: 'Refresh', onclick: () => void reload() }),
      ),
      table('deliveries-table', 'Recent deliveries', DELIVERY_HEADERS, rows, 'No deliveries yet.'),
    ),
  );
}
