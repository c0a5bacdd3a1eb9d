/**
 * The store contract. Every store (SQLite, PostgreSQL) passes the same contract suite (test/store/contract.ts).
 *
 * Tenancy is structural: resource methods exist only on a TenantStore, obtained from `store.tenant(id)` or
 * inside `store.transaction(tenantId, fn)`, and every query such a handle issues is scoped to its tenant.
 */
import type { Filter } from '../scim/filter/ast.js';
import type { Member, ResourceData, ResourceTypeName } from '../scim/types.js';
import type { DirectoryEvent, EventDraft, EventPage, EventQuery, EventType } from '../events/types.js';
import type { MemberView } from './sql/console-reads.js';
import type { ApiKeyRow, ApiKeyScope, TakenSequence } from './sql/events-store.js';
import type { SqlOperators } from './sql/operators-store.js';
import type { SqlMonitoring } from './sql/monitoring-store.js';
import type { SetupStore } from './setup-types.js';

export interface TenantRow {
  id: string;
  name: string;
  createdAt: string;
}

export interface TokenRow {
  id: string;
  tenantId: string;
  /** The first characters of the secret, safe to show ("jsk_AbCd…") so operators can tell tokens apart. */
  hint: string;
  createdAt: string;
  lastUsedAt: string | null;
  /**
   * When the token stops working: set at once by a revocation, or ahead of time by a rotation with an overlap
   * window (the old token keeps working until then). A token is valid while this is null or in the future.
   */
  revokedAt: string | null;
  /** Optional expiry chosen when the token was issued (`--expires-in`); null = never expires. */
  expiresAt: string | null;
  /** Who holds the token when it is not the customer's directory (e.g. the provisioning engine); null = none. */
  label: string | null;
}

/** Who did an operator action, through which surface. */
export interface Actor {
  via: 'cli' | 'admin-api' | 'console' | 'server' | 'setup-link';
  /** e.g. the OS user and host running the CLI, or the admin API client's address. */
  name: string;
}

/**
 * One audit record of a tenant or token operation, written in the same transaction as the operation. Never holds a
 * secret. Records outlive the tenant they name (a deletion is audited too), hence tenant name and id as text.
 */
export interface AuditInput {
  actor: Actor;
  /** tenant.create, tenant.delete, token.issue, token.rotate, token.revoke. */
  action: string;
  tenantId: string;
  tenantName: string;
  /** What the action was done to: a token id or the tenant id. */
  target: string;
  /** A short secret-free description ("expires 2026-01-01T00:00:00.000Z", "replaced by <id>"). */
  detail: string;
}

export interface AuditEntry extends AuditInput {
  seq: number;
  at: string;
}

export interface NewToken {
  id: string;
  tenantId: string;
  hash: string;
  hint: string;
  expiresAt?: string | null;
  label?: string | null;
}

export interface ResourceRow {
  id: string;
  /** Canonical resource data (no id/meta/schemas). */
  data: ResourceData;
  created: string;
  lastModified: string;
  version: number;
  /**
   * The resource's last event sequence number after a write that took `events` numbers for the events it appends
   * in the same transaction (insert/update/touch with events > 0): the numbers are last - events + 1 … last.
   */
  eventSeq?: number;
  /**
   * SQLite, after such a write: the head of the resource's chain of events it moved (migration 0017), the event
   * number its last event takes, and the head it had before (null: no event yet), which its first event points to.
   */
  eventChain?: EventChain;
  /**
   * A row read for update (getForUpdate): the number of the resource's last event so far. The transaction holds the
   * row as read, so the next write's event numbers are known before it (updateWithEvents).
   */
  lastEventSeq?: number;
}

/** See ResourceRow.eventChain. */
export interface EventChain {
  head: number;
  prev: number | null;
}

/** A sort key: a single-valued attribute path resolved against the schema (canonical names). */
export interface SortSpec {
  readonly uri?: string;
  readonly attr: string;
  readonly sub?: string;
  readonly order: 'ascending' | 'descending';
  readonly caseExact: boolean;
}

export interface QuerySpec {
  /** A filter already resolved against the schema (canonical names, see scim/schema resolveFilter). */
  filter?: Filter;
  sort?: SortSpec;
  /** 1-based index pagination (RFC 7644 §3.4.2.4). */
  startIndex?: number;
  /** Page size; 0 = only count. */
  count: number;
  /** Cursor pagination (RFC 9865): opaque position from a previous page's nextCursor; '' = first page. */
  cursor?: string;
  /**
   * With startIndex: the position (QueryResult.lastPosition) of the row just before `startIndex`, from the previous
   * page of the same query. The page then seeks past it instead of skipping startIndex - 1 rows.
   */
  after?: string;
  /** Skip loading group members (excludedAttributes=members or not requested). */
  withMembers?: boolean;
  /** Users: load each row's groups (RFC 7643 §4.1.2) in the same statement (QueryResult rows carry `groups`). */
  withGroups?: boolean;
}

export interface QueryResult {
  totalResults: number;
  rows: (ResourceRow & { members?: Member[]; groups?: { value: string; display: string }[] })[];
  /** RFC 9865: present when there are more results after this page (cursor mode only). */
  nextCursor?: string;
  /** startIndex mode, full page: the last row's position, for QuerySpec.after of the next page. */
  lastPosition?: string;
}

/** Whom an activity entry is about, as the request or the stored resource names it. */
export interface ActivityTarget {
  userName?: string;
  externalId?: string;
  displayName?: string;
}

/** One attribute a request set (its name and new value, never a secret's value). */
export interface ActivityChange {
  /** The PATCH operation as sent ("Replace", "add"); absent for a create or replace. */
  op?: string;
  path: string;
  value?: string;
}

export interface ActivityEntry {
  at: string;
  method: string;
  path: string;
  status: number;
  resourceType?: string | undefined;
  resourceId?: string | undefined;
  /** Short, secret-free description ("create user jdoe@contoso.com", "PATCH 3 ops", error detail). */
  summary: string;
  durationMs?: number | undefined;
  // What explains the entry (src/http/activity-details.ts); absent on entries written before migration 0012.
  /** create, replace, patch, delete, get, list, search, discovery, other. */
  operation?: string | undefined;
  target?: ActivityTarget | undefined;
  changes?: ActivityChange[] | undefined;
  /** The attribute a failure is about ("xid", "emails[type eq \"work\"].value"). */
  errorAttribute?: string | undefined;
  scimType?: string | undefined;
  errorDetail?: string | undefined;
  /** Entra's PATCH dialect: legacy (capitalised ops, "True"/"False") or compliant (aadOptscim062020, RFC 7644). */
  patchDialect?: string | undefined;
  clientIp?: string | undefined;
  userAgent?: string | undefined;
}

/** Which activity entries to list (newest first): every filter is optional. */
export interface ActivityQuery {
  limit: number;
  /** Entries older than this seq (paging back). */
  before?: number;
  /** Entries newer than this seq (live updates). */
  after?: number;
  /** 2xx, 4xx, 5xx, or one status code. */
  status?: string;
  operation?: string;
  resourceType?: string;
  resourceId?: string;
  /** Contained in the target's userName, externalId or displayName, or equal to the resource id (any case). */
  text?: string;
  /** ISO 8601: at or after / before. */
  since?: string;
  until?: string;
}

/** An activity entry with the tenant it belongs to (Store.appendActivity writes many at once). */
export interface ActivityRecord extends ActivityEntry {
  tenantId: string;
}

/** A group and what it holds of some ids (ResourceStore.readMembership). */
export interface MembershipRead {
  /** The group's row, with lastEventSeq. */
  row: ResourceRow;
  /** Those of the ids that are members, as stored (type, display). */
  members: Map<string, Member>;
  /** Those of the ids that are users or groups of the tenant. */
  kinds: Map<string, 'User' | 'Group'>;
}

export interface ResourceStore {
  /**
   * Inserts; throws ScimError 409 uniqueness on a clash. `events`: how many event sequence numbers the resource's
   * events of this transaction take (counted on the row itself, so no second write of it; see eventSeq).
   */
  insert(id: string, data: ResourceData, now: string, events?: number): Promise<ResourceRow>;
  get(id: string): Promise<ResourceRow | undefined>;
  /**
   * Reads the row for a read-modify-write inside a transaction (PostgreSQL: SELECT … FOR UPDATE),
   * so that concurrent PATCHes of one resource apply one after the other.
   */
  getForUpdate(id: string): Promise<ResourceRow | undefined>;
  /** getForUpdate without a lock, for a write that checks the version instead (Store.updateUserIf). */
  getWithSeq(id: string): Promise<ResourceRow | undefined>;
  /**
   * Groups: the group as getWithSeq reads it, with which of `ids` are its members and which are users or groups of
   * the tenant, in one statement (a PATCH of its members without a lock: Store.updateMembersIf). Undefined: no such
   * group.
   */
  readMembership(groupId: string, ids: readonly string[]): Promise<MembershipRead | undefined>;
  /**
   * Groups: ends every membership of `memberId`, as its deletion does; each group it left gets a new version and
   * lastModified (every change of a group's members changes its version). The groups it left, as they are after,
   * in id order; a membership that a concurrent write ended first is not among them.
   */
  leaveGroups(memberId: string, now: string): Promise<ResourceRow[]>;
  /**
   * Replaces data, bumps version and lastModified; throws 409 on a uniqueness clash; undefined if gone. With the
   * stored data it replaces (`before`, read in the same transaction), only what changed is rewritten: the derived
   * columns that differ (and so only their indexes and triggers) and the email rows when the emails differ.
   */
  update(
    id: string,
    data: ResourceData,
    now: string,
    before?: ResourceData,
    events?: number,
  ): Promise<ResourceRow | undefined>;
  /**
   * insert() with the resource's one event (user.created): `event` makes it from the row the insert leaves. On
   * PostgreSQL that row is known before the write, and the row, its email rows and the event are one statement (one
   * round trip); on SQLite the event follows the row in the same transaction, as appendEvents writes it.
   */
  insertWithEvent(
    id: string,
    data: ResourceData,
    now: string,
    event: (row: ResourceRow) => EventDraft,
  ): Promise<ResourceRow>;
  /**
   * Writes the row `before` (read with getForUpdate in this transaction) anew, with `data` as update() does or, when
   * data is undefined, only its version and lastModified as touch() does (a membership change), together with the
   * resource's `count` events, which `events` makes from the row the write leaves (user.updated, user.deactivated,
   * group.updated, group.member_added, …): one statement on PostgreSQL, as insertWithEvent. Undefined if the row is
   * gone.
   */
  updateWithEvents(
    before: ResourceRow,
    data: ResourceData | undefined,
    now: string,
    count: number,
    events: (row: ResourceRow) => EventDraft[],
  ): Promise<ResourceRow | undefined>;
  /** Bumps version/lastModified only (membership change); `events` as for update. */
  touch(id: string, now: string, events?: number): Promise<ResourceRow | undefined>;
  delete(id: string): Promise<boolean>;
  query(q: QuerySpec): Promise<QueryResult>;
}

export interface MemberStore {
  list(groupId: string): Promise<Member[]>;
  /** Adds members that are not there yet; returns the ids added. Unknown member ids are the caller's concern. */
  add(groupId: string, members: readonly Member[]): Promise<string[]>;
  /**
   * add() with each member's type resolved as it is written: 'User' or 'Group' when a user or group of the tenant
   * has the id, else the declared type. Returns the members added, each with the type stored.
   */
  addResolved(groupId: string, members: readonly Member[]): Promise<Member[]>;
  /** Removes those of `ids` that are members; returns the members removed, with the type stored for each. */
  remove(groupId: string, ids: readonly string[]): Promise<Member[]>;
  /** Removes every member; returns the members removed (in id order), with the type stored for each. */
  removeAll(groupId: string): Promise<Member[]>;
  /** Which of `ids` exist as users (u) or groups (g) of this tenant. */
  resolveMembers(ids: readonly string[]): Promise<Map<string, 'User' | 'Group'>>;
  /** Groups a user or group belongs to (for the User `groups` attribute). */
  groupsOf(memberIds: readonly string[]): Promise<Map<string, { value: string; display: string }[]>>;
}

export interface TenantStore {
  readonly tenantId: string;
  readonly users: ResourceStore;
  readonly groups: ResourceStore;
  readonly members: MemberStore;
  appendActivity(e: ActivityEntry): Promise<void>;
  /**
   * Appends directory events; inside a transaction they commit (or roll back) with the change. `taken`: the
   * sequence numbers a resource's own write already took (ResourceRow.eventSeq), by resource id.
   */
  appendEvents(
    drafts: readonly EventDraft[],
    now: string,
    taken?: ReadonlyMap<string, TakenSequence>,
  ): Promise<DirectoryEvent[]>;
  listActivity(opts: ActivityQuery): Promise<(ActivityEntry & { seq: number })[]>;
  /** Whom a deleted resource id was: the names its DELETE entry in the activity log recorded. */
  lastActivityTarget(resourceId: string): Promise<ActivityTarget | undefined>;
  /** A group's members, a page at a time, with their names as stored now (the operator console). */
  membersPage(
    groupId: string,
    startIndex: number,
    count: number,
  ): Promise<{ totalResults: number; members: MemberView[] }>;
  /** The tenant's directory events (or one resource's), newest first (the operator console). */
  recentEvents(q: {
    resourceId?: string;
    types?: readonly EventType[];
    limit: number;
    before?: number;
  }): Promise<(DirectoryEvent & { seq: number })[]>;
  counts(): Promise<{ users: number; groups: number }>;
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  readonly describe: string;
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** A handle whose every query is scoped to this tenant (autocommit). */
  tenant(tenantId: string): TenantStore;
  /** Runs fn in one transaction; the write is committed (durably) before the promise resolves. */
  transaction<T>(tenantId: string, fn: (tx: TenantStore) => Promise<T>): Promise<T>;
  /**
   * Creates a user as insert() does, with its one event (user.created) as insertWithEvent() does when `event` is
   * given, committed (durably) before the promise resolves. `now` is read when the write runs. On PostgreSQL the
   * row, its email rows and the event are one statement sent without BEGIN and COMMIT: one round trip instead of
   * three. Throws 409 as insert() does.
   */
  createUser(
    tenantId: string,
    id: string,
    data: ResourceData,
    now: () => string,
    event?: (row: ResourceRow) => EventDraft,
  ): Promise<ResourceRow>;
  /**
   * A user's update with its one event when `event` is given, as updateWithEvents() (or update()) in a transaction
   * after getForUpdate(), but only if the user is still at the version of `before`, which getWithSeq() read outside
   * any transaction: undefined, with nothing written, if it changed or is gone since. `data` must keep the emails of
   * `before`. On PostgreSQL one statement without BEGIN and COMMIT, and no lock held between the read and the write:
   * two round trips instead of four. Throws 409 as update() does.
   */
  updateUserIf(
    tenantId: string,
    before: ResourceRow,
    data: ResourceData,
    now: () => string,
    event?: (row: ResourceRow) => EventDraft,
  ): Promise<ResourceRow | undefined>;

  /**
   * A group's membership changes (members added that are not there, ids removed that are), with its new version and
   * lastModified and its `count` events when `events` is given, as in a transaction after getForUpdate(), but only
   * if the group is still at the version of `before`, which readMembership() read outside any transaction:
   * undefined, with nothing written, if it changed or is gone since. Members are added with their type as given.
   * On PostgreSQL one statement without BEGIN and COMMIT: two round trips in all instead of five.
   *
   * `assumed` (PostgreSQL): `before` was not read for this PATCH but remembered from an earlier read or write, and
   * nothing was read of the ids: the members to add are taken to be users of the tenant (type `User`), the ids to
   * remove members of type `User`. The statement checks this, and the group's last event number, with the version;
   * undefined, with nothing written, when any of it does not hold.
   */
  updateMembersIf(
    tenantId: string,
    before: ResourceRow,
    change: { add: readonly Member[]; remove: readonly string[] },
    now: () => string,
    count: number,
    events?: (row: ResourceRow) => EventDraft[],
    assumed?: boolean,
  ): Promise<ResourceRow | undefined>;

  /** Appends activity entries of any tenants in one write transaction (the buffered log, service/activity-log.ts). */
  appendActivity(records: readonly ActivityRecord[]): Promise<void>;

  // Operator-level methods: tenants and tokens. A write with an `audit` record writes it in the same transaction.
  // Every method that takes a token id also takes its tenant and never touches another tenant's token.
  createTenant(t: { id: string; name: string }, now: string, audit?: AuditInput): Promise<TenantRow>;
  listTenants(): Promise<TenantRow[]>;
  getTenant(idOrName: string): Promise<TenantRow | undefined>;
  deleteTenant(id: string, now?: string, audit?: AuditInput): Promise<boolean>;
  createToken(t: NewToken, now: string, audit?: AuditInput): Promise<TokenRow>;
  listTokens(tenantId: string): Promise<TokenRow[]>;
  /** One token of this tenant (undefined for an unknown id or another tenant's). */
  getToken(tenantId: string, id: string): Promise<TokenRow | undefined>;
  /** The token with this hash if it is valid at `now` (not revoked, not expired), with its tenant. */
  findTokenByHash(hash: string, now: string): Promise<TokenRow | undefined>;
  /** Revokes at `now` a token of this tenant that is still valid then; false (and no change) otherwise. */
  revokeToken(tenantId: string, id: string, now: string, audit?: AuditInput): Promise<boolean>;
  /**
   * Rotation in one transaction: the tenant's token `replace.id`, which must be valid at `now`, stops working at
   * `replace.at` (now, or the end of an overlap window; an earlier scheduled revocation is kept), and `t` is
   * created. Undefined, with nothing changed, when `replace.id` is not a valid token of this tenant.
   */
  rotateToken(
    t: NewToken,
    replace: { id: string; at: string },
    now: string,
    audit?: readonly AuditInput[],
  ): Promise<TokenRow | undefined>;
  markTokenUsed(id: string, now: string): Promise<void>;
  /** One audit record of an action that changes nothing in the store (Test Connection, an engine command). */
  appendAudit(a: AuditInput, now: string): Promise<void>;
  /** Audit records, newest first; `tenant` matches a tenant id or name (also of a deleted tenant). */
  listAudit(opts: { tenant?: string; limit: number; before?: number }): Promise<AuditEntry[]>;
  /** A small server-wide setting (e.g. the PUBLIC_URL the server last started with, for the CLI). */
  getSetting(key: string): Promise<{ value: string; updatedAt: string } | undefined>;
  setSetting(key: string, value: string, now: string): Promise<void>;
  /**
   * Changes whenever a token may have stopped being valid: on every revocation or tenant deletion made through
   * this store, and on SQLite on any commit by another connection (`PRAGMA data_version`, e.g. the CLI revoking
   * a token while the server runs). PostgreSQL has no cheap equivalent, so other instances' revocations are
   * seen only when a cached entry expires. Read it before looking a token up, so a lookup racing a revocation
   * is never cached under the newer marker.
   */
  tokenStateMarker(): string;
  health(): Promise<void>;

  /** Operator accounts and console sessions (src/admin/operators.ts). */
  readonly operators: SqlOperators;
  /** Per-minute request counters per tenant and instance heartbeats (the console's health page). */
  readonly monitoring: SqlMonitoring;

  // Directory events (the outbox) and the application API keys that read them.
  readonly events: {
    list(q: EventQuery): Promise<EventPage>;
    prune(before: string): Promise<number>;
  };
  readonly apiKeys: {
    create(
      k: {
        id: string;
        tenantId: string | null;
        name: string;
        hash: string;
        hint: string;
        scopes: ApiKeyScope[];
      },
      now: string,
      audit?: AuditInput,
    ): Promise<ApiKeyRow>;
    list(tenantId?: string): Promise<ApiKeyRow[]>;
    get(id: string): Promise<ApiKeyRow | undefined>;
    findActiveByHash(hash: string): Promise<ApiKeyRow | undefined>;
    /** Revokes an active key (false when it was not); the audit record, if any, in the same transaction. */
    revoke(id: string, now: string, audit?: AuditInput): Promise<boolean>;
    markUsed(id: string, now: string): Promise<void>;
  };
  /**
   * Sets a tenant's mark (`connected_at`, `credentials_rejected_at`) to `now` unless it is already set at or after
   * `notBefore` ('' = only when unset), and appends the event with it; true when this call set it.
   */
  /** OAuth clients, setup links and the connection record (issue 15). */
  readonly setup: SetupStore;
  markTenant(
    tenantId: string,
    mark: 'connected_at' | 'credentials_rejected_at',
    now: string,
    notBefore: string | undefined,
    draft: EventDraft,
  ): Promise<boolean>;
}

export type { Member, ResourceData, ResourceTypeName };
