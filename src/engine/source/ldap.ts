/**
 * LDAP source (OpenLDAP, Active Directory) over the `ldapts` client.
 *
 * Reading: users and groups are two paged subtree searches under `baseDN` for every user and operational
 * attribute (`*`, `+`). Group `member` values (DNs, or plain uids for posixGroup `memberUid`) are mapped to
 * member ids; references to entries outside the user/group filters (placeholder members, service accounts)
 * are dropped because the engine cannot address them. The common Entra attribute names are derived from
 * their LDAP equivalents (sn → surname, uid → mailNickname, l → city, …) so the default mappings of
 * entra-provisioning-engine.md §3.3 work unchanged on OpenLDAP.
 *
 * Change detection (§1.2): the watermark holds the highest `modifyTimestamp` seen plus the ids known at the
 * time. An object is changed when its modifyTimestamp is newer than the watermark. modifyTimestamp has
 * one-second resolution, so for objects stamped exactly at the watermark second the watermark also keeps a
 * content hash and reports them only if they really changed. Hard deletions are found by comparing the id
 * sets: OpenLDAP keeps no tombstones (AD keeps them only under the show-deleted control), so "gone from the
 * search" is the only deletion signal. State that can change without the entry's own modifyTimestamp moving
 * (assignment through another group, the disabled flag from `disabledFilter`, members resolved after a member
 * was deleted) is kept as a small per-id hash, so such objects are reported too (§2.1: unassigned → disable).
 *
 * The contract needs the whole snapshot on every incremental read (scope decisions use assignments and group
 * membership of unchanged objects), so both cycles read everything once; the modifyTimestamp test that a
 * server-side `(&(filter)(modifyTimestamp>=WM))` would do is applied to that same result instead of costing a
 * second round trip.
 *
 * The bind password is never logged, put in `description`, or included in an error message.
 */
import { readSecret, type SecretSource } from '../secrets.js';
import { Client, type Entry } from 'ldapts';
import type { Source, SourceDelta, SourceObject, SourceSnapshot, SourceValue } from '../types.js';
import {
  canonicalJson,
  decodeWatermark,
  encodeWatermark,
  hasAttribute,
  isRecord,
  objectHash,
} from './watermark.js';
import { createHash } from 'node:crypto';

export interface LdapSourceConfig {
  readonly type: 'ldap';
  /** ldap:// or ldaps:// URL, e.g. ldap://127.0.0.1:389 */
  readonly url: string;
  /** Absent = anonymous bind. */
  readonly bindDN?: string;
  readonly bindPassword?: string;
  /** Name of an environment variable holding the bind password (keeps the secret out of config files). */
  readonly bindPasswordEnv?: string;
  readonly baseDN: string;
  /** Default (objectClass=inetOrgPerson). */
  readonly userFilter?: string;
  /** Default (objectClass=groupOfNames). */
  readonly groupFilter?: string;
  /** Default entryUUID; AD: objectGUID (formatted as a GUID string). */
  readonly idAttribute?: string;
  /** Default member; posixGroup: memberUid. */
  readonly memberAttribute?: string;
  /** Members of these groups (and the groups themselves) are the assignments; absent = everyone is assigned. */
  readonly assignmentGroupDNs?: readonly string[];
  /** Users matching it get accountEnabled = false, e.g. (pwdAccountLockedTime=*) or AD
   *  (userAccountControl:1.2.840.113556.1.4.803:=2). */
  readonly disabledFilter?: string;
  /** Default 500. */
  readonly pageSize?: number;
  /** Per-operation timeout in ms, default 30000. */
  readonly timeoutMs?: number;
}

export const LDAP_DEFAULTS = {
  userFilter: '(objectClass=inetOrgPerson)',
  groupFilter: '(objectClass=groupOfNames)',
  idAttribute: 'entryUUID',
  memberAttribute: 'member',
  pageSize: 500,
  timeoutMs: 30_000,
} as const;

/** Attributes that would leak secrets into the engine's data and logs. */
const SECRET_ATTRIBUTES = new Set([
  'userpassword',
  'unicodepwd',
  'ntpwdhistory',
  'lmpwdhistory',
  'supplementalcredentials',
]);
/** Binary attributes: asked for as Buffers and passed on as base64 (ids are formatted separately). */
const BINARY_ATTRIBUTES = [
  'objectGUID',
  'objectSid',
  'jpegPhoto',
  'thumbnailPhoto',
  'userCertificate',
  'mS-DS-ConsistencyGuid',
];
/** Keys ldapts adds for requested-but-absent attribute selectors. */
const SELECTOR_KEYS = new Set(['*', '+', '1.1']);

// ---------------------------------------------------------------------------------------------------------
// Value helpers

/** AD objectGUID is stored little-endian in its first three fields; print it as Windows does. */
export function formatGuid(buf: Buffer): string {
  if (buf.length !== 16) return buf.toString('base64');
  const h = (b: Buffer): string => b.toString('hex');
  const rev = (start: number, end: number): string => h(Buffer.from(buf.subarray(start, end)).reverse());
  return `${rev(0, 4)}-${rev(4, 6)}-${rev(6, 8)}-${h(buf.subarray(8, 10))}-${h(buf.subarray(10, 16))}`;
}

function toValue(raw: Entry[string]): SourceValue | undefined {
  if (Array.isArray(raw)) {
    if (raw.length === 0) return undefined;
    const list = (raw as (string | Buffer)[]).map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : v));
    return list.length === 1 ? list[0] : list;
  }
  return Buffer.isBuffer(raw) ? raw.toString('base64') : raw;
}

function first(value: SourceValue | undefined): string | undefined {
  if (Array.isArray(value)) return value.length ? String(value[0]) : undefined;
  if (value === undefined || value === null) return undefined;
  return String(value);
}

function get(attrs: Record<string, SourceValue>, name: string): SourceValue | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(attrs)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

function values(raw: Entry[string] | undefined): string[] {
  if (raw === undefined) return [];
  const list = Array.isArray(raw) ? (raw as (string | Buffer)[]) : [raw];
  return list.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v));
}

/** DN comparison key: attribute types and values compared case-insensitively, spaces around separators ignored. */
export function normalizeDn(dn: string): string {
  const rdns: string[] = [];
  let current = '';
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i];
    if (c === '\\' && i + 1 < dn.length) {
      current += c + dn[i + 1];
      i++;
    } else if (c === ',' || c === ';') {
      rdns.push(current);
      current = '';
    } else current += c;
  }
  rdns.push(current);
  return rdns
    .map((rdn) =>
      rdn
        .split('+')
        .map((ava) => {
          const eq = ava.indexOf('=');
          return eq < 0
            ? ava.trim().toLowerCase()
            : `${ava.slice(0, eq).trim()}=${ava.slice(eq + 1).trim()}`.toLowerCase();
        })
        .sort()
        .join('+'),
    )
    .join(',');
}

function paren(filter: string): string {
  const f = filter.trim();
  return f.startsWith('(') ? f : `(${f})`;
}

/**
 * Generalized time (RFC 4517 §3.3.13: YYYYMMDDHH[MM[SS]][.fff](Z|±hh[mm])) → milliseconds since the epoch,
 * keeping sub-millisecond digits as a fraction so ordering is exact. NaN if it does not parse.
 */
export function parseGeneralizedTime(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,](\d+))?(Z|[+-]\d{2}(?:\d{2})?)?$/.exec(
    text.trim(),
  );
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi ?? 0), Number(s ?? 0));
  if (frac) ms += Number(`0.${frac}`) * 1000;
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const offMin = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5) || 0);
    ms -= sign * offMin * 60_000;
  }
  return ms;
}

// ---------------------------------------------------------------------------------------------------------
// Reading

interface ReadResult {
  snapshot: SourceSnapshot;
  /** id → modifyTimestamp (raw text), for objects that carry one. */
  stamps: Map<string, string>;
}

interface RawObject {
  dn: string;
  id: string;
  kind: 'user' | 'group';
  entry: Entry;
}

function deriveUserAttributes(attrs: Record<string, SourceValue>, id: string, enabled: boolean): void {
  const derive = (name: string, ...from: string[]): void => {
    if (hasAttribute(attrs, name)) return;
    for (const f of from) {
      const v = first(get(attrs, f));
      if (v !== undefined && v !== '') {
        attrs[name] = v;
        return;
      }
    }
  };
  derive('userPrincipalName', 'mail', 'uid');
  derive('surname', 'sn');
  derive('mailNickname', 'uid', 'sAMAccountName');
  derive('displayName', 'cn');
  derive('city', 'l');
  derive('state', 'st');
  derive('streetAddress', 'street');
  derive('country', 'c', 'co');
  derive('employeeId', 'employeeNumber');
  derive('department', 'departmentNumber');
  if (!hasAttribute(attrs, 'objectId')) attrs.objectId = id;
  // accountEnabled is Entra's name; no LDAP schema carries it, so it is always derived.
  for (const k of Object.keys(attrs)) if (k.toLowerCase() === 'accountenabled') delete attrs[k];
  attrs.accountEnabled = enabled;
}

function deriveGroupAttributes(attrs: Record<string, SourceValue>, id: string): void {
  for (const [name, from] of [
    ['displayName', 'cn'],
    ['mailNickname', 'cn'],
  ] as const) {
    const v = first(get(attrs, from));
    if (!hasAttribute(attrs, name) && v !== undefined) attrs[name] = v;
  }
  if (!hasAttribute(attrs, 'objectId')) attrs.objectId = id;
}

/** Without a disabledFilter: AD's ACCOUNTDISABLE bit (userAccountControl & 2) or an OpenLDAP ppolicy lock. */
function disabledByDefault(attrs: Record<string, SourceValue>): boolean {
  const uac = Number(first(get(attrs, 'userAccountControl')));
  if (Number.isInteger(uac) && (uac & 2) !== 0) return true;
  return get(attrs, 'pwdAccountLockedTime') !== undefined;
}

export class LdapSource implements Source {
  readonly description: string;
  private readonly cfg: Required<
    Omit<
      LdapSourceConfig,
      'bindDN' | 'bindPassword' | 'bindPasswordEnv' | 'assignmentGroupDNs' | 'disabledFilter'
    >
  > &
    LdapSourceConfig;
  private readonly env: SecretSource;

  /** `env`: where bindPasswordEnv is looked up (the configuration's, src/config.ts; nothing when absent). */
  constructor(config: LdapSourceConfig, opts: { env?: SecretSource } = {}) {
    this.cfg = { ...LDAP_DEFAULTS, ...stripUndefined(config) };
    this.env = opts.env ?? {};
    this.description = `ldap ${config.url} ${config.baseDN}${config.bindDN ? ` as ${config.bindDN}` : ' (anonymous)'}`;
  }

  private password(): string | undefined {
    if (this.cfg.bindPassword !== undefined) return this.cfg.bindPassword;
    if (this.cfg.bindPasswordEnv !== undefined) {
      const v = readSecret(this.env, this.cfg.bindPasswordEnv);
      if (v === undefined)
        throw new Error(
          `${this.description}: environment variable ${this.cfg.bindPasswordEnv} (bindPasswordEnv) is not set`,
        );
      return v;
    }
    return undefined;
  }

  private async withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({
      url: this.cfg.url,
      timeout: this.cfg.timeoutMs,
      connectTimeout: Math.min(this.cfg.timeoutMs, 10_000),
    });
    try {
      if (this.cfg.bindDN) {
        try {
          await client.bind(this.cfg.bindDN, this.password() ?? '');
        } catch (e) {
          throw new Error(`${this.description}: bind failed (${errorText(e)})`);
        }
      }
      return await fn(client);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  private async search(
    client: Client,
    base: string,
    filter: string,
    attributes: string[],
    scope: 'sub' | 'base' = 'sub',
  ): Promise<Entry[]> {
    const out: Entry[] = [];
    try {
      const pages = client.searchPaginated(base, {
        scope,
        filter,
        attributes,
        paged: { pageSize: this.cfg.pageSize },
        explicitBufferAttributes: BINARY_ATTRIBUTES,
      });
      for await (const page of pages) out.push(...page.searchEntries);
    } catch (e) {
      throw new Error(`${this.description}: search ${filter} under ${base} failed (${errorText(e)})`);
    }
    return out;
  }

  private idOf(entry: Entry): string {
    const raw = entry[this.cfg.idAttribute] ?? caseInsensitive(entry, this.cfg.idAttribute);
    const v = Array.isArray(raw) ? raw[0] : raw;
    if (v === undefined)
      throw new Error(`${this.description}: entry ${entry.dn} has no ${this.cfg.idAttribute} (idAttribute)`);
    if (Buffer.isBuffer(v))
      return this.cfg.idAttribute.toLowerCase() === 'objectguid' ? formatGuid(v) : v.toString('base64');
    return v;
  }

  private async read(): Promise<ReadResult> {
    return this.withClient(async (client) => {
      const attrs = ['*', '+'];
      const userEntries = await this.search(client, this.cfg.baseDN, paren(this.cfg.userFilter), attrs);
      const groupEntries = await this.search(client, this.cfg.baseDN, paren(this.cfg.groupFilter), attrs);
      let disabled: Set<string> | undefined;
      if (this.cfg.disabledFilter) {
        const filter = `(&${paren(this.cfg.userFilter)}${paren(this.cfg.disabledFilter)})`;
        disabled = new Set(
          (await this.search(client, this.cfg.baseDN, filter, [this.cfg.idAttribute])).map((e) =>
            this.idOf(e),
          ),
        );
      }

      const raws: RawObject[] = [];
      const seen = new Map<string, string>();
      for (const [kind, entries] of [
        ['user', userEntries],
        ['group', groupEntries],
      ] as const) {
        for (const entry of entries) {
          const id = this.idOf(entry);
          const other = seen.get(id);
          if (other !== undefined) {
            if (normalizeDn(other) === normalizeDn(entry.dn)) continue; // matched both filters: first one wins
            throw new Error(
              `${this.description}: ${entry.dn} and ${other} share ${this.cfg.idAttribute} '${id}'`,
            );
          }
          seen.set(id, entry.dn);
          raws.push({ dn: entry.dn, id, kind, entry });
        }
      }

      // Member references: DNs (member, uniqueMember) or bare user names (posixGroup memberUid).
      const byDn = new Map<string, string>();
      const byName = new Map<string, string>();
      for (const r of raws) {
        byDn.set(normalizeDn(r.dn), r.id);
        if (r.kind === 'user') {
          for (const n of [
            ...values(caseInsensitive(r.entry, 'uid')),
            ...values(caseInsensitive(r.entry, 'sAMAccountName')),
          ]) {
            byName.set(n.toLowerCase(), r.id);
          }
        }
      }
      const resolve = (ref: string): string | undefined =>
        ref.includes('=') ? byDn.get(normalizeDn(ref)) : byName.get(ref.trim().toLowerCase());
      const membersOf = (entry: Entry, selfId: string): string[] => {
        const ids = new Set<string>();
        for (const ref of values(caseInsensitive(entry, this.cfg.memberAttribute))) {
          const id = resolve(ref);
          if (id !== undefined && id !== selfId) ids.add(id);
        }
        return [...ids];
      };

      const stamps = new Map<string, string>();
      const users: SourceObject[] = [];
      const groups: SourceObject[] = [];
      for (const r of raws) {
        const attributes: Record<string, SourceValue> = {};
        for (const [k, raw] of Object.entries(r.entry)) {
          if (k === 'dn' || SELECTOR_KEYS.has(k) || SECRET_ATTRIBUTES.has(k.toLowerCase())) continue;
          const v = toValue(raw);
          if (v !== undefined) attributes[k] = v;
        }
        if (this.cfg.idAttribute.toLowerCase() === 'objectguid') attributes[this.cfg.idAttribute] = r.id;
        const stamp = first(get(attributes, 'modifyTimestamp'));
        if (stamp !== undefined) stamps.set(r.id, stamp);
        if (r.kind === 'user') {
          const enabled = disabled ? !disabled.has(r.id) : !disabledByDefault(attributes);
          deriveUserAttributes(attributes, r.id, enabled);
          users.push({ id: r.id, kind: 'user', attributes, softDeleted: false });
        } else {
          deriveGroupAttributes(attributes, r.id);
          groups.push({
            id: r.id,
            kind: 'group',
            attributes,
            members: membersOf(r.entry, r.id),
            softDeleted: false,
          });
        }
      }

      let assignments: string[];
      if (this.cfg.assignmentGroupDNs === undefined) {
        assignments = raws.map((r) => r.id);
      } else {
        const assigned = new Set<string>();
        for (const dn of this.cfg.assignmentGroupDNs) {
          const groupId = byDn.get(normalizeDn(dn));
          let members: readonly string[];
          if (groupId !== undefined) {
            assigned.add(groupId);
            members = groups.find((g) => g.id === groupId)?.members ?? [];
          } else {
            // The assignment group may sit outside groupFilter (it is a permission, not a group to provision).
            const found = await this.search(
              client,
              dn,
              '(objectClass=*)',
              [this.cfg.memberAttribute, this.cfg.idAttribute],
              'base',
            ).catch((e: unknown) => {
              throw new Error(`${this.description}: assignment group ${dn} cannot be read (${errorText(e)})`);
            });
            const entry = found[0];
            if (!entry) throw new Error(`${this.description}: assignment group ${dn} was not found`);
            members = membersOf(entry, '');
          }
          for (const m of members) assigned.add(m);
        }
        assignments = raws.filter((r) => assigned.has(r.id)).map((r) => r.id);
      }
      return { snapshot: { users, groups, assignments }, stamps };
    });
  }

  async readAll(): Promise<{ snapshot: SourceSnapshot; watermark: string }> {
    const result = await this.read();
    return { snapshot: result.snapshot, watermark: encodeWatermark(buildWatermark(result)) };
  }

  async readChanges(watermark: string): Promise<SourceDelta> {
    const prev = parseLdapWatermark(watermark, this.description);
    const result = await this.read();
    const current = buildWatermark(result);
    const prevTs = prev.ts === undefined ? Number.NEGATIVE_INFINITY : parseGeneralizedTime(prev.ts);
    const has = (rec: Record<string, string>, id: string): boolean =>
      Object.prototype.hasOwnProperty.call(rec, id);
    const assigned = new Set(result.snapshot.assignments);
    const changed: SourceObject[] = [];
    for (const [objects, prevSide, curSide] of [
      [result.snapshot.users, prev.u, current.u],
      [result.snapshot.groups, prev.g, current.g],
    ] as const) {
      for (const o of objects) {
        if (!has(prevSide, o.id) || prevSide[o.id] !== curSide[o.id]) {
          changed.push(o); // new, or assignment/enabled/members changed without the entry changing
          continue;
        }
        const stamp = result.stamps.get(o.id);
        const ts = stamp === undefined ? Number.NaN : parseGeneralizedTime(stamp);
        if (Number.isNaN(ts) || ts === prevTs) {
          // Same second as the watermark (or no usable stamp): only a content change counts.
          if (prev.h[o.id] !== objectHash(o, assigned.has(o.id))) changed.push(o);
        } else if (ts > prevTs) {
          changed.push(o);
        }
      }
    }
    const deleted: { id: string; kind: 'user' | 'group' }[] = [];
    for (const id of Object.keys(prev.u)) if (!has(current.u, id)) deleted.push({ id, kind: 'user' });
    for (const id of Object.keys(prev.g)) if (!has(current.g, id)) deleted.push({ id, kind: 'group' });
    return { changed, deleted, snapshot: result.snapshot, watermark: encodeWatermark(current) };
  }

  async close(): Promise<void> {
    // Each read opens and closes its own connection (cycles are ~40 minutes apart, §1.3).
  }
}

// ---------------------------------------------------------------------------------------------------------
// Watermark

interface LdapWatermark {
  v: 1;
  src: 'ldap';
  /** Highest modifyTimestamp seen (generalized time, as the server wrote it). */
  ts?: string;
  /** Full content hashes of objects stamped at `ts` or without a stamp. */
  h: Record<string, string>;
  /** id → hash of the state that does not move modifyTimestamp (assigned, enabled, resolved members). */
  u: Record<string, string>;
  g: Record<string, string>;
}

function sideHash(o: SourceObject, assigned: boolean): string {
  const text = canonicalJson({
    a: assigned,
    e: o.attributes.accountEnabled ?? null,
    m: o.members ? [...o.members].sort() : null,
  });
  return createHash('sha256').update(text).digest('base64url').slice(0, 8);
}

function buildWatermark(result: ReadResult): LdapWatermark {
  const { snapshot, stamps } = result;
  const assigned = new Set(snapshot.assignments);
  let ts: string | undefined;
  let tsValue = Number.NEGATIVE_INFINITY;
  for (const stamp of stamps.values()) {
    const v = parseGeneralizedTime(stamp);
    if (v > tsValue) {
      tsValue = v;
      ts = stamp;
    }
  }
  const wm: LdapWatermark = { v: 1, src: 'ldap', h: {}, u: {}, g: {} };
  if (ts !== undefined) wm.ts = ts;
  for (const o of [...snapshot.users, ...snapshot.groups]) {
    const isAssigned = assigned.has(o.id);
    (o.kind === 'user' ? wm.u : wm.g)[o.id] = sideHash(o, isAssigned);
    const stamp = stamps.get(o.id);
    const v = stamp === undefined ? Number.NaN : parseGeneralizedTime(stamp);
    if (Number.isNaN(v) || v === tsValue) wm.h[o.id] = objectHash(o, isAssigned);
  }
  return wm;
}

function parseLdapWatermark(watermark: string, what: string): LdapWatermark {
  const wm = decodeWatermark(watermark, what);
  if (
    !isRecord(wm) ||
    wm.src !== 'ldap' ||
    wm.v !== 1 ||
    !isRecord(wm.h) ||
    !isRecord(wm.u) ||
    !isRecord(wm.g)
  ) {
    throw new Error(
      `${what}: the watermark is not one this source wrote (restart provisioning to run a full cycle)`,
    );
  }
  return wm as unknown as LdapWatermark;
}

// ---------------------------------------------------------------------------------------------------------

function caseInsensitive(entry: Entry, name: string): Entry[string] | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(entry)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

function errorText(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
