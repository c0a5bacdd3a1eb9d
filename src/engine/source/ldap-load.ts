/**
 * Writes a directory export (generateDirectory's output or a JSON export) into an LDAP server as
 * inetOrgPerson users and groupOfNames groups, so the same data can be provisioned from a file source and
 * from an LDAP source and the results compared.
 *
 * - Every entry carries the export id in `uniqueIdentifier` (cosine schema, allowed through
 *   extensibleObject), so an LdapSource with `idAttribute: 'uniqueIdentifier'` reports the same ids as the
 *   file source. `sourceConfig` in the result is such a configuration.
 * - Entra attribute names are written to their LDAP equivalents (surname → sn, city → l, …), which the LDAP
 *   source derives back.
 * - accountEnabled = false (and softDeleted, which LDAP cannot express) → `pwdAccountLockedTime:
 *   000001010000Z`, OpenLDAP's permanent ppolicy lock (needs the ppolicy overlay, as test/helpers/slapd.ts
 *   loads). Override with `disabledMarker`.
 * - Assignments become the members of one group (default cn=joyn-users) that carries no uniqueIdentifier,
 *   so the suggested groupFilter leaves it out of the provisioned groups.
 * - groupOfNames needs at least one member: empty groups get the base DN as a placeholder member, which the
 *   LDAP source drops because it is not a user or group.
 */
import { Client } from 'ldapts';
import type { DirectoryExport } from './file.js';
import type { LdapSourceConfig } from './ldap.js';

export type LdapTarget = Client | { url: string; bindDN: string; bindPassword: string };

export interface LoadIntoLdapOptions {
  /** Where to create `ou=people` / `ou=groups` children (they must exist), e.g. dc=example,dc=org. */
  baseDN: string;
  peopleDN?: string;
  groupsDN?: string;
  assignmentGroupCn?: string;
  disabledMarker?: { attribute: string; value: string };
  /** Parallel add requests on the one connection; default 16. */
  concurrency?: number;
}

export interface LoadIntoLdapResult {
  /** export id → DN of the entry written for it. */
  dnById: Map<string, string>;
  assignmentGroupDN: string;
  /** An LDAP source configuration (without url/credentials) that reads this data back with the export's ids. */
  sourceConfig: Omit<LdapSourceConfig, 'url' | 'bindDN' | 'bindPassword' | 'bindPasswordEnv'>;
}

/** RFC 4514 §2.4: escape the characters that would end or change an RDN value. */
export function escapeRdnValue(value: string): string {
  let out = value.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`);
  if (out.startsWith(' ') || out.startsWith('#')) out = `\\${out}`;
  if (out.endsWith(' ') && out.length > 1) out = `${out.slice(0, -1)}\\ `;
  return out;
}

function str(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (Array.isArray(v)) return v.length ? String(v[0]) : undefined;
  return String(v);
}

/** Entra/export attribute → LDAP attribute (single-valued copies). */
const USER_ATTRIBUTE_MAP: readonly (readonly [string, string])[] = [
  ['givenName', 'givenName'],
  ['surname', 'sn'],
  ['displayName', 'displayName'],
  ['mail', 'mail'],
  ['mobile', 'mobile'],
  ['telephoneNumber', 'telephoneNumber'],
  ['streetAddress', 'street'],
  ['city', 'l'],
  ['state', 'st'],
  ['postalCode', 'postalCode'],
  ['department', 'departmentNumber'],
  ['employeeId', 'employeeNumber'],
  ['jobTitle', 'title'],
];

async function pool<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(size, items.length)) }, worker));
}

export async function loadIntoLdap(
  target: LdapTarget,
  dir: DirectoryExport,
  opts: LoadIntoLdapOptions,
): Promise<LoadIntoLdapResult> {
  const own = !(target instanceof Client);
  const client = target instanceof Client ? target : new Client({ url: target.url });
  const peopleDN = opts.peopleDN ?? `ou=people,${opts.baseDN}`;
  const groupsDN = opts.groupsDN ?? `ou=groups,${opts.baseDN}`;
  const assignmentGroupDN = `cn=${escapeRdnValue(opts.assignmentGroupCn ?? 'joyn-users')},${groupsDN}`;
  const marker = opts.disabledMarker ?? { attribute: 'pwdAccountLockedTime', value: '000001010000Z' };
  const concurrency = opts.concurrency ?? 16;
  try {
    if (!(target instanceof Client)) await client.bind(target.bindDN, target.bindPassword);

    const dnById = new Map<string, string>();
    const usedRdn = new Set<string>();
    const uniqueRdn = (base: string, id: string): string => {
      const key = base.toLowerCase();
      const rdn = usedRdn.has(key) ? `${base}-${id}` : base;
      usedRdn.add(rdn.toLowerCase());
      return rdn;
    };

    const userEntries: [string, Record<string, string | string[]>][] = [];
    for (const u of dir.users) {
      const uid = uniqueRdn(str(u.mailNickname) ?? u.id, u.id);
      const dn = `uid=${escapeRdnValue(uid)},${peopleDN}`;
      dnById.set(u.id, dn);
      const cn = str(u.displayName) ?? ([str(u.givenName), str(u.surname)].filter(Boolean).join(' ') || uid);
      const entry: Record<string, string | string[]> = {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'extensibleObject'],
        uid,
        cn,
        sn: str(u.surname) ?? cn,
        uniqueIdentifier: u.id,
      };
      for (const [from, to] of USER_ATTRIBUTE_MAP) {
        const v = str(u[from]);
        if (v !== undefined) entry[to] = v;
      }
      const country = str(u.country);
      if (country && /^[A-Za-z]{2}$/.test(country)) entry.c = country.toUpperCase(); // c is a 2-letter code
      if (u.accountEnabled === false || u.softDeleted === true) entry[marker.attribute] = marker.value;
      userEntries.push([dn, entry]);
    }

    const groupEntries: [string, Record<string, string | string[]>][] = [];
    const groups = dir.groups ?? [];
    for (const g of groups) {
      const cn = uniqueRdn(str(g.displayName) ?? g.id, g.id);
      dnById.set(g.id, `cn=${escapeRdnValue(cn)},${groupsDN}`);
    }
    const memberDns = (ids: readonly string[]): string[] => {
      const dns = ids.map((id) => dnById.get(id)).filter((dn): dn is string => dn !== undefined);
      return dns.length ? dns : [opts.baseDN];
    };
    for (const g of groups) {
      const dn = dnById.get(g.id) as string;
      const entry: Record<string, string | string[]> = {
        objectClass: ['top', 'groupOfNames', 'extensibleObject'],
        cn: str(g.displayName) ?? g.id,
        uniqueIdentifier: g.id,
        member: memberDns(g.members ?? []),
      };
      for (const a of ['displayName', 'description', 'mail']) {
        const v = str(g[a]);
        if (v !== undefined) entry[a] = v;
      }
      groupEntries.push([dn, entry]);
    }

    const add = async ([dn, entry]: [string, Record<string, string | string[]>]): Promise<void> => {
      try {
        await client.add(dn, entry);
      } catch (e) {
        throw new Error(
          `loadIntoLdap: adding ${dn} failed (${e instanceof Error ? `${e.name}: ${e.message.trim()}` : String(e)})`,
        );
      }
    };
    await pool(userEntries, concurrency, add);
    await pool(groupEntries, concurrency, add);
    await add([
      assignmentGroupDN,
      {
        objectClass: ['top', 'groupOfNames'],
        cn: opts.assignmentGroupCn ?? 'joyn-users',
        member: memberDns(dir.assignments ?? []),
      },
    ]);

    return {
      dnById,
      assignmentGroupDN,
      sourceConfig: {
        type: 'ldap',
        baseDN: opts.baseDN,
        userFilter: '(&(objectClass=inetOrgPerson)(uniqueIdentifier=*))',
        groupFilter: '(&(objectClass=groupOfNames)(uniqueIdentifier=*))',
        idAttribute: 'uniqueIdentifier',
        memberAttribute: 'member',
        assignmentGroupDNs: [assignmentGroupDN],
        disabledFilter: `(${marker.attribute}=*)`,
      },
    };
  } finally {
    if (own) await client.unbind().catch(() => undefined);
  }
}
