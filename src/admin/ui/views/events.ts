/**
 * Directory events (docs/events.md): what the Joyn FSM application learns of every provisioned change, newest
 * first, from the events outbox. A tenant's Events tab, and the history on a user's or group's detail page.
 * Webhook deliveries of these events have their own view (webhooks.ts).
 */
import { api, ApiError, enc, query } from '../api.js';
import { badge, errorBox, field, h, jsonBlock, nextId, row, select, table, when } from '../dom.js';
import { href } from '../router.js';
import type { TenantSummary } from '../state.js';

export interface DirectoryEvent {
  seq: number;
  id: string;
  type: string;
  occurredAt: string;
  resource: { type: 'User' | 'Group' | 'Tenant'; id: string; sequence: number };
  data: Record<string, unknown>;
  previous?: Record<string, unknown>;
  member?: { value: string; type?: string };
}

const TYPES = [
  'user.created',
  'user.updated',
  'user.deactivated',
  'user.reactivated',
  'user.deleted',
  'group.created',
  'group.updated',
  'group.deleted',
  'group.member_added',
  'group.member_removed',
  'tenant.connected',
  'tenant.credentials_rejected',
];
const HEADERS = ['', 'Time', 'Event', 'Resource', 'What changed'];

const kind = (type: string): 'ok' | 'warn' | 'bad' | 'info' | 'off' =>
  /deleted|credentials_rejected|deactivated/.test(type)
    ? 'warn'
    : /created|connected|reactivated/.test(type)
      ? 'ok'
      : 'info';

const shown = (v: unknown): string =>
  v === null || v === undefined ? '(none)' : typeof v === 'string' ? v : JSON.stringify(v);

/** In words: the attributes an update changed (previous → now), or the member added or removed. */
export function eventChange(e: DirectoryEvent): string {
  if (e.member)
    return `${e.type.endsWith('added') ? 'added' : 'removed'} ${e.member.type ?? 'member'} ${e.member.value}`;
  if (e.previous)
    return Object.entries(e.previous)
      .map(([k, before]) => `${k}: ${shown(before)} → ${shown(e.data[k])}`)
      .join('; ');
  return '';
}

function resourceCell(e: DirectoryEvent, t: TenantSummary): Node {
  const name = String(e.data.userName ?? e.data.displayName ?? e.resource.id);
  if (e.resource.type === 'Tenant' || e.type.endsWith('deleted'))
    return h('span', { class: 'mono', text: name });
  return h('a', {
    href: href('tenants', t.id, e.resource.type === 'User' ? 'users' : 'groups', e.resource.id),
    text: name,
  });
}

function eventRows(e: DirectoryEvent, t: TenantSummary): HTMLTableRowElement[] {
  const id = nextId('event');
  const toggle = h('button', {
    type: 'button',
    class: 'small expander',
    'aria-expanded': 'false',
    'aria-controls': id,
    'aria-label': `The event ${e.type} as delivered`,
    text: '▸',
  });
  const detail = h(
    'tr',
    { id, hidden: true, class: 'entry-detail-row' },
    h('td', { colspan: HEADERS.length, class: 'expansion' }),
  );
  toggle.addEventListener('click', () => {
    const open = detail.hidden;
    detail.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    toggle.textContent = open ? '▾' : '▸';
    const { seq: _seq, ...envelope } = e;
    if (open && !detail.firstElementChild!.childElementCount)
      detail.firstElementChild!.append(jsonBlock(envelope, `Event ${e.id}`));
  });
  return [
    row(
      HEADERS,
      [toggle, when(e.occurredAt), badge(e.type, kind(e.type)), resourceCell(e, t), eventChange(e)],
      { class: 'event' },
    ),
    detail,
  ];
}

/** A list of a tenant's events, optionally of one resource, with "load older". */
export function eventList(
  t: TenantSummary,
  fixed: { resourceId?: string } = {},
  opts: { filters?: boolean; id?: string } = {},
): HTMLElement {
  const wrap = table(opts.id ?? 'events-table', 'Directory events', HEADERS, []);
  const tbody = wrap.querySelector('tbody')!;
  const more = h('button', { type: 'button', text: 'Load older events', hidden: true });
  const problem = h('div');
  let before: number | null = null;
  let type = '';
  const load = async (reset: boolean) => {
    if (reset) before = null;
    try {
      const page = await api<{ events: DirectoryEvent[]; nextBefore: number | null }>(
        'GET',
        `/tenants/${enc(t.id)}/events${query({ limit: 25, before, type, resourceId: fixed.resourceId })}`,
      );
      if (reset) tbody.replaceChildren();
      for (const e of page.events) tbody.append(...eventRows(e, t));
      if (!tbody.children.length)
        tbody.append(
          h(
            'tr',
            {},
            h('td', {
              colspan: HEADERS.length,
              class: 'empty',
              text: 'No events (EVENTS_ENABLED may be off, or they are past their retention).',
            }),
          ),
        );
      before = page.nextBefore;
      more.hidden = !before;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401))
        problem.replaceChildren(errorBox((e as Error).message));
    }
  };
  more.addEventListener('click', () => void load(false));
  const parts: HTMLElement[] = [];
  if (opts.filters) {
    const pick = select([['', 'Every type'], ...TYPES.map((x) => [x, x] as const)], '');
    pick.addEventListener('change', () => {
      type = pick.value;
      void load(true);
    });
    parts.push(h('div', { class: 'row' }, h('div', { class: 'grow' }, field('Event type', pick))));
  }
  void load(true);
  return h('div', {}, ...parts, problem, wrap, h('div', { class: 'pager' }, more));
}

export function renderEvents(panel: HTMLElement, t: TenantSummary): void {
  panel.replaceChildren(
    h('p', {
      class: 'hint',
      text: 'Newest first: the directory events the Joyn FSM application reads (Events API) and webhooks deliver, one per change, written in the same transaction as the change.',
    }),
    eventList(t, {}, { filters: true }),
  );
}
