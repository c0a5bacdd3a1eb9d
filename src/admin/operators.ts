/**
 * Operator accounts and console sessions: who may do what in the console, and the record of who did it.
 *
 * - Roles: `viewer` reads; `operator` also issues and revokes tokens, runs Test Connection, controls the engine and
 *   redelivers webhooks; `admin` also manages tenants, operators, webhooks and API keys (docs/console.md).
 * - Passwords are scrypt hashes (passwords.ts). A failed sign-in counts against the account in the database (every
 *   instance sees the same count): from the 5th failure in a row the account waits before the next try (30 s,
 *   doubling, at most 15 min), and at the 20th it is locked until an admin enables it or resets its password.
 * - A session is 32 random bytes in an HttpOnly cookie; the store keeps only its SHA-256. It ends after
 *   ADMIN_SESSION_IDLE_MINUTES without use and ADMIN_SESSION_MAX_HOURS after sign-in, when the operator signs out
 *   (here or everywhere), and when the account is disabled, its role changes or its password is reset.
 * - Its CSRF token is derived from the session secret (HMAC), so it needs no storage and dies with the session.
 * - Every change to an account, every sign-in and every lockout is written to the audit log.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ScimError } from '../scim/errors.js';
import { newId } from '../store/sql/ids.js';
import {
  OPERATOR_ROLES,
  publicOperator,
  type OperatorRole,
  type OperatorRow,
  type SessionRow,
} from '../store/sql/operators-store.js';
import type { Actor, AuditInput, Store } from '../store/types.js';
import { generatePassword, hashPassword, needsRehash, passwordProblem, verifyPassword } from './passwords.js';

export { OPERATOR_ROLES, type OperatorRole, type OperatorRow };

/** Failed sign-ins in a row before each further try has to wait. */
export const BACKOFF_AFTER = 5;
/** Failed sign-ins in a row that lock the account until an admin acts. */
export const LOCK_AFTER = 20;
const BACKOFF_BASE_MS = 30_000;
const BACKOFF_MAX_MS = 15 * 60_000;
/** last_seen_at is written at most this often per session (it is what the idle expiry measures). */
const TOUCH_EVERY_MS = 60_000;

export const ROLE_RANK: Record<OperatorRole, number> = { viewer: 1, operator: 2, admin: 3 };

export const isRole = (s: unknown): s is OperatorRole =>
  typeof s === 'string' && (OPERATOR_ROLES as readonly string[]).includes(s);

/** How long the account must wait after `failures` failed sign-ins in a row (0: it may try at once). */
export function backoffMs(failures: number): number {
  if (failures < BACKOFF_AFTER) return 0;
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (failures - BACKOFF_AFTER));
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('base64url');

export interface SignedIn {
  operator: OperatorRow;
  /** The cookie value (the session secret): never stored, never logged. */
  sessionToken: string;
  csrfToken: string;
  expiresAt: string;
  idleExpiresAt: string;
}

export interface ActiveSession {
  operator: OperatorRow;
  session: SessionRow;
  csrfToken: string;
  idleExpiresAt: string;
}

/** A sign-in that was refused: 401 (wrong name or password) or 429 (wait), with the reason for the operator. */
export class SignInRefused extends Error {
  constructor(
    readonly status: 401 | 429,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'SignInRefused';
  }
}

const WRONG = 'the name or the password is not right';

export class OperatorService {
  /** A hash to verify against when the name is unknown, so the answer takes as long as for a wrong password. */
  private readonly dummyHash: Promise<string>;

  constructor(
    private readonly store: Store,
    private readonly opts: { sessionIdleMs: number; sessionMaxMs: number },
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.dummyHash = hashPassword(generatePassword());
    // Never leave an unhandled rejection behind if nobody ever signs in.
    this.dummyHash.catch(() => undefined);
  }

  private audit(actor: Actor, action: string, target: string, detail: string): AuditInput {
    return { actor, action, tenantId: '', tenantName: '', target, detail };
  }

  private async mustFind(nameOrId: string): Promise<OperatorRow & { passwordHash: string }> {
    const o = (await this.store.operators.findByName(nameOrId)) ?? (await this.store.operators.get(nameOrId));
    if (!o) throw new ScimError(404, undefined, `no operator named '${nameOrId}' (joyn-scim operators list)`);
    return o;
  }

  async count(): Promise<number> {
    return this.store.operators.count();
  }

  async list(): Promise<OperatorRow[]> {
    return this.store.operators.list();
  }

  async get(nameOrId: string): Promise<OperatorRow> {
    return publicOperator(await this.mustFind(nameOrId));
  }

  /** Creates an account; without a password one is generated and returned (shown once). */
  async create(
    name: string,
    role: string,
    password: string | undefined,
    actor: Actor,
  ): Promise<{ operator: OperatorRow; password?: string }> {
    const clean = name.trim();
    if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/.test(clean))
      throw new ScimError(
        400,
        'invalidValue',
        `operator name '${name}' must be 1-100 letters, digits, '.', '_', '@' or '-' (an e-mail address works)`,
      );
    if (!isRole(role))
      throw new ScimError(400, 'invalidValue', `role '${role}' is not one of ${OPERATOR_ROLES.join(', ')}`);
    const generated = password === undefined ? generatePassword() : undefined;
    const pw = password ?? generated!;
    const problem = passwordProblem(pw);
    if (problem) throw new ScimError(400, 'invalidValue', problem);
    const now = this.clock().toISOString();
    const id = newId();
    const operator = await this.store.operators.create(
      { id, name: clean, role, passwordHash: await hashPassword(pw) },
      now,
      this.audit(actor, 'operator.create', id, `created operator '${clean}' with role ${role}`),
    );
    return { operator, ...(generated ? { password: generated } : {}) };
  }

  /** Disables an account and ends its sessions. */
  async disable(nameOrId: string, actor: Actor): Promise<OperatorRow> {
    const o = await this.mustFind(nameOrId);
    const now = this.clock().toISOString();
    await this.store.operators.update(
      o.id,
      { disabledAt: o.disabledAt ?? now },
      now,
      true,
      this.audit(actor, 'operator.disable', o.id, `disabled operator '${o.name}' and ended its sessions`),
    );
    return this.get(o.id);
  }

  /** Enables an account (also one locked by failed sign-ins) and clears its failure count. */
  async enable(nameOrId: string, actor: Actor): Promise<OperatorRow> {
    const o = await this.mustFind(nameOrId);
    const now = this.clock().toISOString();
    await this.store.operators.update(
      o.id,
      { disabledAt: null, failedAttempts: 0, lockedUntil: null },
      now,
      false,
      this.audit(actor, 'operator.enable', o.id, `enabled operator '${o.name}'`),
    );
    return this.get(o.id);
  }

  async setRole(nameOrId: string, role: string, actor: Actor): Promise<OperatorRow> {
    if (!isRole(role))
      throw new ScimError(400, 'invalidValue', `role '${role}' is not one of ${OPERATOR_ROLES.join(', ')}`);
    const o = await this.mustFind(nameOrId);
    if (o.role === role) return publicOperator(o);
    const now = this.clock().toISOString();
    // The sessions end: a session must not keep rights its operator no longer has.
    await this.store.operators.update(
      o.id,
      { role },
      now,
      true,
      this.audit(actor, 'operator.role', o.id, `role of '${o.name}' changed from ${o.role} to ${role}`),
    );
    return this.get(o.id);
  }

  /** Sets a new password (generated when none is given: returned, shown once), unlocks, ends every session. */
  async resetPassword(
    nameOrId: string,
    password: string | undefined,
    actor: Actor,
  ): Promise<{ operator: OperatorRow; password?: string }> {
    const o = await this.mustFind(nameOrId);
    const generated = password === undefined ? generatePassword() : undefined;
    const pw = password ?? generated!;
    const problem = passwordProblem(pw);
    if (problem) throw new ScimError(400, 'invalidValue', problem);
    const now = this.clock().toISOString();
    await this.store.operators.update(
      o.id,
      { passwordHash: await hashPassword(pw), failedAttempts: 0, lockedUntil: null },
      now,
      true,
      this.audit(actor, 'operator.reset_password', o.id, `new password for '${o.name}'; its sessions ended`),
    );
    return { operator: await this.get(o.id), ...(generated ? { password: generated } : {}) };
  }

  /** An operator changes their own password (the current one is checked); other sessions end. */
  async changeOwnPassword(active: ActiveSession, current: string, next: string, actor: Actor): Promise<void> {
    const o = await this.mustFind(active.operator.id);
    if (!(await verifyPassword(current, o.passwordHash)))
      throw new ScimError(400, 'invalidValue', 'the current password is not right');
    const problem = passwordProblem(next);
    if (problem) throw new ScimError(400, 'invalidValue', problem);
    const now = this.clock().toISOString();
    await this.store.operators.update(
      o.id,
      { passwordHash: await hashPassword(next) },
      now,
      true,
      this.audit(
        actor,
        'operator.change_password',
        o.id,
        `'${o.name}' changed their password; other sessions ended`,
      ),
      active.session,
    );
  }

  /** Ends every session of an operator ("sign out everywhere"); returns how many. */
  async signOutEverywhere(nameOrId: string, actor: Actor): Promise<number> {
    const o = await this.mustFind(nameOrId);
    const n = await this.store.operators.deleteSessionsOf(o.id);
    await this.store.appendAudit(
      this.audit(
        actor,
        'operator.sign_out_everywhere',
        o.id,
        `ended ${n} session${n === 1 ? '' : 's'} of '${o.name}'`,
      ),
      this.clock().toISOString(),
    );
    return n;
  }

  /**
   * Checks a name and password and opens a session. Refused with 401 for a wrong name or password (the same
   * answer, after the same work), with 429 + Retry-After while the account has to wait after failures, and with
   * 401 for a disabled or locked account (which says so: its operator has to ask an admin).
   */
  async signIn(
    name: string,
    password: string,
    client: { ip: string; userAgent?: string },
  ): Promise<SignedIn> {
    const now = this.clock();
    const iso = now.toISOString();
    const o = await this.store.operators.findByName(name.trim());
    if (!o) {
      await verifyPassword(password, await this.dummyHash);
      throw new SignInRefused(401, WRONG);
    }
    if (o.lockedUntil && o.lockedUntil > iso && !o.disabledAt) {
      const seconds = Math.max(1, Math.ceil((Date.parse(o.lockedUntil) - now.getTime()) / 1000));
      throw new SignInRefused(
        429,
        `too many failed sign-ins for '${o.name}': wait ${seconds} s before the next try`,
        seconds,
      );
    }
    const ok = await verifyPassword(password, o.passwordHash);
    if (!ok) {
      const actor: Actor = { via: 'console', name: `sign-in from ${client.ip}` };
      let lockedNow = false;
      const failures = await this.store.operators.recordFailure(o.id, iso, (n) => {
        const wait = backoffMs(n);
        return wait ? new Date(now.getTime() + wait).toISOString() : null;
      });
      if (failures === LOCK_AFTER && !o.disabledAt) {
        lockedNow = true;
        await this.store.operators.update(
          o.id,
          { disabledAt: iso },
          iso,
          true,
          this.audit(
            actor,
            'operator.locked',
            o.id,
            `'${o.name}' locked after ${failures} failed sign-ins in a row`,
          ),
        );
      } else if (failures === BACKOFF_AFTER)
        await this.store.appendAudit(
          this.audit(actor, 'operator.backoff', o.id, `${failures} failed sign-ins in a row for '${o.name}'`),
          iso,
        );
      if (o.disabledAt || lockedNow)
        throw new SignInRefused(
          401,
          `${WRONG}, or the account is disabled or locked: an admin can enable it`,
        );
      throw new SignInRefused(401, WRONG);
    }
    if (o.disabledAt)
      throw new SignInRefused(
        401,
        `the account '${o.name}' is disabled${o.failedAttempts >= LOCK_AFTER ? ' (locked after failed sign-ins)' : ''}: an admin can enable it (joyn-scim operators enable)`,
      );
    const sessionToken = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + this.opts.sessionMaxMs).toISOString();
    await this.store.operators.createSession({
      idHash: sha256(sessionToken),
      operatorId: o.id,
      createdAt: iso,
      lastSeenAt: iso,
      expiresAt,
      clientIp: client.ip,
      userAgent: client.userAgent?.slice(0, 300) ?? null,
    });
    await this.store.operators.update(
      o.id,
      {
        failedAttempts: 0,
        lockedUntil: null,
        lastSignInAt: iso,
        ...(needsRehash(o.passwordHash) ? { passwordHash: await hashPassword(password) } : {}),
      },
      iso,
      false,
      this.audit({ via: 'console', name: o.name }, 'operator.sign_in', o.id, `signed in from ${client.ip}`),
    );
    return {
      operator: await this.get(o.id),
      sessionToken,
      csrfToken: csrfTokenOf(sessionToken),
      expiresAt,
      idleExpiresAt: new Date(now.getTime() + this.opts.sessionIdleMs).toISOString(),
    };
  }

  /**
   * The session a cookie names, if it is still valid: not past its absolute or idle expiry, and its operator still
   * enabled. Refreshes last_seen_at (at most once a minute).
   */
  async session(sessionToken: string): Promise<ActiveSession | undefined> {
    if (!sessionToken) return undefined;
    const idHash = sha256(sessionToken);
    const s = await this.store.operators.getSession(idHash);
    if (!s) return undefined;
    const now = this.clock();
    const ms = now.getTime();
    if (Date.parse(s.expiresAt) <= ms || Date.parse(s.lastSeenAt) + this.opts.sessionIdleMs <= ms) {
      await this.store.operators.deleteSession(idHash);
      return undefined;
    }
    const o = await this.store.operators.get(s.operatorId);
    if (!o || o.disabledAt) return undefined;
    let lastSeen = s.lastSeenAt;
    if (ms - Date.parse(s.lastSeenAt) >= TOUCH_EVERY_MS) {
      lastSeen = now.toISOString();
      await this.store.operators.touchSession(idHash, lastSeen);
    }
    return {
      operator: publicOperator(o),
      session: { ...s, lastSeenAt: lastSeen },
      csrfToken: csrfTokenOf(sessionToken),
      idleExpiresAt: new Date(
        Math.min(Date.parse(s.expiresAt), Date.parse(lastSeen) + this.opts.sessionIdleMs),
      ).toISOString(),
    };
  }

  async signOut(sessionToken: string): Promise<void> {
    await this.store.operators.deleteSession(sha256(sessionToken));
  }

  async sessionsOf(operatorId: string): Promise<SessionRow[]> {
    return this.store.operators.listSessions(operatorId);
  }

  /** Removes expired and idle sessions (the server calls it now and then). */
  async prune(): Promise<number> {
    const now = this.clock().getTime();
    return this.store.operators.pruneSessions(
      new Date(now).toISOString(),
      new Date(now - this.opts.sessionIdleMs).toISOString(),
    );
  }
}

/** The session's CSRF token: an HMAC of a fixed label under the session secret. */
export function csrfTokenOf(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('joyn-scim console csrf v1').digest('base64url');
}

export function csrfMatches(sessionToken: string, presented: string | undefined): boolean {
  if (!presented) return false;
  const a = Buffer.from(csrfTokenOf(sessionToken));
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
