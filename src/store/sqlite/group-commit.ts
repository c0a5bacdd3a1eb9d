/**
 * Group commit for SQLite's single connection (DESIGN.md "Performance shape": many concurrent writes share one
 * fsync, each acknowledged only after the commit that holds it).
 *
 * With `synchronous=FULL` every COMMIT waits for an fsync of the WAL, and better-sqlite3 waits synchronously: one
 * transaction per request makes the disk, not the CPU, the limit (issue 13 measured ~120 PATCHes/s). Here the
 * write transactions that arrive while the event loop is busy are queued; at the end of the loop turn (after the
 * I/O callbacks that parsed them) the queue is run as one batch: BEGIN IMMEDIATE, each transaction in turn, one
 * COMMIT. Then every transaction of the batch is settled: those that succeeded resolve with their value, those
 * that failed reject with their error.
 *
 * One failing transaction never fails its neighbours. One that fails before writing anything (most failures: a
 * 404, a 409 found by a read, a validation error) leaves nothing to undo. One that fails having written sends the
 * batch back: ROLLBACK, it is rejected, and the others run again in the next batch, each in a SAVEPOINT of its
 * own, so that a failure there is undone by rolling back its savepoint alone. If SQLite rolled back the whole
 * transaction by itself (an I/O error, a full disk), the transactions that had succeeded before are run again in
 * a fresh batch: none of them was acknowledged, and a write transaction may run more than once (connect.ts
 * writeTransaction). If the COMMIT fails, nothing of the batch was applied and every transaction in it fails with
 * that fault (503, nothing applied).
 */
import type SQLite from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { isSqliteBusy, storeFaultError } from '../faults.js';
import { registerExec, type Exec } from '../sql/exec.js';
import { UsersTextDrain } from './users-text.js';

export type WriteFn<T> = (trx: Kysely<any>) => Promise<T>;

interface Pending {
  fn: WriteFn<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** Past this time (ms) a transaction still waiting for another process's write lock fails with 503. */
  deadline: number;
}

/** The most transactions one COMMIT holds (a bound on how long the first of them waits for its answer). */
const MAX_BATCH = 256;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A store fault as the client sees it (503 with Retry-After), anything else unchanged. */
export function asFault(e: unknown): unknown {
  const fault = storeFaultError(e);
  if (!fault) return e;
  // Kept for the log (the client sees only the SCIM body).
  Object.defineProperty(fault, 'cause', { value: e, enumerable: false });
  return fault;
}

export class GroupCommit {
  private readonly queue: Pending[] = [];
  private scheduled = false;
  private running = false;
  private readonly stmt: Record<
    'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'undo' | 'changes',
    SQLite.Statement
  >;
  /** The next batch runs each transaction in a savepoint (set after a transaction failed having written). */
  private guardNext = false;
  private readonly usersText: UsersTextDrain;

  /**
   * @param db Kysely over `raw`: a batch holds its connection (so no other query of this process runs inside the
   *   batch's transaction) and hands it to each transaction.
   * @param raw the same connection, for the batch's own statements (cheaper than going through Kysely)
   */
  constructor(
    private readonly db: Kysely<any>,
    private readonly raw: SQLite.Database,
    private readonly busyWaitMs: number,
    /** Statements on the raw handle inside the batch's transaction (the store's prepared statements). */
    private readonly exec: Exec,
  ) {
    this.stmt = {
      begin: raw.prepare('BEGIN IMMEDIATE'),
      commit: raw.prepare('COMMIT'),
      rollback: raw.prepare('ROLLBACK'),
      savepoint: raw.prepare('SAVEPOINT request'),
      release: raw.prepare('RELEASE request'),
      undo: raw.prepare('ROLLBACK TO request'),
      changes: raw.prepare('SELECT total_changes()').pluck(),
    };
    this.usersText = new UsersTextDrain(raw);
  }

  /** Runs `fn` in a write transaction shared with the other writes of this moment; resolves after its COMMIT. */
  run<T>(fn: WriteFn<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        fn: fn as WriteFn<unknown>,
        resolve: resolve as (v: unknown) => void,
        reject,
        deadline: Date.now() + this.busyWaitMs,
      });
      this.schedule();
    });
  }

  /**
   * The batch starts at the end of this loop turn (setImmediate runs after the poll phase), so the writes of every
   * request parsed in this turn join it.
   */
  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.running || !this.queue.length) return;
    this.running = true;
    try {
      await this.runBatch(this.queue.splice(0, MAX_BATCH));
    } finally {
      this.running = false;
      // Writes queued meanwhile form the next batch, after the loop has read what arrived during this one.
      if (this.queue.length) this.schedule();
    }
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    let delay = 2;
    for (;;) {
      // The connection is taken per attempt and released while waiting, so this process's reads are not held up.
      const outcome = await this.db.connection().execute((c) => this.attempt(c, batch));
      if (outcome === 'done') return;
      // Another process holds the write lock: those past their deadline fail (503), the others wait and retry.
      const now = Date.now();
      const expired = batch.filter((p) => p.deadline <= now);
      for (const p of expired) p.reject(asFault(outcome.busy));
      batch = batch.filter((p) => p.deadline > now);
      if (!batch.length) return;
      await sleep(delay + Math.random() * delay);
      delay = Math.min(delay * 2, 25);
    }
  }

  /** One try at the batch: 'done' (every transaction settled or sent back to the queue), or busy. */
  private async attempt(c: Kysely<any>, batch: Pending[]): Promise<'done' | { busy: unknown }> {
    registerExec(c, this.exec);
    try {
      this.stmt.begin.run();
    } catch (e) {
      if (isSqliteBusy(e)) return { busy: e };
      for (const p of batch) p.reject(asFault(e));
      return 'done';
    }
    // A batch of one needs no savepoint: its own ROLLBACK undoes it. Nor does a batch whose transactions all
    // succeed or fail before writing anything (a 404, a validation error), which is nearly every batch: a
    // savepoint is not free (each one makes the users_text FTS5 index flush its pending terms into a segment of its
    // own, and copies every page it changes first). A transaction that fails having written sends the batch back:
    // ROLLBACK, and the others run again, each in a savepoint (`guarded`).
    const alone = batch.length === 1;
    const guarded = !alone && this.guardNext;
    this.guardNext = false;
    const succeeded: { p: Pending; value: unknown }[] = [];
    const failed: { p: Pending; error: unknown }[] = [];
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]!;
      // total_changes() counts every row a statement of this connection changed (trigger rows included; a statement
      // that failed and was undone may still count, which only makes a rollback happen that was not needed).
      const changesBefore = guarded || alone ? 0 : this.totalChanges();
      try {
        if (guarded) this.stmt.savepoint.run();
        const value = await p.fn(c);
        if (guarded) this.stmt.release.run();
        succeeded.push({ p, value });
      } catch (e) {
        if (!this.raw.inTransaction) {
          // SQLite ended the whole transaction itself: the work of those before is gone, and none of them was
          // acknowledged. They run again in the next batch, with the ones not reached yet.
          this.queue.unshift(...succeeded.map((s) => s.p), ...batch.slice(i + 1));
          for (const f of failed) f.p.reject(f.error);
          p.reject(asFault(e));
          return 'done';
        }
        if (alone) {
          this.rollback();
          p.reject(asFault(e));
          return 'done';
        }
        if (!guarded) {
          if (this.totalChanges() === changesBefore) {
            // It wrote nothing: nothing to undo.
            failed.push({ p, error: asFault(e) });
            continue;
          }
          // Part of it was written: only a ROLLBACK of the batch undoes it. None of the batch was acknowledged; the
          // others run again, in savepoints, before anything queued since.
          this.rollback();
          this.guardNext = true;
          this.queue.unshift(...succeeded.map((x) => x.p), ...batch.slice(i + 1));
          for (const f of failed) f.p.reject(f.error);
          p.reject(asFault(e));
          return 'done';
        }
        try {
          this.stmt.undo.run();
          this.stmt.release.run();
        } catch (undoError) {
          // The savepoint could not be undone: nothing of this batch may commit. The others run again.
          this.rollback();
          this.queue.unshift(...succeeded.map((s) => s.p), ...batch.slice(i + 1));
          for (const f of failed) f.p.reject(f.error);
          p.reject(asFault(undoError));
          return 'done';
        }
        failed.push({ p, error: asFault(e) });
      }
    }
    try {
      // The trigram index's queued changes, in one go (users-text.ts); part of the transaction like any write.
      this.usersText.run();
      this.stmt.commit.run();
    } catch (e) {
      // Nothing of the batch was applied.
      this.rollback();
      const fault = asFault(e);
      for (const s of succeeded) s.p.reject(fault);
      for (const f of failed) f.p.reject(f.error);
      return 'done';
    }
    for (const s of succeeded) s.p.resolve(s.value);
    for (const f of failed) f.p.reject(f.error);
    return 'done';
  }

  private totalChanges(): number {
    return this.stmt.changes.get() as number;
  }

  /** ROLLBACK when a transaction is still open (a failed COMMIT may already have ended it). */
  private rollback(): void {
    if (!this.raw.inTransaction) return;
    try {
      this.stmt.rollback.run();
    } catch {
      /* the transaction is gone either way */
    }
  }
}
