/**
 * Hash routes (#/tenants/<id>/users/<userId>): every page has an address, so the browser's Back button, a reload
 * and a link pasted into a support ticket all land on the same view. Nothing in the hash is a secret.
 */

export type Route =
  | { page: 'tenants' }
  | { page: 'tenant'; tenant: string; tab: string }
  | { page: 'user'; tenant: string; id: string }
  | { page: 'group'; tenant: string; id: string }
  | { page: 'health' }
  | { page: 'engine'; job?: string }
  | { page: 'webhooks'; id?: string }
  | { page: 'operators' }
  | { page: 'audit' }
  | { page: 'account' };

export const TENANT_TABS = [
  'overview',
  'health',
  'tokens',
  'users',
  'groups',
  'activity',
  'events',
  'test',
] as const;

export function parseRoute(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter(Boolean)
    .map((p) => decodeURIComponent(p));
  const [a, b, c, d] = parts;
  switch (a) {
    case 'tenants':
      if (!b) return { page: 'tenants' };
      if (c === 'users' && d) return { page: 'user', tenant: b, id: d };
      if (c === 'groups' && d) return { page: 'group', tenant: b, id: d };
      return {
        page: 'tenant',
        tenant: b,
        tab: (TENANT_TABS as readonly string[]).includes(c ?? '') ? c! : 'overview',
      };
    case 'health':
      return { page: 'health' };
    case 'engine':
      return b ? { page: 'engine', job: b } : { page: 'engine' };
    case 'webhooks':
      return b ? { page: 'webhooks', id: b } : { page: 'webhooks' };
    case 'operators':
      return { page: 'operators' };
    case 'audit':
      return { page: 'audit' };
    case 'account':
      return { page: 'account' };
    default:
      return { page: 'tenants' };
  }
}

/** The hash of a route; segments are URI-encoded. */
export function href(...segments: string[]): string {
  return `#/${segments.map((s) => encodeURIComponent(s)).join('/')}`;
}

export function go(...segments: string[]): void {
  const next = href(...segments);
  if (location.hash === next) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = next;
}
