/**
 * Job configuration: one job = one JSON or YAML file, validated with errors that name the field
 * (`mappings.users[3].target: unknown SCIM attribute 'emial'`). Defaults follow Entra where it has one
 * (entra-provisioning-engine.md §1.3 interval, §6 target actions, §10/§11 deletion threshold 500).
 */
import { ClientCredentials, type BearerToken } from './oauth-token.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { validateScoping } from './scoping.js';
import { validateSourceConfig, type SourceConfig } from './source/index.js';
import type { ScopingFilters } from './types.js';
import { DEFAULT_GROUP_MAPPINGS, DEFAULT_USER_MAPPINGS } from './default-mapping.js';
import { compileMappings } from './mapping.js';
import { ConfigError } from './config-error.js';
import { readSecret, type SecretSource } from './secrets.js';

export { ConfigError };

export interface AttributeMappingConfig {
  type: 'Direct' | 'Constant' | 'Expression' | 'None';
  /** Source attribute (Direct, and None when it only supplies a default). */
  source?: string;
  expression?: string;
  constant?: string;
  /** SCIM attribute path in the target. */
  target: string;
  /** Sent only when the object is created and the source value is null (§3.1). */
  default?: string;
  apply: 'Always' | 'OnCreate';
  /** Matching precedence: 1 is tried first; absent = not a matching attribute (§5). */
  matching?: number;
}

export interface TargetConfig {
  /**
   * The Tenant URL. Empty for a job that targets a tenant of this deployment by name (`tenant`): the URL and the
   * engine's own credential are filled in when the job runs (resolveTarget in engine/tenant-target.ts).
   */
  tenantUrl: string;
  /** A tenant of this deployment, by name or id, instead of tenantUrl + token. */
  tenant?: string;
  token?: string;
  tokenEnv?: string;
  /** OAuth 2.0 client credentials instead of a Secret Token (the secret is read from `clientSecretEnv`). */
  oauth?: { tokenEndpoint: string; clientId: string; clientSecretEnv: string };
  dialect: 'legacy' | 'compliant';
  concurrency: number;
  timeoutMs: number;
  /** Attempts per request for 429/5xx/timeouts before the object fails (includes the first). */
  maxAttempts: number;
  /**
   * Matching values asked for in one `or` query when a cycle has many unmatched objects (match-batch.ts);
   * 0 = one `eq` query per object, as Entra sends them.
   */
  matchBatch: number;
}

export interface JobConfig {
  name: string;
  source: SourceConfig;
  target: TargetConfig;
  scope: 'assigned' | 'all';
  scopingFilters: { users: ScopingFilters; groups: ScopingFilters };
  provisionGroups: boolean;
  mappings: { users: readonly AttributeMappingConfig[]; groups: readonly AttributeMappingConfig[] };
  targetActions: { create: boolean; update: boolean; delete: boolean };
  skipOutOfScopeDeletions: boolean;
  deletionThreshold: number;
  intervalMinutes: number;
  /** Who gets this job's e-mail (quarantine, deletions held back); sent through the deployment's SMTP_* server. */
  notifications?: { to: string[] };
  logRetentionDays: number;
  /** Directory of the configuration file (relative source paths resolve against it). */
  baseDir: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const join = (p: string, k: string): string => (p ? `${p}.${k}` : k);

function obj(v: unknown, field: string): Obj {
  if (!isObj(v)) throw new ConfigError(field, 'must be an object');
  return v;
}
function onlyKeys(o: Obj, field: string, keys: readonly string[]): void {
  for (const k of Object.keys(o))
    if (!keys.includes(k))
      throw new ConfigError(join(field, k), `unknown field (expected one of ${keys.join(', ')})`);
}
function str(o: Obj, k: string, field: string): string | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ConfigError(join(field, k), 'must be a string');
  return v;
}
function reqStr(o: Obj, k: string, field: string): string {
  const v = str(o, k, field);
  if (v === undefined || v.trim() === '') throw new ConfigError(join(field, k), 'is required');
  return v;
}
function bool(o: Obj, k: string, field: string, dflt: boolean): boolean {
  const v = o[k];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw new ConfigError(join(field, k), 'must be true or false');
  return v;
}
function int(o: Obj, k: string, field: string, dflt: number, min: number): number {
  const v = o[k];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new ConfigError(join(field, k), `must be an integer ≥ ${min}`);
  return v;
}
function oneOf<T extends string>(o: Obj, k: string, field: string, values: readonly T[], dflt: T): T {
  const v = o[k];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string' || !values.includes(v as T))
    throw new ConfigError(join(field, k), `must be one of ${values.map((x) => `'${x}'`).join(', ')}`);
  return v as T;
}

function validateMapping(v: unknown, field: string): AttributeMappingConfig {
  const o = obj(v, field);
  onlyKeys(o, field, ['type', 'source', 'expression', 'constant', 'target', 'default', 'apply', 'matching']);
  const type = oneOf(o, 'type', field, ['Direct', 'Constant', 'Expression', 'None'] as const, 'Direct');
  const m: AttributeMappingConfig = {
    type,
    target: reqStr(o, 'target', field),
    apply: oneOf(o, 'apply', field, ['Always', 'OnCreate'] as const, 'Always'),
  };
  const source = str(o, 'source', field);
  const expression = str(o, 'expression', field);
  const constant = str(o, 'constant', field);
  const dflt = str(o, 'default', field);
  if (type === 'Direct' && !source)
    throw new ConfigError(join(field, 'source'), 'is required for a Direct mapping');
  if (type === 'Expression' && !expression)
    throw new ConfigError(join(field, 'expression'), 'is required for an Expression mapping');
  if (type === 'Constant' && constant === undefined)
    throw new ConfigError(join(field, 'constant'), 'is required for a Constant mapping');
  if (source !== undefined) m.source = source;
  if (expression !== undefined) m.expression = expression;
  if (constant !== undefined) m.constant = constant;
  if (dflt !== undefined) m.default = dflt;
  if (o.matching !== undefined) m.matching = int(o, 'matching', field, 0, 1);
  return m;
}

function validateMappingList(
  v: unknown,
  field: string,
  dflt: readonly AttributeMappingConfig[],
): readonly AttributeMappingConfig[] {
  if (v === undefined || v === null) return dflt;
  if (!Array.isArray(v)) throw new ConfigError(field, 'must be a list of mappings');
  return v.map((m, i) => validateMapping(m, `${field}[${i}]`));
}

/**
 * Validates a parsed configuration object. `baseDir` is where relative paths resolve.
 * Throws ConfigError naming the first bad field.
 */
export function validateJobConfig(value: unknown, baseDir: string): JobConfig {
  const o = obj(value, '');
  onlyKeys(o, '', [
    'name',
    'source',
    'target',
    'scope',
    'scopingFilters',
    'provisionGroups',
    'mappings',
    'targetActions',
    'skipOutOfScopeDeletions',
    'deletionThreshold',
    'intervalMinutes',
    'notifications',
    'logRetentionDays',
    // A stored job's schedule switch (`sync jobs`); a job file run with `sync run --config` ignores it.
    'enabled',
  ]);
  bool(o, 'enabled', '', true);
  const name = reqStr(o, 'name', '');
  if (!/^[\w.-]{1,100}$/.test(name))
    throw new ConfigError('name', 'use letters, digits, ".", "_" or "-" (at most 100)');

  let source: SourceConfig;
  try {
    source = validateSourceConfig(o.source);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new ConfigError(msg.startsWith('source') ? '' : 'source', msg);
  }

  const t = obj(o.target, 'target');
  onlyKeys(t, 'target', [
    'tenantUrl',
    'tenant',
    'token',
    'tokenEnv',
    'oauth',
    'dialect',
    'concurrency',
    'timeoutMs',
    'maxAttempts',
    'matchBatch',
  ]);
  const tenant = str(t, 'tenant', 'target');
  const token = str(t, 'token', 'target');
  const tokenEnv = str(t, 'tokenEnv', 'target');
  const oauth = t.oauth === undefined ? undefined : targetOAuth(obj(t.oauth, 'target.oauth'));
  let tenantUrl = '';
  if (tenant !== undefined) {
    // A tenant of this deployment: the engine issues itself a credential for it (docs/engine.md "Jobs in the server").
    if (tenant.trim() === '') throw new ConfigError('target.tenant', 'must name a tenant of this deployment');
    for (const k of ['tenantUrl', 'token', 'tokenEnv', 'oauth'] as const)
      if (t[k] !== undefined)
        throw new ConfigError(
          `target.${k}`,
          "not with target.tenant: a job that targets a tenant of this deployment uses the engine's own credential",
        );
  } else {
    tenantUrl = reqStr(t, 'tenantUrl', 'target');
    try {
      const u = new URL(tenantUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    } catch {
      throw new ConfigError('target.tenantUrl', `'${tenantUrl}' is not an http(s) URL`);
    }
    if (!token && !tokenEnv && !oauth)
      throw new ConfigError(
        'target.token',
        'set target.token or target.tokenEnv (the name of an environment variable holding it), target.oauth, or target.tenant for a tenant of this deployment',
      );
    if (oauth && (token || tokenEnv))
      throw new ConfigError(
        'target.oauth',
        'use either target.oauth or a Secret Token (token/tokenEnv), not both',
      );
  }
  const target: TargetConfig = {
    tenantUrl,
    dialect: oneOf(t, 'dialect', 'target', ['legacy', 'compliant'] as const, 'legacy'),
    concurrency: int(t, 'concurrency', 'target', 4, 1),
    timeoutMs: int(t, 'timeoutMs', 'target', 30_000, 1),
    maxAttempts: int(t, 'maxAttempts', 'target', 4, 1),
    matchBatch: int(t, 'matchBatch', 'target', 50, 0),
  };
  if (target.matchBatch > 100)
    throw new ConfigError(
      'target.matchBatch',
      'must be at most 100 (values per query; 0 turns batching off)',
    );
  if (tenant !== undefined) target.tenant = tenant.trim();
  if (token) target.token = token;
  if (tokenEnv) target.tokenEnv = tokenEnv;
  if (oauth) target.oauth = oauth;

  const sf = o.scopingFilters === undefined ? {} : obj(o.scopingFilters, 'scopingFilters');
  onlyKeys(sf, 'scopingFilters', ['users', 'groups']);
  const scoping = (k: 'users' | 'groups'): ScopingFilters => {
    if (sf[k] === undefined) return [];
    try {
      return validateScoping(sf[k]);
    } catch (e) {
      throw new ConfigError(`scopingFilters.${k}`, e instanceof Error ? e.message : String(e));
    }
  };

  const mp = o.mappings === undefined ? {} : obj(o.mappings, 'mappings');
  onlyKeys(mp, 'mappings', ['users', 'groups']);
  const mappings = {
    users: validateMappingList(mp.users, 'mappings.users', DEFAULT_USER_MAPPINGS),
    groups: validateMappingList(mp.groups, 'mappings.groups', DEFAULT_GROUP_MAPPINGS),
  };
  // Compiling resolves every target path and expression: errors name the mapping (`mappings.users[3].target`).
  compileMappings('User', mappings.users, 'mappings.users');
  compileMappings('Group', mappings.groups, 'mappings.groups');

  const ta = o.targetActions === undefined ? {} : obj(o.targetActions, 'targetActions');
  onlyKeys(ta, 'targetActions', ['create', 'update', 'delete']);

  let notifications: JobConfig['notifications'];
  if (o.notifications !== undefined && o.notifications !== null) {
    const n = obj(o.notifications, 'notifications');
    // One SMTP server per deployment, for every notice (README "Configuration"): a job names only its recipients.
    if (n.smtp !== undefined)
      throw new ConfigError(
        'notifications.smtp',
        "the SMTP server is the deployment's: set SMTP_HOST, SMTP_PORT, SMTP_USER and SMTP_PASSWORD in the environment",
      );
    if (n.from !== undefined)
      throw new ConfigError('notifications.from', 'the sender is the deployment’s: set NOTIFY_EMAIL_FROM');
    onlyKeys(n, 'notifications', ['to']);
    const to = n.to;
    if (!Array.isArray(to) || to.length === 0 || !to.every((x) => typeof x === 'string' && x.includes('@')))
      throw new ConfigError('notifications.to', 'must be a non-empty list of e-mail addresses');
    notifications = { to: to as string[] };
  }

  const cfg: JobConfig = {
    name,
    source,
    target,
    scope: oneOf(o, 'scope', '', ['assigned', 'all'] as const, 'assigned'),
    scopingFilters: { users: scoping('users'), groups: scoping('groups') },
    provisionGroups: bool(o, 'provisionGroups', '', true),
    mappings,
    targetActions: {
      create: bool(ta, 'create', 'targetActions', true),
      update: bool(ta, 'update', 'targetActions', true),
      delete: bool(ta, 'delete', 'targetActions', true),
    },
    skipOutOfScopeDeletions: bool(o, 'skipOutOfScopeDeletions', '', false),
    deletionThreshold: int(o, 'deletionThreshold', '', 500, 0),
    intervalMinutes: int(o, 'intervalMinutes', '', 40, 1),
    logRetentionDays: int(o, 'logRetentionDays', '', 30, 1),
    baseDir,
  };
  if (notifications) cfg.notifications = notifications;
  return cfg;
}

/** Reads a job file (`.yaml`/`.yml` as YAML, anything else as JSON, falling back to YAML). */
export function loadJobConfig(path: string): JobConfig {
  const abs = resolve(path);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new ConfigError('', `cannot read ${abs}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = /\.ya?ml$/i.test(abs) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new ConfigError(
      '',
      `${abs} is not valid ${/\.ya?ml$/i.test(abs) ? 'YAML' : 'JSON'}: ${(e as Error).message}`,
    );
  }
  return validateJobConfig(parsed, dirname(abs));
}

/** `target.oauth`: a token endpoint, a client id and the environment variable holding the client secret. */
function targetOAuth(o: Record<string, unknown>): NonNullable<TargetConfig['oauth']> {
  onlyKeys(o, 'target.oauth', ['tokenEndpoint', 'clientId', 'clientSecretEnv']);
  const tokenEndpoint = reqStr(o, 'tokenEndpoint', 'target.oauth');
  if (!/^https?:\/\//i.test(tokenEndpoint))
    throw new ConfigError('target.oauth.tokenEndpoint', `'${tokenEndpoint}' is not an http(s) URL`);
  return {
    tokenEndpoint,
    clientId: reqStr(o, 'clientId', 'target.oauth'),
    clientSecretEnv: reqStr(o, 'clientSecretEnv', 'target.oauth'),
  };
}

/**
 * The target's credential: the Secret Token (from the file or the named environment variable), or, with
 * `target.oauth`, a source of access tokens obtained with the client credentials grant and renewed before they
 * expire. Never logged.
 */
export function resolveToken(cfg: JobConfig, env: SecretSource): BearerToken {
  if (cfg.target.tenant)
    throw new ConfigError(
      'target.tenant',
      `the job targets tenant '${cfg.target.tenant}' of this deployment: its credential comes from the server`,
    );
  if (cfg.target.oauth) {
    const { tokenEndpoint, clientId, clientSecretEnv } = cfg.target.oauth;
    const clientSecret = readSecret(env, clientSecretEnv);
    if (!clientSecret)
      throw new ConfigError(
        'target.oauth.clientSecretEnv',
        `environment variable ${clientSecretEnv} is not set`,
      );
    const cc = new ClientCredentials({ tokenEndpoint, clientId, clientSecret });
    return () => cc.token();
  }
  if (cfg.target.token) return cfg.target.token;
  const name = cfg.target.tokenEnv ?? '';
  const v = readSecret(env, name);
  if (!v) throw new ConfigError('target.tokenEnv', `environment variable ${name} is not set`);
  return v;
}

/**
 * Hash of what decides who is in scope and what flows (§1.2: "changing mappings forces all managed objects to
 * be re-evaluated"): a change clears the watermark so the next cycle is an initial one.
 */
export function scopeHash(cfg: JobConfig): string {
  const relevant = {
    scope: cfg.scope,
    scopingFilters: cfg.scopingFilters,
    mappings: cfg.mappings,
    provisionGroups: cfg.provisionGroups,
  };
  return createHash('sha256').update(JSON.stringify(relevant)).digest('hex').slice(0, 16);
}
