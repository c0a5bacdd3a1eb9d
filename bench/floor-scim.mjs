/**
 * The floor of the Entra bench (issue 13): what a server reaches on this machine when it does nothing but the
 * database work of each request, on joyn-scim's own schema and loaded tenant, with joyn-scim's durability
 * (SQLite WAL with synchronous=FULL and group commit; PostgreSQL with its default synchronous_commit).
 *
 * It is not a SCIM server. Per request it only checks the bearer token by string comparison, reads or writes
 * the rows, parses and serializes the stored document, and answers. It leaves out, on purpose: token hashing,
 * the request log, metrics, the activity log, events, rate limiting, schema validation and normalization,
 * filter parsing, uniqueness errors, a user's groups in its representation, and the derived rows a create
 * writes for filters (user_values). A ratio of joyn-scim to this floor says how much of the gap to the
 * in-memory reference is the product's own work; this floor's own ratio to the reference says how far the
 * database alone allows.
 *
 * FLOOR_FULL=1 adds back the two things every answer of a SCIM server with directory events must carry, so that
 * its ratio says how far the database allows such a server: a user's groups in its representation (L, G: RFC 7643
 * §4.1.2 `groups` is returned by default), read with the same correlated subquery as joyn-scim, and each write's
 * directory event rows in its transaction (P, C: one event; MA, MR: one per member), shaped as joyn-scim's.
 *
 * Its statements are the fewest joyn-scim's own need: on PostgreSQL a user's PATCH and a member add or remove are
 * each a read without a lock, then one statement that writes only if the version read is unchanged (with the
 * events, when full); a create is one statement.
 *
 * Plain node:http and the store's driver, nothing else: it runs without a build step.
 *
 *   FLOOR_DATABASE=<sqlite file path | postgres://…> FLOOR_TENANT=<tenant id> PORT=… TOKEN=… node bench/floor-scim.mjs
 *
 * Endpoints (base /scim/v2), the request shapes of bench/wrk/entra.lua:
 *   GET   /Users?filter=userName eq "…"          L
 *   GET   /Users?startIndex=…&count=…            G (offset within the tenant, in id order)
 *   PATCH /Users/<id>  Replace on plain paths     P
 *   POST  /Users                                  C
 *   PATCH /Groups/<id> Add / Remove members       MA, MR
 *   GET   /ServiceProviderConfig                  (readiness)
 */
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';

const databaseUrl = process.env.FLOOR_DATABASE;
const tenant = process.env.FLOOR_TENANT;
const token = process.env.TOKEN ?? '';
if (!databaseUrl || !tenant) throw new Error('FLOOR_DATABASE and FLOOR_TENANT are required');
const pg = /^postgres(ql)?:/.test(databaseUrl);

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const GROUP_BASE = 'http://127.0.0.1/scim/v2/Groups/';
const groupsOf = (r) => {
  const list = typeof r.groups_json === 'string' ? JSON.parse(r.groups_json) : r.groups_json;
  return list.map((g) => ({
    value: g.value,
    $ref: GROUP_BASE + g.value,
    display: g.display,
    type: 'direct',
  }));
};
/** A user's or group's row as its SCIM document (a group's without members). */
const documentOf = (schema, resourceType, r) => ({
  schemas: [schema],
  id: r.id,
  ...(typeof r.data === 'string' ? JSON.parse(r.data) : r.data),
  meta: {
    resourceType,
    created: r.created,
    lastModified: r.last_modified,
    version: `W/"${r.version}"`,
  },
});
const render = (r) => {
  const out = documentOf(CORE, 'User', r);
  if (r.groups_json != null) {
    const groups = groupsOf(r);
    if (groups.length) out.groups = groups;
  }
  return out;
};
const list = (rows, total, start) =>
  JSON.stringify({
    schemas: [LIST],
    totalResults: total,
    startIndex: start,
    itemsPerPage: rows.length,
    Resources: rows.map(render),
  });
const applyOps = (doc, ops) => {
  for (const op of ops) {
    const [a, b] = String(op.path).split('.');
    if (b) doc[a] = { ...doc[a], [b]: op.value };
    else doc[a] = op.value;
  }
  return doc;
};

/**
 * FLOOR_FULL=1: each write also writes its directory events in the same transaction, rows in joyn-scim's events
 * table shaped as joyn-scim's (the resource as rendered, `previous` for an update, `member` for a membership), so
 * the bench can say what an outbox row costs by itself (issue 12: events may cost a write at most 10%); and a
 * user's groups are read and rendered (see the top of this file).
 */
const full = Boolean(process.env.FLOOR_FULL);
const withEvents = full;
/** A user's groups, as joyn-scim reads them (src/store/sql/statements.ts GROUPS_COLUMN). */
const GROUPS = {
  sqlite: `(SELECT json_group_array(json_object('value', g.id, 'display', COALESCE(json_extract(g.data, '$.displayName'), '')))
    FROM group_members AS m JOIN groups AS g ON g.tenant_id = m.tenant_id AND g.id = m.group_id
    WHERE m.tenant_id = r.tenant_id AND m.member_id = r.id) AS groups_json`,
  postgres: `(SELECT COALESCE(json_agg(json_build_object('value', g.id, 'display', COALESCE(g.data ->> 'displayName', ''))), '[]')
    FROM group_members AS m JOIN groups AS g ON g.tenant_id = m.tenant_id AND g.id = m.group_id
    WHERE m.tenant_id = r.tenant_id AND m.member_id = r.id) AS groups_json`,
};
/** The columns of a user read for an answer, on `users AS r`. */
const columnsOf = (dialect) =>
  `r.id, r.data, r.created, r.last_modified, r.version${full ? `, ${GROUPS[dialect]}` : ''}`;
/** Time-ordered event ids, as joyn-scim's (UUIDv7): a random id would cost the id index a random page per row. */
let lastMs = 0;
let inMs = 0;
const eventId = () => {
  const ms = Date.now();
  inMs = ms === lastMs ? inMs + 1 : 0;
  lastMs = ms;
  return `evt_${ms.toString(16).padStart(12, '0')}-${inMs.toString(16).padStart(6, '0')}-${randomUUID().slice(24)}`;
};
const eventOf = (type, resource, now, previous, member, resourceType = 'User') => {
  const id = eventId();
  const e = {
    id,
    type,
    tenant,
    occurredAt: now,
    resource: { type: resourceType, id: resource.id, sequence: 1 },
    data: resource,
  };
  if (previous) e.previous = previous;
  if (member) e.member = member;
  return { id, payload: JSON.stringify(e) };
};
/** A group as a membership event carries it (members excluded), from its row after the write. */
const renderGroup = (r) => documentOf('urn:ietf:params:scim:schemas:core:2.0:Group', 'Group', r);
const memberEventType = (add) => (add ? 'group.member_added' : 'group.member_removed');
const memberEvent = (add, group, memberId, now) =>
  eventOf(memberEventType(add), group, now, undefined, { value: memberId, type: 'User' }, 'Group');
/** The values of a new user's row, in the column order of both stores' INSERT (`active` as each store stores it). */
const userRow = (id, data, now, active) => [
  tenant,
  id,
  data.userName,
  String(data.userName).toLowerCase(),
  data.externalId ?? null,
  String(data.displayName ?? '').toLowerCase(),
  active,
  JSON.stringify(data),
  now,
  now,
];

/** The previous values of the top-level attributes the operations name. */
const previousOf = (before, ops) =>
  Object.fromEntries(ops.map((o) => String(o.path).split('.')[0]).map((a) => [a, before[a] ?? null]));
const EVENT_COLUMNS = '(id, tenant_id, type, occurred_at, resource_type, resource_id, payload)';

/** The tenant's user count as joyn-scim reads it for an unfiltered list: the maintained resource_counts rows. */
const COUNT =
  "SELECT COALESCE(SUM(n), 0) AS n FROM resource_counts WHERE tenant_id = $1 AND resource_type = 'User'";

/**
 * Account Discovery's walk (startIndex 1, 101, 201, …) served by seeking past the previous page's last id, as
 * joyn-scim does (src/service/resources.ts continuations), rather than by an offset walk.
 */
const continuations = new Map();
const pageAfter = (start) => continuations.get(start);
const remember = (start, rows) => {
  if (continuations.size > 2000) continuations.clear();
  if (rows.length) continuations.set(start + rows.length, rows[rows.length - 1].id);
};

/** The store's work per request shape, each resolving with the response body (or '' for 204). */
async function sqliteStore() {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(databaseUrl);
  // joyn-scim's own settings (src/store/connect.ts).
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('cache_size = -65536');
  db.pragma('temp_store = MEMORY');
  db.pragma('wal_autocheckpoint = 10000');
  db.pragma('busy_timeout = 5000');
  const q = {
    lookup: db.prepare(
      `SELECT ${columnsOf('sqlite')} FROM users AS r WHERE r.tenant_id = ? AND r.user_name_lc = ? ORDER BY r.id LIMIT 100`,
    ),
    page: db.prepare(
      `SELECT ${columnsOf('sqlite')} FROM users AS r WHERE r.tenant_id = ? ORDER BY r.id LIMIT ? OFFSET ?`,
    ),
    seek: db.prepare(
      `SELECT ${columnsOf('sqlite')} FROM users AS r WHERE r.tenant_id = ? AND r.id > ? ORDER BY r.id LIMIT ?`,
    ),
    count: db.prepare(COUNT.replace('$1', '?')),
    get: db.prepare(
      'SELECT id, data, created, last_modified, version FROM users WHERE tenant_id = ? AND id = ?',
    ),
    update: db.prepare(
      'UPDATE users SET display_name_lc = ?, data = ?, last_modified = ?, version = version + 1 WHERE tenant_id = ? AND id = ? RETURNING version',
    ),
    insert: db.prepare(
      `INSERT INTO users (tenant_id, id, user_name, user_name_lc, external_id, display_name_lc, active, xid, data, created, last_modified, version, event_seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, 1, 0)`,
    ),
    addMember: db.prepare(
      `INSERT INTO group_members (tenant_id, group_id, member_id, member_type, display) VALUES (?, ?, ?, 'User', NULL)
       ON CONFLICT (tenant_id, group_id, member_id) DO NOTHING`,
    ),
    removeMember: db.prepare(
      'DELETE FROM group_members WHERE tenant_id = ? AND group_id = ? AND member_id = ?',
    ),
    event: db.prepare(`INSERT INTO events ${EVENT_COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?)`),
    touchGroup: db.prepare(
      'UPDATE groups SET last_modified = ?, version = version + 1 WHERE tenant_id = ? AND id = ? RETURNING id, data, created, last_modified, version',
    ),
  };
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  // The statements joyn-scim runs before each COMMIT (given by the bench; the schema's triggers queue the trigram
  // index's changes for them: src/store/sqlite/users-text.ts). Without them a write would leave that work to the
  // next joyn-scim transaction on the same database.
  const beforeCommit = JSON.parse(process.env.FLOOR_SQLITE_BEFORE_COMMIT ?? '[]').map((s) => db.prepare(s));
  // Group commit: the writes that arrive in one event-loop turn share one transaction and one fsync; each is
  // answered only after that COMMIT (what joyn-scim's src/store/sqlite/group-commit.ts does).
  let queue = [];
  const write = (fn) =>
    new Promise((resolve, reject) => {
      queue.push({ fn, resolve, reject });
      if (queue.length > 1) return;
      setImmediate(() => {
        const batch = queue;
        queue = [];
        begin.run();
        const out = batch.map((w) => {
          try {
            return { ok: true, value: w.fn() };
          } catch (e) {
            return { ok: false, value: e };
          }
        });
        for (const s of beforeCommit) s.run();
        commit.run();
        batch.forEach((w, i) => (out[i].ok ? w.resolve(out[i].value) : w.reject(out[i].value)));
      });
    });
  return {
    lookup: async (userNameLc) => {
      const rows = q.lookup.all(tenant, userNameLc);
      return list(rows, rows.length, 1);
    },
    page: async (start, count) => {
      const after = pageAfter(start);
      const rows = after ? q.seek.all(tenant, after, count) : q.page.all(tenant, count, start - 1);
      remember(start, rows);
      return list(rows, q.count.get(tenant).n, start);
    },
    patchUser: (id, ops) =>
      write(() => {
        const r = q.get.get(tenant, id);
        const before = JSON.parse(r.data);
        const doc = applyOps(JSON.parse(r.data), ops);
        const now = new Date().toISOString();
        const data = JSON.stringify(doc);
        const { version } = q.update.get(String(doc.displayName ?? '').toLowerCase(), data, now, tenant, id);
        const resource = render({ id, data: doc, created: r.created, last_modified: now, version });
        if (withEvents) {
          const e = eventOf('user.updated', resource, now, previousOf(before, ops));
          q.event.run(e.id, tenant, 'user.updated', now, 'User', id, e.payload);
        }
        return JSON.stringify(resource);
      }),
    createUser: (doc) =>
      write(() => {
        const id = randomUUID();
        const now = new Date().toISOString();
        const { schemas: _s, meta: _m, ...data } = doc;
        q.insert.run(...userRow(id, data, now, data.active === false ? 0 : 1));
        const resource = render({ id, data, created: now, last_modified: now, version: 1 });
        if (withEvents) {
          const e = eventOf('user.created', resource, now);
          q.event.run(e.id, tenant, 'user.created', now, 'User', id, e.payload);
        }
        return JSON.stringify(resource);
      }),
    members: (groupId, add, ids) =>
      write(() => {
        const changed = ids.filter(
          (m) => (add ? q.addMember : q.removeMember).run(tenant, groupId, m).changes,
        );
        const now = new Date().toISOString();
        const row = q.touchGroup.get(now, tenant, groupId);
        if (withEvents && changed.length) {
          const group = renderGroup(row);
          for (const m of changed) {
            const e = memberEvent(add, group, m, now);
            q.event.run(e.id, tenant, memberEventType(add), now, 'Group', groupId, e.payload);
          }
        }
        return '';
      }),
  };
}

async function postgresStore() {
  const { default: pgLib } = await import('pg');
  const pool = new pgLib.Pool({ connectionString: databaseUrl, max: 10 });
  const one = async (name, text, values) => (await pool.query({ name, text, values })).rows;
  // Prepared statements are per connection and name; the full floor's texts differ, so do their names.
  const suffix = full ? '_full' : '';
  return {
    lookup: async (userNameLc) => {
      const rows = await one(
        `floor_lookup${suffix}`,
        `SELECT ${columnsOf('postgres')} FROM users AS r WHERE r.tenant_id = $1 AND r.user_name_lc = $2 ORDER BY r.id LIMIT 100`,
        [tenant, userNameLc],
      );
      return list(rows, rows.length, 1);
    },
    page: async (start, count) => {
      const after = pageAfter(start);
      const [rows, n] = await Promise.all([
        after
          ? one(
              `floor_seek${suffix}`,
              `SELECT ${columnsOf('postgres')} FROM users AS r WHERE r.tenant_id = $1 AND r.id > $2 ORDER BY r.id LIMIT $3`,
              [tenant, after, count],
            )
          : one(
              `floor_page${suffix}`,
              `SELECT ${columnsOf('postgres')} FROM users AS r WHERE r.tenant_id = $1 ORDER BY r.id LIMIT $2 OFFSET $3`,
              [tenant, count, start - 1],
            ),
        one('floor_count', COUNT, [tenant]),
      ]);
      remember(start, rows);
      return list(rows, Number(n[0].n), start);
    },
    // Read, then write only if the version is still the one read (one round trip each, no explicit transaction).
    patchUser: async (id, ops) => {
      for (;;) {
        const [r] = await one(
          'floor_get',
          'SELECT id, data, created, last_modified, version FROM users WHERE tenant_id = $1 AND id = $2',
          [tenant, id],
        );
        const previous = withEvents ? previousOf(r.data, ops) : undefined;
        const doc = applyOps(r.data, ops);
        const now = new Date().toISOString();
        const update =
          'UPDATE users SET display_name_lc = $1, data = $2, last_modified = $3, version = version + 1 WHERE tenant_id = $4 AND id = $5 AND version = $6 RETURNING version';
        const values = [
          String(doc.displayName ?? '').toLowerCase(),
          JSON.stringify(doc),
          now,
          tenant,
          id,
          r.version,
        ];
        const resource = render({
          id,
          data: doc,
          created: r.created,
          last_modified: now,
          version: r.version + 1,
        });
        let done;
        if (withEvents) {
          // The update and its event in one statement (one transaction, one round trip).
          const e = eventOf('user.updated', resource, now, previous);
          done = await one(
            'floor_update_event',
            `WITH u AS (${update}) INSERT INTO events ${EVENT_COLUMNS} SELECT $7, $4, 'user.updated', $3, 'User', $5, $8 FROM u RETURNING 1`,
            [...values, e.id, e.payload],
          );
        } else done = await one('floor_update', update, values);
        if (done.length) return JSON.stringify(resource);
      }
    },
    createUser: async (doc) => {
      const id = randomUUID();
      const now = new Date().toISOString();
      const { schemas: _s, meta: _m, ...data } = doc;
      const insert = `INSERT INTO users (tenant_id, id, user_name, user_name_lc, external_id, display_name_lc, active, xid, data, created, last_modified, version, event_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10, 1, 0)`;
      const values = userRow(id, data, now, data.active !== false);
      const resource = render({ id, data, created: now, last_modified: now, version: 1 });
      if (withEvents) {
        const e = eventOf('user.created', resource, now);
        await one(
          'floor_insert_event',
          `WITH u AS (${insert} RETURNING id) INSERT INTO events ${EVENT_COLUMNS} SELECT $11, $1, 'user.created', $9, 'User', $2, $12 FROM u`,
          [...values, e.id, e.payload],
        );
      } else await one('floor_insert', insert, values);
      return JSON.stringify(resource);
    },
    // As joyn-scim on PostgreSQL (Store.updateMembersIf): the group read without a lock, then one statement that
    // writes the members, the group's new version and an event per member changed, only if the version is still
    // the one read (two round trips); read again when it is not.
    members: async (groupId, add, ids) => {
      for (;;) {
        const [g] = await one(
          'floor_group',
          'SELECT id, data, created, last_modified, version FROM groups WHERE tenant_id = $1 AND id = $2',
          [tenant, groupId],
        );
        const now = new Date().toISOString();
        const write = `UPDATE groups SET last_modified = $1, version = version + 1
          WHERE tenant_id = $2 AND id = $3 AND version = $4 RETURNING id`;
        const change = add
          ? `INSERT INTO group_members (tenant_id, group_id, member_id, member_type, display)
             SELECT $2, $3, m, 'User', NULL FROM u, unnest($5::text[]) AS m
             ON CONFLICT (tenant_id, group_id, member_id) DO NOTHING RETURNING member_id`
          : `DELETE FROM group_members WHERE tenant_id = $2 AND group_id = $3 AND member_id = ANY($5::text[])
             AND EXISTS (SELECT 1 FROM u) RETURNING member_id`;
        const values = [now, tenant, groupId, g.version, ids];
        let text = `WITH u AS (${write}), c AS (${change}) SELECT id FROM u`;
        if (withEvents) {
          // Each member's event is made before the write, from the row the write leaves (version + 1), and written
          // only for a member the statement changed.
          const group = renderGroup({ ...g, last_modified: now, version: g.version + 1 });
          const events = ids.map((m) => memberEvent(add, group, m, now));
          values.push(
            events.map((e) => e.id),
            events.map((e) => e.payload),
            memberEventType(add),
          );
          text = `WITH u AS (${write}), c AS (${change}),
            e AS (INSERT INTO events ${EVENT_COLUMNS}
              SELECT ev.id, $2, $8, $1, 'Group', $3, ev.payload
              FROM unnest($5::text[], $6::text[], $7::text[]) AS ev (member, id, payload) JOIN c ON c.member_id = ev.member)
            SELECT id FROM u`;
        }
        const done = await one(`floor_members_${add ? 'add' : 'remove'}${suffix}`, text, values);
        if (done.length) return '';
      }
    },
  };
}

const store = pg ? await postgresStore() : await sqliteStore();
const BASE = '/scim/v2';

async function answer(method, url, body) {
  const u = new URL(url, 'http://floor');
  const path = u.pathname.slice(BASE.length);
  if (method === 'GET' && path === '/ServiceProviderConfig') return [200, '{}'];
  if (method === 'GET' && path === '/Users') {
    const filter = u.searchParams.get('filter');
    if (filter) {
      const m = /^userName eq "(.*)"$/.exec(filter);
      if (!m) return [400, '{"detail":"the floor only knows userName eq"}'];
      return [200, await store.lookup(m[1].toLowerCase())];
    }
    const start = Math.max(1, Number(u.searchParams.get('startIndex') ?? 1));
    const count = Math.min(100, Number(u.searchParams.get('count') ?? 100));
    return [200, await store.page(start, count)];
  }
  if (method === 'POST' && path === '/Users') return [201, await store.createUser(JSON.parse(body))];
  const m = /^\/(Users|Groups)\/([^/]+)$/.exec(path);
  if (method === 'PATCH' && m) {
    const ops = JSON.parse(body).Operations;
    if (m[1] === 'Users') return [200, await store.patchUser(m[2], ops)];
    const op = String(ops[0].op).toLowerCase();
    await store.members(
      m[2],
      op === 'add',
      ops.flatMap((o) => o.value.map((v) => v.value)),
    );
    return [204, ''];
  }
  return [404, '{"detail":"not a floor request"}'];
}

createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const send = (status, text) => {
      res.writeHead(status, text ? { 'content-type': 'application/scim+json' } : {});
      res.end(text);
    };
    if (!req.url.endsWith('/ServiceProviderConfig') && req.headers.authorization !== `Bearer ${token}`)
      return send(401, '{"detail":"bad token"}');
    answer(req.method, req.url, Buffer.concat(chunks).toString('utf8')).then(
      ([status, text]) => send(status, text),
      (e) => send(500, JSON.stringify({ detail: String(e?.message ?? e) })),
    );
  });
}).listen(Number(process.env.PORT ?? 8301), '127.0.0.1');
