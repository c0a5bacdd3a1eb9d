/**
 * What every `joyn-scim` command shares: exit codes, usage errors, validated option values, the environment
 * section of each help text, and who the CLI acts as in the audit log.
 *
 * Exit codes (README "Operator CLI", root help): 0 success, 1 the command ran and failed, 2 usage error.
 */
import { hostname, userInfo } from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import { parseDuration } from '../service/tokens.js';
import type { Actor } from '../store/types.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export const EXIT_CODES_HELP = `
Exit codes (every command):
  0  success
  1  the command ran and failed: not found, refused, a database or network error (check: a check failed)
  2  usage error: unknown command or option, missing or invalid argument or option value`;

/** The invocation is wrong (exit 2): the message says what to write instead. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** An option value that must be an integer in [min, max] (`activity -n abc` is a usage error). */
export function intOption(min: number, max: number): (value: string) => number {
  return (value: string) => {
    const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`);
    return n;
  };
}

/** A duration option such as `90d`, `24h`, `30m` (milliseconds). */
export function durationOption(what: string): (value: string) => number {
  return (value: string) => {
    try {
      return parseDuration(value, what);
    } catch (e) {
      throw new InvalidArgumentError(`${(e as Error).message}.`);
    }
  };
}

/**
 * What each environment variable means to the CLI. A command's help lists exactly the ones it reads;
 * test/ops/cli-style.test.ts checks that `serve` lists every variable src/config.ts reads and that every
 * command's help has an Environment section.
 */
const ENVIRONMENT: Record<string, string> = {
  DATABASE_URL: 'the store: an SQLite path (default ./data/joyn-scim.db) or postgres://…',
  DATABASE_SSL: 'PostgreSQL TLS: disable, require or verify-full (default from sslmode)',
  DATABASE_POOL_SIZE: 'PostgreSQL pool size (default 10)',
  DATABASE_STATEMENT_TIMEOUT_MS: 'PostgreSQL statement timeout (default 30000)',
  DATABASE_CONNECT_TIMEOUT_MS: 'PostgreSQL: wait this long for a connection, then fail (default 5000)',
  SQLITE_MMAP_MB: 'SQLite memory-mapped read window in MiB (default 2047)',
  STORE_BUSY_WAIT_MS:
    'how long a write waits for another writer before giving up (server default 5000: then 503; CLI default 30000)',
  PUBLIC_URL:
    'base of Tenant URLs: the public HTTPS origin Entra ID reaches (unset: the one the server last started with)',
  HOST: 'listening address (default 127.0.0.1); with PORT the Tenant URL base when PUBLIC_URL is unset',
  PORT: 'listening port (default 8080)',
  ADMIN_TOKEN: 'bootstrap and automation key of the admin API (Bearer, role admin); protects /metrics',
  ADMIN_SESSION_IDLE_MINUTES: 'a console session unused this long ends (default 30)',
  ADMIN_SESSION_MAX_HOURS: 'a console session ends this long after sign-in (default 12)',
  SYNC_JOB_FILES: 'job files (comma-separated) the console may provision on demand',
  LOG_LEVEL: 'pino log level (default info)',
  RATE_LIMIT_PER_MINUTE: 'requests per minute per tenant before 429 (default 6000, 0 = off)',
  TOKEN_CACHE_SECONDS: 'how long a verified Secret Token is trusted without a database query (default 5)',
  EVENTS_ENABLED: 'write a directory event with every change (default true)',
  EVENTS_RETENTION_DAYS: 'days directory events (and the webhook delivery log) are kept (default 30)',
  MAX_RESULTS: 'largest count per page (default 1000)',
  MAX_PAYLOAD_BYTES: 'largest request body (default 2097152)',
  MAX_URL_BYTES: 'longest request URL, 414 above (default 65536)',
  HEADERS_TIMEOUT_MS: 'time a client has to send the request line and headers (default 30000)',
  REQUEST_TIMEOUT_MS: 'time a client has to send the whole request (default 60000)',
  TLS_CERT: 'PEM certificate (with chain): serve HTTPS; SIGHUP reloads it (with TLS_KEY)',
  TLS_KEY: 'PEM private key for TLS_CERT',
  DOCUMENTATION_URL: 'published as ServiceProviderConfig documentationUri',
  JOYN_SCIM_TOKEN: 'the Secret Token when --token is not given',
  WEBHOOKS_ENABLED: 'run the webhook delivery worker in the server (default true)',
  WEBHOOKS_POLL_MS: 'how often an idle delivery worker looks for work (default 250)',
  WEBHOOKS_CONCURRENCY: 'webhook attempts in flight per process (default 16)',
  WEBHOOKS_TIMEOUT_MS: "one webhook attempt's whole exchange with the receiver (default 10000)",
  WEBHOOKS_LEASE_MS: 'how long a claimed delivery stays reserved (default WEBHOOKS_TIMEOUT_MS + 30000)',
  WEBHOOKS_RETRY_HOURS:
    'failed deliveries are retried this long; an endpoint failing this long is disabled (default 72)',
  WEBHOOKS_SECRET_KEY:
    'encrypts webhook signing secrets at rest (32+ characters); unset = stored unencrypted',
  WEBHOOKS_ALLOW_PRIVATE: 'allow receivers on loopback and private networks (default false)',
  WEBHOOKS_OVERLAP_HOURS: 'default overlap of webhooks rotate-secret (default 24)',
  SMTP_HOST: 'SMTP server of every e-mail (a webhook endpoint disabled, an engine job quarantined)',
  SMTP_PORT: 'SMTP port (default 587)',
  SMTP_SECURE: 'SMTP over TLS from the start (default: true on port 465)',
  SMTP_USER: 'SMTP user name (password in SMTP_PASSWORD)',
  SMTP_PASSWORD: 'SMTP password',
  NOTIFY_EMAIL_TO: 'comma-separated operator addresses (needs SMTP_HOST)',
  NOTIFY_EMAIL_FROM: 'sender of every e-mail (default joyn-scim@SMTP_HOST)',
  OAUTH_TOKEN_LIFETIME_MINUTES: 'lifetime of OAuth access tokens, 60-360 (default 60)',
  OAUTH_TOKEN_RATE_PER_MINUTE: 'token requests per minute per address before 429 (default 60, 0 = off)',
  CONNECTION_IDLE_MINUTES: 'no request for this long makes a connection idle (default 80)',
  SETUP_LINK_HOURS: 'how long a setup link works without --expires (default 24, at most 168)',
  ENGINE_SCHEDULER_ENABLED: 'run the stored provisioning jobs inside the server (default true)',
  ENGINE_MAX_CONCURRENT_CYCLES: 'provisioning cycles one instance runs at once (default 2)',
  ENGINE_LEASE_SECONDS: 'a job moves to another instance this long after its last heartbeat (default 60)',
  ENGINE_POLL_MS: 'how often the scheduler looks for due jobs (default 15000)',
  ENGINE_SECRET_KEY: 'key that encrypts secrets stored in job definitions (32 bytes, base64 or hex)',
};

/** The variables that choose and tune the store: every command that opens it reads them. */
export const STORE_ENV = [
  'DATABASE_URL',
  'DATABASE_SSL',
  'DATABASE_POOL_SIZE',
  'DATABASE_STATEMENT_TIMEOUT_MS',
  'DATABASE_CONNECT_TIMEOUT_MS',
  'SQLITE_MMAP_MB',
  'STORE_BUSY_WAIT_MS',
];
/** Commands that print Tenant URLs also read these. */
export const URL_ENV = ['PUBLIC_URL', 'HOST', 'PORT'];
/** Everything the server reads (src/config.ts). */
export const SERVER_ENV = [
  ...STORE_ENV,
  ...URL_ENV,
  'ADMIN_TOKEN',
  'ADMIN_SESSION_IDLE_MINUTES',
  'ADMIN_SESSION_MAX_HOURS',
  'SYNC_JOB_FILES',
  'LOG_LEVEL',
  'RATE_LIMIT_PER_MINUTE',
  'TOKEN_CACHE_SECONDS',
  'EVENTS_ENABLED',
  'EVENTS_RETENTION_DAYS',
  'MAX_RESULTS',
  'MAX_PAYLOAD_BYTES',
  'MAX_URL_BYTES',
  'HEADERS_TIMEOUT_MS',
  'REQUEST_TIMEOUT_MS',
  'TLS_CERT',
  'TLS_KEY',
  'DOCUMENTATION_URL',
  'WEBHOOKS_ENABLED',
  'WEBHOOKS_POLL_MS',
  'WEBHOOKS_CONCURRENCY',
  'WEBHOOKS_TIMEOUT_MS',
  'WEBHOOKS_LEASE_MS',
  'WEBHOOKS_RETRY_HOURS',
  'WEBHOOKS_SECRET_KEY',
  'WEBHOOKS_ALLOW_PRIVATE',
  'WEBHOOKS_OVERLAP_HOURS',
  'SMTP_HOST',
  'SMTP_PORT',
  'SMTP_SECURE',
  'SMTP_USER',
  'SMTP_PASSWORD',
  'NOTIFY_EMAIL_TO',
  'NOTIFY_EMAIL_FROM',
  'OAUTH_TOKEN_LIFETIME_MINUTES',
  'OAUTH_TOKEN_RATE_PER_MINUTE',
  'CONNECTION_IDLE_MINUTES',
  'SETUP_LINK_HOURS',
  'ENGINE_SCHEDULER_ENABLED',
  'ENGINE_MAX_CONCURRENT_CYCLES',
  'ENGINE_LEASE_SECONDS',
  'ENGINE_POLL_MS',
  'ENGINE_SECRET_KEY',
];

/** Adds the "Environment:" section to a command's help; `extra` lines describe variables named elsewhere. */
export function withEnvironment(cmd: Command, names: readonly string[], extra: string[] = []): Command {
  const width = Math.max(0, ...names.map((n) => n.length));
  const lines = names.map((n) => `  ${n.padEnd(width)}  ${ENVIRONMENT[n] ?? ''}`.trimEnd());
  const body = lines.length || extra.length ? [...lines, ...extra.map((l) => `  ${l}`)] : ['  none'];
  return cmd.addHelpText('after', `\nEnvironment:\n${body.join('\n')}`);
}

/** The CLI's identity in the audit log: the OS user and host running it. */
export function cliActor(): Actor {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers): keep 'unknown'.
  }
  return { via: 'cli', name: `${user}@${hostname()}` };
}

export const print = (s: string): void => {
  process.stdout.write(s + '\n');
};

export const warn = (s: string): void => {
  process.stderr.write(`joyn-scim: warning: ${s}\n`);
};
