/**
 * What a check sees while it runs, and the helpers that turn an HTTP answer into a verdict
 * phrased as Entra's consequence (entra-scim-client.md §3).
 */
import { LIST_RESPONSE } from '../scim/types.js';
import { type Reply, type SendOptions, ScimClient } from './http.js';
import type { CheckGroup, Exchange } from './types.js';

/** A check failed: `explanation` says what Entra would do with the answer. */
export class CheckFailure extends Error {
  constructor(
    readonly explanation: string,
    readonly exchange?: Exchange,
  ) {
    super(explanation);
    this.name = 'CheckFailure';
  }
}

/** A check could not run (a prerequisite failed, writes are not allowed, …). */
export class CheckSkipped extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'CheckSkipped';
  }
}

export interface CheckDef {
  id: string;
  group: CheckGroup;
  title: string;
  /** Section of entra-scim-client.md the check replays. */
  spec?: string;
  /** Creates, changes or deletes data in the tenant. */
  writes?: boolean;
  /** Returns the explanation shown when the check passes. Throws CheckFailure / CheckSkipped otherwise. */
  run(ctx: CheckContext): Promise<string>;
}

export type ResourceKind = 'Users' | 'Groups';

export interface Created {
  kind: ResourceKind;
  id: string;
  name: string;
}

/** State shared by the checks of one run: fixtures created by earlier checks and the cleanup list. */
export class CheckContext {
  /** Fixture ids by key ("user.legacy" → id), set by the check that created them. */
  readonly fixtures = new Map<string, string>();
  /** Every resource a POST created, for cleanup (entra-scim-client.md is silent; our safety rule). */
  readonly created: Created[] = [];
  /** Other evidence shared between checks (e.g. one GET judged by many round-trip checks). */
  readonly data = new Map<string, unknown>();
  /** Whether checks that write may run (decided by the write guard before the first write). */
  writesAllowed = false;

  constructor(
    readonly client: ScimClient,
    readonly prefix: string,
    readonly token: string,
  ) {}

  /** A name that carries the run's prefix, so only our own resources are ever touched. */
  name(suffix: string): string {
    return `${this.prefix}${suffix}`;
  }

  fixture(key: string): string {
    const id = this.fixtures.get(key);
    if (id === undefined)
      throw new CheckSkipped(`needs the resource "${key}", which an earlier check could not create`);
    return id;
  }

  async send(method: string, path: string, opts: SendOptions = {}): Promise<Reply> {
    const reply = await this.client.send(method, path, opts);
    if (
      method === 'POST' &&
      reply.status >= 200 &&
      reply.status < 300 &&
      (path === '/Users' || path === '/Groups')
    ) {
      const id = isObject(reply.json) && typeof reply.json.id === 'string' ? reply.json.id : undefined;
      const body = isObject(opts.body) ? opts.body : {};
      const name = String(body.userName ?? body.displayName ?? '');
      if (id !== undefined) this.created.push({ kind: path.slice(1) as ResourceKind, id, name });
      else this.created.push({ kind: path.slice(1) as ResourceKind, id: '', name });
    }
    return reply;
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------
// Consequences: what Entra does with an HTTP status (entra-scim-client.md §3, error table).

export type RequestKind = 'query' | 'create' | 'read' | 'update' | 'delete' | 'discovery';

export function statusConsequence(kind: RequestKind, status: number, what: string): string {
  const answered = `${what} was answered ${status}`;
  if (status === 401 || status === 403)
    return `Entra would quarantine the job (invalid credentials, EncounteredQuarantineException): ${answered}`;
  if (status === 404) {
    if (kind === 'query')
      return `Entra would quarantine the job: a query answered 404 instead of 200 with an empty ListResponse (${what})`;
    if (kind === 'read' || kind === 'update')
      return `Entra would report InvalidAnchor and stop provisioning this object until the job is restarted: ${answered}`;
    if (kind === 'discovery')
      return `Microsoft's SCIM Validator and gallery validation could not discover the schema: ${answered}`;
    return `Entra would fail this operation and retry it every cycle: ${answered} (is the Tenant URL right?)`;
  }
  if (status === 409)
    return `Entra would log Conflict/EntryConflict and retry in a later cycle; the object stays unprovisioned until the data is fixed: ${answered}`;
  if (status === 429)
    return `Entra would treat this as throttling (TooManyRequests) and retry later; sustained throttling can quarantine the job: ${answered}`;
  if (status === 405 || status === 501)
    return `Entra would treat this as a misconfiguration (MethodNotAllowed/NotImplemented) that needs admin action: ${answered}`;
  if (status >= 500)
    return `Entra would retry in 40 minutes (InternalServerError); enough failures put the job into quarantine: ${answered}`;
  if (status >= 300 && status < 400)
    return `Entra expects the SCIM endpoint itself to answer, not a redirect: ${answered}`;
  if (status === 400)
    return `Entra would fail this object and retry it in every later cycle, showing the error detail to the admin: ${answered}`;
  return `Entra would fail this operation (unexpected status): ${answered}`;
}

export function expectStatus(
  reply: Reply,
  allowed: readonly number[],
  kind: RequestKind,
  what: string,
): void {
  if (!allowed.includes(reply.status)) {
    const base = statusConsequence(kind, reply.status, what);
    throw new CheckFailure(`${base}; expected ${allowed.join(' or ')}`, reply.exchange);
  }
}

const INCOMPATIBLE = 'SystemForCrossDomainIdentityManagementServiceIncompatible';

/** The body must be a JSON object, or Entra cannot deserialize it. */
export function expectObject(reply: Reply, what: string): Record<string, unknown> {
  if (!isObject(reply.json))
    throw new CheckFailure(
      `Entra could not deserialize the answer to ${what} (${INCOMPATIBLE}): the body is not a JSON object`,
      reply.exchange,
    );
  return reply.json;
}

export interface ListBody {
  totalResults: number;
  resources: Record<string, unknown>[];
  body: Record<string, unknown>;
}

/** RFC 7644 §3.4.2 ListResponse; entra-scim-client.md §2.13: queries always return a ListResponse. */
export function expectList(reply: Reply, what: string): ListBody {
  expectStatus(reply, [200], 'query', what);
  const body = expectObject(reply, what);
  const schemas = body.schemas;
  if (!Array.isArray(schemas) || !schemas.includes(LIST_RESPONSE))
    throw new CheckFailure(
      `Entra could not read the answer to ${what} as a ListResponse (${INCOMPATIBLE}): "schemas" lacks ${LIST_RESPONSE}`,
      reply.exchange,
    );
  const total = body.totalResults;
  if (typeof total !== 'number' || !Number.isInteger(total) || total < 0)
    throw new CheckFailure(
      `Entra could not read the answer to ${what} (${INCOMPATIBLE}): "totalResults" must be a non-negative integer`,
      reply.exchange,
    );
  const raw = getCI(body, 'Resources');
  if (raw !== undefined && !Array.isArray(raw))
    throw new CheckFailure(
      `Entra could not read the answer to ${what} (${INCOMPATIBLE}): "Resources" is not an array`,
      reply.exchange,
    );
  const resources = (raw ?? []).filter(isObject);
  if (total > 0 && resources.length === 0)
    throw new CheckFailure(
      `Entra would see ${total} matches but no resource to link (${INCOMPATIBLE}): "Resources" is missing`,
      reply.exchange,
    );
  return { totalResults: total, resources, body };
}

/** Entra's matching query (§1.3): exactly one hit, with the expected id. */
export function expectOneMatch(reply: Reply, id: string, what: string): Record<string, unknown> {
  const list = expectList(reply, what);
  if (list.resources.length === 0)
    throw new CheckFailure(
      `Entra would not find the existing user and POST it again, get 409, and retry for ever (stuck between "not found" and 409): ${what} returned no match`,
      reply.exchange,
    );
  if (list.resources.length > 1 || list.totalResults > 1)
    throw new CheckFailure(
      `Entra would fail the object with SystemForCrossDomainIdentityManagementMultipleEntriesInResponse: ${what} returned ${Math.max(list.totalResults, list.resources.length)} matches`,
      reply.exchange,
    );
  const r = list.resources[0]!;
  if (r.id !== id)
    throw new CheckFailure(
      `Entra would link the wrong object: ${what} returned id ${JSON.stringify(r.id)} instead of ${JSON.stringify(id)}`,
      reply.exchange,
    );
  return r;
}

// ---------------------------------------------------------------------------------------------
// Reading attribute paths from a response, case-insensitively (RFC 7643 §2.1).

export function getCI(obj: Record<string, unknown>, key: string): unknown {
  if (key in obj) return obj[key];
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

const CORE_URNS = [
  'urn:ietf:params:scim:schemas:core:2.0:user',
  'urn:ietf:params:scim:schemas:core:2.0:group',
];

/**
 * Reads `userName`, `name.givenName`, `emails[type eq "work"].value` or
 * `urn:…:enterprise:2.0:User:department` from a resource. Returns undefined when absent.
 */
export function readPath(resource: unknown, path: string): unknown {
  if (!isObject(resource)) return undefined;
  let target: Record<string, unknown> = resource;
  let rest = path;
  const urn = /^(urn:[^[\]]+):([^:[\]]+(?:\[[^\]]*\])?(?:\.[^:.]+)?)$/i.exec(path);
  if (urn) {
    rest = urn[2]!;
    if (!CORE_URNS.includes(urn[1]!.toLowerCase())) {
      const ext = getCI(resource, urn[1]!);
      if (!isObject(ext)) return undefined;
      target = ext;
    }
  }
  const m = /^([$\w]+)(?:\[(\w+) eq "([^"]*)"\])?(?:\.([$\w]+))?$/.exec(rest);
  if (!m) return undefined;
  const [, attr, fAttr, fValue, sub] = m;
  let v = getCI(target, attr!);
  if (fAttr !== undefined) {
    if (!Array.isArray(v)) return undefined;
    v = v.find((e) => isObject(e) && String(getCI(e, fAttr) ?? '').toLowerCase() === fValue!.toLowerCase());
  }
  if (sub !== undefined) return isObject(v) ? getCI(v, sub) : undefined;
  return v;
}

/** Compares what Entra sent with what the server returns, attribute by attribute (§2.12). */
export function diffAttributes(resource: unknown, expected: Record<string, unknown>): string[] {
  const diffs: string[] = [];
  for (const [path, want] of Object.entries(expected)) {
    const got = readPath(resource, path);
    if (!sameValue(got, want))
      diffs.push(
        `${path} (sent ${JSON.stringify(want)}, got ${got === undefined ? 'nothing' : JSON.stringify(got)})`,
      );
  }
  return diffs;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function rePatchExplanation(diffs: string[], how: string): string {
  return `Entra would re-PATCH ${diffs.length === 1 ? 'this attribute' : 'these attributes'} on every cycle (${how}): ${diffs.join('; ')}`;
}

export function randomGuid(): string {
  return globalThis.crypto.randomUUID();
}
