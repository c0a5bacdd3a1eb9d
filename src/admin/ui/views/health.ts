/**
 * Health: the deployment (store, instances seen, each tenant's last contact and state), and one tenant's requests
 * per minute and error rate over time with the signals that make Entra quarantine a job, in words.
 */
import { api, ApiError, enc } from '../api.js';
import { timeChart } from '../charts.js';
import { ago, badge, errorBox, field, h, kv, loading, select, table, when } from '../dom.js';
import { href } from '../router.js';
import type { TenantSummary } from '../state.js';

type Level = 'ok' | 'warn' | 'bad';

interface Health {
  status: string;
  store: { dialect: string; describe: string; ok: boolean; error?: string };
  uptimeSeconds: number;
  node: string;
  instances: {
    id: string;
    host: string;
    pid: number;
    version: string;
    node: string;
    startedAt: string;
    lastSeenAt: string;
    alive: boolean;
    self: boolean;
  }[];
  tenants: {
    id: string;
    name: string;
    users: number;
    groups: number;
    lastContactAt: string | null;
    level: Level;
    signal: string;
  }[];
}

interface TenantHealth {
  window: string;
  bucketMinutes: number;
  series: {
    t: string;
    requests: number;
    errors: number;
    unauthorized: number;
    perMinute: number;
    errorRate: number | null;
  }[];
  totals: {
    requests: number;
    errors: number;
    unauthorized: number;
    throttled: number;
    serverErrors: number;
    writes: number;
    writeErrors: number;
  };
  lastContactAt: string | null;
  connectedAt: string | null;
  credentialsRejectedAt: string | null;
  unauthorizedStreak: { requests: number; since: string } | null;
  level: Level;
  signals: { level: Level; code: string; text: string }[];
}

const LEVEL_TEXT: Record<Level, string> = { ok: 'healthy', warn: 'attention', bad: 'failing' };

export const levelBadge = (l: Level): HTMLElement => badge(LEVEL_TEXT[l], l);

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
        ['Uptime (this instance)', `${Math.round(r.uptimeSeconds / 60)} min`],
        ['Node.js', r.node],
      ]),
    ),
    h(
      'div',
      { class: 'card' },
      h('h2', { text: `Instances seen in the last 24 hours (${r.instances.length})` }),
      table(
        'instances-table',
        'Instances',
        ['Host', 'Process', 'Version', 'Started', 'Last heartbeat', 'State'],
        r.instances.map((i) => [
          h('span', { class: 'mono', text: i.host }),
          `pid ${i.pid}${i.self ? ' (this one)' : ''}`,
          `${i.version} · ${i.node}`,
          when(i.startedAt),
          h('span', {}, when(i.lastSeenAt), h('span', { class: 'muted', text: ` (${ago(i.lastSeenAt)})` })),
          i.alive ? badge('up', 'ok') : badge('gone', 'off'),
        ]),
        'No heartbeat yet.',
      ),
    ),
    h(
      'div',
      { class: 'card' },
      h('h2', { text: 'Tenants' }),
      table(
        'health-table',
        'Tenants',
        ['Tenant', 'Users', 'Groups', 'Last contact', 'State'],
        r.tenants.map((t) => [
          h('a', { href: href('tenants', t.id, 'health'), text: t.name }),
          String(t.users),
          String(t.groups),
          t.lastContactAt
            ? h('span', {}, ago(t.lastContactAt), h('span', { class: 'muted' }, ' · ', when(t.lastContactAt)))
            : h('span', { class: 'muted', text: 'never' }),
          h(
            'div',
            { class: 'signal-cell' },
            levelBadge(t.level),
            h('span', { class: 'signal-text', text: ` ${t.signal}` }),
          ),
        ]),
      ),
    ),
  );
}

/** A tenant's Health tab. */
export function renderTenantHealth(panel: HTMLElement, t: TenantSummary): void {
  const windowPick = select(
    [
      ['1h', 'Last hour'],
      ['6h', 'Last 6 hours'],
      ['24h', 'Last 24 hours'],
      ['7d', 'Last 7 days'],
    ],
    '1h',
  );
  const body = h('div', {}, loading());
  const load = async () => {
    try {
      const r = await api<TenantHealth>('GET', `/tenants/${enc(t.id)}/health?window=${windowPick.value}`);
      const xs = r.series.map((p) => p.t);
      const per = r.bucketMinutes === 1 ? 'minute' : `${r.bucketMinutes} minutes`;
      body.replaceChildren(
        h(
          'ul',
          { class: 'signals', id: 'signals' },
          r.signals.map((s) => h('li', { class: `notice ${s.level}` }, levelBadge(s.level), ' ', s.text)),
        ),
        kv([
          [
            'Last contact',
            r.lastContactAt
              ? h(
                  'span',
                  {},
                  when(r.lastContactAt),
                  h('span', { class: 'muted', text: ` (${ago(r.lastContactAt)})` }),
                )
              : 'never',
          ],
          ['First connected', when(r.connectedAt)],
          r.unauthorizedStreak
            ? [
                '401 streak',
                `${r.unauthorizedStreak.requests} refused requests since ${new Date(r.unauthorizedStreak.since).toLocaleString()}`,
              ]
            : null,
          r.credentialsRejectedAt ? ['Credentials last rejected', when(r.credentialsRejectedAt)] : null,
          [
            'In this window',
            `${r.totals.requests} requests, ${r.totals.errors} failed (${r.totals.unauthorized} × 401, ${r.totals.throttled} × 429, ${r.totals.serverErrors} × 5xx); ${r.totals.writes} writes`,
          ],
        ]),
        h(
          'div',
          { class: 'charts' },
          timeChart(
            'Requests per minute',
            `averaged per ${per}: ${r.totals.requests} requests in the window`,
            xs,
            [
              {
                label: 'requests/min',
                color: '#1f5fbf',
                values: r.series.map((p) => p.perMinute),
                fill: true,
                unit: '/min',
              },
              {
                label: 'failed/min',
                color: '#b3261e',
                values: r.series.map((p) => Math.round((p.errors / r.bucketMinutes) * 100) / 100),
                unit: '/min',
              },
            ],
          ),
          timeChart('Error rate', `share of requests answered with an error, per ${per}`, xs, [
            {
              label: 'errors',
              color: '#b3261e',
              values: r.series.map((p) => (p.errorRate === null ? null : p.errorRate * 100)),
              fill: true,
              unit: '%',
            },
          ]),
        ),
      );
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) body.replaceChildren(errorBox((e as Error).message));
    }
  };
  windowPick.addEventListener('change', () => void load());
  panel.replaceChildren(
    h('div', { class: 'row' }, h('div', { class: 'grow narrow' }, field('Window', windowPick))),
    body,
  );
  void load();
}
