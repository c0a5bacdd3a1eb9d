/**
 * Deterministic bench users: user `i` is the same in the child that bulk-loads it and in the parent that
 * looks it up, so the load generator can pick random existing users without asking the server.
 * Shaped like what Entra sends for the Joyn FSM mapping (entra-scim-client.md §1: userName, externalId,
 * active, displayName, name, work email, enterprise department).
 */
import { ENTERPRISE_USER } from '../src/scim/types.js';

const GIVEN = [
  'Ada',
  'Ben',
  'Chloé',
  'Dara',
  'Emil',
  'Fatima',
  'Goran',
  'Hana',
  'Ivo',
  'Jun',
  'Kofi',
  'Lena',
];
const FAMILY = [
  'Okafor',
  'Müller',
  'Nakamura',
  'Silva',
  'Kowalski',
  'Haddad',
  'Larsen',
  'Moreau',
  'Singh',
  'Ivanova',
];
const DEPARTMENTS = ['Field Service', 'Dispatch', 'Sales', 'Finance', 'Support'];

/** A cheap integer hash (so names and sort keys are spread, not in insertion order). */
export function mix(i: number): number {
  let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export const userNameOf = (i: number): string =>
  `u${i}.${GIVEN[mix(i) % GIVEN.length]!.toLowerCase()}@bench.example.com`;
export const externalIdOf = (i: number): string => `ext-${i.toString(36)}-${(mix(i) % 46656).toString(36)}`;

/** The SCIM body of bench user `i` (what a POST would carry). */
export function benchUser(i: number): Record<string, unknown> {
  const h = mix(i);
  const given = GIVEN[h % GIVEN.length]!;
  const family = `${FAMILY[(h >>> 4) % FAMILY.length]!}${(h >>> 8) % 10000}`;
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE_USER],
    userName: userNameOf(i),
    externalId: externalIdOf(i),
    active: h % 17 !== 0,
    displayName: `${given} ${family}`,
    name: { formatted: `${given} ${family}`, givenName: given, familyName: family },
    emails: [{ type: 'work', value: userNameOf(i), primary: true }],
    [ENTERPRISE_USER]: {
      department: DEPARTMENTS[(h >>> 12) % DEPARTMENTS.length]!,
      employeeNumber: String(i),
    },
  };
}
