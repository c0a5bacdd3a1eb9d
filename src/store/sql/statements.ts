/**
 * The prepared statements of Entra's request path (sql/exec.ts), one text per table and shape. Column lists are
 * literals here: no name in them ever comes from a request.
 */
import { marks, Stmt, stmtFor } from './exec.js';
import { ACTIVITY_COLUMNS } from './activity-store.js';

type Table = 'users' | 'groups';

const ROW = 'id, data, created, last_modified, version';

const byTable = <T>(make: (t: Table) => T): Record<Table, T> => ({
  users: make('users'),
  groups: make('groups'),
});

export const getRow = byTable((t) => new Stmt(`SELECT ${ROW} FROM ${t} WHERE tenant_id = ? AND id = ?`));

/** getRowForUpdate without the lock, for a write that checks the version it read instead (Store.updateUserIf). */
export const getRowWithSeq = byTable(
  (t) => new Stmt(`SELECT ${ROW}, event_seq FROM ${t} WHERE tenant_id = ? AND id = ?`),
);

/**
 * The row, locked until the transaction ends (PostgreSQL; SQLite's single writer needs no lock), with the number of
 * the resource's last event: the lock keeps both as read, so the next write's row and event are known before it.
 */
export const getRowForUpdate = byTable(
  (t) =>
    new Stmt(
      `SELECT ${ROW}, event_seq FROM ${t} WHERE tenant_id = ? AND id = ?`,
      `SELECT ${ROW}, event_seq FROM ${t} WHERE tenant_id = ? AND id = ? FOR UPDATE`,
    ),
);

/**
 * SQLite, a write that takes event numbers (events > 0): the row also moves the head of its chain of events
 * (migration 0017, events-schema.ts) to the last number its events will take, the next ones after the last the
 * events table handed out (the single writer inserts them right after, appendEvents), and keeps the head it had
 * (event_head_before) for the first of them to point back to. `?`: the number of events, once more.
 */
const NEXT_HEAD = `COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0) + ?`;
const MOVE_HEAD = `event_head_before = event_head, event_head = ${NEXT_HEAD}`;
const HEADS = 'event_head, event_head_before';

const insertStmt = (table: Table, columns: string, values: string, chained: boolean) =>
  chained
    ? new Stmt(
        `INSERT INTO ${table} (${columns}, event_seq, event_head) VALUES (${values}, ?, ${NEXT_HEAD}) RETURNING event_head`,
      )
    : new Stmt(`INSERT INTO ${table} (${columns}, event_seq) VALUES (${values}, ?)`);
const USER_INSERT = [
  'tenant_id, id, user_name, user_name_lc, external_id, display_name_lc, active, xid, data, created, last_modified, version',
  '?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1',
] as const;
const GROUP_INSERT = [
  'tenant_id, id, display_name_lc, external_id, data, created, last_modified, version',
  '?, ?, ?, ?, ?, ?, ?, 1',
] as const;
/** By whether the row moves its chain's head (SQLite with events: the number of events once more, last). */
export const insertUser = [false, true].map((c) => insertStmt('users', ...USER_INSERT, c)) as [Stmt, Stmt];
export const insertGroup = [false, true].map((c) => insertStmt('groups', ...GROUP_INSERT, c)) as [Stmt, Stmt];

/** The derived columns of each table, in the order update statements set them. */
export const USER_COLUMNS = [
  'user_name',
  'user_name_lc',
  'external_id',
  'display_name_lc',
  'active',
  'xid',
] as const;
export const GROUP_COLUMNS = ['display_name_lc', 'external_id'] as const;

/**
 * An update that sets the document, lastModified, version and the derived columns named by `mask` (bit i =
 * columns[i]): an index or trigger (the users_text trigram index) is maintained only for a column that is set.
 */
export const updateRow = (table: Table, mask: number, chained = false, ifVersion = false) =>
  stmtFor(`update:${table}:${mask}:${chained}:${ifVersion}`, () => {
    const columns = table === 'users' ? USER_COLUMNS : GROUP_COLUMNS;
    const set = columns.filter((_, i) => mask & (1 << i)).map((c) => `${c} = ?`);
    const head = chained ? [MOVE_HEAD] : [];
    return `UPDATE ${table} SET ${[...set, 'data = ?', 'last_modified = ?', 'version = version + 1', 'event_seq = event_seq + ?', ...head].join(', ')}
      WHERE tenant_id = ? AND id = ?${ifVersion ? ' AND version = ?' : ''} RETURNING created, last_modified, version, event_seq${chained ? `, ${HEADS}` : ''}`;
  });

/** The columns of an event row as insertEvents and the statements below write them (eventParams). */
const EVENT_COLUMNS = 'id, tenant_id, type, occurred_at, resource_type, resource_id, payload';
/** At most this many events go with their row's write in one statement; more follow it (appendEvents). */
export const EVENTS_WITH_ROW = 200;

/**
 * PostgreSQL: one statement that writes a row `u` (and whatever `more` writes) and, only when the row was written,
 * its `n` events, in their order, with a data-modifying WITH: a single round trip, all or nothing.
 */
const withEvents = (write: string, returning: string, n = 1, more = '') => {
  const events =
    n === 1
      ? `SELECT ?, ?, ?, ?, ?, ?, ? FROM u`
      : `SELECT ev.id, ev.tenant_id, ev.type, ev.occurred_at, ev.resource_type, ev.resource_id, ev.payload FROM u,
         (VALUES ${Array.from({ length: n }, (_, i) => `(${i}, ?, ?, ?, ?, ?, ?, ?)`).join(', ')})
         AS ev (n, id, tenant_id, type, occurred_at, resource_type, resource_id, payload) ORDER BY ev.n`;
  return `WITH u AS (${write})${more}, e AS (INSERT INTO events (${EVENT_COLUMNS}) ${events}) SELECT ${returning} FROM u`;
};
const WRITTEN = 'created, last_modified, version, event_seq';

/**
 * PostgreSQL only: updateRow (not chained) and the resource's `n` events (≤ EVENTS_WITH_ROW) in one statement
 * (SqlResourceStore.updateWithEvents). Parameters: updateRow's, then each event's (eventParams). `ifVersion`: only
 * if the row's version is still the one given after the id (a write without a lock, Store.updateUserIf).
 */
export const updateRowWithEvents = (table: Table, mask: number, n: number, ifVersion = false) =>
  stmtFor(
    `update-events:${table}:${mask}:${n}:${ifVersion}`,
    () => withEvents(updateRow(table, mask, false, ifVersion).sqlite, WRITTEN, n),
    n,
  );

/**
 * PostgreSQL only: a user's or group's version and lastModified (a membership change, touchRow) and its `n` events in
 * one statement. Parameters: last_modified, the number of events, tenant, id, then each event's.
 */
export const touchRowWithEvents = (table: Table, n: number) =>
  stmtFor(
    `touch-events:${table}:${n}`,
    () =>
      withEvents(
        `UPDATE ${table} SET last_modified = ?, version = version + 1, event_seq = event_seq + ? WHERE tenant_id = ? AND id = ? RETURNING ${WRITTEN}`,
        WRITTEN,
        n,
      ),
    n,
  );

/** PostgreSQL only: a new user (insertUser, not chained) and its `values` email rows (user_values) in one statement. */
export const insertUserAndValues = (values: number) =>
  stmtFor(
    `insert-user-values:${values}`,
    () => `WITH u AS (${insertUser[0].sqlite}) ${insertUserValues(values).sqlite}`,
    values + 1,
  );

/**
 * PostgreSQL only: a new user, its email rows (user_values, `values` of them) and its user.created event in one
 * statement (SqlResourceStore.insertWithEvent). Parameters: insertUser's, then the email rows', then the event's.
 */
export const insertUserWithEvent = (values: number) =>
  stmtFor(
    `insert-user-event:${values}`,
    () =>
      withEvents(
        `${insertUser[0].sqlite} RETURNING id`,
        'id',
        1,
        values ? `, v AS (${insertUserValues(values).sqlite})` : '',
      ),
    values + 1,
  );

/**
 * PostgreSQL only: a group's membership changes, written only if the group is still at the version read (its row
 * read without a lock, readMembership), in one statement with the group's new version and its `n` events
 * (SqlResourceStore.updateMembersIf). Every change of a group's members bumps its version (a PATCH or PUT of it, or
 * the deletion of a member: leaveGroups), so the version check covers the members read with it. The inserts
 * have no ON CONFLICT: a member that is there after all fails the statement whole. Parameters: last_modified, n,
 * tenant, id, version; then tenant, group and (id, type, display) per member added; then tenant, group and the ids
 * removed; then each event's.
 *
 * `checked`: the group's row and what the PATCH finds were not read but remembered (ResourceService.groupRows), and
 * the statement checks what was assumed, in the group's UPDATE, so that nothing is written when it does not hold:
 * the group's last event number, every member to add a user of the tenant (its type is then `User`), every id to
 * remove a member of type `User`. A member to add that is there already fails the statement, as above. Parameters
 * after the version: the event number; with members to add, tenant, their ids and how many; with ids to remove,
 * tenant, group, the ids and how many.
 */
export const updateMembersIf = (adds: number, removes: number, n: number, checked = false) =>
  stmtFor(
    `members-if:${adds}:${removes}:${n}:${checked}`,
    () => {
      const assumed = checked
        ? ` AND event_seq = ?${
            adds ? ` AND (SELECT count(*) FROM users WHERE tenant_id = ? AND id IN (${marks(adds)})) = ?` : ''
          }${
            removes
              ? ` AND (SELECT count(*) FROM group_members WHERE tenant_id = ? AND group_id = ?
                  AND member_id IN (${marks(removes)}) AND member_type = 'User') = ?`
              : ''
          }`
        : '';
      const write = `UPDATE groups SET last_modified = ?, version = version + 1, event_seq = event_seq + ?
        WHERE tenant_id = ? AND id = ? AND version = ?${assumed} RETURNING ${WRITTEN}`;
      const add = adds
        ? `, a AS (INSERT INTO group_members (tenant_id, group_id, member_id, member_type, display)
           SELECT ?, ?, v.column1, v.column2, v.column3 FROM u, (VALUES ${Array(adds).fill('(?, ?, ?)').join(', ')}) AS v)`
        : '';
      const remove = removes
        ? `, d AS (DELETE FROM group_members WHERE tenant_id = ? AND group_id = ? AND member_id IN (${marks(removes)})
           AND EXISTS (SELECT 1 FROM u))`
        : '';
      return n
        ? withEvents(write, WRITTEN, n, add + remove)
        : `WITH u AS (${write})${add}${remove} SELECT ${WRITTEN} FROM u`;
    },
    adds + removes + n,
  );

/**
 * A group with, of the ids a PATCH names, those that are its members (id, type, display) and those that are users or
 * groups of the tenant (id, kind), as JSON arrays, in one statement (SqlResourceStore.readMembership). No row: no
 * such group. Parameters: the ids three times, then tenant and group.
 */
export const readMembership = (n: number) =>
  stmtFor(
    `membership:${n}`,
    () => {
      const q = (agg: string, arr: string) => `SELECT g.${ROW.split(', ').join(', g.')}, g.event_seq,
      (SELECT ${agg}(${arr}(m.member_id, m.member_type, m.display)) FROM group_members AS m
        WHERE m.tenant_id = g.tenant_id AND m.group_id = g.id AND m.member_id IN (${marks(n)})) AS present,
      (SELECT ${agg}(${arr}(k.id, k.kind)) FROM (
        SELECT id, 'User' AS kind FROM users WHERE tenant_id = g.tenant_id AND id IN (${marks(n)})
        UNION ALL SELECT x.id, 'Group' AS kind FROM groups AS x WHERE x.tenant_id = g.tenant_id AND x.id IN (${marks(n)})) AS k) AS kinds
      FROM groups AS g WHERE g.tenant_id = ? AND g.id = ?`;
      return [q('json_group_array', 'json_array'), q('json_agg', 'json_build_array')];
    },
    n,
  );

/**
 * Ending a member's memberships (ResourceStore.leaveGroups). PostgreSQL first locks the groups that hold it, in id
 * order; the membership rows are then deleted as they are once those locks are held, and only the groups whose row
 * was deleted get a new version. Parameters: tenant, tenant, member.
 */
export const lockGroupsHolding = new Stmt(
  `SELECT g.id FROM groups AS g WHERE g.tenant_id = ? AND g.id IN (
    SELECT group_id FROM group_members WHERE tenant_id = ? AND member_id = ?) ORDER BY g.id`,
  `SELECT g.id FROM groups AS g WHERE g.tenant_id = ? AND g.id IN (
    SELECT group_id FROM group_members WHERE tenant_id = ? AND member_id = ?) ORDER BY g.id FOR UPDATE`,
);
/** Parameters: tenant, member. */
export const deleteMemberships = new Stmt(
  'DELETE FROM group_members WHERE tenant_id = ? AND member_id = ? RETURNING group_id',
);
/** A new version and lastModified for n groups (their members changed). Parameters: last_modified, tenant, ids. */
export const touchGroups = (n: number) =>
  stmtFor(
    `touch-groups:${n}`,
    () =>
      `UPDATE groups SET last_modified = ?, version = version + 1 WHERE tenant_id = ? AND id IN (${marks(n)}) RETURNING ${ROW}`,
    n,
  );

/** By whether the row moves its chain's head (see NEXT_HEAD). */
export const touchRow = [false, true].map((chained) =>
  byTable(
    (t) =>
      new Stmt(
        `UPDATE ${t} SET last_modified = ?, version = version + 1, event_seq = event_seq + ?${chained ? `, ${MOVE_HEAD}` : ''}
         WHERE tenant_id = ? AND id = ? RETURNING ${ROW}, event_seq${chained ? `, ${HEADS}` : ''}`,
      ),
  ),
) as [Record<Table, Stmt>, Record<Table, Stmt>];

export const deleteUserValues = new Stmt('DELETE FROM user_values WHERE tenant_id = ? AND user_id = ?');
export const insertUserValues = (n: number) =>
  stmtFor(
    `user_values:${n}`,
    () =>
      `INSERT INTO user_values (tenant_id, user_id, attr, ord, type_lc, value_lc) VALUES ${Array(n).fill('(?, ?, ?, ?, ?, ?)').join(', ')}`,
    n,
  );

export const listMembers = new Stmt(
  'SELECT member_id, member_type, display FROM group_members WHERE tenant_id = ? AND group_id = ? ORDER BY member_id',
);

export const addMembers = (n: number) =>
  stmtFor(
    `members+:${n}`,
    () =>
      `INSERT INTO group_members (tenant_id, group_id, member_id, member_type, display) VALUES ${Array(n).fill('(?, ?, ?, ?, ?)').join(', ')}
       ON CONFLICT (tenant_id, group_id, member_id) DO NOTHING RETURNING member_id`,
    n,
  );

/**
 * addMembers with each member's type resolved in the statement: 'User' when a user of the tenant has the id, else
 * 'Group' when a group has it, else the type the client declared (the 2nd value of each row). Parameters: tenant,
 * group, tenant, tenant, then (id, declared type, display) per member. One statement instead of a type lookup
 * followed by the insert (Entra's member add: one round trip fewer on PostgreSQL). VALUES columns are named
 * column1, column2, … on both stores; `WHERE true` settles SQLite's parse of INSERT … SELECT … ON CONFLICT.
 */
export const addMembersResolved = (n: number) =>
  stmtFor(
    `members+resolved:${n}`,
    () =>
      `INSERT INTO group_members (tenant_id, group_id, member_id, member_type, display)
       SELECT ?, ?, v.column1,
         COALESCE((SELECT 'User' FROM users WHERE tenant_id = ? AND id = v.column1),
                  (SELECT 'Group' FROM groups WHERE tenant_id = ? AND id = v.column1), v.column2),
         v.column3
       FROM (VALUES ${Array(n).fill('(?, ?, ?)').join(', ')}) AS v WHERE true
       ON CONFLICT (tenant_id, group_id, member_id) DO NOTHING RETURNING member_id, member_type`,
    n,
  );

export const removeMembers = (n: number) =>
  stmtFor(
    `members-:${n}`,
    () =>
      `DELETE FROM group_members WHERE tenant_id = ? AND group_id = ? AND member_id IN (${marks(n)}) RETURNING member_id, member_type`,
    n,
  );

/** Which of these ids are users and which are groups of the tenant, in one statement. */
export const resolveMembers = (n: number) =>
  stmtFor(
    `resolve:${n}`,
    () =>
      `SELECT id, 'User' AS kind FROM users WHERE tenant_id = ? AND id IN (${marks(n)})
       UNION ALL SELECT id, 'Group' AS kind FROM groups WHERE tenant_id = ? AND id IN (${marks(n)})`,
    n,
  );

/** The groups of these members, with each group's displayName read in SQL (not by parsing the whole document). */
export const groupsOf = (n: number) =>
  stmtFor(
    `groupsOf:${n}`,
    () => {
      const q = (display: string) =>
        `SELECT m.member_id, g.id, ${display} AS display FROM group_members AS m
       JOIN groups AS g ON g.tenant_id = m.tenant_id AND g.id = m.group_id
       WHERE m.tenant_id = ? AND m.member_id IN (${marks(n)}) ORDER BY g.id`;
      return [q(`json_extract(g.data, '$.displayName')`), q(`(g.data ->> 'displayName')`)];
    },
    n,
  );

/** Advances a user's or group's event sequence by n (its row: migration 0016); no row when it does not exist. */
export const bumpEventSeq = byTable(
  (t) =>
    new Stmt(
      `UPDATE ${t} SET event_seq = event_seq + ? WHERE tenant_id = ? AND id = ? RETURNING event_seq AS last_seq`,
    ),
);
/** The same on SQLite, moving the chain's head (NEXT_HEAD: the number of events once more). */
export const bumpEventChain = byTable(
  (t) =>
    new Stmt(
      `UPDATE ${t} SET event_seq = event_seq + ?, ${MOVE_HEAD} WHERE tenant_id = ? AND id = ?
       RETURNING event_seq AS last_seq, ${HEADS}`,
    ),
);

/** The sequence of a stream without a row of its own: the tenant's, and a resource deleted before migration 0016. */
export const upsertEventStream = new Stmt(
  `INSERT INTO event_streams (tenant_id, resource_id, last_seq) VALUES (?, ?, ?)
   ON CONFLICT (tenant_id, resource_id) DO UPDATE SET last_seq = event_streams.last_seq + excluded.last_seq
   RETURNING last_seq`,
);
/** SQLite: the last number the events table handed out (AUTOINCREMENT: never handed out twice, pruned or not). */
export const lastEventSeq = new Stmt(`SELECT seq FROM sqlite_sequence WHERE name = 'events'`);
/** The head of a stream's chain of events (the tenant's, and a deleted resource's). */
export const streamHead = new Stmt(
  'SELECT head_seq AS head FROM event_streams WHERE tenant_id = ? AND resource_id = ?',
);
/** A stream row's head; a deleted resource's row there keeps its sequence and head once its own row is gone. */
export const setStreamHead = new Stmt(
  `INSERT INTO event_streams (tenant_id, resource_id, last_seq, head_seq) VALUES (?, ?, ?, ?)
   ON CONFLICT (tenant_id, resource_id) DO UPDATE SET last_seq = MAX(event_streams.last_seq, excluded.last_seq),
   head_seq = excluded.head_seq`,
);
export const insertChainedEvents = (n: number) =>
  stmtFor(
    `events-chained:${n}`,
    () =>
      `INSERT INTO events (seq, id, tenant_id, type, occurred_at, resource_type, resource_id, payload, prev_seq) VALUES ${Array(n).fill('(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
    n,
  );
export const insertEvents = (n: number) =>
  stmtFor(
    `events:${n}`,
    () => `INSERT INTO events (${EVENT_COLUMNS}) VALUES ${Array(n).fill('(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
    n,
  );

export const insertActivity = (n: number) =>
  stmtFor(
    `activity:${n}`,
    () =>
      `INSERT INTO activity (${ACTIVITY_COLUMNS.join(', ')}) VALUES ${Array(n)
        .fill(`(${marks(ACTIVITY_COLUMNS.length)})`)
        .join(', ')}`,
    n,
  );

/** A token valid at `now` (not revoked by then, not expired), by its hash. */
export const tokenByHash = new Stmt(
  `SELECT id, tenant_id, hint, created_at, last_used_at, revoked_at, expires_at FROM tokens
   WHERE hash = ? AND (revoked_at IS NULL OR revoked_at > ?) AND (expires_at IS NULL OR expires_at > ?)`,
);

/**
 * A user's groups as one JSON array (`[{"value", "display"}]`, in no particular order: the store sorts them by group
 * id, see byGroupId) for a row `r` of users: read in the statement that reads the user, instead of a second statement
 * for the page's ids. An ORDER BY inside the aggregate made SQLite build a temporary B-tree for every user it read
 * (~6 µs of a ~10 µs lookup in isolation), to sort the three or so groups a user has.
 */
export const GROUPS_COLUMN = {
  sqlite: `(SELECT json_group_array(json_object('value', g.id, 'display', COALESCE(json_extract(g.data, '$.displayName'), '')))
    FROM group_members AS m JOIN groups AS g ON g.tenant_id = m.tenant_id AND g.id = m.group_id
    WHERE m.tenant_id = r.tenant_id AND m.member_id = r.id) AS groups_json`,
  postgres: `(SELECT COALESCE(json_agg(json_build_object('value', g.id, 'display', COALESCE(g.data ->> 'displayName', ''))), '[]')
    FROM group_members AS m JOIN groups AS g ON g.tenant_id = m.tenant_id AND g.id = m.group_id
    WHERE m.tenant_id = r.tenant_id AND m.member_id = r.id) AS groups_json`,
};

/**
 * Entra's lookups (`filter=userName eq "…"`, `externalId eq`, `id eq`, a group's `displayName eq`): one indexed
 * column, the first page, with a user's groups when asked. The column comes from the allow-list in columns.ts;
 * the limit is a literal.
 */
export const lookupBy = (table: Table, column: string, limit: number, groups: boolean) =>
  stmtFor(
    `lookup:${table}:${column}:${limit}:${groups}`,
    () => {
      const q = (extra: string) =>
        `SELECT r.id, r.data, r.created, r.last_modified, r.version${extra} FROM ${table} AS r WHERE r.tenant_id = ? AND r.${column} = ? ORDER BY r.id LIMIT ${limit}`;
      return groups ? [q(`, ${GROUPS_COLUMN.sqlite}`), q(`, ${GROUPS_COLUMN.postgres}`)] : q('');
    },
    // Kept prepared on PostgreSQL for the default page size (Entra sends no count) and count=1; another count is
    // a text of its own each time.
    limit === 100 || limit === 1 ? 1 : limit,
  );
