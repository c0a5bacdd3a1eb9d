/**
 * What an activity entry says about a SCIM request, so an operator can answer "why wasn't this technician
 * created?" from the console: which operation on which resource, whom it was about (userName, externalId,
 * displayName, from the body or the stored resource), the attributes it sent (names and new values, never a
 * secret), why it failed (the failing attribute, scimType and detail), Entra's PATCH dialect, and who sent it.
 *
 * Pure functions of the request, the response status and the error: no I/O (activity-log.ts looks the stored
 * resource up when the request itself does not name its target).
 */
import { ScimError } from '../scim/errors.js';
import type { ActivityChange, ActivityEntry, ActivityTarget } from '../store/types.js';

export type Operation =
  'create' | 'replace' | 'patch' | 'delete' | 'get' | 'list' | 'search' | 'discovery' | 'other';

/** Longest value kept per attribute, and most attributes per entry: an entry is a summary, not a copy of the body. */
const MAX_VALUE = 200;
const MAX_CHANGES = 40;
const MAX_TARGET = 300;

/** SCIM attributes whose values are secrets (RFC 7643 §4.1.1 `password`, returned "never"): named, never shown. */
const SECRET = /(^|[.:])password$/i;
const REDACTED = '[redacted]';

const RESOURCE_PATHS: Record<string, 'User' | 'Group'> = { users: 'User', groups: 'Group' };

/** The part of the URL under the Tenant URL: /Users/<id>, /Groups/.search, /ServiceProviderConfig. */
export function scimPath(url: string): string {
  return url.replace(/^\/scim\/[^/]+\/v2/i, '').split('?')[0] ?? '';
}

export function classify(
  method: string,
  url: string,
): { operation: Operation; resourceType?: 'User' | 'Group'; resourceId?: string } {
  const segments = scimPath(url).split('/').filter(Boolean);
  const rt = RESOURCE_PATHS[(segments[0] ?? '').toLowerCase()];
  const second = segments[1];
  if (!rt) {
    if (segments[0] === '.search') return { operation: 'search' };
    return { operation: method === 'GET' ? 'discovery' : 'other' };
  }
  if (second === '.search') return { operation: 'search', resourceType: rt };
  if (second === undefined) {
    if (method === 'POST') return { operation: 'create', resourceType: rt };
    if (method === 'GET' || method === 'HEAD') return { operation: 'list', resourceType: rt };
    return { operation: 'other', resourceType: rt };
  }
  const id = decodeSegment(second);
  const op: Operation =
    method === 'GET' || method === 'HEAD'
      ? 'get'
      : method === 'PUT'
        ? 'replace'
        : method === 'PATCH'
          ? 'patch'
          : method === 'DELETE'
            ? 'delete'
            : 'other';
  return { operation: op, resourceType: rt, resourceId: id.slice(0, 100) };
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Successful reads are not recorded: Entra sends thousands of lookups per cycle (docs/console.md "Activity"). */
export function isRecorded(method: string, url: string, status: number): boolean {
  if (status >= 400) return true;
  const { operation } = classify(method, url);
  return operation === 'create' || operation === 'replace' || operation === 'patch' || operation === 'delete';
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function getCI(o: Record<string, unknown>, name: string): unknown {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(o)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

const clip = (s: string, n = MAX_VALUE): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** A value as the operator reads it: strings as they are, anything else as JSON; long values cut. */
function show(v: unknown): string {
  if (typeof v === 'string') return clip(v);
  if (v === undefined) return '';
  return clip(JSON.stringify(v) ?? String(v));
}

/** Members are summarised: a group of 10,000 members would otherwise fill the entry. */
function showMembers(v: unknown): string {
  const list = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
  const ids = list.map((m) => (isObject(m) ? String(getCI(m, 'value') ?? '') : String(m))).filter(Boolean);
  const head = ids.slice(0, 5).join(', ');
  return `${ids.length} member${ids.length === 1 ? '' : 's'}${head ? `: ${head}${ids.length > 5 ? ', …' : ''}` : ''}`;
}

function change(path: string, value: unknown, op?: string): ActivityChange {
  const attr = path.trim();
  const shown = SECRET.test(attr.replace(/\[.*$/, ''))
    ? REDACTED
    : /^members(\[|$)/i.test(attr)
      ? showMembers(value)
      : show(value);
  return {
    ...(op ? { op } : {}),
    path: clip(attr, 150),
    ...(value === undefined && op?.toLowerCase() === 'remove' ? {} : { value: shown }),
  };
}

const IGNORED_BODY_KEYS = new Set(['schemas', 'id', 'meta']);

/** The attributes a POST or PUT body sets (an extension's attributes as `<urn>:<name>`). */
function bodyChanges(body: Record<string, unknown>): ActivityChange[] {
  const out: ActivityChange[] = [];
  for (const [k, v] of Object.entries(body)) {
    if (IGNORED_BODY_KEYS.has(k.toLowerCase())) continue;
    if (k.startsWith('urn:') && isObject(v)) {
      for (const [sub, sv] of Object.entries(v)) out.push(change(`${k}:${sub}`, sv));
      continue;
    }
    out.push(change(k, v));
  }
  return out;
}

/** The operations of a PATCH: one change per operation, a path-less value object split into its keys. */
function patchChanges(body: Record<string, unknown>): ActivityChange[] {
  const ops = getCI(body, 'operations');
  if (!Array.isArray(ops)) return [];
  const out: ActivityChange[] = [];
  for (const item of ops) {
    if (!isObject(item)) continue;
    const op = String(getCI(item, 'op') ?? '');
    const path = getCI(item, 'path');
    const value = getCI(item, 'value');
    if (typeof path === 'string' && path.trim() !== '') out.push(change(path, value, op));
    else if (isObject(value)) {
      // Path-less add / replace: the keys are attribute paths (Entra's aadOptscim062020 dialect sends
      // "name.givenName" as a key, entra-scim-client.md §1.11) or extension objects.
      for (const [k, v] of Object.entries(value))
        if (k.startsWith('urn:') && isObject(v))
          for (const [sub, sv] of Object.entries(v)) out.push(change(`${k}:${sub}`, sv, op));
        else out.push(change(k, v, op));
    } else out.push(change('(no path)', value, op));
  }
  return out;
}

export function changesOf(operation: Operation, body: unknown): ActivityChange[] {
  if (!isObject(body)) return [];
  const all =
    operation === 'patch'
      ? patchChanges(body)
      : operation === 'create' || operation === 'replace'
        ? bodyChanges(body)
        : [];
  return all.length > MAX_CHANGES
    ? [...all.slice(0, MAX_CHANGES), { path: `… ${all.length - MAX_CHANGES} more` }]
    : all;
}

/**
 * Entra's PATCH dialect (entra-scim-client.md, "Two PATCH dialects"): the default one sends capitalised ops
 * ("Replace"), booleans as the strings "True" / "False" and removes members with a value list; the
 * `aadOptscim062020` flag (and every RFC 7644 client) sends lower-case ops and JSON booleans, and path-less
 * replaces keyed by attribute paths. Undefined when the body says neither.
 */
export function patchDialect(body: unknown, url: string): 'legacy' | 'compliant' | undefined {
  if (/[?&]aadOptscim062020\b/i.test(url)) return 'compliant';
  if (!isObject(body)) return undefined;
  const ops = getCI(body, 'operations');
  if (!Array.isArray(ops) || !ops.length) return undefined;
  let lower = false;
  for (const item of ops) {
    if (!isObject(item)) continue;
    const op = getCI(item, 'op');
    if (typeof op === 'string' && /[A-Z]/.test(op)) return 'legacy';
    const value = getCI(item, 'value');
    if (
      typeof value === 'string' &&
      /^(true|false)$/i.test(value) &&
      /active$/i.test(String(getCI(item, 'path') ?? ''))
    )
      return 'legacy';
    if (typeof op === 'string') lower = true;
  }
  return lower ? 'compliant' : undefined;
}

/** Whom a body is about: userName / externalId / displayName as sent (a create, a replace). */
export function targetOfBody(body: unknown): ActivityTarget {
  if (!isObject(body)) return {};
  const t: ActivityTarget = {};
  const userName = getCI(body, 'userName');
  const externalId = getCI(body, 'externalId');
  const displayName = getCI(body, 'displayName');
  if (typeof userName === 'string' && userName) t.userName = clip(userName, MAX_TARGET);
  if (typeof externalId === 'string' && externalId) t.externalId = clip(externalId, MAX_TARGET);
  if (typeof displayName === 'string' && displayName) t.displayName = clip(displayName, MAX_TARGET);
  return t;
}

/** Whom a rendered or stored resource is. */
export function targetOfResource(resource: unknown): ActivityTarget {
  return targetOfBody(resource);
}

/**
 * The attribute an error is about, read from its detail (the service writes details that start with it:
 * "xid must be a string", "Operations[0] (replace "emails[type eq \"work\"].value"): …", "userName 'x' is already
 * taken").
 */
export function failingAttribute(err: ScimError, resourceType?: 'User' | 'Group'): string | undefined {
  if (err.scimType === 'uniqueness') return resourceType === 'Group' ? 'displayName' : 'userName';
  const d = err.detail;
  const op = /^Operations\[\d+\] \(\w+(?: "((?:[^"\\]|\\.)*)")?\): (.*)$/s.exec(d);
  if (op) return op[1] !== undefined ? op[1].replace(/\\"/g, '"') : leadingAttribute(op[2] ?? '');
  return leadingAttribute(d);
}

function leadingAttribute(d: string): string | undefined {
  const m =
    /^'?((?:urn:[\w.:-]+:)?[A-Za-z$][\w$-]*(?:\[[^\]]*\])?(?:\.[A-Za-z$][\w$-]*)?)'? (?:must|is|takes|has|cannot|may|needs|should|contains)\b/.exec(
      d,
    );
  return m?.[1];
}

export interface RequestFacts {
  method: string;
  url: string;
  status: number;
  body: unknown;
  error: unknown;
  clientIp: string;
  userAgent: string | undefined;
  /** What the route noted: the resource it wrote (rendered) and a summary. */
  noted?: { resourceType?: string; resourceId?: string; summary?: string; resource?: unknown };
}

/** The entry of one request, without the stored-resource lookup (activity-log.ts adds the target if needed). */
export function describe(f: RequestFacts): Omit<ActivityEntry, 'at' | 'durationMs'> {
  const c = classify(f.method, f.url);
  const scim = f.error instanceof ScimError ? f.error : undefined;
  const message = f.error instanceof Error ? f.error.message : undefined;
  const resourceType = f.noted?.resourceType ?? c.resourceType;
  const resourceId = f.noted?.resourceId ?? c.resourceId;
  // Whom: the written resource as rendered, else what the body names (a failed create says whom it was about).
  const target =
    f.noted?.resource !== undefined
      ? targetOfResource(f.noted.resource)
      : c.operation === 'create' || c.operation === 'replace'
        ? targetOfBody(f.body)
        : {};
  const changes = f.status === 401 ? [] : changesOf(c.operation, f.body);
  const dialect = c.operation === 'patch' && f.status !== 401 ? patchDialect(f.body, f.url) : undefined;
  const summary = f.noted?.summary ?? message ?? '';
  return {
    method: f.method,
    path: f.url.replace(/^\/scim\/[^/]+\/v2/i, '').slice(0, 500),
    status: f.status,
    resourceType,
    resourceId,
    summary: clip(summary, 500),
    operation: c.operation,
    target,
    ...(changes.length ? { changes } : {}),
    ...(scim
      ? {
          scimType: scim.scimType,
          errorDetail: clip(scim.detail, 1000),
          errorAttribute: failingAttribute(scim, c.resourceType),
        }
      : f.status >= 400 && message
        ? { errorDetail: clip(message, 1000) }
        : {}),
    ...(dialect ? { patchDialect: dialect } : {}),
    clientIp: f.clientIp.slice(0, 100),
    ...(f.userAgent ? { userAgent: clip(f.userAgent, 300) } : {}),
  };
}
