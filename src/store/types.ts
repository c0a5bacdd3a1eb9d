/**
 * The store contract. Every store (SQLite, PostgreSQL) passes the same contract suite (test/store/contract.ts).
 *
 * Tenancy is structural: resource methods exist only on a TenantStore, obtained from `store.tenant(id)` or
 * inside `store.transaction(tenantId, fn)`, and every query such a handle issues is scoped to its tenant.
 */
import type { Filter } from '../scim/filter/ast.js';
import type { Member, ResourceData, ResourceTypeName } from '../scim/types.js';
import type { DirectoryEvent, EventDraft, EventPage, EventQuery } from '../events/types.js';
import type { ApiKeyRow, ApiKeyScope } from './sql/events-store.js';

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
  revokedAt: string | null;
}

export interface ResourceRow {
  id: string;
  /** Canonical resource data (no id/meta/schemas). */
  data: ResourceData;
  created: string;
  lastModified: string;
  version: number;
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
}

export interface QueryResult {
  totalResults: number;
  rows: (ResourceRow & { members?: Member[] })[];
  /** RFC 9865: present when there are more results after this page (cursor mode only). */
  nextCursor?: string;
  /** startIndex mode, full page: the last row's position, for QuerySpec.after of the next page. */
  lastPosition?: string;
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
}

export interface ResourceStore {
  /** Inserts; throws ScimError 409 uniqueness on a clash. */
  insert(id: string, data: ResourceData, now: string): Promise<ResourceRow>;
  get(id: string): Promise<ResourceRow | undefined>;
  /**
   * Reads the row for a read-modify-write inside a transaction (PostgreSQL: SELECT … FOR UPDATE),
   * so that concurrent PATCHes of one resource apply one after the other.
   */
  getForUpdate(id: string): Promise<ResourceRow | undefined>;
  /** Replaces data, bumps version and lastModified; throws 409 on a uniqueness clash; false if gone. */
  update(id: string, data: ResourceData, now: string): Promise<ResourceRow | undefined>;
  /** Bumps version/lastModified only (membership change). */
  touch(id: string, now: string): Promise<ResourceRow | undefined>;
  delete(id: string): Promise<boolean>;
  query(q: QuerySpec): Promise<QueryResult>;
}

export interface MemberStore {
  list(groupId: string): Promise<Member[]>;
  /** Adds members that are not there yet; returns the ids added. Unknown member ids are the caller's concern. */
  add(groupId: string, members: readonly Member[]): Promise<string[]>;
  /** Removes those of `ids` that are members; returns the ids removed. */
  remove(groupId: string, ids: readonly string[]): Promise<string[]>;
  /** Removes every member; returns the ids removed. */
  removeAll(groupId: string): Promise<string[]>;
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
  /** Appends directory events; inside a transaction they commit (or roll back) with the change. */
  appendEvents(drafts: readonly EventDraft[], now: string): Promise<DirectoryEvent[]>;
  listActivity(opts: { limit: number; before?: number }): Promise<(ActivityEntry & { seq: number })[]>;
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

  // Operator-level (not tenant-scoped) methods: tenants and tokens.
  createTenant(t: { id: string; name: string }, now: string): Promise<TenantRow>;
  listTenants(): Promise<TenantRow[]>;
  getTenant(idOrName: string): Promise<TenantRow | undefined>;
  deleteTenant(id: string): Promise<boolean>;
  createToken(
    t: { id: string; tenantId: string; hash: string; hint: string },
    now: string,
  ): Promise<TokenRow>;
  listTokens(tenantId: string): Promise<TokenRow[]>;
  /** Active (not revoked) token by hash, with its tenant. */
  findTokenByHash(hash: string): Promise<TokenRow | undefined>;
  revokeToken(id: string, now: string): Promise<boolean>;
  markTokenUsed(id: string, now: string): Promise<void>;
  /**
   * Changes whenever a token may have stopped being valid: on every revocation or tenant deletion made through
   * this store, and on SQLite on any commit by another connection (`PRAGMA data_version`, e.g. the CLI revoking
   * a token while the server runs). PostgreSQL has no cheap equivalent, so other instances' revocations are
   * seen only when a cached entry expires. Read it before looking a token up, so a lookup racing a revocation
   * is never cached under the newer marker.
   */
  tokenStateMarker(): string;
  health(): Promise<void>;

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
    ): Promise<ApiKeyRow>;
    list(tenantId?: string): Promise<ApiKeyRow[]>;
    get(id: string): Promise<ApiKeyRow | undefined>;
    findActiveByHash(hash: string): Promise<ApiKeyRow | undefined>;
    revoke(id: string, now: string): Promise<boolean>;
    markUsed(id: string, now: string): Promise<void>;
  };
  /**
   * Sets a tenant's mark (`connected_at`, `credentials_rejected_at`) to `now` unless it is already set at or after
   * `notBefore` ('' = only when unset), and appends the event with it; true when this call set it.
   */
  markTenant(
    tenantId: string,
    mark: 'connected_at' | 'credentials_rejected_at',
    now: string,
    notBefore: string | undefined,
    draft: EventDraft,
  ): Promise<boolean>;
}

export type { Member, ResourceData, ResourceTypeName };
