/**
 * Store rows and methods of the self-serve connection (issue 15): OAuth clients and their access tokens, setup
 * links, and the per-tenant connection record. Every method that takes a tenant never touches another tenant's
 * rows; every id-addressed row is looked up together with its tenant.
 */
import type { EventDraft } from '../events/types.js';
import type { AuditInput, NewToken } from './types.js';

export interface OAuthClientRow {
  /** The public client identifier (RFC 6749 §2.2), `jsc_…`. */
  id: string;
  tenantId: string;
  name: string;
  /** The first characters of the secret ("jcs_AbCd…"). */
  secretHint: string;
  createdAt: string;
  /** When the client last obtained an access token. */
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface SetupLinkRow {
  id: string;
  tenantId: string;
  hint: string;
  createdAt: string;
  /** Who created it ("cli:alice@host", "admin-api:…"). */
  createdBy: string;
  expiresAt: string;
  revokedAt: string | null;
  /** When the first browser opened it (and bound it to its session); null: not opened yet. */
  boundAt: string | null;
}

/** What one instance saw for one tenant since its last flush. */
export interface ConnectionDelta {
  requests: number;
  /** Responses that count against the error rate (5xx, and 4xx other than 401 and 404). */
  failures: number;
  lastRequestAt: string | null;
  lastSuccessAt: string | null;
  lastRejectedAt: string | null;
  /** 401s after the last success of this delta (all of them when there was none). */
  rejectedTail: number;
  /** Whether a successful (authenticated) request is part of this delta: it ends any earlier run of 401s. */
  sawSuccess: boolean;
  testConnectionAt: string | null;
  firstUserAt: string | null;
  firstGroupAt: string | null;
  firstWriteAt: string | null;
}

export interface ConnectionRecord {
  tenantId: string;
  tenantName: string;
  tenantCreatedAt: string;
  lastRequestAt: string | null;
  lastSuccessAt: string | null;
  lastRejectedAt: string | null;
  rejectedRun: number;
  testConnectionAt: string | null;
  firstUserAt: string | null;
  firstGroupAt: string | null;
  firstWriteAt: string | null;
  /** The state last announced (null: none yet). */
  state: string | null;
  reason: string | null;
  stateChangedAt: string | null;
  /** Requests and failures in the buckets since `windowStart`. */
  windowRequests: number;
  windowFailures: number;
  /** Whether the tenant has a credential that can work: an active Secret Token or an active OAuth client. */
  hasCredential: boolean;
}

export interface SetupStore {
  createClient(
    c: { id: string; tenantId: string; name: string; secretHash: string; secretHint: string },
    now: string,
    audit: AuditInput,
  ): Promise<OAuthClientRow>;
  listClients(tenantId: string): Promise<OAuthClientRow[]>;
  getClient(tenantId: string, id: string): Promise<OAuthClientRow | undefined>;
  /** The client with its secret hash, for the token endpoint (any tenant: the client id names it). */
  findClient(id: string): Promise<(OAuthClientRow & { secretHash: string }) | undefined>;
  /** Revokes the client and, in the same transaction, every access token it obtained; false if not active. */
  revokeClient(tenantId: string, id: string, now: string, audit: AuditInput): Promise<boolean>;
  /**
   * Stores an access token for an active client (token.tenantId must be the client's), drops its expired ones and
   * notes the use; false, with nothing written, when the client was revoked meanwhile.
   */
  issueAccessToken(clientId: string, token: NewToken, now: string): Promise<boolean>;

  createLink(
    l: { id: string; tenantId: string; hash: string; hint: string; createdBy: string; expiresAt: string },
    now: string,
    audit: AuditInput,
  ): Promise<SetupLinkRow>;
  listLinks(tenantId: string): Promise<SetupLinkRow[]>;
  revokeLink(tenantId: string, id: string, now: string, audit: AuditInput): Promise<boolean>;
  findLinkByHash(hash: string): Promise<SetupLinkRow | undefined>;
  findLinkBySession(sessionHash: string): Promise<SetupLinkRow | undefined>;
  /** Binds an unbound, unrevoked, unexpired link to a browser session; false when that is no longer possible. */
  bindLink(id: string, sessionHash: string, now: string): Promise<boolean>;

  /** Adds what instances saw (monotonic times, counters) and drops buckets older than `pruneBefore`. */
  flushConnection(
    deltas: ReadonlyMap<string, ConnectionDelta>,
    bucket: string,
    pruneBefore: string,
  ): Promise<void>;
  /** One tenant's record (undefined: no such tenant), with the buckets at or after `windowStart`. */
  connection(tenantId: string, windowStart: string, now: string): Promise<ConnectionRecord | undefined>;
  /** Every tenant's record. */
  connections(windowStart: string, now: string): Promise<ConnectionRecord[]>;
  /**
   * Records a new announced state if the stored one is still `from`, with the event (when given) in the same
   * transaction; false when another instance got there first.
   */
  announceState(
    tenantId: string,
    from: string | null,
    to: { state: string; reason: string },
    now: string,
    draft: EventDraft | undefined,
  ): Promise<boolean>;
}
