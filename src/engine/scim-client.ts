/**
 * A SCIM 2.0 client that talks to a target the way Microsoft Entra's provisioning service does
 * (entra-scim-client.md §1 requests, §3 error handling): `eq` filter queries, POST, PATCH in either dialect,
 * DELETE; bounded concurrency; 429 honours Retry-After; 5xx and timeouts retry with bounded exponential
 * backoff; every failure is classified into an Entra error code. The token is never logged or put in errors.
 */
import http from 'node:http';
import https from 'node:https';
import type { JsonObject } from '../scim/types.js';
import { SyncError, codeForStatus } from './errors.js';
import { attributePatch, eqFilter, memberPatch, type Dialect, type PatchBody } from './patch-body.js';
import type { AttributeChange } from './mapping.js';
import { Semaphore } from './semaphore.js';
import { systemClock } from './clock.js';
import { bearerValue, type BearerToken } from './oauth-token.js';

export type ResourceKind = 'User' | 'Group';

export interface ScimClientOptions {
  tenantUrl: string;
  /** A Secret Token, or a source of OAuth access tokens (oauth-token.ts). */
  token: BearerToken;
  dialect?: Dialect;
  concurrency?: number;
  timeoutMs?: number;
  /** Attempts for 429/5xx/timeouts/network errors, including the first (default 4). */
  maxAttempts?: number;
  /** First backoff for 5xx/timeouts (default 500 ms), doubled each attempt, capped at 30 s. */
  backoffMs?: number;
  /** Longest Retry-After honoured in-cycle (default 120 s); longer waits fail the object for a later cycle. */
  maxRetryAfterMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
  /** Members per membership PATCH (Entra documents no limit; §1.20). */
  memberBatch?: number;
}

export interface RequestStats {
  requests: number;
  retries: number;
}

const CONTENT_TYPE = 'application/scim+json';

/** Parses Retry-After: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: Date): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now.getTime());
}

/**
 * A request path as people read it in error messages and logs: the query decoded (`filter=userName eq "a b"`, not
 * `filter=userName%20eq%20%22a%20b%22`). Only for display; the request itself stays encoded.
 */
export function readablePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function describeBody(text: string): string {
  try {
    const j = JSON.parse(text) as { detail?: unknown; scimType?: unknown };
    if (j && typeof j.detail === 'string')
      return j.scimType ? `${j.detail} (scimType ${String(j.scimType)})` : j.detail;
  } catch {
    // not JSON: fall through
  }
  return text.slice(0, 300);
}

export class ScimClient {
  readonly dialect: Dialect;
  readonly stats: RequestStats = { requests: 0, retries: 0 };
  private readonly base: string;
  private readonly sem: Semaphore;
  private readonly fetchFn: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => Date;
  /**
   * Keep-alive connections, one per request in flight. Node's http client costs a fraction of what `fetch` (WHATWG
   * streams, abort signals) costs per request, which is most of the engine's own CPU in a cycle (issue 16 profile).
   */
  private readonly agent: http.Agent | undefined;

  constructor(private readonly opts: ScimClientOptions) {
    this.base = opts.tenantUrl.replace(/\/+$/, '');
    this.dialect = opts.dialect ?? 'legacy';
    this.sem = new Semaphore(opts.concurrency ?? 4);
    this.fetchFn = opts.fetch ?? fetch;
    if (!opts.fetch) {
      const Agent = this.base.startsWith('https:') ? https.Agent : http.Agent;
      this.agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency ?? 4 });
    }
    this.sleep = opts.sleep ?? ((ms) => systemClock.sleep(ms));
    this.now = opts.now ?? (() => new Date());
  }

  /** Where the client sends requests, for logs (no token). */
  get tenantUrl(): string {
    return this.base;
  }

  private endpoint(rt: ResourceKind): string {
    return `${this.base}/${rt === 'User' ? 'Users' : 'Groups'}`;
  }

  /**
   * One request with Entra's retry rules. `kind` decides how a 404 is classified (§9: a 404 to a query is a
   * compliance failure; to an id it is a lost anchor).
   */
  async request(
    method: string,
    url: string,
    kind: 'query' | 'resource' | 'create',
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> {
    const max = this.opts.maxAttempts ?? 4;
    const path = readablePath(url.slice(this.base.length) || '/');
    let lastError: SyncError | undefined;
    for (let attempt = 1; attempt <= max; attempt++) {
      if (attempt > 1) this.stats.retries++;
      let wait = 0;
      try {
        const res = await this.sem.run(() => this.send(method, url, body));
        if (res.status < 300) {
          if (res.status === 204 || res.text === '') return { status: res.status, json: undefined };
          try {
            return { status: res.status, json: JSON.parse(res.text) };
          } catch {
            throw new SyncError(
              'SystemForCrossDomainIdentityManagementServiceIncompatible',
              `${method} ${path}: the target answered ${res.status} with a body that is not JSON`,
            );
          }
        }
        const code = codeForStatus(res.status, kind);
        const err = new SyncError(
          code,
          `${method} ${path} → HTTP ${res.status}: ${describeBody(res.text)}${attempt > 1 ? ` (retried ${attempt - 1} times)` : ''}`,
          {
            status: res.status,
            // A 404 to a query means the target is not SCIM-compliant: Entra quarantines the job (§9).
            ...(res.status === 404 && kind === 'query' ? { klass: 'quarantine' as const } : {}),
          },
        );
        if (res.status === 429) {
          const ra = parseRetryAfter(res.retryAfter, this.now());
          wait = ra ?? this.backoff(attempt);
          if (wait > (this.opts.maxRetryAfterMs ?? 120_000)) throw err;
        } else if (res.status >= 500 && res.status !== 501) {
          wait = this.backoff(attempt);
        } else {
          throw err;
        }
        lastError = err;
      } catch (e) {
        // Non-retryable answers are thrown as SyncError above; anything else is a network failure or a timeout.
        if (e instanceof SyncError) throw e;
        lastError = this.networkError(e, method, path, attempt);
        wait = this.backoff(attempt);
      }
      if (attempt < max) await this.sleep(wait);
    }
    throw lastError ?? new SyncError('InternalServerError', `${method} ${path} failed`);
  }

  private backoff(attempt: number): number {
    const base = this.opts.backoffMs ?? 500;
    const ms = Math.min(30_000, base * 2 ** (attempt - 1));
    // Jitter spreads retries of concurrent workers so they do not hit the target in lock step.
    return Math.round(ms * (0.75 + Math.random() * 0.5));
  }

  private networkError(e: unknown, method: string, path: string, attempt: number): SyncError {
    const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    const suffix = attempt > 1 ? ` (retried ${attempt - 1} times)` : '';
    if (err?.name === 'TimeoutError' || err?.name === 'AbortError')
      return new SyncError(
        'Timeout',
        `${method} ${path}: no answer within ${this.opts.timeoutMs ?? 30_000} ms${suffix}`,
      );
    const cause = err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(e);
    return new SyncError(
      'ServiceUnreachable',
      `${method} ${path}: cannot connect to the target (${cause})${suffix}`,
    );
  }

  private async send(
    method: string,
    url: string,
    body: unknown,
  ): Promise<{ status: number; text: string; retryAfter: string | null }> {
    this.stats.requests++;
    const headers: Record<string, string> = {
      Authorization: `Bearer ${await bearerValue(this.opts.token)}`,
      Accept: CONTENT_TYPE,
    };
    const payload = body !== undefined ? JSON.stringify(body) : undefined;
    if (payload !== undefined) headers['Content-Type'] = CONTENT_TYPE;
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    if (this.agent) return this.sendHttp(method, url, headers, payload, timeoutMs, this.agent);
    const res = await this.fetchFn(url, {
      method,
      headers,
      ...(payload !== undefined ? { body: payload } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    return { status: res.status, text, retryAfter: res.headers.get('retry-after') };
  }

  /** One request over the keep-alive agent; a timeout ends it with an error named TimeoutError (like fetch). */
  private sendHttp(
    method: string,
    url: string,
    headers: Record<string, string>,
    payload: string | undefined,
    timeoutMs: number,
    agent: http.Agent,
  ): Promise<{ status: number; text: string; retryAfter: string | null }> {
    return new Promise((resolve, reject) => {
      const u = new URL(url);
      if (payload !== undefined) headers['Content-Length'] = String(Buffer.byteLength(payload));
      const req = (u.protocol === 'https:' ? https : http).request(u, { method, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
        res.on('end', () => {
          clearTimeout(timer);
          const ra = res.headers['retry-after'];
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            retryAfter: typeof ra === 'string' ? ra : null,
          });
        });
      });
      const timer = setTimeout(() => {
        const e = new Error(`no answer within ${timeoutMs} ms`);
        e.name = 'TimeoutError';
        req.destroy(e);
      }, timeoutMs);
      function fail(e: Error): void {
        clearTimeout(timer);
        reject(e);
      }
      req.on('error', fail);
      req.end(payload);
    });
  }

  /** Closes the kept-alive connections (a finished CLI run must not wait for them to time out). */
  close(): void {
    this.agent?.destroy();
  }

  /** `GET /Users?filter=<path> eq "<value>"` (entra-scim-client.md §1.3; groups exclude members, §1.18). */
  async query(rt: ResourceKind, path: string, value: string): Promise<JsonObject[]> {
    return (await this.queryFilter(rt, eqFilter(path, value))).resources;
  }

  /**
   * `GET /Users?filter=<filter>[&count=<count>]`: any filter (match-batch.ts sends `eq` terms joined by `or`).
   * `totalResults` says whether the answer holds every hit (RFC 7644 §3.4.2: a server may page a large answer).
   */
  async queryFilter(
    rt: ResourceKind,
    filter: string,
    count?: number,
  ): Promise<{ resources: JsonObject[]; totalResults: number }> {
    const qs = `${rt === 'Group' ? 'excludedAttributes=members&' : ''}filter=${encodeURIComponent(filter)}${count !== undefined ? `&count=${count}` : ''}`;
    const { json } = await this.request('GET', `${this.endpoint(rt)}?${qs}`, 'query');
    const list = json as { Resources?: unknown; totalResults?: unknown } | undefined;
    if (!list || typeof list !== 'object')
      throw new SyncError(
        'SystemForCrossDomainIdentityManagementServiceIncompatible',
        `GET /${rt}s?filter: the answer is not a ListResponse`,
      );
    if (list.Resources === undefined && list.totalResults === 0) return { resources: [], totalResults: 0 };
    if (!Array.isArray(list.Resources))
      throw new SyncError(
        'SystemForCrossDomainIdentityManagementServiceIncompatible',
        `GET /${rt}s?filter: the ListResponse has no Resources array`,
      );
    const resources = list.Resources as JsonObject[];
    const total = typeof list.totalResults === 'number' ? list.totalResults : resources.length;
    return { resources, totalResults: total };
  }

  async get(rt: ResourceKind, id: string): Promise<JsonObject> {
    const qs = rt === 'Group' ? '?excludedAttributes=members' : '';
    const { json } = await this.request(
      'GET',
      `${this.endpoint(rt)}/${encodeURIComponent(id)}${qs}`,
      'resource',
    );
    if (!json || typeof json !== 'object' || Array.isArray(json))
      throw new SyncError(
        'SystemForCrossDomainIdentityManagementServiceIncompatible',
        `GET /${rt}s/${id}: the answer is not a resource`,
      );
    return json as JsonObject;
  }

  async create(rt: ResourceKind, body: JsonObject): Promise<JsonObject> {
    const { json } = await this.request('POST', this.endpoint(rt), 'create', body);
    const r = json as JsonObject | undefined;
    if (!r || typeof r.id !== 'string' || r.id === '')
      throw new SyncError(
        'SystemForCrossDomainIdentityManagementServiceIncompatible',
        `POST /${rt}s: the created resource has no id`,
      );
    return r;
  }

  async patch(rt: ResourceKind, id: string, body: PatchBody): Promise<void> {
    if (body.Operations.length === 0) return;
    await this.request('PATCH', `${this.endpoint(rt)}/${encodeURIComponent(id)}`, 'resource', body);
  }

  updateAttributes(rt: ResourceKind, id: string, changes: readonly AttributeChange[]): Promise<void> {
    return this.patch(rt, id, attributePatch(this.dialect, changes));
  }

  /** Adds then removes members in batches (§1.20, §1.21). */
  async changeMembers(groupId: string, add: readonly string[], remove: readonly string[]): Promise<void> {
    const n = this.opts.memberBatch ?? 100;
    for (let i = 0; i < add.length; i += n)
      await this.patch('Group', groupId, memberPatch(this.dialect, add.slice(i, i + n), []));
    for (let i = 0; i < remove.length; i += n)
      await this.patch('Group', groupId, memberPatch(this.dialect, [], remove.slice(i, i + n)));
  }

  async delete(rt: ResourceKind, id: string): Promise<void> {
    await this.request('DELETE', `${this.endpoint(rt)}/${encodeURIComponent(id)}`, 'resource');
  }
}
