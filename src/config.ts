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
    /** How long a write waits for its turn (another process's SQLite write lock, PostgreSQL retries) before 503. */
    busyWaitMs: number;
    /** PostgreSQL: how long to wait for a connection before the store counts as unavailable (503). */
    connectTimeoutMs: number;
  };
  /**
   * How long a verified Secret Token is trusted without asking the database again (0 = ask on every request).
   * Revocation still takes effect at once on this instance, and on SQLite at once everywhere (any other
   * connection's commit invalidates the cache); on PostgreSQL other instances notice within this time.
   */
  tokenCacheMs: number;
  /**
   * Bootstrap and automation key for the admin API (Bearer, acts as an admin) and /metrics. The console signs in
   * with operator accounts (`joyn-scim operators`); /admin is served when this is set or an account exists.
   */
  adminToken: string | undefined;
  /** The provisioning engine as the console sees it (docs/console.md "Engine"). */
  consoleEngine: {
    /**
     * Job files (SYNC_JOB_FILES, comma-separated) whose jobs the console may provision on demand: the server needs a
     * job's configuration for that, and today it lives in the file `joyn-scim sync run --config` reads.
     */
    jobFiles: string[];
    /** The environment those files name their secrets in (target.tokenEnv, source passwordEnv). */
    env: Readonly<Record<string, string | undefined>>;
  };
  /** Operator console sessions (docs/console.md "Operator accounts"). */
  console: {
    /** A session unused this long ends (ADMIN_SESSION_IDLE_MINUTES, default 30). */
    sessionIdleMs: number;
    /** A session ends this long after sign-in, used or not (ADMIN_SESSION_MAX_HOURS, default 12). */
    sessionMaxMs: number;
  };
  /** Directory events (docs/events.md). */
  events: {
    /** Write an event with every change (EVENTS_ENABLED, default true). */
    enabled: boolean;
    /** Events older than this many days are pruned (EVENTS_RETENTION_DAYS, default 30). */
    retentionDays: number;
  };
  /** Webhook delivery (docs/events.md "Webhooks"); see webhooksConfig below. */
  webhooks: WebhooksConfig;
  /**
   * How this deployment sends e-mail (SMTP_*, NOTIFY_EMAIL_*), for everything that does: a webhook endpoint
   * disabled after failing, an engine job quarantined or holding deletions back. Unset: such notices are only logged.
   */
  mail: MailConfig | undefined;
  /** What a client must do within bounded size and time (docs/security.md "Limits"). */
  http: {
    /** Longest request URL (path and query) accepted; past it 414 and "use POST /.search". */
    maxUrlBytes: number;
    /** The whole header block a request may send: URL plus HEADER_ALLOWANCE_BYTES for headers. */
    maxHeaderBytes: number;
    /** Time a client has to send the request line and headers (slow-header clients get 408). */
    headersTimeoutMs: number;
    /** Time a client has to send the whole request, body included (slow-body clients get 408). */
    requestTimeoutMs: number;
  };
  /** Built-in HTTPS: PEM files read at start and again on SIGHUP; unset = plain HTTP (TLS at a proxy). */
  tls: { certFile: string; keyFile: string } | undefined;
  /** Where this service's documentation is published (ServiceProviderConfig documentationUri); unset = omitted. */
  documentationUrl: string | undefined;
  /** The provisioning engine inside the server and the `sync` CLI (docs/engine.md). */
  engine: EngineSettings;
  /** The Secret Token `joyn-scim check` uses when --token is not given (JOYN_SCIM_TOKEN). */
  cliToken: string | undefined;
  /** Self-serve connection: OAuth client credentials, connection state, setup links (docs/setup.md). */
  setup: SetupConfig;
}

export interface SetupConfig {
  /** Lifetime of an OAuth access token (OAUTH_TOKEN_LIFETIME_MINUTES, 60-360: Microsoft's gallery range). */
  accessTokenLifetimeMs: number;
  /** Token requests per minute per client address before 429 (OAUTH_TOKEN_RATE_PER_MINUTE; 0 = off). */
  tokenRatePerMinute: number;
  /** No request for this long → `idle` (CONNECTION_IDLE_MINUTES, default 80: two Entra cycles of 40 minutes). */
  idleAfterMs: number;
  /** How long a setup link works when the operator names no expiry (SETUP_LINK_HOURS, default 24). */
  linkLifetimeMs: number;
}

function setupConfig(env: NodeJS.ProcessEnv): SetupConfig {
  const lifetime = int(env, 'OAUTH_TOKEN_LIFETIME_MINUTES', 60);
  // Microsoft's checklist for gallery apps: access tokens valid for 60 to 360 minutes (entra-scim-client.md §0).
  if (lifetime < 60 || lifetime > 360)
    throw new Error(`OAUTH_TOKEN_LIFETIME_MINUTES must be from 60 to 360, got '${lifetime}'`);
  const hours = positive(env, 'SETUP_LINK_HOURS', 24);
  if (hours > 168) throw new Error(`SETUP_LINK_HOURS must be at most 168 (a week), got '${hours}'`);
  return {
    accessTokenLifetimeMs: lifetime * 60_000,
    tokenRatePerMinute: int(env, 'OAUTH_TOKEN_RATE_PER_MINUTE', 60),
    idleAfterMs: positive(env, 'CONNECTION_IDLE_MINUTES', 80) * 60_000,
    linkLifetimeMs: hours * 3_600_000,
  };
}

export interface WebhooksConfig {
  /** Run the delivery workers in this process (WEBHOOKS_ENABLED, default true; off too when EVENTS_ENABLED=false). */
  enabled: boolean;
  /** How often an idle worker looks for new events and due deliveries. */
  pollMs: number;
  /** Attempts in flight at once per process. */
  concurrency: number;
  /** One attempt's whole exchange with the receiver (resolve, connect, send, answer). */
  timeoutMs: number;
  /** How long a claimed delivery stays reserved for its instance (longer than timeoutMs: a dead one's expire). */
  leaseMs: number;
  /** Failed deliveries are retried this long; an endpoint failing this long is disabled (default 72 h). */
  retryWindowMs: number;
  /** Encrypts endpoint secrets at rest (any string of 32+ characters); unset = stored unencrypted. */
  secretKey: string | undefined;
  /** Receivers on loopback and private networks (default false; link-local/metadata addresses never). */
  allowPrivateNetworks: boolean;
  /** Default overlap of `webhooks rotate-secret`: both secrets sign meanwhile. */
  rotationOverlapMs: number;
}

/** The SMTP server (SMTP_HOST, SMTP_PORT, SMTP_SECURE, SMTP_USER, SMTP_PASSWORD). */
export interface SmtpSettings {
  host: string;
  port: number;
  /** TLS from the start; unset: true on port 465, otherwise STARTTLS when the server offers it. */
  secure?: boolean;
  user?: string;
  password?: string;
}

export interface MailConfig {
  smtp: SmtpSettings;
  /** The sender of every mail (NOTIFY_EMAIL_FROM). */
  from: string;
  /** The operators' addresses (NOTIFY_EMAIL_TO); an engine job file may name its own (notifications.to). */
  to: string[];
}

function webhooksConfig(env: NodeJS.ProcessEnv): WebhooksConfig {
  const timeoutMs = positive(env, 'WEBHOOKS_TIMEOUT_MS', 10_000, 100);
  const leaseMs = positive(env, 'WEBHOOKS_LEASE_MS', timeoutMs + 30_000, 1000);
  if (leaseMs <= timeoutMs)
    throw new Error(
      `WEBHOOKS_LEASE_MS (${leaseMs}) must exceed WEBHOOKS_TIMEOUT_MS (${timeoutMs}): a delivery still in flight must keep its lease`,
    );
  const secretKey = env.WEBHOOKS_SECRET_KEY || undefined;
  if (secretKey !== undefined && secretKey.length < 32)
    throw new Error('WEBHOOKS_SECRET_KEY must be at least 32 characters (e.g. `openssl rand -base64 32`)');
  return {
    enabled: bool(env, 'WEBHOOKS_ENABLED', true),
    pollMs: positive(env, 'WEBHOOKS_POLL_MS', 250, 10),
    concurrency: positive(env, 'WEBHOOKS_CONCURRENCY', 16),
    timeoutMs,
    leaseMs,
    retryWindowMs: positive(env, 'WEBHOOKS_RETRY_HOURS', 72) * 3_600_000,
    secretKey,
    allowPrivateNetworks: bool(env, 'WEBHOOKS_ALLOW_PRIVATE', false),
    rotationOverlapMs: int(env, 'WEBHOOKS_OVERLAP_HOURS', 24) * 3_600_000,
  };
}

function mailConfig(env: NodeJS.ProcessEnv): MailConfig | undefined {
  const host = env.SMTP_HOST || undefined;
  const to = (env.NOTIFY_EMAIL_TO ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  // SMTP_HOST alone is enough when only engine job files name recipients; addresses without a server are a mistake.
  if (!host) {
    if (to.length) throw new Error('NOTIFY_EMAIL_TO needs SMTP_HOST (the server that sends the mail)');
    return undefined;
  }
  const port = positive(env, 'SMTP_PORT', 587);
  const secure =
    env.SMTP_SECURE === undefined || env.SMTP_SECURE === '' ? undefined : bool(env, 'SMTP_SECURE', false);
  return {
    smtp: {
      host,
      port,
      ...(secure !== undefined ? { secure } : {}),
      ...(env.SMTP_USER ? { user: env.SMTP_USER, password: env.SMTP_PASSWORD ?? '' } : {}),
    },
    from: env.NOTIFY_EMAIL_FROM || `joyn-scim <joyn-scim@${host}>`,
    to,
  };
}

export interface EngineSettings {
  /** `npm start` runs every enabled stored job on its interval (ENGINE_SCHEDULER_ENABLED, default true). */
  schedulerEnabled: boolean;
  /** Cycles this instance runs at once, over all jobs (ENGINE_MAX_CONCURRENT_CYCLES, default 2). */
  maxConcurrentCycles: number;
  /** A job's lease: another instance takes the job over this long after the last heartbeat (ENGINE_LEASE_SECONDS). */
  leaseMs: number;
  /** How often the scheduler looks for due jobs (ENGINE_POLL_MS, default 15000). */
  pollMs: number;
  /** AES-256-GCM key for secrets stored in job definitions (ENGINE_SECRET_KEY: 32 bytes, base64 or hex). */
  secretKey: Buffer | undefined;
  /**
   * The value of an environment variable a job names for a secret (target.tokenEnv, source.bindPasswordEnv,
   * notifications.smtp.passwordEnv). Jobs read their secrets through here so this file stays the only reader.
   */
  environmentSecret(name: string): string | undefined;
}

/** ENGINE_SECRET_KEY: 32 bytes written as 64 hex digits or as base64 (44 characters). */
function secretKey(env: NodeJS.ProcessEnv): Buffer | undefined {
  const v = env.ENGINE_SECRET_KEY?.trim();
  if (!v) return undefined;
  const key = /^[0-9a-f]{64}$/i.test(v) ? Buffer.from(v, 'hex') : Buffer.from(v, 'base64');
  if (key.length !== 32)
    throw new Error(
      'ENGINE_SECRET_KEY must be 32 random bytes as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)',
    );
  return key;
}

function engineSettings(env: NodeJS.ProcessEnv): EngineSettings {
  return {
    schedulerEnabled: bool(env, 'ENGINE_SCHEDULER_ENABLED', true),
    maxConcurrentCycles: positive(env, 'ENGINE_MAX_CONCURRENT_CYCLES', 2),
    leaseMs: positive(env, 'ENGINE_LEASE_SECONDS', 60, 2) * 1000,
    pollMs: positive(env, 'ENGINE_POLL_MS', 15_000, 50),
    secretKey: secretKey(env),
    environmentSecret: (name) => env[name] || undefined,
  };
}

function bool(env: NodeJS.ProcessEnv, name: string, dflt: boolean): boolean {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  if (/^(true|1|on|yes)$/i.test(v)) return true;
  if (/^(false|0|off|no)$/i.test(v)) return false;
  throw new Error(`${name} must be true or false, got '${v}'`);
}

/** Room for the headers beside the URL: Node's own default limit for the whole header block. */
export const HEADER_ALLOWANCE_BYTES = 16 * 1024;

function int(env: NodeJS.ProcessEnv, name: string, dflt: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got '${v}'`);
  return n;
}

function positive(env: NodeJS.ProcessEnv, name: string, dflt: number, min = 1): number {
  const n = int(env, name, dflt);
  if (n < min) throw new Error(`${name} must be at least ${min}, got '${env[name]}'`);
  return n;
}

function tlsFiles(env: NodeJS.ProcessEnv): Config['tls'] {
  const certFile = env.TLS_CERT || undefined;
  const keyFile = env.TLS_KEY || undefined;
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile)
    throw new Error('TLS_CERT and TLS_KEY go together: set both (PEM file paths) or neither');
  return { certFile, keyFile };
}

function httpLimits(env: NodeJS.ProcessEnv): Config['http'] {
  // 64 KiB of URL holds the longest filter the server accepts (maxFilterLength characters) even when every
  // character is percent-encoded UTF-8 (up to 9 bytes each), with room for the other query parameters.
  const maxUrlBytes = positive(env, 'MAX_URL_BYTES', 64 * 1024, 8 * 1024);
  const headersTimeoutMs = positive(env, 'HEADERS_TIMEOUT_MS', 30_000, 100);
  const requestTimeoutMs = positive(env, 'REQUEST_TIMEOUT_MS', 60_000, 100);
  // Node refuses a header timeout longer than the request timeout (the headers are part of the request).
  if (headersTimeoutMs > requestTimeoutMs)
    throw new Error(
      `HEADERS_TIMEOUT_MS (${headersTimeoutMs}) must not exceed REQUEST_TIMEOUT_MS (${requestTimeoutMs})`,
    );
  return {
    maxUrlBytes,
    maxHeaderBytes: maxUrlBytes + HEADER_ALLOWANCE_BYTES,
    headersTimeoutMs,
    requestTimeoutMs,
  };
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
  const tls = tlsFiles(env);
  const ssl = env.DATABASE_SSL as Config['db']['ssl'];
  if (ssl && !['disable', 'require', 'verify-full'].includes(ssl))
    throw new Error(`DATABASE_SSL must be disable, require or verify-full, got '${ssl}'`);
  return {
    port,
    host,
    databaseUrl: env.DATABASE_URL || './data/joyn-scim.db',
    publicUrl: (
      env.PUBLIC_URL || `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`
    ).replace(/\/+$/, ''),
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
      busyWaitMs: int(env, 'STORE_BUSY_WAIT_MS', 5000),
      connectTimeoutMs: int(env, 'DATABASE_CONNECT_TIMEOUT_MS', 5000),
    },
    tokenCacheMs: int(env, 'TOKEN_CACHE_SECONDS', 5) * 1000,
    adminToken: env.ADMIN_TOKEN || undefined,
    consoleEngine: {
      jobFiles: (env.SYNC_JOB_FILES ?? '')
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean),
      env,
    },
    console: {
      sessionIdleMs: positive(env, 'ADMIN_SESSION_IDLE_MINUTES', 30) * 60_000,
      sessionMaxMs: positive(env, 'ADMIN_SESSION_MAX_HOURS', 12) * 3_600_000,
    },
    events: {
      enabled: bool(env, 'EVENTS_ENABLED', true),
      retentionDays: int(env, 'EVENTS_RETENTION_DAYS', 30),
    },
    webhooks: webhooksConfig(env),
    mail: mailConfig(env),
    http: httpLimits(env),
    tls,
    documentationUrl: absoluteHttpUrl(env, 'DOCUMENTATION_URL'),
    engine: engineSettings(env),
    cliToken: env.JOYN_SCIM_TOKEN || undefined,
    setup: setupConfig(env),
  };
}
