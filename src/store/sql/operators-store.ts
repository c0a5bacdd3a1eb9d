/**
 * Operator accounts and their console sessions (console-schema.ts). The store keeps what the service decides:
 * password hashes (scrypt, never a password), failure counters and lock times, and sessions by the hash of their
 * id (a database reader cannot sign in with what it reads).
 */
import type { Kysely } from 'kysely';
import { ScimError } from '../../scim/errors.js';
import type { AuditInput } from '../types.js';
import { insertAudit } from './audit-rows.js';

type Db = Kysely<any>;

export const OPERATOR_ROLES = ['viewer', 'operator', 'admin'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

export interface OperatorRow {
  id: string;
  name: string;
  role: OperatorRole;
  createdAt: string;
  updatedAt: string;
  passwordChangedAt: string;
  disabledAt: string | null;
  failedAttempts: number;
  lastFailedAt: string | null;
  lockedUntil: string | null;
  lastSignInAt: string | null;
}

export interface OperatorWithHash extends OperatorRow {
  passwordHash: string;
}

export interface SessionRow {
  idHash: string;
  operatorId: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  clientIp: string | null;
  userAgent: string | null;
}

const operatorRow = (r: any): OperatorWithHash => ({
  id: r.id,
  name: r.name,
  role: r.role,
  passwordHash: r.password_hash,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  passwordChangedAt: r.password_changed_at,
  disabledAt: r.disabled_at ?? null,
  failedAttempts: Number(r.failed_attempts ?? 0),
  lastFailedAt: r.last_failed_at ?? null,
  lockedUntil: r.locked_until ?? null,
  lastSignInAt: r.last_sign_in_at ?? null,
});

/** The row without its hash: what leaves the service. */
export function publicOperator(o: OperatorWithHash): OperatorRow {
  const { passwordHash: _hash, ...rest } = o;
  return rest;
}

const sessionRow = (r: any): SessionRow => ({
  idHash: r.id_hash,
  operatorId: r.operator_id,
  createdAt: r.created_at,
  lastSeenAt: r.last_seen_at,
  expiresAt: r.expires_at,
  clientIp: r.client_ip ?? null,
  userAgent: r.user_agent ?? null,
});

export class SqlOperators {
  constructor(
    private readonly db: Db,
    private readonly write: <T>(fn: (trx: Db) => Promise<T>) => Promise<T>,
    private readonly isUniqueViolation: (e: unknown) => boolean,
  ) {}

  async create(
    o: { id: string; name: string; role: OperatorRole; passwordHash: string },
    now: string,
    audit?: AuditInput,
  ): Promise<OperatorRow> {
    try {
      await this.write(async (db) => {
        await db
          .insertInto('operators')
          .values({
            id: o.id,
            name: o.name,
            name_lc: o.name.toLowerCase(),
            role: o.role,
            password_hash: o.passwordHash,
            created_at: now,
            updated_at: now,
            password_changed_at: now,
          })
          .execute();
        if (audit) await insertAudit(db, audit, now);
      });
    } catch (e) {
      if (this.isUniqueViolation(e))
        throw new ScimError(
          409,
          'uniqueness',
          `an operator named '${o.name}' already exists (names ignore case)`,
        );
      throw e;
    }
    return publicOperator((await this.get(o.id))!);
  }

  async list(): Promise<OperatorRow[]> {
    const rows = await this.db.selectFrom('operators').selectAll().orderBy('name_lc').execute();
    return rows.map((r) => publicOperator(operatorRow(r)));
  }

  async count(): Promise<number> {
    const r = await this.db
      .selectFrom('operators')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async get(id: string): Promise<OperatorWithHash | undefined> {
    const r = await this.db.selectFrom('operators').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? operatorRow(r) : undefined;
  }

  async findByName(name: string): Promise<OperatorWithHash | undefined> {
    const r = await this.db
      .selectFrom('operators')
      .selectAll()
      .where('name_lc', '=', name.toLowerCase())
      .executeTakeFirst();
    return r ? operatorRow(r) : undefined;
  }

  /**
   * Changes an account; `endSessions` also deletes every session of it (but `keep`) in the same transaction (a
   * disabled account, a new password, a changed role: nobody stays signed in with what was true before). The audit
   * record, if any, is written in that transaction too.
   */
  async update(
    id: string,
    patch: Partial<{
      role: OperatorRole;
      passwordHash: string;
      disabledAt: string | null;
      failedAttempts: number;
      lastFailedAt: string | null;
      lockedUntil: string | null;
      lastSignInAt: string;
    }>,
    now: string,
    endSessions = false,
    audit?: AuditInput,
    keep?: { idHash: string },
  ): Promise<boolean> {
    const set: Record<string, unknown> = { updated_at: now };
    if (patch.role !== undefined) set.role = patch.role;
    if (patch.passwordHash !== undefined) {
      set.password_hash = patch.passwordHash;
      set.password_changed_at = now;
    }
    if (patch.disabledAt !== undefined) set.disabled_at = patch.disabledAt;
    if (patch.failedAttempts !== undefined) set.failed_attempts = patch.failedAttempts;
    if (patch.lastFailedAt !== undefined) set.last_failed_at = patch.lastFailedAt;
    if (patch.lockedUntil !== undefined) set.locked_until = patch.lockedUntil;
    if (patch.lastSignInAt !== undefined) set.last_sign_in_at = patch.lastSignInAt;
    return this.write(async (db) => {
      const r = await db.updateTable('operators').set(set).where('id', '=', id).executeTakeFirst();
      if (endSessions)
        await db
          .deleteFrom('operator_sessions')
          .where('operator_id', '=', id)
          .$if(keep !== undefined, (q) => q.where('id_hash', '!=', keep!.idHash))
          .execute();
      if (audit) await insertAudit(db, audit, now);
      return Number(r.numUpdatedRows) > 0;
    });
  }

  /**
   * One failed sign-in, counted in the database (so every instance sees the same count): returns the new count
   * and the lock the caller computed from it.
   */
  async recordFailure(
    id: string,
    now: string,
    lockFor: (failures: number) => string | null,
  ): Promise<number> {
    return this.write(async (db) => {
      const r = await db
        .selectFrom('operators')
        .select('failed_attempts')
        .where('id', '=', id)
        .executeTakeFirst();
      const n = Number(r?.failed_attempts ?? 0) + 1;
      await db
        .updateTable('operators')
        .set({ failed_attempts: n, last_failed_at: now, locked_until: lockFor(n), updated_at: now })
        .where('id', '=', id)
        .execute();
      return n;
    });
  }

  // ---- sessions ----------------------------------------------------------------------------------------

  async createSession(s: SessionRow): Promise<void> {
    await this.write((db) =>
      db
        .insertInto('operator_sessions')
        .values({
          id_hash: s.idHash,
          operator_id: s.operatorId,
          created_at: s.createdAt,
          last_seen_at: s.lastSeenAt,
          expires_at: s.expiresAt,
          client_ip: s.clientIp,
          user_agent: s.userAgent,
        })
        .execute(),
    );
  }

  async getSession(idHash: string): Promise<SessionRow | undefined> {
    const r = await this.db
      .selectFrom('operator_sessions')
      .selectAll()
      .where('id_hash', '=', idHash)
      .executeTakeFirst();
    return r ? sessionRow(r) : undefined;
  }

  async listSessions(operatorId: string): Promise<SessionRow[]> {
    const rows = await this.db
      .selectFrom('operator_sessions')
      .selectAll()
      .where('operator_id', '=', operatorId)
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map(sessionRow);
  }

  async touchSession(idHash: string, now: string): Promise<void> {
    await this.write((db) =>
      db.updateTable('operator_sessions').set({ last_seen_at: now }).where('id_hash', '=', idHash).execute(),
    );
  }

  async deleteSession(idHash: string): Promise<boolean> {
    const r = await this.write((db) =>
      db.deleteFrom('operator_sessions').where('id_hash', '=', idHash).executeTakeFirst(),
    );
    return Number(r.numDeletedRows) > 0;
  }

  /** Signs an operator out everywhere; returns how many sessions ended. */
  async deleteSessionsOf(operatorId: string): Promise<number> {
    const r = await this.write((db) =>
      db.deleteFrom('operator_sessions').where('operator_id', '=', operatorId).executeTakeFirst(),
    );
    return Number(r.numDeletedRows);
  }

  /** Removes sessions past their absolute expiry or idle since `idleBefore`. */
  async pruneSessions(now: string, idleBefore: string): Promise<number> {
    const r = await this.write((db) =>
      db
        .deleteFrom('operator_sessions')
        .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<', idleBefore)]))
        .executeTakeFirst(),
    );
    return Number(r.numDeletedRows);
  }
}
