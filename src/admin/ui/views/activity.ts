/** A tenant's provisioning activity: every write and every failed request, newest first. */
import { api, ApiError, enc, query } from '../api.js';
import { errorBox, h, row, statusBadge, table, when } from '../dom.js';
import type { TenantSummary } from '../state.js';

export interface ActivityEntry {
  seq: number;
  at: string;
  method: string;
  path: string;
  status: number;
  summary: string;
  durationMs?: number;
}

const HEADERS = ['Time', 'Status', 'Method', 'Path', 'Summary', 'Duration'];

export function renderActivity(panel: HTMLElement, t: TenantSummary): void {
  const wrap = table('activity-table', 'Provisioning activity', HEADERS, [], 'Loading…');
  const tbody = wrap.querySelector('tbody')!;
  const more = h('button', { type: 'button', text: 'Load older entries', hidden: true });
  let before: number | null = null;
  let first = true;
  async function load(): Promise<void> {
    try {
      const page = await api<{ entries: ActivityEntry[]; nextBefore: number | null }>(
        'GET',
        `/tenants/${enc(t.id)}/activity${query({ limit: 50, before })}`,
      );
      if (first) tbody.replaceChildren();
      first = false;
      for (const a of page.entries)
        tbody.append(
          row(HEADERS, [
            when(a.at),
            statusBadge(a.status),
            h('span', { class: 'mono', text: a.method }),
            h('span', { class: 'mono', text: a.path }),
            a.summary,
            a.durationMs === undefined ? '' : `${a.durationMs} ms`,
          ]),
        );
      if (!tbody.children.length)
        tbody.append(
          h(
            'tr',
            {},
            h('td', {
              colspan: HEADERS.length,
              class: 'empty',
              text: 'No activity yet. Writes and failed requests appear here.',
            }),
          ),
        );
      before = page.nextBefore;
      more.hidden = !before;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) panel.replaceChildren(errorBox((e as Error).message));
    }
  }
  more.addEventListener('click', () => void load());
  panel.replaceChildren(
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'button', text: 'Refresh', onclick: () => renderActivity(panel, t) }),
    ),
    h('p', {
      class: 'hint',
      text: 'Newest first: every write and every failed request from the identity provider (no bodies, no tokens).',
    }),
    wrap,
    h('div', { class: 'pager' }, more),
  );
  void load();
}
