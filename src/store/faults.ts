/**
 * Store faults, classified once for both dialects: what is worth retrying inside the store (a busy SQLite file,
 * a PostgreSQL serialization failure or deadlock) and what means "the store is not there right now" (PostgreSQL
 * stopped or unreachable, an SQLite file that cannot be written or a full disk). The latter reach the client as
 * 503 + Retry-After with a SCIM body, never as a 500: nothing was applied and the same request can be retried.
 */
import { ScimError } from '../scim/errors.js';

const codeOf = (e: unknown): string =>
  typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : '';

/** Another connection holds SQLite's write lock (or a lock this statement needs). */
export const isSqliteBusy = (e: unknown): boolean => /^SQLITE_(BUSY|LOCKED)/.test(codeOf(e));

/** PostgreSQL asks for the transaction to be run again: serialization_failure, deadlock_detected. */
export const isPgRetryable = (e: unknown): boolean => codeOf(e) === '40001' || codeOf(e) === '40P01';

const PG_UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EHOSTUNREACH',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down)
  '53300', // too_many_connections
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '25006', // read_only_sql_transaction (a standby after failover)
]);

/** Messages of node-postgres errors that carry no code. */
const PG_UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED|the database system is (starting up|shutting down)/i;

/** SQLite cannot write: disk full, I/O error, read-only file or directory, cannot open. */
const SQLITE_UNAVAILABLE = /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|PROTOCOL)/;

export type StoreFaultKind = 'busy' | 'unavailable';

export function classifyStoreFault(e: unknown): StoreFaultKind | undefined {
  if (e instanceof ScimError) return undefined;
  const code = codeOf(e);
  if (isSqliteBusy(e) || isPgRetryable(e)) return 'busy';
  if (SQLITE_UNAVAILABLE.test(code) || PG_UNAVAILABLE_CODES.has(code)) return 'unavailable';
  if (e instanceof Error && PG_UNAVAILABLE_MESSAGES.test(e.message)) return 'unavailable';
  // A full disk can also surface from the file system itself (SQLite journal or WAL growth).
  if (code === 'ENOSPC' || code === 'EROFS' || code === 'EDQUOT' || code === 'EFBIG') return 'unavailable';
  return undefined;
}

/** Seconds a client should wait before retrying after a store fault. */
export const STORE_RETRY_AFTER_SECONDS = 5;

/** The SCIM error for a store fault, or undefined when `e` is not one (then it is a bug: 500). */
export function storeFaultError(e: unknown): ScimError | undefined {
  const kind = classifyStoreFault(e);
  if (!kind) return undefined;
  const headers = { 'Retry-After': String(STORE_RETRY_AFTER_SECONDS) };
  return kind === 'busy'
    ? new ScimError(
        503,
        undefined,
        `the directory store is busy with other writes and this request could not get its turn in time; nothing was applied. Retry after ${STORE_RETRY_AFTER_SECONDS} seconds`,
        headers,
      )
    : new ScimError(
        503,
        undefined,
        `the directory store is temporarily unavailable; nothing was applied. Retry after ${STORE_RETRY_AFTER_SECONDS} seconds (operators: see /readyz)`,
        headers,
      );
}
