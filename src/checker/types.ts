/**
 * Public types of the conformance checker (issue 5).
 *
 * The checker is a SCIM *client*: it replays the requests Microsoft Entra ID sends
 * (../shared/spec/entra-scim-client.md §1) and judges each answer the way Entra would (§3).
 * It only needs the global `fetch`, so the provisioning engine and the web console can import it.
 */

export type CheckGroup = 'connection' | 'discovery' | 'users' | 'groups' | 'protocol';
export const CHECK_GROUPS: readonly CheckGroup[] = ['connection', 'discovery', 'users', 'groups', 'protocol'];

export type CheckStatus = 'pass' | 'fail' | 'skip';

/** One HTTP request as sent (Authorization redacted). */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: unknown;
}

/** One HTTP response as received. `body` is parsed JSON when it parses, otherwise the raw text. */
export interface RecordedResponse {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

export interface Exchange {
  request: RecordedRequest;
  response?: RecordedResponse;
  /** Set when no response arrived (network error, abort). */
  error?: string;
}

export interface CheckResult {
  id: string;
  group: CheckGroup;
  title: string;
  status: CheckStatus;
  /** What Entra would do with this answer, e.g. "Entra would quarantine the job: a query answered 404". */
  explanation: string;
  /** The exchange the verdict is about (the last one of the check unless the check points at another). */
  request?: RecordedRequest;
  response?: RecordedResponse;
  /** Every exchange the check made, in order. */
  exchanges?: Exchange[];
  /** Section of entra-scim-client.md the check replays, e.g. "§1.21". */
  spec?: string;
}

export interface CheckReport {
  tenantUrl: string;
  startedAt: string;
  finishedAt: string;
  results: CheckResult[];
  passed: number;
  failed: number;
  skipped: number;
  /** Whether write checks ran, and why (or why not). */
  writes: { allowed: boolean; reason: string };
  /** Resources the checker created and what became of them. */
  cleanup: { prefix: string; deleted: number; leftovers: string[] };
  /** True when the run was stopped by the caller's AbortSignal (SIGINT/SIGTERM in the CLI). */
  interrupted: boolean;
}

export interface RunChecksOptions {
  tenantUrl: string;
  token: string;
  /** Groups (or check ids / id prefixes) to run; default: all. */
  only?: string[];
  /** Write to a tenant that already has users (resources are still prefixed and deleted afterwards). */
  allowWrites?: boolean;
  /** The tenant is a throwaway one: writes run whatever it holds. */
  disposable?: boolean;
  /** Prefix of every resource the checker creates; default `jscheck-<random>-`. */
  prefix?: string;
  fetch?: typeof fetch;
  onResult?: (r: CheckResult) => void;
  /** Abort to stop after the current request; created resources are still deleted. */
  signal?: AbortSignal;
}

export interface TestConnectionResult {
  ok: boolean;
  /** Admin-facing message, worded like the one Entra shows under "Test Connection". */
  message: string;
  results: CheckResult[];
}
