/**
 * The admin API as the console calls it (/admin/api, JSON), with the admin token kept in sessionStorage (gone when
 * the tab closes) and sent only in the Authorization header, never in a URL.
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

const KEY = 'joyn-scim-admin-token';
let token = sessionStorage.getItem(KEY) ?? '';
let onSignedOut: (why: string) => void = () => undefined;

export const hasToken = (): boolean => token !== '';

export function useToken(t: string | null): void {
  token = t ?? '';
  if (t) sessionStorage.setItem(KEY, t);
  else sessionStorage.removeItem(KEY);
}

/** What to do when the server says the session is gone (expired, signed out elsewhere, operator disabled). */
export function whenSignedOut(fn: (why: string) => void): void {
  onSignedOut = fn;
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  // X-Joyn-Client: the audit log records console actions as such.
  const headers: Record<string, string> = {
    Accept: 'application/json',
    Authorization: `Bearer ${token}`,
    'X-Joyn-Client': 'console',
  };
  const init: RequestInit = { method, headers, cache: 'no-store' };
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
  if (res.status === 401) {
    onSignedOut('The admin token was not accepted. Sign in again.');
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
