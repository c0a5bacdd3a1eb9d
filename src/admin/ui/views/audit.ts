/** The audit log: every operator action (console, admin API, CLI), who did it, when; never a secret. */
import { api, query } from '../api.js';
import { badge, field, h, loading, row, table, when } from '../dom.js';

interface AuditView {
  seq: number;
  at: string;
  via: string;
  actor: string;
  action: string;
  tenantName: string;
  target: string;
  detail: string;
}

const HEADERS = ['Time', 'Who', 'Action', 'Tenant', 'Detail'];

export async function renderAudit(box: HTMLElement): Promise<void> {
  const tenant = h('input', { type: 'search', spellcheck: 'false', autocomplete: 'off' });
  const wrap = table('audit-table', 'Audit log', HEADERS, []);
  const tbody = wrap.querySelector('tbody')!;
  const more = h('button', { type: 'button', text: 'Load older entries', hidden: true });
  let before: number | null = null;
  const load = async (reset: boolean) => {
    if (reset) {
      before = null;
      tbody.replaceChildren(h('tr', {}, h('td', { colspan: HEADERS.length }, loading())));
    }
    const page = await api<{ entries: AuditView[]; nextBefore: number | null }>(
      'GET',
      `/audit${query({ limit: 50, before, tenant: tenant.value.trim() })}`,
    );
    if (reset) tbody.replaceChildren();
    for (const e of page.entries)
      tbody.append(
        row(HEADERS, [
          when(e.at),
          h('span', {}, badge(e.via, e.via === 'console' ? 'info' : 'off'), ' ', e.actor),
          h('span', { class: 'mono', text: e.action }),
          // An empty tenant marks a deployment-level action: operator accounts, engine jobs, webhook endpoints and
          // API keys of every tenant.
          e.tenantName || h('span', { class: 'muted', text: 'deployment' }),
          e.detail,
        ]),
      );
    if (!tbody.children.length)
      tbody.append(
        h('tr', {}, h('td', { colspan: HEADERS.length, class: 'empty', text: 'No audit records.' })),
      );
    before = page.nextBefore;
    more.hidden = !before;
  };
  more.addEventListener('click', () => void load(false));
  const form = h(
    'form',
    { class: 'row', role: 'search' },
    h('div', { class: 'grow' }, field('Tenant (id or name, also a deleted one)', tenant)),
    h('div', { class: 'field' }, h('button', { type: 'submit', class: 'primary', text: 'Show' })),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void load(true);
  });
  box.replaceChildren(
    h(
      'div',
      { class: 'card' },
      h('h1', { text: 'Audit log' }),
      h('p', {
        class: 'muted',
        text: 'Every operator action, newest first: through the console, the admin API and the CLI.',
      }),
      form,
      wrap,
      h('div', { class: 'pager' }, more),
    ),
  );
  await load(true);
}
