/**
 * Waiting until the events of writes already answered are readable. On PostgreSQL the Events API holds back
 * events of transactions newer than the oldest one still running anywhere on the cluster (events-schema.ts); the
 * test cluster is shared by every test file running at the time (one of them holds a transaction open on purpose),
 * so a read right after a write may legitimately come back empty. This barrier takes a fresh transaction id X
 * and waits until no transaction older than X is running: every event committed before it is then readable.
 * SQLite commits in order: nothing to wait for.
 */
import { sql } from 'kysely';
import type { SqlStore } from '../../src/store/sql/sql-store.js';

export async function eventsVisible(store: SqlStore, timeoutMs = 60_000): Promise<void> {
  if (store.dialect !== 'postgres') return;
  // Autocommit: the statement's own transaction gets the id and ends with it.
  const { rows } = await sql<{ x: string }>`SELECT pg_current_xact_id()::text AS x`.execute(store.db);
  const x = rows[0]!.x;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await sql<{
      done: boolean;
    }>`SELECT pg_snapshot_xmin(pg_current_snapshot()) > ${x}::xid8 AS done`.execute(store.db);
    if (r.rows[0]!.done) return;
    if (Date.now() > deadline)
      throw new Error(`a transaction older than ${x} is still running after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

/** A user's or group's events as stored (their payloads, with the row's type), in the order they were written. */
export async function storedEvents(store: SqlStore, resourceId: string): Promise<Record<string, any>[]> {
  const rows = await store.db
    .selectFrom('events')
    .select(['type', 'payload'])
    .where('resource_id', '=', resourceId)
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({ ...JSON.parse(String(r.payload)), type: r.type }));
}
