/** What every admin API route shares: its error type and rendering, reading the body and the query, the actor. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ScimError } from '../scim/errors.js';
import type { Actor } from '../store/types.js';
import { AuthError } from './auth.js';

/** An error the admin API renders as `{error, detail}`. */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail);
    this.name = 'AdminError';
  }
}

const STATUS_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  500: 'internal_error',
  503: 'unavailable',
};

const codeFor = (status: number): string =>
  STATUS_CODES[status] ?? (status >= 500 ? 'internal_error' : 'error');

export function toAdminError(err: unknown): AdminError | undefined {
  if (err instanceof AdminError) return err;
  if (err instanceof AuthError) return new AdminError(err.status, err.code, err.detail, err.headers);
  // Service errors carry a detail written for whoever has to fix the input (DESIGN.md "Errors").
  if (err instanceof ScimError)
    return new AdminError(err.status, err.scimType ?? codeFor(err.status), err.detail);
  const e = err as { statusCode?: unknown; message?: unknown };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)
    return new AdminError(e.statusCode, codeFor(e.statusCode), String(e.message ?? 'bad request'));
  return undefined;
}

export function sendError(reply: FastifyReply, err: AdminError): FastifyReply {
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return reply
    .code(err.status)
    .header('cache-control', 'no-store')
    .type('application/json; charset=utf-8')
    .send(JSON.stringify({ error: err.code, detail: err.detail }));
}

export function first(v: unknown): string | undefined {
  if (Array.isArray(v)) return first(v[0]);
  return typeof v === 'string' ? v : undefined;
}

export function intParam(
  q: Record<string, unknown>,
  name: string,
  dflt: number,
  min: number,
  max: number,
): number {
  const raw = first(q[name]);
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new AdminError(400, 'bad_request', `${name} must be an integer ≥ ${min}, got '${raw}'`);
  return Math.min(n, max);
}

export function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw new AdminError(400, 'bad_request', 'the request body must be a JSON object');
  return body as Record<string, unknown>;
}

export function stringField(body: Record<string, unknown>, name: string, required: true): string;
export function stringField(body: Record<string, unknown>, name: string, required: false): string | undefined;
export function stringField(
  body: Record<string, unknown>,
  name: string,
  required: boolean,
): string | undefined {
  const v = body[name];
  if (v === undefined || v === null || v === '') {
    if (required) throw new AdminError(400, 'bad_request', `the body needs a non-empty string "${name}"`);
    return undefined;
  }
  if (typeof v !== 'string') throw new AdminError(400, 'bad_request', `"${name}" must be a string`);
  return v;
}

/** Who is acting, for the audit log: the signed-in operator, or the admin token and the address it came from. */
export function actorOf(req: FastifyRequest): Actor {
  return req.principal?.actor ?? { via: 'admin-api', name: `admin token from ${req.ip}` };
}
