/** The only reader of process.env. Every setting has a default that works on a fresh machine. */
import { DEFAULT_LIMITS, type Limits } from './service/query.js';

export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  publicUrl: string;
  /** true when PUBLIC_URL was set (otherwise it follows the listening address). */
  publicUrlExplicit: boolean;
  logLevel: string;
  limits: Limits;
  /** Requests per minute per tenant before 429 (0 = no limit). Entra needs ≥ 25 rps per tenant. */
  rateLimitPerMinute: number;
  db: {
    poolSize: number;
    statementTimeoutMs: number;
    ssl: 'disable' | 'require' | 'verify-full' | undefined;
    /** SQLite: memory-mapped read window in MiB (0 = off). */
    sqliteMmapMiB: number;
  };
  /**
   * How long a verified Secret Token is trusted without asking the database again (0 = ask on every request).
   * Revocation still takes effect at once on this instance, and on SQLite at once everywhere (any other
   * connection's commit invalidates the cache); on PostgreSQL other instances notice within this time.
   */
  tokenCacheMs: number;
  /** Token for /admin and /metrics (operator API and console); unset = admin API disabled. */
  adminToken: string | undefined;
  /** Where this service's documentation is published (ServiceProviderConfig documentationUri); unset = omitted. */
  documentationUrl: string | undefined;
}

function int(env: NodeJS.ProcessEnv, name: string, dflt: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got '${v}'`);
  return n;
}

function absoluteHttpUrl(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  let ok = false;
  try {
    ok = ['http:', 'https:'].includes(new URL(v).protocol);
  } catch {
    ok = false;
  }
  if (!ok) throw new Error(`${name} must be an absolute http(s) URL, got '${v}'`);
  return v;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = int(env, 'PORT', 8080);
  const host = env.HOST || '127.0.0.1';
  const ssl = env.DATABASE_SSL as Config['db']['ssl'];
  if (ssl && !['disable', 'require', 'verify-full'].includes(ssl))
    throw new Error(`DATABASE_SSL must be disable, require or verify-full, got '${ssl}'`);
  return {
    port,
    host,
    databaseUrl: env.DATABASE_URL || './data/joyn-scim.db',
    publicUrl: (env.PUBLIC_URL || `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(
      /\/+$/,
      '',
    ),
    publicUrlExplicit: Boolean(env.PUBLIC_URL),
    logLevel: env.LOG_LEVEL || (env.NODE_ENV === 'test' ? 'silent' : 'info'),
    limits: {
      ...DEFAULT_LIMITS,
      maxResults: int(env, 'MAX_RESULTS', DEFAULT_LIMITS.maxResults),
      maxPayloadSize: int(env, 'MAX_PAYLOAD_BYTES', DEFAULT_LIMITS.maxPayloadSize),
    },
    rateLimitPerMinute: int(env, 'RATE_LIMIT_PER_MINUTE', 6000),
    db: {
      poolSize: int(env, 'DATABASE_POOL_SIZE', 10),
      statementTimeoutMs: int(env, 'DATABASE_STATEMENT_TIMEOUT_MS', 30000),
      ssl,
      sqliteMmapMiB: int(env, 'SQLITE_MMAP_MB', 2047),
    },
    tokenCacheMs: int(env, 'TOKEN_CACHE_SECONDS', 5) * 1000,
    adminToken: env.ADMIN_TOKEN || undefined,
    documentationUrl: absoluteHttpUrl(env, 'DOCUMENTATION_URL'),
  };
}
