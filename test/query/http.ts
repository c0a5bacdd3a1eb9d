/** Small HTTP helpers for the query tests (a real server on a real port, see test/helpers/server.ts). */
import type { TestServer } from '../helpers/server.js';

export interface Res {
  status: number;
  body: any;
}

export function client(s: { tenantUrl: string; token: string }) {
  const call = async (method: string, path: string, body?: unknown): Promise<Res> => {
    const r = await fetch(`${s.tenantUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${s.token}`,
        ...(body !== undefined ? { 'content-type': 'application/scim+json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    call,
    get: (path: string) => call('GET', path),
    post: (path: string, body: unknown) => call('POST', path, body),
    del: (path: string) => call('DELETE', path),
    patch: (path: string, body: unknown) => call('PATCH', path, body),
    /** GET with query parameters (URL-encoded). */
    list: (path: string, params: Record<string, string | number>) =>
      call(
        'GET',
        `${path}?${new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString()}`,
      ),
  };
}

export async function createUser(
  c: ReturnType<typeof client>,
  body: Record<string, unknown>,
): Promise<string> {
  const r = await c.post('/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], ...body });
  if (r.status !== 201) throw new Error(`create user failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id as string;
}

export type { TestServer };
