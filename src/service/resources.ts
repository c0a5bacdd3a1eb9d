/**
 * SCIM use cases for Users and Groups: validate → store (one transaction per write) → render.
 * A 2xx is returned only after the transaction has committed.
 */
import { isDeepStrictEqual } from 'node:util';
import { ScimError } from '../scim/errors.js';
import { etagMatches } from '../scim/etag.js';
import { checkMemberLimits, checkResourceLimits } from '../scim/limits.js';
import { matchesFilter } from '../scim/filter/index.js';
import { applyPatch, parsePatchRequest } from '../scim/patch/index.js';
import { planGroupPatch } from '../scim/patch/members.js';
import { normalizeResource } from '../scim/schema/normalize.js';
import { projectResource, projectionKeeps } from '../scim/schema/project.js';
import { managerValue, renderResource, type StoredResource } from '../scim/schema/render.js';
import {
  CORE_USER,
  ENTERPRISE_USER,
  LIST_RESPONSE,
  type JsonObject,
  type Member,
  type ResourceData,
  type ResourceTypeName,
} from '../scim/types.js';
import type { MembershipRead, ResourceRow, Store, TenantStore } from '../store/types.js';
import { newId } from '../store/sql/ids.js';
import { MembershipChanges, previousValues, userUpdateType } from '../events/diff.js';
import type { EventDraft } from '../events/types.js';
import {
  parseListParams,
  parseProjection,
  wantsMembers,
  type Limits,
  type ListParams,
  type Projection,
} from './query.js';

export interface WriteResult {
  resource: JsonObject;
  id: string;
  version: number;
  /** A short description for the activity log (no secrets). */
  summary: string;
}

/**
 * RFC 7644 §3.14: a write with `If-Match` applies only to the version the client names (`*` = any).
 * Entra never sends it; other clients use it to avoid lost updates.
 */
function checkIfMatch(ifMatch: string | undefined, version: number, rt: ResourceTypeName, id: string): void {
  if (ifMatch === undefined || etagMatches(ifMatch, version)) return;
  throw new ScimError(
    412,
    undefined,
    `${rt} '${id}' is at version W/"${version}", not ${ifMatch}: it changed since you read it; GET it again and retry`,
  );
}

/** Data a rendering takes from outside the resource's own row (memberships, reference checks). */
type RenderExtras = Pick<StoredResource, 'members' | 'groups' | 'danglingManager'>;

/**
 * The ids of the members a removal took out, for MembershipChanges; the type stored with each is kept in `types` for
 * their group.member_removed events, so no query resolves them again.
 */
function typesOf(gone: readonly Member[], types: Map<string, string | undefined>): string[] {
  for (const m of gone) if (m.type && !types.get(m.value)) types.set(m.value, m.type);
  return gone.map((m) => m.value);
}

function notItself(groupId: string, members: readonly Member[]): void {
  if (members.some((m) => m.value === groupId))
    throw new ScimError(400, 'invalidValue', `a group cannot be a member of itself ('${groupId}')`);
}

const notFound = (rt: ResourceTypeName, id: string) =>
  new ScimError(404, undefined, `${rt} '${id}' not found in this tenant`);

/**
 * Account Discovery (entra-scim-client.md §1.24) walks a whole tenant with `startIndex` = 1, 101, 201, … An offset
 * costs a walk over every row before it, so the walk would be quadratic. After a full page the position of its
 * last row is kept here, under the query and the next page's startIndex; when that page is asked for, the store
 * seeks past the position instead (an index range). RFC 7644 §3.4.2.4 lets index paging return different rows
 * when resources change between requests; with a seek, a walk neither skips nor repeats a row because of a
 * delete or insert before its position. Per process and bounded: a miss (another instance, expiry) just pays
 * the offset.
 */
const CONTINUATIONS = 2000;
const CONTINUATION_MS = 15 * 60_000;

/**
 * A group PATCH naming more member ids than this takes the lock (patchMembersUnlocked): its statements, and its
 * events, are written in chunks.
 */
const UNLOCKED_MEMBERS = 100;

/** Groups whose rows patchMembersUnlocked remembers (the most recently used). */
const REMEMBERED_GROUPS = 2000;

export class ResourceService {
  private readonly continuations = new Map<string, { position: string; at: number }>();
  /**
   * Groups' rows as this process last read or wrote them in patchMembersUnlocked (with lastEventSeq), by tenant and
   * id: the next PATCH of a group's members assumes them instead of reading the group first, and its statement
   * checks them (updateMembersIf `assumed`). A row changed since by anyone (another request, another instance)
   * only fails that check: the PATCH then reads, as without it. Entra sends a group's members in many PATCHes of a
   * few each; each PATCH saves a round trip to PostgreSQL (issue 13). `cold`: the last read found the group changed
   * since (instances behind a balancer take turns with it), so its next PATCH reads first instead of trying a row that
   * is likely stale, a statement for nothing; it is warm again once a read finds it as this process left it.
   */
  private readonly groupRows = new Map<string, { row: ResourceRow; cold: boolean }>();

  constructor(
    private readonly store: Store,
    private readonly limits: Limits,
    private readonly baseUrl: (tenantId: string) => string,
    private readonly clock: () => Date = () => new Date(),
    /** Write directory events with every change (the outbox; EVENTS_ENABLED). */
    private readonly eventsEnabled = true,
  ) {}

  /**
   * Appends the events of one write in its transaction. `row`: the resource's row as its write left it, when that
   * write already took the sequence numbers of the resource's events (eventSeq: no second write of the row).
   */
  private async emit(tx: TenantStore, drafts: EventDraft[], now: string, row?: ResourceRow): Promise<void> {
    if (!this.eventsEnabled || !drafts.length) return;
    const count = row?.eventSeq === undefined ? 0 : drafts.filter((d) => d.resourceId === row.id).length;
    await tx.appendEvents(
      drafts,
      now,
      count
        ? new Map([
            [
              row!.id,
              { last: row!.eventSeq!, count, ...(row!.eventChain ? { chain: row!.eventChain } : {}) },
            ],
          ])
        : undefined,
    );
  }

  /**
   * The previous values of the attributes an update changes (the `previous` of its event), computed once per write:
   * before the write, which takes one event number when there are any. Undefined: no event (nothing changed, or
   * events are off).
   */
  private previousOf(before: ResourceData, after: ResourceData): JsonObject | undefined {
    return this.eventsEnabled ? previousValues(before, after) : undefined;
  }

  /** One event per member whose membership changed, in the request's order. */
  private async memberEvents(
    tx: TenantStore,
    group: JsonObject,
    groupId: string,
    changes: MembershipChanges,
    types: Map<string, string | undefined>,
  ): Promise<EventDraft[]> {
    await this.resolveTypes(tx, changes, types);
    return this.memberDrafts(group, groupId, changes, types);
  }

  /** The types of the members whose membership changed that `types` does not hold yet, in one query. */
  private async resolveTypes(
    tx: TenantStore,
    changes: MembershipChanges,
    types: Map<string, string | undefined>,
  ): Promise<void> {
    if (!this.eventsEnabled || !changes.count) return;
    const unknown = changes.entries().filter(([id]) => !types.get(id));
    if (!unknown.length) return;
    const kinds = await tx.members.resolveMembers(unknown.map(([id]) => id));
    for (const [id] of unknown) types.set(id, kinds.get(id));
  }

  /** memberEvents once the members' types are known (resolveTypes). */
  private memberDrafts(
    group: JsonObject,
    groupId: string,
    changes: MembershipChanges,
    types: Map<string, string | undefined>,
  ): EventDraft[] {
    if (!this.eventsEnabled || !changes.count) return [];
    return changes.entries().map(([value, how]) => {
      const type = types.get(value);
      return {
        type: how === 'added' ? 'group.member_added' : 'group.member_removed',
        resourceType: 'Group',
        resourceId: groupId,
        data: group,
        member: type ? { value, type } : { value },
      };
    });
  }

  private now(): string {
    return this.clock().toISOString();
  }

  private render(
    tenantId: string,
    rt: ResourceTypeName,
    row: ResourceRow,
    extras: RenderExtras,
    projection?: Projection,
  ): JsonObject {
    const full = renderResource(rt, { ...row, ...extras }, this.baseUrl(tenantId));
    // Without attributes/excludedAttributes the full resource is already what RFC 7644 §3.9 returns.
    return projection && (projection.attributes.length || projection.excludedAttributes.length)
      ? projectResource(rt, full, projection)
      : full;
  }

  /**
   * What rendering users needs beyond their rows: their groups (RFC 7643 §4.1.2, from the membership table) and
   * whether their manager still exists. One batched query each for a whole page, and none when the projection
   * drops the attribute (Entra's `attributes=id` reference check loads neither).
   */
  private async userExtras(
    t: TenantStore,
    rows: readonly (ResourceRow & { groups?: { value: string; display: string }[] })[],
    projection?: Projection,
  ): Promise<(row: ResourceRow) => RenderExtras> {
    if (rows.length === 0) return () => ({});
    // A query with withGroups has read them with the rows already.
    const loaded = rows.every((r) => r.groups !== undefined);
    const groups = !projectionKeeps('User', projection, CORE_USER, 'groups')
      ? undefined
      : loaded
        ? new Map(rows.map((r) => [r.id, r.groups!]))
        : await t.members.groupsOf(rows.map((r) => r.id));
    let users: Set<string> | undefined;
    if (projectionKeeps('User', projection, ENTERPRISE_USER, 'manager')) {
      const ids = [...new Set(rows.map((r) => managerValue(r.data)).filter((v) => v !== undefined))];
      if (ids.length) {
        const kinds = await t.members.resolveMembers(ids);
        users = new Set([...kinds].filter(([, kind]) => kind === 'User').map(([id]) => id));
      }
    }
    return (row) => {
      const out: RenderExtras = {};
      if (groups) out.groups = groups.get(row.id) ?? [];
      const manager = users && managerValue(row.data);
      if (manager !== undefined && users && !users.has(manager)) out.danglingManager = true;
      return out;
    };
  }

  /**
   * A `manager.value` that names no user of this tenant (yet) is kept, so nothing a client sent is lost, but it is
   * never rendered: no client sees a dangling reference (rendering checks every manager against the tenant's users).
   * Refusing it would break Microsoft's reference collection, which POSTs a user whose manager is "SuzzyQ".
   * (A user's create and its PATCH on PostgreSQL do not call it: createUser and patchUserUnlocked write in one
   * statement, with no transaction to read in. Were this ever to read, they would have to check it another way.)
   */
  private async checkManager(
    _tx: TenantStore,
    _before: ResourceData | undefined,
    _after: ResourceData,
  ): Promise<void> {}

  /**
   * Joyn FSM users sign in through the customer's identity provider, never with a SCIM password: a `password`
   * sent by a client (RFC 7643 §4.1.1, writeOnly) is accepted and discarded, so no secret is ever stored.
   */
  private withoutPassword(data: ResourceData): ResourceData {
    if (!('password' in data)) return data;
    const { password: _discarded, ...rest } = data;
    return rest;
  }

  /** Splits group members out of the document: they live in their own table. */
  private splitMembers(
    rt: ResourceTypeName,
    data: ResourceData,
  ): { data: ResourceData; members: Member[] | undefined } {
    if (rt !== 'Group' || !('members' in data)) return { data, members: rt === 'Group' ? [] : undefined };
    const { members, ...rest } = data;
    return { data: rest, members: (members as unknown as Member[] | undefined) ?? [] };
  }

  /** The request limits (src/scim/limits.ts) on data about to be stored and the members it sets. */
  private checked<T extends { data: ResourceData; members: Member[] | undefined }>(
    rt: ResourceTypeName,
    r: T,
  ): T {
    checkResourceLimits(rt, r.data, this.limits, this.limits.maxPayloadSize);
    if (r.members)
      checkMemberLimits(
        r.members.length,
        r.members.map((m) => m.value),
        this.limits,
      );
    return r;
  }

  private async typedMembers(
    tx: TenantStore,
    groupId: string,
    members: readonly Member[],
  ): Promise<Member[]> {
    notItself(groupId, members);
    const kinds = await tx.members.resolveMembers(members.map((m) => m.value));
    return members.map((m) => {
      const type = kinds.get(m.value) ?? m.type;
      const out: Member = { value: m.value };
      if (type) out.type = type;
      if (m.display) out.display = m.display;
      return out;
    });
  }

  /**
   * The events of an update: one for the attributes when `previous` (previousOf) says some changed, one per member
   * whose membership changed.
   */
  private async updateEvents(
    tx: TenantStore,
    tenantId: string,
    rt: ResourceTypeName,
    before: ResourceRow,
    after: ResourceRow,
    previous: JsonObject | undefined,
    opts: {
      changes?: MembershipChanges;
      stored?: Member[];
      types?: Map<string, string | undefined>;
    } = {},
  ): Promise<EventDraft[]> {
    if (!this.eventsEnabled) return [];
    const { changes = new MembershipChanges(), stored, types = new Map<string, string | undefined>() } = opts;
    for (const m of stored ?? []) types.set(m.value, m.type);
    await this.resolveTypes(tx, changes, types);
    return this.updateDrafts(tenantId, rt, before, after, previous, changes, types);
  }

  /** updateEvents once the members' types are known (resolveTypes). */
  private updateDrafts(
    tenantId: string,
    rt: ResourceTypeName,
    before: ResourceRow,
    after: ResourceRow,
    previous: JsonObject | undefined,
    changes: MembershipChanges,
    types: Map<string, string | undefined>,
  ): EventDraft[] {
    if (!this.eventsEnabled) return [];
    const rendered = this.render(tenantId, rt, after, {});
    const drafts: EventDraft[] = [];
    if (previous)
      drafts.push({
        type: rt === 'User' ? userUpdateType(before.data, after.data) : 'group.updated',
        resourceType: rt,
        resourceId: after.id,
        data: rendered,
        previous,
      });
    drafts.push(...this.memberDrafts(rendered, after.id, changes, types));
    return drafts;
  }

  async create(tenantId: string, rt: ResourceTypeName, body: unknown): Promise<WriteResult> {
    const { data, members } = this.checked(
      rt,
      this.splitMembers(rt, this.withoutPassword(normalizeResource(rt, body))),
    );
    const id = newId();
    if (rt === 'User') return this.createUser(tenantId, id, data);
    return this.store.transaction(tenantId, async (tx) => {
      const now = this.now();
      const row = await tx.groups.insert(id, data, now);
      const stored = members?.length ? await this.typedMembers(tx, id, members) : [];
      const changes = new MembershipChanges();
      if (stored.length) changes.added(await tx.members.add(id, stored));
      if (this.eventsEnabled) {
        const rendered = this.render(tenantId, rt, row, {});
        const types = new Map(stored.map((m) => [m.value, m.type]));
        await this.emit(
          tx,
          [
            {
              type: 'group.created',
              resourceType: rt,
              resourceId: id,
              data: rendered,
            },
            ...(await this.memberEvents(tx, rendered, id, changes, types)),
          ],
          now,
          row,
        );
      }
      return {
        resource: this.render(tenantId, rt, row, { members: stored }),
        id,
        version: row.version,
        summary: `created group ${String(data.displayName)}`,
      };
    });
  }

  /**
   * A user's create reads nothing first (a new user belongs to no group, and a manager is never refused:
   * checkManager), so it is one write: its row, email rows and user.created event, which on PostgreSQL is one
   * statement without BEGIN and COMMIT (Store.createUser).
   */
  private async createUser(tenantId: string, id: string, data: ResourceData): Promise<WriteResult> {
    let rendered: JsonObject | undefined;
    const row = await this.store.createUser(
      tenantId,
      id,
      data,
      () => this.now(),
      this.eventsEnabled
        ? (row) => ({
            type: 'user.created',
            resourceType: 'User',
            resourceId: id,
            data: (rendered = this.render(tenantId, 'User', row, {})),
          })
        : undefined,
    );
    return {
      // Its manager is rendered only if it names a user of the tenant (read after the write). Without a manager the
      // answer is the document its event carries: rendered once (the event's copy was serialized when it was
      // written, so sharing the object is safe).
      resource:
        rendered && managerValue(data) === undefined
          ? rendered
          : this.render(
              tenantId,
              'User',
              row,
              // (No query for its groups: there are none.)
              (await this.userExtras(this.store.tenant(tenantId), [{ ...row, groups: [] }]))(row),
            ),
      id,
      version: row.version,
      summary: `created user ${String(data.userName)}`,
    };
  }

  /**
   * A user's PATCH on PostgreSQL without a transaction or a lock (Store.updateUserIf): the user is read, patched,
   * and written (with its event) in one statement only if nobody wrote it in between: two round trips instead of four.
   * Read again when someone did, up to 3 times; then undefined, and the caller takes the lock (getForUpdate), as it
   * does for a PATCH that changes the emails (their rows take statements of their own).
   */
  private async patchUserUnlocked(
    tenantId: string,
    id: string,
    ops: ReturnType<typeof parsePatchRequest>,
    projection: Projection | undefined,
    ifMatch: string | undefined,
  ): Promise<WriteResult | undefined> {
    const t = this.store.tenant(tenantId);
    for (let attempt = 0; attempt < 3; attempt++) {
      const before = await t.users.getWithSeq(id);
      if (!before) throw notFound('User', id);
      checkIfMatch(ifMatch, before.version, 'User', id);
      const data = this.withoutPassword(applyPatch('User', before.data, ops));
      // A PATCH that changes nothing writes nothing (as in a transaction).
      if (isDeepStrictEqual(data, before.data))
        return this.patchedUser(tenantId, t, before, before, undefined, ops.length, projection);
      if (!isDeepStrictEqual(data.emails, before.data.emails)) return undefined;
      checkResourceLimits('User', data, this.limits, this.limits.maxPayloadSize);
      // Its event (none with events off, or when nothing an event shows changed), as in a transaction.
      const previous = this.previousOf(before.data, data);
      let rendered: JsonObject | undefined;
      const row = await this.store.updateUserIf(
        tenantId,
        before,
        data,
        () => this.now(),
        previous &&
          ((row) => ({
            type: userUpdateType(before.data, row.data),
            resourceType: 'User',
            resourceId: id,
            data: (rendered = this.render(tenantId, 'User', row, {})),
            previous,
          })),
      );
      if (row) return this.patchedUser(tenantId, t, before, row, rendered, ops.length, projection);
    }
    return undefined;
  }

  /** A user's PATCH answer: `row` as written (`before` itself when nothing changed), `rendered` for its event. */
  private async patchedUser(
    tenantId: string,
    t: TenantStore,
    before: ResourceRow,
    row: ResourceRow,
    rendered: JsonObject | undefined,
    operations: number,
    projection: Projection | undefined,
  ): Promise<WriteResult> {
    // No projection: the route answers 204 without a body, so nothing is loaded for it.
    const extras = projection ? (await this.userExtras(t, [row], projection))(row) : {};
    return {
      resource: !projection && rendered ? rendered : this.render(tenantId, 'User', row, extras, projection),
      id: row.id,
      version: row.version,
      summary: `patched user ${String(row.data.userName)} (${operations} operation${operations === 1 ? '' : 's'}${row === before ? ', no change' : ''})`,
    };
  }

  async get(
    tenantId: string,
    rt: ResourceTypeName,
    id: string,
    params: Pick<ListParams, 'attributes' | 'excludedAttributes'> = {},
  ): Promise<JsonObject> {
    return (await this.getVersioned(tenantId, rt, id, params)).resource;
  }

  /** get() with the resource's version, which a projection may leave out of the body (for ETag, If-None-Match). */
  async getVersioned(
    tenantId: string,
    rt: ResourceTypeName,
    id: string,
    params: Pick<ListParams, 'attributes' | 'excludedAttributes'> = {},
  ): Promise<{ resource: JsonObject; version: number }> {
    const projection = parseProjection(params);
    const t = this.store.tenant(tenantId);
    const row = await (rt === 'User' ? t.users : t.groups).get(id);
    if (!row) throw notFound(rt, id);
    const extras: RenderExtras =
      rt === 'User'
        ? (await this.userExtras(t, [row], projection))(row)
        : wantsMembers(projection)
          ? { members: await t.members.list(id) }
          : {};
    return { resource: this.render(tenantId, rt, row, extras, projection), version: row.version };
  }

  async list(tenantId: string, rt: ResourceTypeName, params: ListParams): Promise<JsonObject> {
    const { spec, projection } = parseListParams(rt, params, this.limits);
    if (rt === 'User') spec.withGroups = projectionKeeps('User', projection, CORE_USER, 'groups');
    const t = this.store.tenant(tenantId);
    // The query's identity without its page: same tenant, type, filter, sort and page size.
    const walk =
      spec.cursor === undefined && spec.count > 0
        ? [tenantId, rt, params.filter ?? '', params.sortBy ?? '', params.sortOrder ?? '', spec.count].join(
            '\u0000',
          )
        : undefined;
    const now = this.clock().getTime();
    if (walk !== undefined && (spec.startIndex ?? 1) > 1) {
      const key = `${walk}\u0000${spec.startIndex}`;
      const hit = this.continuations.get(key);
      if (hit && now - hit.at >= 0 && now - hit.at < CONTINUATION_MS) spec.after = hit.position;
      else if (hit) this.continuations.delete(key);
    }
    const result = await (rt === 'User' ? t.users : t.groups).query(spec);
    if (walk !== undefined && result.lastPosition !== undefined) {
      const next = `${walk}\u0000${(spec.startIndex ?? 1) + spec.count}`;
      this.continuations.delete(next);
      if (this.continuations.size >= CONTINUATIONS)
        this.continuations.delete(this.continuations.keys().next().value!);
      this.continuations.set(next, { position: result.lastPosition, at: now });
    }
    const extras = rt === 'User' ? await this.userExtras(t, result.rows, projection) : undefined;
    const resources = result.rows.map((r) =>
      this.render(tenantId, rt, r, extras ? extras(r) : r.members ? { members: r.members } : {}, projection),
    );
    const out: JsonObject = {
      schemas: [LIST_RESPONSE],
      totalResults: result.totalResults,
      itemsPerPage: resources.length,
    };
    if (spec.cursor === undefined) out.startIndex = spec.startIndex ?? 1;
    out.Resources = resources;
    if (result.nextCursor !== undefined) out.nextCursor = result.nextCursor;
    return out;
  }

  async replace(
    tenantId: string,
    rt: ResourceTypeName,
    id: string,
    body: unknown,
    ifMatch?: string,
  ): Promise<WriteResult> {
    const { data, members } = this.checked(
      rt,
      this.splitMembers(rt, this.withoutPassword(normalizeResource(rt, body))),
    );
    return this.store.transaction(tenantId, async (tx) => {
      const repo = rt === 'User' ? tx.users : tx.groups;
      const before = await repo.getForUpdate(id);
      if (!before) throw notFound(rt, id);
      checkIfMatch(ifMatch, before.version, rt, id);
      if (rt === 'User') await this.checkManager(tx, before.data, data);
      const now = this.now();
      // A user's event number is taken by the update; a group's count depends on the membership that follows.
      const previous = this.previousOf(before.data, data);
      const row = (await repo.update(id, data, now, before.data, rt === 'User' && previous ? 1 : 0))!;
      let extras: RenderExtras;
      let stored: Member[] | undefined;
      const changes = new MembershipChanges();
      const types = new Map<string, string | undefined>();
      if (rt === 'Group') {
        // PUT replaces the whole resource, membership included (RFC 7644 §3.5.1).
        stored = members?.length ? await this.typedMembers(tx, id, members) : [];
        changes.removed(typesOf(await tx.members.removeAll(id), types));
        if (stored.length) changes.added(await tx.members.add(id, stored));
        extras = { members: stored };
      } else extras = (await this.userExtras(tx, [row]))(row);
      await this.emit(
        tx,
        await this.updateEvents(tx, tenantId, rt, before, row, previous, { changes, stored, types }),
        now,
        row,
      );
      return {
        resource: this.render(tenantId, rt, row, extras),
        id,
        version: row.version,
        summary: `replaced ${rt.toLowerCase()} ${id}`,
      };
    });
  }

  async patch(
    tenantId: string,
    rt: ResourceTypeName,
    id: string,
    body: unknown,
    projection?: Projection,
    ifMatch?: string,
  ): Promise<WriteResult> {
    const ops = parsePatchRequest(body);
    if (ops.length > this.limits.maxOperations)
      throw new ScimError(
        413,
        undefined,
        `PATCH has ${ops.length} operations; the maximum is ${this.limits.maxOperations}`,
      );
    if (this.store.dialect === 'postgres') {
      const done =
        rt === 'User'
          ? await this.patchUserUnlocked(tenantId, id, ops, projection, ifMatch)
          : await this.patchMembersUnlocked(tenantId, id, ops, projection, ifMatch);
      if (done) return done;
      // The lock's write leaves a group's row that this process remembers stale: its next PATCH reads first.
      if (rt === 'Group') this.groupRows.delete(`${tenantId}/${id}`);
    }
    return this.store.transaction(tenantId, async (tx) => {
      if (rt === 'User') {
        const before = await tx.users.getForUpdate(id);
        if (!before) throw notFound(rt, id);
        checkIfMatch(ifMatch, before.version, rt, id);
        const data = this.withoutPassword(applyPatch('User', before.data, ops));
        await this.checkManager(tx, before.data, data);
        const same = isDeepStrictEqual(data, before.data);
        if (!same) checkResourceLimits(rt, data, this.limits, this.limits.maxPayloadSize);
        const now = this.now();
        const previous = same ? undefined : this.previousOf(before.data, data);
        // Rendered once for the event and the answer (without a projection they are the same document; the event's
        // copy is serialized when it is written, so sharing the object is safe).
        let rendered: JsonObject | undefined;
        const row = same
          ? before
          : previous
            ? (await tx.users.updateWithEvents(before, data, now, 1, (row) => [
                {
                  type: userUpdateType(before.data, row.data),
                  resourceType: rt,
                  resourceId: id,
                  data: (rendered = this.render(tenantId, rt, row, {})),
                  previous,
                },
              ]))!
            : (await tx.users.update(id, data, now, before.data))!;
        return this.patchedUser(tenantId, tx, before, row, rendered, ops.length, projection);
      }
      const before = await tx.groups.getForUpdate(id);
      if (!before) throw notFound(rt, id);
      checkIfMatch(ifMatch, before.version, rt, id);
      let data = before.data;
      const changes = new MembershipChanges();
      const types = new Map<string, string | undefined>();
      // The members' types are resolved by the statement that adds them (no lookup before it).
      const add = async (members: readonly Member[]) => {
        notItself(id, members);
        const added = await tx.members.addResolved(id, members);
        for (const m of added) types.set(m.value, m.type);
        changes.added(added.map((m) => m.value));
      };
      const removed = (gone: readonly Member[]) => changes.removed(typesOf(gone, types));
      const { steps } = planGroupPatch(ops);
      const ids = steps.flatMap((s) =>
        'members' in s ? s.members.map((m) => m.value) : 'ids' in s ? s.ids : [],
      );
      checkMemberLimits(ids.length, ids, this.limits);
      for (const step of steps) {
        switch (step.kind) {
          case 'attributes':
            data = applyPatch('Group', data, step.ops);
            break;
          case 'addMembers':
            await add(step.members);
            break;
          case 'removeMembers':
            removed(await tx.members.remove(id, step.ids));
            break;
          case 'removeAllMembers':
            removed(await tx.members.removeAll(id));
            break;
          case 'replaceMembers': {
            removed(await tx.members.removeAll(id));
            await add(step.members);
            break;
          }
          case 'removeMembersWhere': {
            // A filter other than `value eq` (rare): evaluate it over the current members.
            const current = await tx.members.list(id);
            const ids = current
              .filter((m) => matchesFilter(step.filter, m as unknown as Record<string, unknown>))
              .map((m) => m.value);
            removed(await tx.members.remove(id, ids));
            break;
          }
        }
      }
      const membersChanged = changes.count;
      const changed = !isDeepStrictEqual(data, before.data);
      if (changed) checkResourceLimits(rt, data, this.limits, this.limits.maxPayloadSize);
      const now = this.now();
      // The group's events (one for its attributes, one per member) are written with this write of its row.
      const previous = changed ? this.previousOf(before.data, data) : undefined;
      const events = this.eventsEnabled ? (previous ? 1 : 0) + membersChanged : 0;
      if (events) await this.resolveTypes(tx, changes, types);
      // Every event of the write carries the group as rendered after it: without a projection, that is the answer.
      let rendered: JsonObject | undefined;
      const row = events
        ? (await tx.groups.updateWithEvents(before, changed ? data : undefined, now, events, (after) => {
            const drafts = this.updateDrafts(tenantId, rt, before, after, previous, changes, types);
            rendered = drafts[0]?.data;
            return drafts;
          }))!
        : changed
          ? (await tx.groups.update(id, data, now, before.data))!
          : membersChanged
            ? (await tx.groups.touch(id, now))!
            : before;
      const wantMembers = projection ? wantsMembers(projection) : false;
      const members = wantMembers ? await tx.members.list(id) : undefined;
      return this.patchedGroup(tenantId, row, rendered, members, ops.length, membersChanged, projection);
    });
  }

  /** A group's PATCH answer: `row` as written, `rendered` for its events, `members` when the projection wants them. */
  private patchedGroup(
    tenantId: string,
    row: ResourceRow,
    rendered: JsonObject | undefined,
    members: Member[] | undefined,
    operations: number,
    membersChanged: number,
    projection: Projection | undefined,
  ): WriteResult {
    return {
      resource:
        !projection && rendered
          ? rendered
          : this.render(tenantId, 'Group', row, members ? { members } : {}, projection),
      id: row.id,
      version: row.version,
      summary: `patched group ${String(row.data.displayName)} (${operations} operation${operations === 1 ? '' : 's'}, ${membersChanged} membership change${membersChanged === 1 ? '' : 's'})`,
    };
  }

  /**
   * A PATCH of a group's members on PostgreSQL without a transaction or a lock (Store.updateMembersIf), for Entra's
   * shapes: operations that only add members or remove them by id. The group and what it holds of the ids named are
   * read in one statement; the changes, the group's new version and its events are written in one more, only if the
   * group's version is still the one read (every change of its members changes it): two round trips instead of
   * five. Read again when it is not, up to 3 times; then undefined, and the caller takes the lock, as it does for
   * every other PATCH of a group (attributes, replacing or filtering members, a projection with members, an id in
   * two operations, a long list) and for a PATCH this path would refuse (the locked path gives its error in order).
   */
  private async patchMembersUnlocked(
    tenantId: string,
    id: string,
    ops: ReturnType<typeof parsePatchRequest>,
    projection: Projection | undefined,
    ifMatch: string | undefined,
  ): Promise<WriteResult | undefined> {
    if (projection && wantsMembers(projection)) return undefined;
    let steps: GroupPatchSteps;
    try {
      steps = planGroupPatch(ops).steps;
    } catch {
      return undefined;
    }
    const named = new Set<string>();
    for (const step of steps) {
      if (step.kind !== 'addMembers' && step.kind !== 'removeMembers') return undefined;
      const ids = new Set(step.kind === 'addMembers' ? step.members.map((m) => m.value) : step.ids);
      for (const v of ids) if (named.has(v)) return undefined;
      for (const v of ids) named.add(v);
    }
    if (!named.size || named.size > UNLOCKED_MEMBERS) return undefined;
    const all = steps.flatMap((s) =>
      s.kind === 'addMembers' ? s.members.map((m) => m.value) : s.kind === 'removeMembers' ? s.ids : [],
    );
    try {
      checkMemberLimits(all.length, all, this.limits);
    } catch {
      return undefined;
    }
    const key = `${tenantId}/${id}`;
    const known = this.groupRows.get(key);
    // If-Match is checked against the group as it is, never against a remembered row.
    if (known && !known.cold && ifMatch === undefined) {
      const done = await this.patchMembersAssumed(tenantId, known.row, steps, ops.length, projection);
      if (done) return done;
    }
    const t = this.store.tenant(tenantId);
    for (let attempt = 0; attempt < 3; attempt++) {
      const read = await t.groups.readMembership(id, [...named]);
      if (!read) {
        this.groupRows.delete(key);
        throw notFound('Group', id);
      }
      const before = read.row;
      const cold = known !== undefined && known.row.version !== before.version;
      this.rememberGroup(key, before, cold);
      checkIfMatch(ifMatch, before.version, 'Group', id);
      notItselfIn(id, steps);
      const plan = planMembers(steps, read);
      const { changes } = plan;
      if (!changes.count)
        return this.patchedGroup(tenantId, before, undefined, undefined, ops.length, 0, projection);
      const done = await this.writeMembers(tenantId, before, plan, ops.length, projection, false, cold);
      if (done) return done;
    }
    return undefined;
  }

  /**
   * patchMembersUnlocked without reading: the group as remembered (`before`), every member to add a user that is not
   * a member yet, every id to remove a member of type User (Entra's PATCHes). The statement checks all of it and
   * writes nothing when any does not hold: undefined then, and the caller reads.
   */
  private async patchMembersAssumed(
    tenantId: string,
    before: ResourceRow,
    steps: GroupPatchSteps,
    operations: number,
    projection: Projection | undefined,
  ): Promise<WriteResult | undefined> {
    // The group as a member of itself: its error comes after the read (a 404 first, when it is gone).
    if (steps.some((st) => st.kind === 'addMembers' && st.members.some((m) => m.value === before.id)))
      return undefined;
    // What a read would have found if the assumptions hold (the statement checks them): every id to add a user that
    // is not a member, every id to remove a member of type User.
    const assumedRead: Pick<MembershipRead, 'members' | 'kinds'> = { members: new Map(), kinds: new Map() };
    for (const step of steps) {
      if (step.kind === 'addMembers') for (const m of step.members) assumedRead.kinds.set(m.value, 'User');
      else if (step.kind === 'removeMembers')
        for (const v of step.ids) assumedRead.members.set(v, { value: v, type: 'User' });
    }
    return this.writeMembers(
      tenantId,
      before,
      planMembers(steps, assumedRead),
      operations,
      projection,
      true,
      false,
    );
  }

  /**
   * patchMembersUnlocked's write (Store.updateMembersIf, from the group as read or, `assumed`, as remembered) and its
   * answer. The group's row as the write leaves it is remembered, `cold` or not. Undefined: nothing was written.
   */
  private async writeMembers(
    tenantId: string,
    before: ResourceRow,
    change: {
      add: Member[];
      remove: string[];
      changes: MembershipChanges;
      types: Map<string, string | undefined>;
    },
    operations: number,
    projection: Projection | undefined,
    assumed: boolean,
    cold: boolean,
  ): Promise<WriteResult | undefined> {
    const { changes, types } = change;
    const count = this.eventsEnabled ? changes.count : 0;
    let rendered: JsonObject | undefined;
    const row = await this.store.updateMembersIf(
      tenantId,
      before,
      { add: change.add, remove: change.remove },
      () => this.now(),
      count,
      count
        ? (after) => {
            const drafts = this.updateDrafts(tenantId, 'Group', before, after, undefined, changes, types);
            rendered = drafts[0]?.data;
            return drafts;
          }
        : undefined,
      assumed,
    );
    if (!row) return undefined;
    this.rememberGroup(
      `${tenantId}/${before.id}`,
      { ...row, lastEventSeq: row.eventSeq ?? before.lastEventSeq },
      cold,
    );
    return this.patchedGroup(tenantId, row, rendered, undefined, operations, changes.count, projection);
  }

  private rememberGroup(key: string, row: ResourceRow, cold: boolean): void {
    this.groupRows.delete(key);
    if (this.groupRows.size >= REMEMBERED_GROUPS) this.groupRows.delete(this.groupRows.keys().next().value!);
    this.groupRows.set(key, { row, cold });
  }

  /** Deletes a user or group; resolves with its stored document (whom the activity log names as deleted). */
  async delete(tenantId: string, rt: ResourceTypeName, id: string, ifMatch?: string): Promise<JsonObject> {
    return this.store.transaction(tenantId, async (tx) => {
      const repo = rt === 'User' ? tx.users : tx.groups;
      const before = await repo.getForUpdate(id);
      if (!before) throw notFound(rt, id);
      if (ifMatch !== undefined) checkIfMatch(ifMatch, before.version, rt, id);
      const now = this.now();
      const drafts: EventDraft[] = [];
      // Deleting a user, or a group nested in other groups, ends its memberships first (leaveGroups): each group it
      // leaves gets a new version, as for any change of its members, and the application hears of each, like any
      // member removal.
      const left = await tx.groups.leaveGroups(id, now);
      if (this.eventsEnabled) {
        for (const grow of left)
          drafts.push({
            type: 'group.member_removed',
            resourceType: 'Group',
            resourceId: grow.id,
            data: this.render(tenantId, 'Group', grow, {}),
            member: { value: id, type: rt },
          });
        drafts.push({
          type: rt === 'User' ? 'user.deleted' : 'group.deleted',
          resourceType: rt,
          resourceId: id,
          data: this.render(tenantId, rt, before, {}),
        });
      }
      // The events first: the resource's sequence is counted on its row (migration 0016), which the delete removes.
      // Both are in one transaction, so a delete that fails leaves no event behind.
      await this.emit(tx, drafts, now);
      if (!(await repo.delete(id))) throw notFound(rt, id);
      return before.data;
    });
  }
}

type GroupPatchSteps = ReturnType<typeof planGroupPatch>['steps'];

/** A PATCH that adds a group to its own members is refused (notItself), whichever operation does it. */
function notItselfIn(groupId: string, steps: GroupPatchSteps): void {
  for (const step of steps) if (step.kind === 'addMembers') notItself(groupId, step.members);
}

/**
 * What the locked path's statements would do to a group's members, worked out from what was read of the ids named
 * (patchMembersUnlocked): the members to add (those not there, with the type the id has in the tenant, else the one
 * declared: addResolved), the ids to remove (those there), each one's type for its event, and the changes.
 */
function planMembers(steps: GroupPatchSteps, read: Pick<MembershipRead, 'members' | 'kinds'>) {
  const changes = new MembershipChanges();
  const types = new Map<string, string | undefined>();
  const add: Member[] = [];
  const remove: string[] = [];
  for (const step of steps) {
    if (step.kind === 'addMembers') {
      for (const m of new Map(step.members.map((m) => [m.value, m])).values()) {
        if (read.members.has(m.value)) continue;
        const member: Member = { value: m.value };
        const type = read.kinds.get(m.value) ?? m.type;
        if (type) member.type = type;
        if (m.display !== undefined) member.display = m.display;
        add.push(member);
        types.set(m.value, type);
        changes.added([m.value]);
      }
    } else if (step.kind === 'removeMembers') {
      for (const v of new Set(step.ids)) {
        const m = read.members.get(v);
        if (!m) continue;
        remove.push(v);
        types.set(v, m.type ?? read.kinds.get(v));
        changes.removed([v]);
      }
    }
  }
  return { add, remove, changes, types };
}
