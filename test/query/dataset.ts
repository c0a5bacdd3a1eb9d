/**
 * Random users and groups for the query tests, loaded into a real store, plus the "views" the reference
 * evaluator reads (the stored data with id, meta and the membership-derived `groups` / `members`).
 */
import { normalizeResource } from '../../src/scim/schema/normalize.js';
import type { ResourceData } from '../../src/scim/types.js';
import { newId } from '../../src/store/sql/ids.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { ENT, JOYN } from './reference.js';

/** mulberry32: a tiny seeded PRNG so a failing dataset can be rebuilt from its seed. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    bool: (p = 0.5) => next() < p,
    pick<T>(xs: readonly T[]): T {
      return xs[Math.floor(next() * xs.length)]!;
    },
  };
}
export type Rng = ReturnType<typeof rng>;

// Mixed case, non-ASCII letters, and LIKE metacharacters (`_`, `%`, `\`) that the compiler must escape.
const WORDS = [
  'alice',
  'Bob',
  'CAROL',
  'dave',
  'Éva',
  'zoë',
  'o_k',
  '50%',
  'back\\slash',
  'Ödön',
  'mary-Ann',
];
const DOMAINS = ['Contoso.com', 'example.org', 'fabrikam.COM', 'x_y.net'];
const TYPES = ['work', 'home', 'other', 'Work'];
const TITLES = ['Engineer', 'engineer', 'Manager', 'VP Sales', 'sales_rep', 'Zeta'];
const EXT_IDS = ['E1', 'e1', 'E2', 'ext-3', 'EXT-3', 'x_1'];
const CITIES = ['Paris', 'paris', 'Redmond', 'Zürich', 'São Paulo'];
const COUNTRIES = ['FR', 'us', 'US', 'CH', 'BR'];
const DEPTS = ['Sales', 'sales', 'R&D', 'Field_Ops', 'Support'];
const EMP = ['42', '007', '1000', '420'];
const XIDS = ['X1', 'x1', 'X-2', 'xid_3', 'X10'];
const casing = (r: Rng, s: string) => r.pick([s, s, s.toUpperCase(), s.toLowerCase()]);

export interface Loaded {
  tenantId: string;
  /** id → view for the reference evaluator. */
  users: Map<string, Record<string, unknown>>;
  groups: Map<string, Record<string, unknown>>;
}

/** A random instant between 2021 and 2025 (ms precision), as the store writes meta times. */
const randomTime = (r: Rng) =>
  new Date(Date.UTC(2021, 0, 1) + r.int(4 * 365 * 86400) * 1000 + r.int(1000)).toISOString();

export function randomUserBody(r: Rng, i: number): Record<string, unknown> {
  const w = () => r.pick(WORDS);
  const body: Record<string, unknown> = { userName: `${casing(r, w())}.${i}` };
  if (r.bool(0.6)) body.externalId = r.pick(EXT_IDS);
  if (r.bool(0.7)) body.displayName = `${w()} ${w()}`;
  if (r.bool(0.5)) body.title = r.pick(TITLES);
  if (r.bool(0.3)) body.userType = r.pick(['Employee', 'Intern', 'contractor']);
  if (r.bool(0.7)) body.active = r.bool();
  if (r.bool(0.7)) {
    const name: Record<string, string> = {};
    if (r.bool(0.8)) name.givenName = casing(r, w());
    if (r.bool(0.8)) name.familyName = casing(r, w());
    if (r.bool(0.3)) name.formatted = `${w()} ${w()}`;
    if (Object.keys(name).length) body.name = name;
  }
  if (r.bool(0.8)) {
    body.emails = Array.from({ length: 1 + r.int(3) }, () => {
      const e: Record<string, unknown> = { value: `${casing(r, w())}@${r.pick(DOMAINS)}` };
      if (r.bool(0.8)) e.type = r.pick(TYPES);
      if (r.bool(0.3)) e.primary = r.bool();
      if (r.bool(0.2)) e.display = w();
      return e;
    });
  }
  if (r.bool(0.2)) body.ims = [{ value: `${w()}@foo.com`, type: r.pick(['xmpp', 'skype']) }];
  if (r.bool(0.5)) {
    body.addresses = Array.from({ length: 1 + r.int(2) }, () => {
      const a: Record<string, unknown> = { locality: r.pick(CITIES) };
      if (r.bool(0.7)) a.type = r.pick(TYPES);
      if (r.bool(0.6)) a.country = r.pick(COUNTRIES);
      if (r.bool(0.4)) a.postalCode = String(10000 + r.int(90000));
      if (r.bool(0.3)) a.primary = r.bool();
      return a;
    });
  }
  if (r.bool(0.6)) {
    const ent: Record<string, unknown> = {};
    if (r.bool(0.8)) ent.department = r.pick(DEPTS);
    if (r.bool(0.4)) ent.employeeNumber = r.pick(EMP);
    if (Object.keys(ent).length) body[ENT] = ent;
  }
  if (r.bool(0.6)) {
    const j: Record<string, unknown> = {};
    if (r.bool(0.8)) j.xid = r.pick(XIDS);
    if (r.bool(0.4)) j.joynFieldId = r.pick(['F-1', 'f-1', 'F-22']);
    if (Object.keys(j).length) body[JOYN] = j;
  }
  return body;
}

/** Creates `nUsers` random users and `nGroups` groups with random members in a fresh tenant. */
export async function loadRandom(
  store: SqlStore,
  seed: number,
  nUsers: number,
  nGroups: number,
): Promise<Loaded> {
  const r = rng(seed);
  const tenantId = newId();
  await store.createTenant({ id: tenantId, name: `q-${tenantId}` }, new Date().toISOString());
  const users = new Map<string, Record<string, unknown>>();
  const groups = new Map<string, Record<string, unknown>>();
  const userIds: string[] = [];
  await store.transaction(tenantId, async (tx) => {
    for (let i = 0; i < nUsers; i++) {
      const body = randomUserBody(r, i);
      if (i > 0 && r.bool(0.3))
        body[ENT] = { ...((body[ENT] as object) ?? {}), manager: { value: r.pick(userIds) } };
      const data = normalizeResource('User', body);
      const id = newId();
      userIds.push(id);
      const created = randomTime(r);
      let row = await tx.users.insert(id, data, created);
      if (r.bool(0.5)) {
        const later = new Date(Date.parse(created) + 1 + r.int(200 * 86400) * 1000).toISOString();
        row = (await tx.users.update(id, data, later))!;
      }
      users.set(id, {
        ...row.data,
        id,
        meta: { created: row.created, lastModified: row.lastModified, resourceType: 'User' },
        groups: [],
      });
    }
    for (let g = 0; g < nGroups; g++) {
      const body: Record<string, unknown> = { displayName: `${casing(r, r.pick(WORDS))} team ${g}` };
      if (r.bool(0.5)) body.externalId = r.pick(EXT_IDS);
      const data: ResourceData = normalizeResource('Group', body);
      const id = newId();
      const row = await tx.groups.insert(id, data, randomTime(r));
      const members: { value: string; type: 'User' | 'Group'; display: string }[] = [
        ...new Set(Array.from({ length: r.int(8) }, () => r.pick(userIds))),
      ].map((value) => ({ value, type: 'User', display: String(users.get(value)!.userName) }));
      const prev = [...groups.keys()];
      if (prev.length && r.bool(0.3)) members.push({ value: r.pick(prev), type: 'Group', display: 'nested' });
      if (members.length) await tx.members.add(id, members);
      groups.set(id, {
        ...row.data,
        id,
        meta: { created: row.created, lastModified: row.lastModified, resourceType: 'Group' },
        members,
      });
      for (const m of members) {
        const u = users.get(m.value);
        if (u) (u.groups as unknown[]).push({ value: id });
      }
    }
  });
  return { tenantId, users, groups };
}
