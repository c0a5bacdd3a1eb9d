/**
 * users_text (the trigram index of userName and displayName, migrations 0005, 0018) is written once per
 * transaction, not once per row (migration 0020).
 *
 * FTS5 keeps the terms of a transaction in memory and writes them out as a segment of its index, which costs far
 * more than the terms themselves. It writes them out whenever a statement opens a statement savepoint (every write
 * to `users` does, for its triggers) and whenever a row comes with a smaller rowid than the one before (Entra
 * updates users in no order). Written from the triggers directly, every user written was a segment of its own:
 * ~50 µs of CPU per create or rename on a 10,000-user tenant, about half the cost of the whole statement.
 *
 * So the triggers only queue what changed (users_text_queue: the key's seq, the values the index holds and the
 * values it should hold), and the transaction drains the queue just before it commits, in one statement, in
 * ascending rowid order: one segment per transaction. A user written twice in a transaction is removed with the
 * values of its first queued change and added with those of its last.
 *
 * The writers that drain: every group-commit batch (GroupCommit, before COMMIT) and the bulk load. A substring
 * seek also takes the users still queued as candidates (hooks.ts), so a row queued by any other writer (a
 * migration, a script) is found before a drain; every candidate is checked against its users row anyway.
 */
import type SQLite from 'better-sqlite3';

/** The queue in the index, then the queue emptied. */
export const DRAIN_USERS_TEXT = [
  `WITH q AS (SELECT seq, min(n) AS first, max(n) AS last FROM users_text_queue GROUP BY seq)
   INSERT INTO users_text (users_text, rowid, user_name_lc, display_name_lc)
   SELECT op, seq, user_name_lc, display_name_lc FROM (
     SELECT 'delete' AS op, q.seq, f.old_user_name_lc AS user_name_lc, f.old_display_name_lc AS display_name_lc, 0 AS phase
       FROM q JOIN users_text_queue AS f ON f.n = q.first WHERE f.indexed
     UNION ALL
     SELECT NULL, q.seq, l.new_user_name_lc, l.new_display_name_lc, 1
       FROM q JOIN users_text_queue AS l ON l.n = q.last WHERE l.present
   ) ORDER BY seq, phase`,
  `DELETE FROM users_text_queue`,
] as const;

/**
 * The drain's statements on a connection, prepared once per schema (undefined while the schema has no queue: a
 * database not yet migrated, or migrated only up to an earlier release in a test).
 */
export class UsersTextDrain {
  private schema = -1;
  private stmts: { any: SQLite.Statement; drain: SQLite.Statement[] } | undefined;
  private readonly version: SQLite.Statement;

  constructor(private readonly raw: SQLite.Database) {
    this.version = raw.prepare('PRAGMA schema_version').pluck();
  }

  /** Drains the queue; call inside the transaction, after its writes. */
  run(): void {
    const v = this.version.get() as number;
    if (v !== this.schema) {
      this.schema = v;
      const present = this.raw
        .prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'users_text_queue'`)
        .get();
      this.stmts = present
        ? {
            any: this.raw.prepare('SELECT EXISTS (SELECT 1 FROM users_text_queue)').pluck(),
            drain: DRAIN_USERS_TEXT.map((s) => this.raw.prepare(s)),
          }
        : undefined;
    }
    // Only when something is queued: a DELETE of an empty table still rewrites its root page (a WAL page per
    // transaction, for every member add and remove).
    if (this.stmts?.any.get()) for (const s of this.stmts.drain) s.run();
  }
}
