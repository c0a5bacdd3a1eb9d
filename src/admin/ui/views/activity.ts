/**
 * A tenant's provisioning activity: every write and every failed request, newest first, each entry explaining
 * itself when expanded (whom, what was sent, why it failed, the PATCH dialect, the client). Filters, "load older",
 * and live updates (server-sent events) with the same filters.
 */
import { api, ApiError, enc, query } from '../api.js';
import { badge, errorBox, field, h, kv, nextId, select, statusBadge, table, when } from '../dom.js';
import { closeStream, openStream } from '../live.js';
import { href } from '../router.js';
import type { TenantSummary } from '../state.js';

export interface ActivityEntry {
  seq: number;
  at: string;
  method: string;
  path: string;
  status: number;
  resourceType?: 'User' | 'Group';
  resourceId?: string;
  summary: string;
  durationMs?: number;
  operation?: string;
  target?: { userName?: string; externalId?: string; displayName?: string };
  changes?: { op?: string; path: string; value?: string }[];
  errorAttribute?: string;
  scimType?: string;
  errorDetail?: string;
  patchDialect?: 'legacy' | 'compliant';
  clientIp?: string;
  userAgent?: string;
}

export interface ActivityFilters {
  status?: string;
  operation?: string;
  resourceType?: string;
  resourceId?: string;
  text?: string;
  since?: string;
  until?: string;
}

const HEADERS = ['', 'Time', 'Status', 'Operation', 'Whom', 'What happened'];
const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

const DIALECT: Record<string, string> = {
  legacy: 'Entra legacy (default): capitalised ops, "True"/"False" strings',
  compliant: 'SCIM-compliant (aadOptscim062020 or an RFC 7644 client): lower-case ops, JSON booleans',
};

export function whom(e: ActivityEntry): string {
  const t = e.target ?? {};
  return (
    t.userName ??
    t.displayName ??
    t.externalId ??
    (e.resourceId ? `${e.resourceType ?? ''} ${e.resourceId}`.trim() : '')
  );
}

/** One line that says what happened, in words: the failure and its attribute, or the summary of the write. */
export function what(e: ActivityEntry): string {
  if (e.status === 401) return 'Refused: the Secret Token is wrong, revoked or expired (401)';
  if (e.status === 429) return `Throttled: ${e.errorDetail ?? e.summary}`;
  if (e.status >= 400) {
    const detail = e.errorDetail ?? e.summary;
    // The detail usually starts with the attribute; say it once.
    return e.errorAttribute && !detail.startsWith(e.errorAttribute)
      ? `${e.errorAttribute}: ${detail}`
      : detail;
  }
  return e.summary;
}

function details(e: ActivityEntry, t: TenantSummary): HTMLElement {
  const link =
    e.resourceId && e.resourceType && e.status !== 404 && e.operation !== 'delete'
      ? h('a', {
          href: href('tenants', t.id, e.resourceType === 'User' ? 'users' : 'groups', e.resourceId),
          text: e.resourceId,
        })
      : e.resourceId
        ? h('span', { class: 'mono', text: e.resourceId })
        : null;
  const target = e.target ?? {};
  const parts: HTMLElement[] = [
    kv([
      ['Request', h('span', { class: 'mono', text: `${e.method} ${e.path}` })],
      [
        'Answer',
        h(
          'span',
          {},
          statusBadge(e.status),
          e.scimType ? [' ', badge(`scimType ${e.scimType}`, 'warn')] : null,
        ),
      ],
      e.errorAttribute ? ['Failing attribute', h('span', { class: 'mono', text: e.errorAttribute })] : null,
      e.errorDetail ? ['Detail', e.errorDetail] : null,
      link ? [`${e.resourceType ?? 'Resource'}`, link] : null,
      target.userName ? ['userName', h('span', { class: 'mono', text: target.userName })] : null,
      target.externalId ? ['externalId', h('span', { class: 'mono', text: target.externalId })] : null,
      target.displayName ? ['displayName', target.displayName] : null,
      e.patchDialect ? ['PATCH dialect', DIALECT[e.patchDialect] ?? e.patchDialect] : null,
      ['Client', `${e.clientIp ?? '?'}${e.userAgent ? ` · ${e.userAgent}` : ''}`],
      ['Time', h('span', {}, when(e.at), h('span', { class: 'muted mono', text: ` (${e.at})` }))],
      e.durationMs !== undefined ? ['Duration', `${e.durationMs} ms`] : null,
    ]),
  ];
  if (e.changes?.length)
    parts.push(
      h('h4', { text: e.operation === 'patch' ? 'Operations sent' : 'Attributes sent' }),
      table(
        nextId('changes'),
        'Attributes sent',
        ['Operation', 'Attribute', 'New value'],
        e.changes.map((c) => [
          c.op ?? (e.operation === 'create' ? 'set' : 'replace'),
          h('span', { class: 'mono', text: c.path }),
          h('span', { class: 'mono', text: c.value ?? '' }),
        ]),
      ),
    );
  return h('div', { class: 'entry-details' }, parts);
}

/** The table row of an entry and the row holding its details, toggled by the first cell's button. */
function entryRows(e: ActivityEntry, t: TenantSummary, fresh = false): HTMLTableRowElement[] {
  const detailId = nextId('entry');
  const toggle = h('button', {
    type: 'button',
    class: 'small expander',
    'aria-expanded': 'false',
    'aria-controls': detailId,
    'aria-label': `Details of ${e.status} ${e.operation ?? e.method} ${whom(e)}`,
    text: '▸',
  });
  const mainRow = h('tr', {
    class: `entry${fresh ? ' fresh' : ''}${e.status >= 400 ? ' failed' : ''}`,
    'data-seq': String(e.seq),
  });
  const cells: (Node | string)[] = [
    toggle,
    when(e.at),
    statusBadge(e.status),
    h('span', { class: 'mono', text: e.operation ?? e.method }),
    h('span', { class: 'mono whom', text: whom(e) }),
    h('span', { class: 'what', text: what(e) }),
  ];
  cells.forEach((c, i) => {
    const td = h('td', {}, c);
    td.dataset.label = HEADERS[i] ?? '';
    mainRow.append(td);
  });
  const detailRow = h(
    'tr',
    { class: 'entry-detail-row', id: detailId, hidden: true },
    h('td', { colspan: HEADERS.length, class: 'expansion' }),
  );
  const open = () => {
    const show = detailRow.hidden;
    detailRow.hidden = !show;
    toggle.setAttribute('aria-expanded', String(show));
    toggle.textContent = show ? '▾' : '▸';
    if (show && !detailRow.firstElementChild!.childElementCount)
      detailRow.firstElementChild!.append(details(e, t));
  };
  toggle.addEventListener('click', open);
  // A click anywhere on the row opens it too (the button is what the keyboard uses).
  mainRow.addEventListener('click', (ev) => {
    if (ev.target !== toggle && !(ev.target instanceof HTMLAnchorElement)) open();
  });
  return [mainRow, detailRow];
}

const localInput = (iso?: string) => {
  if (!iso) return '';
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};
const fromLocal = (v: string) => (v ? new Date(v).toISOString() : undefined);

/**
 * The activity list of a tenant, optionally fixed to one resource (a user's detail page): filters unless
 * `compact`, paging back, live updates.
 */
export function activityList(
  t: TenantSummary,
  fixed: ActivityFilters = {},
  opts: { compact?: boolean; id?: string } = {},
): HTMLElement {
  const filters: ActivityFilters = { ...fixed };
  const wrap = table(opts.id ?? 'activity-table', 'Provisioning activity', HEADERS, []);
  const tbody = wrap.querySelector('tbody')!;
  const more = h('button', { type: 'button', text: 'Load older entries', hidden: true });
  const liveState = h('span', { class: 'live-state', 'aria-live': 'polite' });
  const liveBox = h('input', { type: 'checkbox', checked: true, id: nextId('live') });
  const problem = h('div');
  let before: number | null = null;
  let stream: EventSource | undefined;
  let newest = 0;

  const empty = () =>
    h(
      'tr',
      { class: 'empty-row' },
      h('td', {
        colspan: HEADERS.length,
        class: 'empty',
        text: 'No activity matches. Writes and failed requests appear here as they happen.',
      }),
    );

  async function load(reset: boolean): Promise<void> {
    if (reset) before = null;
    try {
      const page = await api<{ entries: ActivityEntry[]; nextBefore: number | null }>(
        'GET',
        `/tenants/${enc(t.id)}/activity${query({ limit: 50, before, ...filters })}`,
      );
      if (reset) {
        tbody.replaceChildren();
        newest = page.entries[0]?.seq ?? 0;
      }
      for (const e of page.entries) tbody.append(...entryRows(e, t));
      if (!tbody.children.length) tbody.append(empty());
      before = page.nextBefore;
      more.hidden = !before;
      problem.replaceChildren();
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401))
        problem.replaceChildren(errorBox((e as Error).message));
    }
  }

  function live(on: boolean): void {
    closeStream(stream);
    stream = undefined;
    liveState.replaceChildren();
    if (!on) return;
    stream = openStream(
      `/admin/api/tenants/${enc(t.id)}/activity/stream${query({ ...filters, after: newest })}`,
      (_type, data) => {
        const e = JSON.parse(data) as ActivityEntry;
        if (e.seq <= newest) return;
        newest = e.seq;
        tbody.querySelector('.empty-row')?.remove();
        tbody.prepend(...entryRows(e, t, true));
      },
      (up) => liveState.replaceChildren(up ? badge('live', 'ok') : badge('reconnecting…', 'off')),
    );
  }

  const restart = async () => {
    await load(true);
    live(liveBox.checked);
  };
  more.addEventListener('click', () => void load(false));
  liveBox.addEventListener('change', () => live(liveBox.checked));

  const liveToggle = h(
    'div',
    { class: 'field live-toggle' },
    h('label', { class: 'inline', for: liveBox.id }, liveBox, ' Live updates'),
    liveState,
  );
  const parts: (HTMLElement | null)[] = [];
  if (!opts.compact) {
    const status = select(
      [
        ['', 'Any status'],
        ['2xx', '2xx success'],
        ['4xx', '4xx client errors'],
        ['5xx', '5xx server errors'],
        ['401', '401 wrong or revoked token'],
        ['404', '404 not found'],
        ['409', '409 conflict'],
        ['429', '429 throttled'],
      ],
      filters.status ?? '',
    );
    const operation = select(
      [
        ['', 'Any operation'],
        ['create', 'create'],
        ['patch', 'patch (update)'],
        ['replace', 'replace (PUT)'],
        ['delete', 'delete'],
        ['get', 'get by id'],
        ['list', 'list / filter'],
        ['search', '.search'],
        ['discovery', 'discovery'],
      ],
      filters.operation ?? '',
    );
    const resource = select(
      [
        ['', 'Users and groups'],
        ['User', 'Users'],
        ['Group', 'Groups'],
      ],
      filters.resourceType ?? '',
    );
    const text = h('input', {
      type: 'search',
      value: filters.text ?? '',
      spellcheck: 'false',
      autocomplete: 'off',
      placeholder: 'userName, externalId or id',
    });
    const since = h('input', { type: 'datetime-local', value: localInput(filters.since) });
    const until = h('input', { type: 'datetime-local', value: localInput(filters.until) });
    const form = h(
      'form',
      { class: 'filters', role: 'search', 'aria-label': 'Filter the activity' },
      h(
        'div',
        { class: 'filter-grid' },
        field('Status', status),
        field('Operation', operation),
        field('Resource', resource),
        field('Search', text),
        field(`From (${ZONE})`, since),
        field(`To (${ZONE})`, until),
      ),
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'submit', class: 'primary', text: 'Apply filters' }),
        liveToggle,
      ),
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const set = (k: keyof ActivityFilters, v: string | undefined) => {
        if (v) filters[k] = v;
        else delete filters[k];
      };
      set('status', status.value);
      set('operation', operation.value);
      set('resourceType', resource.value);
      set('text', text.value.trim());
      set('since', fromLocal(since.value));
      set('until', fromLocal(until.value));
      void restart();
    });
    parts.push(
      form,
      h('p', {
        class: 'hint',
        text: `Newest first; times in ${ZONE}. Every write and every failed request (401, 403, 404, 429, …) from the identity provider; successful lookups are not recorded. Bodies are summarised, secrets never shown.`,
      }),
    );
  } else parts.push(h('div', { class: 'row' }, liveToggle));
  const box = h('div', { class: 'activity' }, ...parts, problem, wrap, h('div', { class: 'pager' }, more));
  void restart();
  return box;
}

export function renderActivity(panel: HTMLElement, t: TenantSummary): void {
  panel.replaceChildren(activityList(t));
}
