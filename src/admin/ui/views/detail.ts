/**
 * A user's and a group's detail pages: the resource as the identity provider sees it (the same SCIM rendering),
 * a user's groups, a group's members (paged, with names), and the resource's activity and events history.
 */
import { api, ApiError, enc, query } from '../api.js';
import { badge, errorBox, h, jsonBlock, kv, loading, table, when } from '../dom.js';
import { href } from '../router.js';
import type { TenantSummary } from '../state.js';
import { activityList } from './activity.js';
import { eventList } from './events.js';

type Resource = Record<string, any>;

function section(title: string, id: string, ...content: (Node | string | null)[]): HTMLElement {
  return h(
    'section',
    { class: 'subsection', 'aria-labelledby': id },
    h('h2', { id, text: title }),
    ...content,
  );
}

function backLink(t: TenantSummary, kind: 'users' | 'groups'): HTMLElement {
  return h('a', {
    class: 'back',
    href: href('tenants', t.id, kind),
    text: `← ${kind === 'users' ? 'Users' : 'Groups'}`,
  });
}

export async function renderUserDetail(panel: HTMLElement, t: TenantSummary, id: string): Promise<void> {
  panel.replaceChildren(loading());
  let user: Resource;
  try {
    user = (await api<{ resource: Resource }>('GET', `/tenants/${enc(t.id)}/users/${enc(id)}`)).resource;
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401))
      panel.replaceChildren(
        backLink(t, 'users'),
        errorBox(
          e instanceof ApiError && e.status === 404
            ? `No user '${id}' in this tenant: it may have been deleted (its activity is still in the Activity tab).`
            : (e as Error).message,
        ),
      );
    return;
  }
  const groups: { value: string; display?: string }[] = Array.isArray(user.groups) ? user.groups : [];
  const email =
    (Array.isArray(user.emails) ? user.emails : []).find((e: { primary?: boolean }) => e.primary) ??
    user.emails?.[0];
  panel.replaceChildren(
    backLink(t, 'users'),
    h('h2', { class: 'detail-title', id: 'detail-title', tabindex: '-1', text: user.userName ?? id }),
    kv([
      [
        'Status',
        user.active === false
          ? badge('inactive (disabled by the identity provider)', 'off')
          : badge('active', 'ok'),
      ],
      ['Display name', user.displayName ?? ''],
      email ? ['Email', email.value ?? ''] : null,
      ['externalId', h('span', { class: 'mono', text: user.externalId ?? '(none)' })],
      ['id', h('span', { class: 'mono', text: user.id })],
      ['Created', when(user.meta?.created)],
      ['Last modified', when(user.meta?.lastModified)],
    ]),
    section(
      `Groups (${groups.length})`,
      'user-groups',
      groups.length
        ? h(
            'ul',
            { class: 'plain-list', id: 'user-groups-list' },
            groups.map((g) =>
              h(
                'li',
                {},
                h('a', { href: href('tenants', t.id, 'groups', g.value), text: g.display || g.value }),
              ),
            ),
          )
        : h('p', { class: 'muted', text: 'Member of no group.' }),
    ),
    section(
      'Activity',
      'user-activity',
      activityList(t, { resourceId: id }, { compact: true, id: 'user-activity-table' }),
    ),
    section('Events history', 'user-events', eventList(t, { resourceId: id }, { id: 'user-events-table' })),
    section(
      'As the identity provider sees it',
      'user-json',
      h('p', { class: 'hint', text: `GET ${t.tenantUrl}/Users/${id}` }),
      jsonBlock(user, 'The SCIM resource'),
    ),
  );
  document.getElementById('detail-title')?.focus();
}

const MEMBER_HEADERS = ['Member', 'Type', 'Display name', 'Status', 'id'];

export async function renderGroupDetail(panel: HTMLElement, t: TenantSummary, id: string): Promise<void> {
  panel.replaceChildren(loading());
  let group: Resource;
  let memberCount: number;
  try {
    ({ resource: group, memberCount } = await api<{ resource: Resource; memberCount: number }>(
      'GET',
      `/tenants/${enc(t.id)}/groups/${enc(id)}`,
    ));
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401))
      panel.replaceChildren(
        backLink(t, 'groups'),
        errorBox(
          e instanceof ApiError && e.status === 404
            ? `No group '${id}' in this tenant: it may have been deleted.`
            : (e as Error).message,
        ),
      );
    return;
  }
  const members = h('div', { 'aria-live': 'polite' }, loading());
  const PAGE = 25;
  let start = 1;
  const load = async () => {
    try {
      const page = await api<{ totalResults: number; members: any[] }>(
        'GET',
        `/tenants/${enc(t.id)}/groups/${enc(id)}/members${query({ startIndex: start, count: PAGE })}`,
      );
      const rows = page.members.map((m) => [
        m.exists
          ? h('a', {
              href: href('tenants', t.id, m.type === 'Group' ? 'groups' : 'users', m.value),
              text: m.userName ?? m.displayName ?? m.value,
            })
          : h('span', { class: 'mono', text: `${m.value} (no longer in the tenant)` }),
        m.type ?? '?',
        m.displayName ?? m.display ?? '',
        m.type === 'User' ? (m.active === false ? badge('inactive', 'off') : badge('active', 'ok')) : '',
        h('span', { class: 'mono', text: m.value }),
      ]);
      const to = start + page.members.length - 1;
      members.replaceChildren(
        table('members-table', 'Members', MEMBER_HEADERS, rows, 'No members.'),
        h(
          'div',
          { class: 'pager' },
          h('button', {
            type: 'button',
            text: 'Previous',
            disabled: start <= 1,
            onclick: () => ((start = Math.max(1, start - PAGE)), void load()),
          }),
          h('button', {
            type: 'button',
            text: 'Next',
            disabled: to >= page.totalResults,
            onclick: () => ((start += PAGE), void load()),
          }),
          h('span', {
            class: 'muted',
            text: `Showing ${page.totalResults ? start : 0}–${Math.max(to, 0)} of ${page.totalResults}`,
          }),
        ),
      );
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401))
        members.replaceChildren(errorBox((e as Error).message));
    }
  };
  panel.replaceChildren(
    backLink(t, 'groups'),
    h('h2', { class: 'detail-title', id: 'detail-title', tabindex: '-1', text: group.displayName ?? id }),
    kv([
      ['Members', String(memberCount)],
      ['externalId', h('span', { class: 'mono', text: group.externalId ?? '(none)' })],
      ['id', h('span', { class: 'mono', text: group.id })],
      ['Created', when(group.meta?.created)],
      ['Last modified', when(group.meta?.lastModified)],
    ]),
    section(`Members (${memberCount})`, 'group-members', members),
    section(
      'Activity',
      'group-activity',
      activityList(t, { resourceId: id }, { compact: true, id: 'group-activity-table' }),
    ),
    section('Events history', 'group-events', eventList(t, { resourceId: id }, { id: 'group-events-table' })),
    section(
      'As the identity provider sees it',
      'group-json',
      h('p', {
        class: 'hint',
        text: `GET ${t.tenantUrl}/Groups/${id}?excludedAttributes=members (the members are listed above)`,
      }),
      jsonBlock(group, 'The SCIM resource'),
    ),
  );
  document.getElementById('detail-title')?.focus();
  await load();
}
