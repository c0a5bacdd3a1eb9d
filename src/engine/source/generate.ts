/**
 * A deterministic directory generator for tests and benchmarks (the engine's end-to-end test provisions
 * 10,000 users and 200 groups from it, once as a file source and once through LDAP). Same options, same
 * seed → byte-identical output. Names and addresses are fictional (555-01xx is the reserved fictional range).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DirectoryExport, DirectoryExportGroup, DirectoryExportUser } from './file.js';

export interface GenerateOptions {
  users: number;
  groups: number;
  /** Default 1. */
  seed?: number;
  /** Share of users and of groups that are directly assigned to the app, 0..1; default 0.8. */
  assignedFraction?: number;
  /** Mail / UPN domain; default contoso.com. */
  domain?: string;
}

/** mulberry32: tiny, fast, and good enough to make test data look random. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GIVEN = [
  'Adele',
  'Alex',
  'Allan',
  'Amir',
  'Ana',
  'Ben',
  'Carlos',
  'Chen',
  'Christie',
  'Dana',
  'Diego',
  'Emily',
  'Fatima',
  'Grady',
  'Hana',
  'Henrietta',
  'Isaiah',
  'Irvin',
  'Joni',
  'Johanna',
  'Kenji',
  'Lee',
  'Lidia',
  'Lynne',
  'Megan',
  'Miriam',
  'Nestor',
  'Nora',
  'Omar',
  'Patti',
  'Pradeep',
  'Priya',
  'Raul',
  'Sofia',
  'Tariq',
  'Valentina',
  'Wei',
  'Zoe',
] as const;
const SURNAMES = [
  'Vance',
  'Wilber',
  'Deyoung',
  'Haddad',
  'Souza',
  'Walters',
  'Ruiz',
  'Wang',
  'Cline',
  'Kowalski',
  'Morales',
  'Braun',
  'Hassan',
  'Archie',
  'Sato',
  'Mueller',
  'Lindqvist',
  'Bellew',
  'Sherman',
  'Pacheco',
  'Tanaka',
  'Gu',
  'Holloway',
  'Fernandez',
  'Bowen',
  'Okafor',
  'Wilkins',
  'Gupta',
  'Ivanova',
  'Fernando',
  'Nkosi',
  'Anderson',
  'Kim',
  'Nguyen',
] as const;
const DEPARTMENTS = [
  'Field Service',
  'Dispatch',
  'Sales',
  'Marketing',
  'Finance',
  'Human Resources',
  'Engineering',
  'Operations',
  'Customer Support',
  'Legal',
  'Warehouse',
  'IT',
] as const;
const TITLES = [
  'Technician',
  'Senior Technician',
  'Dispatcher',
  'Manager',
  'Analyst',
  'Coordinator',
  'Specialist',
  'Director',
] as const;
const CITIES = [
  { city: 'Redmond', state: 'WA', postalCode: '98052', area: '425' },
  { city: 'Seattle', state: 'WA', postalCode: '98101', area: '206' },
  { city: 'Portland', state: 'OR', postalCode: '97204', area: '503' },
  { city: 'Austin', state: 'TX', postalCode: '78701', area: '512' },
  { city: 'Denver', state: 'CO', postalCode: '80202', area: '303' },
  { city: 'Chicago', state: 'IL', postalCode: '60601', area: '312' },
  { city: 'Boston', state: 'MA', postalCode: '02108', area: '617' },
  { city: 'Atlanta', state: 'GA', postalCode: '30303', area: '404' },
  { city: 'Phoenix', state: 'AZ', postalCode: '85004', area: '602' },
  { city: 'Charlotte', state: 'NC', postalCode: '28202', area: '704' },
] as const;
const STREETS = [
  'Microsoft Way',
  'Main Street',
  'Oak Avenue',
  'Pine Street',
  'Cedar Lane',
  'Lakeview Drive',
  'Market Street',
  'Elm Court',
] as const;
const TEAMS = ['Team', 'Crew', 'Squad', 'Region', 'Project', 'Rota'] as const;

function pick<T>(rng: () => number, list: readonly T[]): T {
  return list[Math.floor(rng() * list.length)] as T;
}

function uuid(rng: () => number): string {
  const hex: string[] = [];
  for (let i = 0; i < 32; i++) hex.push(Math.floor(rng() * 16).toString(16));
  hex[12] = '4'; // version 4 layout, so the ids look like what Entra and OpenLDAP hand out
  hex[16] = ((parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

export function generateDirectory(opts: GenerateOptions): DirectoryExport {
  const { users: userCount, groups: groupCount } = opts;
  if (!Number.isInteger(userCount) || userCount < 0)
    throw new Error('generateDirectory: users must be a non-negative integer');
  if (!Number.isInteger(groupCount) || groupCount < 0)
    throw new Error('generateDirectory: groups must be a non-negative integer');
  const fraction = opts.assignedFraction ?? 0.8;
  if (!(fraction >= 0 && fraction <= 1))
    throw new Error('generateDirectory: assignedFraction must be between 0 and 1');
  const domain = opts.domain ?? 'contoso.com';
  const rng = prng(opts.seed ?? 1);

  const nicknames = new Set<string>();
  const users: DirectoryExportUser[] = [];
  const assignments: string[] = [];
  for (let i = 0; i < userCount; i++) {
    const givenName = pick(rng, GIVEN);
    const surname = pick(rng, SURNAMES);
    const base = `${givenName}.${surname}`.toLowerCase();
    let nick = base;
    for (let n = 2; nicknames.has(nick); n++) nick = `${base}${n}`;
    nicknames.add(nick);
    const place = pick(rng, CITIES);
    const user: DirectoryExportUser = {
      id: uuid(rng),
      userPrincipalName: `${nick}@${domain}`,
      mail: `${nick}@${domain}`,
      givenName,
      surname,
      displayName: `${givenName} ${surname}`,
      mailNickname: nick,
      accountEnabled: rng() >= 0.05,
      department: pick(rng, DEPARTMENTS),
      jobTitle: pick(rng, TITLES),
      mobile: `+1 ${place.area} 555 01${pad(Math.floor(rng() * 100), 2)}`,
      streetAddress: `${100 + Math.floor(rng() * 9900)} ${pick(rng, STREETS)}`,
      city: place.city,
      state: place.state,
      postalCode: place.postalCode,
      country: 'US',
      employeeId: `E${pad(i + 1, 6)}`,
      softDeleted: false,
    };
    users.push(user);
    if (rng() < fraction) assignments.push(user.id);
  }

  const groups: DirectoryExportGroup[] = [];
  for (let i = 0; i < groupCount; i++) {
    const dept = pick(rng, DEPARTMENTS);
    const displayName = `${dept} ${pick(rng, TEAMS)} ${i + 1}`;
    const members = new Set<string>();
    if (userCount > 0) {
      const size = 1 + Math.floor(rng() * Math.min(userCount, 100));
      for (let k = 0; k < size; k++)
        members.add((users[Math.floor(rng() * userCount)] as DirectoryExportUser).id);
    }
    // Some nesting: Entra does not expand nested groups (§2.1), so the engine must see them as-is.
    if (i > 0 && rng() < 0.1) members.add((groups[Math.floor(rng() * i)] as DirectoryExportGroup).id);
    const group: DirectoryExportGroup = {
      id: uuid(rng),
      displayName,
      mailNickname: displayName.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
      description: `${dept} staff (generated)`,
      members: [...members],
    };
    groups.push(group);
    if (rng() < fraction) assignments.push(group.id);
  }
  return { users, groups, assignments };
}

export async function writeDirectoryJson(path: string, dir: DirectoryExport): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(dir, null, 2)}\n`);
}

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map(String).join(';');
  return String(v);
}

/** Writes the same data as a CSV export folder (users.csv, groups.csv, memberships.csv, assignments.csv). */
export async function writeDirectoryCsv(folder: string, dir: DirectoryExport): Promise<void> {
  await mkdir(folder, { recursive: true });
  const table = (rows: Record<string, unknown>[], fixed: string[]): string => {
    const cols = [...fixed];
    const multi = new Set<string>();
    for (const r of rows) {
      for (const [k, v] of Object.entries(r)) {
        if (Array.isArray(v)) multi.add(k);
        if (!cols.includes(k)) cols.push(k);
      }
    }
    const header = cols.map((c) => csvField(multi.has(c) ? `${c}[]` : c)).join(',');
    return (
      [header, ...rows.map((r) => cols.map((c) => csvField(csvCell(r[c]))).join(','))].join('\r\n') + '\r\n'
    );
  };
  await writeFile(join(folder, 'users.csv'), table(dir.users as Record<string, unknown>[], ['id']));
  const groups = (dir.groups ?? []).map(({ members: _members, ...rest }) => rest);
  await writeFile(join(folder, 'groups.csv'), table(groups as Record<string, unknown>[], ['id']));
  const memberships = (dir.groups ?? []).flatMap((g) =>
    (g.members ?? []).map((m) => ({ groupId: g.id, memberId: m })),
  );
  await writeFile(join(folder, 'memberships.csv'), table(memberships, ['groupId', 'memberId']));
  await writeFile(
    join(folder, 'assignments.csv'),
    table(
      (dir.assignments ?? []).map((id) => ({ id })),
      ['id'],
    ),
  );
}
