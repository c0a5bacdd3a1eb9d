/**
 * Source connectors of the provisioning engine: where users, groups and assignments come from
 * (entra-provisioning-engine.md §1: the initial cycle reads everything, incremental cycles read changes
 * since a watermark).
 */
import type { SecretSource } from '../secrets.js';
import type { Source } from '../types.js';
import { FileSource, type FileSourceConfig } from './file.js';
import { LdapSource, type LdapSourceConfig } from './ldap.js';
import { isRecord } from './watermark.js';

export type { FileSourceConfig, DirectoryExport, DirectoryExportUser, DirectoryExportGroup } from './file.js';
export { FileSource, parseDirectoryJson, readDirectoryExport } from './file.js';
export type { LdapSourceConfig } from './ldap.js';
export { LdapSource, formatGuid, normalizeDn, parseGeneralizedTime } from './ldap.js';
export {
  generateDirectory,
  writeDirectoryCsv,
  writeDirectoryJson,
  type GenerateOptions,
} from './generate.js';
export { escapeRdnValue } from './ldap-load.js';
export {
  loadIntoLdap,
  type LdapTarget,
  type LoadIntoLdapOptions,
  type LoadIntoLdapResult,
} from './ldap-load.js';

export type SourceConfig = FileSourceConfig | LdapSourceConfig;

const FILE_KEYS = new Set(['type', 'path']);
const LDAP_KEYS = new Set([
  'type',
  'url',
  'bindDN',
  'bindPassword',
  'bindPasswordEnv',
  'baseDN',
  'userFilter',
  'groupFilter',
  'idAttribute',
  'memberAttribute',
  'assignmentGroupDNs',
  'disabledFilter',
  'pageSize',
  'timeoutMs',
]);

function fail(field: string, what: string): never {
  throw new Error(`source.${field}: ${what}`);
}

function optionalString(o: Record<string, unknown>, field: string): void {
  const v = o[field];
  if (v !== undefined && (typeof v !== 'string' || v.trim() === ''))
    fail(field, 'must be a non-empty string');
}

function requiredString(o: Record<string, unknown>, field: string): void {
  if (o[field] === undefined) fail(field, 'is required');
  optionalString(o, field);
}

function filterString(o: Record<string, unknown>, field: string): void {
  optionalString(o, field);
  const v = o[field];
  if (typeof v !== 'string') return;
  // A cheap balance check catches the usual copy-paste mistake; the server reports anything subtler.
  let depth = 0;
  for (const c of v.replace(/\\./g, '')) {
    if (c === '(') depth++;
    else if (c === ')' && --depth < 0) break;
  }
  if (depth !== 0) fail(field, `unbalanced parentheses in LDAP filter ${JSON.stringify(v)}`);
}

/** Checks a parsed config value (from YAML/JSON) and returns it typed; errors name the bad field. */
export function validateSourceConfig(value: unknown): SourceConfig {
  if (!isRecord(value)) throw new Error('source: must be an object with a "type" of "file" or "ldap"');
  const unknownKey = (allowed: Set<string>): void => {
    for (const k of Object.keys(value))
      if (!allowed.has(k)) fail(k, `unknown setting for a ${String(value.type)} source`);
  };
  if (value.type === 'file') {
    unknownKey(FILE_KEYS);
    requiredString(value, 'path');
    return { type: 'file', path: value.path as string };
  }
  if (value.type === 'ldap') {
    unknownKey(LDAP_KEYS);
    requiredString(value, 'url');
    if (!/^ldaps?:\/\/[^/\s]+\/?$/i.test(value.url as string))
      fail('url', 'must look like ldap://host:389 or ldaps://host:636');
    requiredString(value, 'baseDN');
    for (const f of ['bindDN', 'bindPasswordEnv', 'idAttribute', 'memberAttribute']) optionalString(value, f);
    if (value.bindPassword !== undefined && typeof value.bindPassword !== 'string')
      fail('bindPassword', 'must be a string');
    if (value.bindPassword !== undefined && value.bindPasswordEnv !== undefined) {
      fail('bindPasswordEnv', 'set either bindPassword or bindPasswordEnv, not both');
    }
    if (
      value.bindDN === undefined &&
      (value.bindPassword !== undefined || value.bindPasswordEnv !== undefined)
    ) {
      fail('bindDN', 'is required when a bind password is given');
    }
    for (const f of ['userFilter', 'groupFilter', 'disabledFilter']) filterString(value, f);
    const dns = value.assignmentGroupDNs;
    if (dns !== undefined) {
      if (!Array.isArray(dns)) fail('assignmentGroupDNs', 'must be an array of DNs');
      dns.forEach((dn, i) => {
        if (typeof dn !== 'string' || !dn.includes('='))
          fail(`assignmentGroupDNs[${i}]`, 'must be a DN such as cn=app-users,ou=groups,dc=example,dc=org');
      });
    }
    for (const [f, max] of [
      ['pageSize', 10_000],
      ['timeoutMs', 3_600_000],
    ] as const) {
      const v = value[f];
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max))
        fail(f, `must be an integer from 1 to ${max}`);
    }
    const out: Record<string, unknown> = {};
    for (const k of LDAP_KEYS)
      if (value[k] !== undefined) out[k] = Array.isArray(value[k]) ? [...(value[k] as unknown[])] : value[k];
    return out as unknown as LdapSourceConfig;
  }
  return fail('type', `must be "file" or "ldap" (got ${JSON.stringify(value.type)})`);
}

export function createSource(
  config: SourceConfig,
  opts: { baseDir?: string; env?: SecretSource } = {},
): Source {
  switch (config.type) {
    case 'file':
      return new FileSource(config, opts);
    case 'ldap':
      return new LdapSource(config, opts);
  }
}
