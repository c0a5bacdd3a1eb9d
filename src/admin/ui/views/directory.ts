/** A tenant's users or groups, 25 a page, searched with a SCIM filter (RFC 7644 §3.4.2.2, the syntax Entra sends). */
import { api, ApiError, enc, query } from '../api.js';
import { badge, errorBox, field, h, loading, nextId, table, when } from '../dom.js';
import { href } from '../router.js';
import { listState, type TenantSummary } from '../state.js';

const PAGE = 25;

interface ListPage {
  totalResults: number;
  Resources: Record<string, any>[];
}

const primaryEmail = (u: Record<string, any>): string => {
  const list: { value?: string; primary?: boolean }[] = Array.isArray(u.emails) ? u.emails : [];
  const e = list.find((x) => x?.primary) ?? list[0];
  return e?.value ?? '';
};

const USER_HEADERS = ['userName', 'Display name', 'Email', 'Status', 'externalId', 'Last modified'];
const GROUP_HEADERS = ['Display name', 'Members', 'externalId', 'Last modified'];

function usersTable(t: TenantSummary, list: Record<string, any>[]): HTMLElement {
  return table(
    'users-table',
    'Users',
    USER_HEADERS,
    list.map((u) => [
      h('a', { class: 'mono', href: href('tenants', t.id, 'users', String(u.id)), text: u.userName ?? u.id }),
      u.displayName ?? u.name?.formatted ?? '',
      primaryEmail(u),
      u.active === false ? badge('inactive', 'off') : badge('active', 'ok'),
      h('span', { class: 'mono', text: u.externalId ?? '' }),
      when(u.meta?.lastModified),
    ]),
  );
}

function groupsTable(t: TenantSummary, list: Record<string, any>[]): HTMLElement {
  return table(
    'groups-table',
    'Groups',
    GROUP_HEADERS,
    list.map((g) => [
      h('a', { href: href('tenants', t.id, 'groups', String(g.id)), text: g.displayName ?? g.id }),
      String(g.memberCount ?? 0),
      h('span', { class: 'mono', text: g.externalId ?? '' }),
      when(g.meta?.lastModified),
    ]),
  );
}

export function renderDirectory(panel: HTMLElement, t: TenantSummary, kind: 'users' | 'groups'): void {
  const st = listState(t.id, kind);
  const filterInput = h('input', {
    type: 'search',
    value: st.filter,
    spellcheck: 'false',
    autocomplete: 'off',
  });
  const results = h('div', { 'aria-live': 'polite' }, loading());
  const example = kind === 'users' ? 'userName sw "j" and active eq true' : 'displayName co "sales"';
  const hintId = nextId('h');
  filterInput.setAttribute('aria-describedby', hintId);
  const form = h(
    'form',
    { role: 'search' },
    h(
      'div',
      { class: 'row' },
      h('div', { class: 'grow' }, field('SCIM filter', filterInput)),
      h('div', { class: 'field' }, h('button', { type: 'submit', class: 'primary', text: 'Apply' })),
    ),
    h('p', { class: 'hint', id: hintId, text: `For example: ${example}. Empty shows all.` }),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    st.filter = filterInput.value.trim();
    st.start = 1;
    void load();
  });
  panel.replaceChildren(form, results);

  async function load(): Promise<void> {
    try {
      const page = await api<ListPage>(
        'GET',
        `/tenants/${enc(t.id)}/${kind}${query({ startIndex: st.start, count: PAGE, filter: st.filter })}`,
      );
      results.replaceChildren(
        kind === 'users' ? usersTable(t, page.Resources) : groupsTable(t, page.Resources),
        pager(page),
      );
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401))
        results.replaceChildren(errorBox((e as Error).message));
    }
  }

  function pager(page: ListPage): HTMLElement {
    const total = page.totalResults;
    const from = total === 0 ? 0 : st.start;
    const to = st.start + page.Resources.length - 1;
    return h(
      'div',
      { class: 'pager' },
      h('button', {
        type: 'button',
        text: 'Previous',
        disabled: st.start <= 1,
        onclick: () => {
          st.start = Math.max(1, st.start - PAGE);
          void load();
        },
      }),
      h('button', {
        type: 'button',
        text: 'Next',
        disabled: to >= total,
        onclick: () => {
          st.start += PAGE;
          void load();
        },
      }),
      h('span', { class: 'muted', text: `Showing ${from}–${Math.max(to, 0)} of ${total}` }),
    );
  }
  void load();
}
