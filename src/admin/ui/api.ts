/**
 * The admin API as the console calls it (/admin/api, JSON). The console signs in with an operator account: the
 * server keeps the session in an HttpOnly cookie the page cannot read, and hands the page the session's CSRF
 * token, which every state-changing request carries in X-CSRF-Token (the server also checks Origin). Nothing is
 * kept in the browser's storage.
 */

export const API = '/admin/api';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(detail);
    this.name = 'ApiError';
  }
}

export type Role = 'viewer' | 'operator' | 'admin';

export interface Session {
  operator: { id: string; name: string; role: Role };
  csrfToken: string;
  expiresAt: string;
  idleExpiresAt: string;
}

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

let current: Session | null = null;
let onSignedOut: (why: string) => void = () => undefined;

export function useSession(s: Session | null): void {
  current = s;
}

export const session = (): Session | null => current;

/** Whether the signed-in operator's role is at least `role` (the server checks again on every request). */
export const can = (role: Role): boolean => (current ? RANK[current.operator.role] >= RANK[role] : false);

/** What to do when the server says the session is gone (expired, signed out elsewhere, operator disabled). */
export function whenSignedOut(fn: (why: string) => void): void {
  onSignedOut = fn;
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = current?.csrfToken ?? '';
  const init: RequestInit = { method, headers, cache: 'no-store', credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(API + path, init);
  if (res.status === 204) return null as T;
  let data: any = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  // Signing in answers 401 for a wrong password, and asking for the session before signing in answers 401 too:
  // those are the caller's business, not a session that just ended.
  if (res.status === 401 && path !== '/session') {
    current = null;
    onSignedOut(
      'Your session ended (it expired, you signed out elsewhere, or your account changed). Sign in again.',
    );
    throw new ApiError(401, 'unauthorized', 'signed out');
  }
  if (!res.ok) throw new ApiError(res.status, data?.error ?? 'error', data?.detail ?? `HTTP ${res.status}`);
  return data as T;
}

export const enc = encodeURIComponent;

export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
