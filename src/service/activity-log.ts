/**
 * The tenants' provisioning activity log, written in batches. Recording an entry costs the request nothing but
 * a push: the entries of one event-loop turn are appended together in one write transaction, which on SQLite
 * joins the group commit of that moment's other writes (no fsync of its own), and on PostgreSQL is one INSERT
 * for many requests. Entries are written in the order their responses were sent: one still being prepared (whom a
 * request about a deleted id was about is looked up first) holds its place, and those after it wait. Shutdown
 * (drain) and readers of the log (flush) wait for what is already recorded and for entries still being prepared, so
 * an entry is never lost to a graceful stop and a reader (the console's list and its live stream) sees every request
 * that has been answered, in order.
 */
import type { ActivityEntry, ActivityRecord, Store } from '../store/types.js';

/** A store that cannot be written is retried this often before a batch is given up (and said so in the log). */
const ATTEMPTS = 3;
/** Entries kept while the store cannot be written; beyond this the oldest go (the log is not the data). */
const MAX_BUFFERED = 20_000;

/** A place in the log, taken when the response was sent; filled at once, or when its lookups are done. */
interface Slot {
  record: ActivityRecord | undefined;
  ready: boolean;
}

export class ActivityLog {
  /** In the order the responses were sent; only the ready ones at the front are written. */
  private buffer: Slot[] = [];
  private scheduled = false;
  private writing: Promise<void> | undefined;
  /** Entries still being prepared (a lookup before they are known). */
  private readonly preparing = new Set<Promise<void>>();

  constructor(
    private readonly store: Pick<Store, 'appendActivity'>,
    private readonly warn: (err: unknown, msg: string) => void,
  ) {}

  /** Records one entry; it is written with the others of this moment. */
  record(tenantId: string, entry: ActivityEntry): void {
    this.push({ record: { ...entry, tenantId }, ready: true });
    this.schedule();
  }

  /**
   * An entry on its way: it keeps its place in the log (after every entry recorded or prepared before it, before every
   * one after it), and is written once `p` resolves with it. `p` resolving with nothing (or failing: logged, never
   * thrown) leaves no entry. Later entries wait for it: an entry's lookups are one indexed read each.
   */
  prepare(p: Promise<{ tenantId: string; entry: ActivityEntry } | undefined>): void {
    const slot: Slot = { record: undefined, ready: false };
    this.push(slot);
    const q = p.then(
      (r) => {
        if (r) slot.record = { ...r.entry, tenantId: r.tenantId };
      },
      (err) => this.warn(err, 'could not record activity'),
    );
    this.preparing.add(q);
    void q.finally(() => {
      slot.ready = true;
      this.preparing.delete(q);
      this.schedule();
    });
  }

  /** Resolves once every entry recorded or being prepared before the call is written (or given up after retries). */
  async flush(): Promise<void> {
    while (this.preparing.size) await Promise.allSettled([...this.preparing]);
    await this.written();
  }

  /**
   * Resolves once every entry recorded before the call, up to the first one still being prepared, is written. Entries
   * being prepared, and those after them, are not waited for (a preparation may itself wait here for the entries
   * before it).
   */
  async written(): Promise<void> {
    while (this.writing) await this.writing;
    let n = 0;
    while (n < this.buffer.length && this.buffer[n]!.ready) n++;
    if (!n) return;
    const batch: ActivityRecord[] = [];
    for (const s of this.buffer.splice(0, n)) if (s.record) batch.push(s.record);
    if (!batch.length) return;
    this.writing = this.write(batch).finally(() => {
      this.writing = undefined;
      // What was recorded while this batch was written goes next.
      if (this.buffer[0]?.ready && !this.scheduled) void this.written();
    });
    await this.writing;
  }

  /** Graceful shutdown: everything recorded so far is written before the store closes. */
  async drain(): Promise<void> {
    while (this.preparing.size || this.writing || this.buffer.length) await this.flush();
  }

  private push(slot: Slot): void {
    // The oldest entry that is ready goes (one being prepared keeps its place: its promise still fills it).
    if (this.buffer.length >= MAX_BUFFERED) {
      const i = this.buffer.findIndex((s) => s.ready);
      if (i >= 0) this.buffer.splice(i, 1);
    }
    this.buffer.push(slot);
  }

  private schedule(): void {
    if (this.scheduled || this.writing || !this.buffer[0]?.ready) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.written();
    });
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
