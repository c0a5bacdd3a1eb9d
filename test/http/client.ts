/**
 * A tiny SCIM client for the HTTP acceptance tests: global fetch, the headers Entra sends
 * (entra-scim-client.md §0), bodies sent as the exact bytes given when they are strings.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ERROR_SCHEMA } from '../../src/scim/errors.js';

export const SCIM = 'application/scim+json';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

/** Where to send requests: a Tenant URL and its Secret Token (startTestServer returns both). */
export interface Target {
  tenantUrl: string;
  token: string;
}

export interface ScimResponse {
  status: number;
  headers: Headers;
  text: string;
  // The parsed response body. Its shape is what the tests assert, so it is left untyped on purpose.
  body: any;
}

export interface RequestOptions {
  /** A string is sent byte for byte; anything else is JSON.stringify'd (only for derived bodies). */
  body?: unknown;
  /** Extra or overriding headers; a value of `null` removes a default header. */
  headers?: Record<string, string | null>;
}

/** Sees every exchange `send` completes; may throw to fail the test (the strict-client validator does). */
export type ExchangeObserver = (
  request: { method: string; path: string; body: string | undefined },
  response: ScimResponse,
) => void;
const observers = new Set<ExchangeObserver>();

/** Registers an observer for every later `send`; returns its removal. */
export function observeExchanges(fn: ExchangeObserver): () => void {
  observers.add(fn);
  return () => observers.delete(fn);
}

/**
 * Sends `method <tenantUrl><path>` where `path` already carries its query string, encoded the way the
 * test wants it on the wire (for example `+` for spaces, as Entra does: §1.3).
 */
export async function send(
  t: Target,
  method: string,
  path: string,
  opts: RequestOptions = {},
): Promise<ScimResponse> {
  const headers: Record<string, string> = { Authorization: `Bearer ${t.token}` };
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['Content-Type'] = SCIM;
  }
  for (const [k, v] of Object.entries(opts.headers ?? {})) {
    for (const existing of Object.keys(headers))
      if (existing.toLowerCase() === k.toLowerCase()) delete headers[existing];
    if (v !== null) headers[k] = v;
  }
  const res = await fetch(`${t.tenantUrl}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  const response: ScimResponse = { status: res.status, headers: res.headers, text, body: parsed };
  for (const observe of observers) observe({ method, path, body }, response);
  return response;
}

/** Query-string value encoded as a form (spaces become `+`), the way Entra's logs show it (§1.3). */
export const form = (v: string): string => new URLSearchParams({ v }).toString().slice(2);

/** A filter query string, `?filter=…` with `+` for spaces. */
export const filterQuery = (filter: string): string => `?filter=${form(filter)}`;

let seq = 0;
/** A name no other test on the same tenant uses. */
export const unique = (prefix: string): string => `${prefix}-${++seq}-${randomUUID().slice(0, 8)}`;

/** Asserts a successful status and returns the body; shows the SCIM error detail when it is not. */
export function expectStatus(res: ScimResponse, status: number): ScimResponse {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text.slice(0, 500)}`);
  return res;
}

/** Asserts an RFC 7644 §3.12 error body with the SCIM content type. */
export function expectScimError(res: ScimResponse, status: number, scimType?: string): void {
  expectStatus(res, status);
  assert.match(res.headers.get('content-type') ?? '', /^application\/scim\+json/);
  assert.deepEqual(res.body.schemas, [ERROR_SCHEMA]);
  assert.equal(res.body.status, String(status));
  if (scimType === undefined)
    assert.equal(res.body.scimType, undefined, `unexpected scimType ${res.body.scimType}`);
  else assert.equal(res.body.scimType, scimType, `scimType; detail: ${res.body.detail}`);
  assert.equal(typeof res.body.detail, 'string');
  assert.ok(res.body.detail.length > 10, `detail should say what to fix: '${res.body.detail}'`);
}

/** POSTs a body (string bytes or object) to /Users or /Groups, expects 201, returns the created resource. */
export async function create(t: Target, endpoint: 'Users' | 'Groups', body: unknown): Promise<any> {
  const res = expectStatus(await send(t, 'POST', `/${endpoint}`, { body }), 201);
  assert.equal(typeof res.body.id, 'string');
  return res.body;
}

/** A minimal user with a fresh userName. */
export async function createUser(t: Target, extra: Record<string, unknown> = {}): Promise<any> {
  return create(t, 'Users', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName: `${unique('user')}@contoso.com`,
    active: true,
    ...extra,
  });
}

/** A minimal group with a fresh displayName. */
export async function createGroup(t: Target, extra: Record<string, unknown> = {}): Promise<any> {
  return create(t, 'Groups', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
    displayName: unique('group'),
    ...extra,
  });
}

/** GET by id, expecting 200. */
export async function getOk(t: Target, endpoint: 'Users' | 'Groups', id: string, query = ''): Promise<any> {
  return expectStatus(await send(t, 'GET', `/${endpoint}/${id}${query}`), 200).body;
}

/** A PatchOp body from a list of operations, serialised once (for derived, non-catalogue bodies). */
export const patchBody = (ops: unknown[]): string => JSON.stringify({ schemas: [PATCH_OP], Operations: ops });

/** PATCH expecting 200 or 204. */
export async function patchOk(
  t: Target,
  endpoint: 'Users' | 'Groups',
  id: string,
  body: string,
): Promise<ScimResponse> {
  const res = await send(t, 'PATCH', `/${endpoint}/${id}`, { body });
  assert.ok(
    res.status === 200 || res.status === 204,
    `PATCH: expected 200/204, got ${res.status}: ${res.text}`,
  );
  return res;
}

/** A PatchOp body around operations given as raw JSON text (so values keep the exact bytes Entra sends). */
export const ops = (...raw: string[]): string =>
  `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[${raw.join(',')}]}`;
