/**
 * Object-level and job-level failures of the provisioning engine, classified into the error codes Entra
 * shows in its provisioning logs (entra-provisioning-engine.md §1.4, §7.1; entra-scim-client.md §3).
 */

/** Entra's provisioning-log error codes that this engine produces. */
export type SyncErrorCode =
  | 'EntryConflict'
  | 'BadRequest'
  | 'Unauthorized'
  | 'InsufficientRights'
  | 'InvalidAnchor'
  | 'MethodNotAllowed'
  | 'PreconditionFailed'
  | 'UnprocessableEntity'
  | 'NotImplemented'
  | 'TooManyRequests'
  | 'InternalServerError'
  | 'Timeout'
  | 'ServiceUnreachable'
  | 'SystemForCrossDomainIdentityManagementServiceIncompatible'
  | 'SystemForCrossDomainIdentityManagementMultipleEntriesInResponse'
  | 'DuplicateTargetEntries'
  | 'DuplicateSourceEntries'
  | 'ImportSkipped'
  | 'AttributeMappingError'
  | 'MandatoryFieldsMissing';

/** How the error affects the job (entra-provisioning-engine.md §1.4 and §9). */
export type ErrorClass =
  /** retried automatically in a later cycle (429, 5xx, timeouts) */
  | 'transient'
  /** needs the admin to fix data or configuration; still retried with backoff */
  | 'object'
  /** the target as a whole is unusable: quarantine the job (bad credentials, unreachable, 404 to a query) */
  | 'quarantine';

const ADVICE: Record<SyncErrorCode, { klass: ErrorClass; action: string }> = {
  EntryConflict: {
    klass: 'object',
    action:
      'A target record already holds a unique value of this object. Fix the data or the matching attributes so the object matches that record.',
  },
  BadRequest: {
    klass: 'object',
    action: 'The target rejected the request; read the reason and fix the mapped value.',
  },
  Unauthorized: {
    klass: 'quarantine',
    action: 'Check the Secret Token of the target (it may be wrong, expired or revoked).',
  },
  InsufficientRights: {
    klass: 'quarantine',
    action: 'Give the token the rights to read and write Users and Groups in the target.',
  },
  InvalidAnchor: {
    klass: 'object',
    action:
      'The target object linked earlier no longer exists. Restart the job with --reset full to re-match it, or restore it.',
  },
  MethodNotAllowed: {
    klass: 'object',
    action: 'The target does not support this operation; check its SCIM compatibility.',
  },
  PreconditionFailed: {
    klass: 'object',
    action: 'The target refused a conditional request; check its ETag configuration.',
  },
  UnprocessableEntity: {
    klass: 'object',
    action: 'The target could not process the request; check the mapped values.',
  },
  NotImplemented: { klass: 'object', action: 'The target does not implement this operation.' },
  TooManyRequests: {
    klass: 'transient',
    action:
      'The target throttled the engine; the object is retried automatically. Lower target.concurrency if it persists.',
  },
  InternalServerError: {
    klass: 'transient',
    action: 'The target failed; the object is retried automatically in a later cycle.',
  },
  Timeout: {
    klass: 'transient',
    action:
      'The target did not answer in time; the object is retried automatically. Raise target.timeoutMs if it persists.',
  },
  ServiceUnreachable: {
    klass: 'quarantine',
    action: 'Check that the Tenant URL is right and the target is up and reachable.',
  },
  SystemForCrossDomainIdentityManagementServiceIncompatible: {
    klass: 'object',
    action:
      'The target answered with something that is not valid SCIM; check its SCIM compliance (joyn-scim check).',
  },
  SystemForCrossDomainIdentityManagementMultipleEntriesInResponse: {
    klass: 'object',
    action: 'The target returned several resources where one was expected; check its filter support.',
  },
  DuplicateTargetEntries: {
    klass: 'object',
    action:
      'More than one target record has this matching value. Remove the duplicates in the target or choose another matching attribute.',
  },
  DuplicateSourceEntries: {
    klass: 'object',
    action: 'Several source objects share this matching value; make it unique in the source.',
  },
  ImportSkipped: { klass: 'object', action: 'Give the object a value for at least one matching attribute.' },
  AttributeMappingError: {
    klass: 'object',
    action: 'Fix the attribute mapping expression or the source value it reads.',
  },
  MandatoryFieldsMissing: {
    klass: 'object',
    action: 'Give the object a value for every attribute the target requires.',
  },
};

export class SyncError extends Error {
  readonly code: SyncErrorCode;
  readonly klass: ErrorClass;
  readonly recommendedAction: string;
  /** HTTP status of the target answer, when there was one. */
  readonly status: number | undefined;

  constructor(code: SyncErrorCode, reason: string, opts: { status?: number; klass?: ErrorClass } = {}) {
    super(reason);
    this.name = 'SyncError';
    this.code = code;
    this.klass = opts.klass ?? ADVICE[code].klass;
    this.recommendedAction = ADVICE[code].action;
    this.status = opts.status;
  }

  get reason(): string {
    return this.message;
  }
}

export const isSyncError = (e: unknown): e is SyncError => e instanceof SyncError;

/** Classifies an HTTP status from the target (entra-scim-client.md §3 error table). */
export function codeForStatus(status: number, kind: 'query' | 'resource' | 'create'): SyncErrorCode {
  if (status === 400) return 'BadRequest';
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'InsufficientRights';
  // A 404 to a query is a SCIM compliance problem that quarantines the job (§9); to an id it is a lost anchor.
  if (status === 404)
    return kind === 'resource'
      ? 'InvalidAnchor'
      : 'SystemForCrossDomainIdentityManagementServiceIncompatible';
  if (status === 405) return 'MethodNotAllowed';
  if (status === 409) return 'EntryConflict';
  if (status === 412) return 'PreconditionFailed';
  if (status === 422) return 'UnprocessableEntity';
  if (status === 429) return 'TooManyRequests';
  if (status === 501) return 'NotImplemented';
  if (status >= 500) return 'InternalServerError';
  return 'SystemForCrossDomainIdentityManagementServiceIncompatible';
}

/** Wraps anything thrown while processing one object as a SyncError (unknown errors become mapping errors). */
export function toSyncError(e: unknown): SyncError {
  if (e instanceof SyncError) return e;
  if (e instanceof Error && e.name === 'ExpressionError')
    return new SyncError('AttributeMappingError', e.message);
  return new SyncError('AttributeMappingError', e instanceof Error ? e.message : String(e));
}
