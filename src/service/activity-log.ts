/**
 * The tenants' provisioning activity log, written in batches. Recording an entry costs the request nothing but
 * a push: the entries of one event-loop turn are appended together in one write transaction, which on SQLite
 * joins the group commit of that moment's other writes (no fsync of its own), and on PostgreSQL is one INSERT
 * for many requests. Shutdown (drain) and readers of the log (flush) wait for what is already recorded, and for
 * entries still being prepared (whom a DELETE was about is looked up first), so an entry is never lost to a
 * graceful stop and a reader (the console's list and its live stream) sees every request that has been answered.
 */
import type { ActivityEntry, ActivityRecord, Store } from '../store/types.js';

/** A store that cannot be written is retried this often before a batch is given up (and said so in the log). */
const ATTEMPTS = 3;
/** Entries kept while the store cannot be written; beyond this the oldest go (the log is not the data). */
const MAX_BUFFERED = 20_000;

export class ActivityLog {
  private buffer: ActivityRecord[] = [];
  private scheduled = false;
  private writing: Promise<void> | undefined;
  /** Entries still being prepared (a lookup before `record`). */
  private readonly preparing = new Set<Promise<void>>();

  constructor(
    private readonly store: Pick<Store, 'appendActivity'>,
    private readonly warn: (err: unknown, msg: string) => void,
  ) {}

  /** Records one entry; it is written with the others of this moment. */
  record(tenantId: string, entry: ActivityEntry): void {
    if (this.buffer.length >= MAX_BUFFERED) this.buffer.shift();
    this.buffer.push({ ...entry, tenantId });
    if (!this.scheduled && !this.writing) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.written();
      });
    }
  }

  /** An entry on its way: `p` records it when its lookups are done (its failure is logged, never thrown). */
  prepare(p: Promise<void>): void {
    const q = p.catch((err) => this.warn(err, 'could not record activity'));
    this.preparing.add(q);
    void q.finally(() => this.preparing.delete(q));
  }

  /** Resolves once every entry recorded or being prepared before the call is written (or given up after retries). */
  async flush(): Promise<void> {
    while (this.preparing.size) await Promise.allSettled([...this.preparing]);
    await this.written();
  }

  /** Resolves once every entry recorded before the call is written; entries still being prepared are not waited for. */
  async written(): Promise<void> {
    while (this.writing) await this.writing;
    if (!this.buffer.length) return;
    const batch = this.buffer;
    this.buffer = [];
    this.writing = this.write(batch).finally(() => {
      this.writing = undefined;
      // What was recorded while this batch was written goes next.
      if (this.buffer.length && !this.scheduled) void this.written();
    });
    await this.writing;
  }

  /** Graceful shutdown: everything recorded so far is written before the store closes. */
  async drain(): Promise<void> {
    while (this.preparing.size || this.writing || this.buffer.length) await this.flush();
  }

  private async write(batch: ActivityRecord[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.store.appendActivity(batch);
        return;
      } catch (err) {
        if (attempt >= ATTEMPTS) {
          this.warn(err, `could not record ${batch.length} activity entr${batch.length === 1 ? 'y' : 'ies'}`);
          return;
        }
        await new Promise((r) => setTimeout(r, 50 * attempt));
      }
    }
  }
}
