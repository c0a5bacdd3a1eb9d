/** What the console keeps between views: the tenant list, a secret being shown once, list filters. */
import { api } from './api.js';
import { h } from './dom.js';

export interface TenantSummary {
  id: string;
  name: string;
  createdAt: string;
  tenantUrl: string;
  users: number;
  groups: number;
  activeTokens: number;
}

/** A Secret Token just issued: shown once in a panel, then dropped from memory when dismissed. */
export interface ShownSecret {
  reason: string;
  name: string;
  tenantUrl: string;
  token: string;
}

export const state = {
  tenants: [] as TenantSummary[],
  secret: null as ShownSecret | null,
  /** Per tenant and list: the SCIM filter and page, so coming back from a detail page keeps them. */
  lists: new Map<string, { filter: string; start: number }>(),
};

export async function loadTenants(): Promise<TenantSummary[]> {
  state.tenants = (await api<{ tenants: TenantSummary[] }>('GET', '/tenants')).tenants;
  return state.tenants;
}

export const tenantById = (id: string): TenantSummary | undefined =>
  state.tenants.find((t) => t.id === id || t.name === id);

export function listState(tenantId: string, kind: string): { filter: string; start: number } {
  const key = `${tenantId}/${kind}`;
  let s = state.lists.get(key);
  if (!s) state.lists.set(key, (s = { filter: '', start: 1 }));
  return s;
}

const statusEl = (): HTMLElement => document.getElementById('status')!;

/** A message in the status line (role=status, announced politely); errors in red. */
export function say(msg: string, isError = false): void {
  const el = statusEl();
  el.replaceChildren(msg ? h('span', { text: msg }) : '');
  el.classList.toggle('error', isError);
}
