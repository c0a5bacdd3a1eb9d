/**
 * Secrets of a job (the target's Secret Token, an LDAP bind password, the SMTP password): a job definition names an
 * environment variable that holds one, or, when stored on the server, may carry it encrypted at rest with the
 * deployment's ENGINE_SECRET_KEY (AES-256-GCM). A stored definition never holds a secret in clear.
 *
 * The ciphertext is bound to its job and field (the additional authenticated data), so an encrypted token copied
 * into another job, or into another field, does not decrypt.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ConfigError } from './config-error.js';

/** Where a job's `…Env` names are looked up: a map (tests, the CLI's environment) or a function (config.ts). */
export type SecretSource =
  Readonly<Record<string, string | undefined>> | ((name: string) => string | undefined);

export function readSecret(source: SecretSource | undefined, name: string): string | undefined {
  if (!source) return undefined;
  const v = typeof source === 'function' ? source(name) : source[name];
  return v === '' ? undefined : v;
}

/**
 * Environment variables a job stored on the server may name. The server's own settings (ADMIN_TOKEN, DATABASE_URL,
 * ENGINE_SECRET_KEY…) live in the same environment: whoever may write a job must not be able to make the engine
 * send one of them to a URL of their choosing, so stored jobs see only variables set aside for them.
 */
export const STORED_JOB_ENV_PREFIX = 'JOYN_SYNC_';

/** Fields of a job definition that hold a secret in clear (before sealing) — [object, field]. */
export const SECRET_FIELDS: readonly (readonly [string, string])[] = [
  ['target', 'token'],
  ['source', 'bindPassword'],
];

/** Fields that name an environment variable holding a secret — [path…]. */
export const SECRET_ENV_FIELDS: readonly (readonly string[])[] = [
  ['target', 'tokenEnv'],
  ['target', 'oauth', 'clientSecretEnv'],
  ['source', 'bindPasswordEnv'],
  ['notifications', 'smtp', 'passwordEnv'],
];

const VERSION = 'v1';

export interface SealedSecret {
  encrypted: string;
}

export const isSealed = (v: unknown): v is SealedSecret =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  Object.keys(v).length === 1 &&
  typeof (v as SealedSecret).encrypted === 'string';

const aad = (job: string, field: string): Buffer => Buffer.from(`joyn-scim job ${job} ${field}`, 'utf8');

export function seal(plain: string, key: Buffer, job: string, field: string): SealedSecret {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad(job, field));
  const body = Buffer.concat([c.update(plain, 'utf8'), c.final(), c.getAuthTag()]);
  return { encrypted: `${VERSION}.${iv.toString('base64url')}.${body.toString('base64url')}` };
}

export function unseal(s: SealedSecret, key: Buffer | undefined, job: string, field: string): string {
  if (!key)
    throw new ConfigError(
      field,
      'is stored encrypted, but ENGINE_SECRET_KEY is not set here: set the key the job was stored with',
    );
  const [version, iv, body] = s.encrypted.split('.');
  if (version !== VERSION || !iv || !body)
    throw new ConfigError(field, `is not an encrypted value this version wrote ('${VERSION}.…')`);
  try {
    const raw = Buffer.from(body, 'base64url');
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    d.setAAD(aad(job, field));
    d.setAuthTag(raw.subarray(raw.length - 16));
    return Buffer.concat([d.update(raw.subarray(0, raw.length - 16)), d.final()]).toString('utf8');
  } catch {
    throw new ConfigError(
      field,
      'cannot be decrypted with this ENGINE_SECRET_KEY (another key, or the value belongs to another job or field)',
    );
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function cloneJson<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/**
 * The definition as it is stored: every secret in clear encrypted (refused without a key), every encrypted one
 * checked to decrypt (so `jobs show` output can be edited and stored again), every `…Env` name checked against
 * STORED_JOB_ENV_PREFIX.
 */
export function sealDefinition(raw: Obj, key: Buffer | undefined): Obj {
  const out = cloneJson(raw);
  const job = typeof out.name === 'string' ? out.name : '';
  for (const [o, f] of SECRET_FIELDS) {
    const holder = out[o];
    if (!isObj(holder) || holder[f] === undefined || holder[f] === null) continue;
    const field = `${o}.${f}`;
    const v = holder[f];
    if (isSealed(v)) {
      unseal(v, key, job, field);
      continue;
    }
    if (typeof v !== 'string') throw new ConfigError(field, 'must be a string');
    if (!key)
      throw new ConfigError(
        field,
        `a job stored on the server never holds a secret in clear: name an environment variable of the server in ${o}.${f}Env (${STORED_JOB_ENV_PREFIX}…), or set ENGINE_SECRET_KEY to store it encrypted`,
      );
    holder[f] = seal(v, key, job, field);
  }
  for (const path of SECRET_ENV_FIELDS) {
    let holder: unknown = out;
    for (const k of path.slice(0, -1)) holder = isObj(holder) ? holder[k] : undefined;
    const name = isObj(holder) ? holder[path[path.length - 1]!] : undefined;
    if (typeof name === 'string' && !name.startsWith(STORED_JOB_ENV_PREFIX))
      throw new ConfigError(
        path.join('.'),
        `a job stored on the server may name only environment variables that start with ${STORED_JOB_ENV_PREFIX} (got '${name}'): the server's own settings live in the same environment`,
      );
  }
  return out;
}

/** The definition with its encrypted secrets in clear, for validation and for running it (never stored). */
export function openDefinition(stored: Obj, key: Buffer | undefined): Obj {
  const out = cloneJson(stored);
  const job = typeof out.name === 'string' ? out.name : '';
  for (const [o, f] of SECRET_FIELDS) {
    const holder = out[o];
    if (isObj(holder) && isSealed(holder[f])) holder[f] = unseal(holder[f], key, job, `${o}.${f}`);
  }
  return out;
}
