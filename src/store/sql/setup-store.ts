/**
 * The self-serve connection's tables (setup-schema.ts) over Kysely, identical for both dialects: OAuth clients and
 * the access tokens they obtain, setup links, and the connection record each instance adds its counters to.
 */
import { sql, type Kysely } from 'kysely';
import type { EventDraft } from '../../events/types.js';
import type {
  ConnectionDelta,
  ConnectionRecord,
  OAuthClientRow,
  SetupLinkRow,
  SetupStore,
} from '../setup-types.js';
import type { AuditInput, NewToken } from '../types.js';
import { appendEvents } from './events-store.js';
import { execOf, type Dialect } from './exec.js';

type Db = Kysely<any>;
type Write = <T>(fn: (trx: Db) => Promise<T>) => Promise<T>;
type Audit = (db: Db, a: AuditInput, now: string) => Promise<void>;

const clientRow = (r: any): OAuthClientRow => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  secretHint: r.secret_hint,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at ?? null,
  revokedAt: r.revoked_at ?? null,
});

const linkRow = (r: any): SetupLinkRow => ({
  id: r.id,
  tenantId: r.tenant_id,
  hint: r.hint,
  createdAt: r.created_at,
  createdBy: r.created_by,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at ?? null,
  boundAt: r.bound_at ?? null,
});

/** The later of the stored and the new time (ISO 8601 UTC strings sort as times); NULL never wins. */
const later = (col: string) =>
  sql.raw(
    `CASE WHEN excluded.${col} IS NOT NULL AND (tenant_connection.${col} IS NULL OR excluded.${col} > tenant_connection.${col}) THEN excluded.${col} ELSE tenant_connection.${col} END`,
  );
const firstOf = (col: string) => sql.raw(`COALESCE(tenant_connection.${col}, excluded.${col})`);

export class SqlSetupStore implements SetupStore {
  constructor(
    private readonly db: Db,
    private readonly write: Write,
    private readonly insertAudit: Audit,
    /** Called after anything that may end a token's validity (the verified-token cache's marker). */
    private readonly tokensChanged: () => void,
    private readonly dialect: Dialect,
  ) {}

  // ---- OAuth clients ------------------------------------------------------------------------------------

  async createClient(
    c: { id: string; tenantId: string; name: string; secretHash: string; secretHint: string },
    now: string,
    audit: AuditInput,
  ): Promise<OAuthClientRow> {
    await this.write(async (db) => {
      await db
        .insertInto('oauth_clients')
        .values({
          id: c.id,
          tenant_id: c.tenantId,
          name: c.name,
          secret_hash: c.secretHash,
          secret_hint: c.secretHint,
          created_at: now,
        })
        .execute();
      await this.insertAudit(db, audit, now);
    });
    return {
      id: c.id,
      tenantId: c.tenantId,
      name: c.name,
      secretHint: c.secretHint,
      createdAt: now,
      lastUsedAt: null,
      revokedAt: null,
    };
  }

  async listClients(tenantId: string): Promise<OAuthClientRow[]> {
    const rows = await this.db
      .selectFrom('oauth_clients')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(clientRow);
  }

  async getClient(tenantId: string, id: string): Promise<OAuthClientRow | undefined> {
    const r = await this.db
      .selectFrom('oauth_clients')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return r ? clientRow(r) : undefined;
  }

  async findClient(id: string): Promise<(OAuthClientRow & { secretHash: string }) | undefined> {
    const r = await this.db.selectFrom('oauth_clients').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? { ...clientRow(r), secretHash: String(r.secret_hash) } : undefined;
  }

  async revokeClient(tenantId: string, id: string, now: string, audit: AuditInput): Promise<boolean> {
    try {
      return await this.write(async (db) => {
        const r = await db
          .updateTable('oauth_clients')
          .set({ revoked_at: now })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) return false;
        // Its access tokens end now, in the same transaction: no request after the commit is accepted with them.
        await db
          .updateTable('tokens')
          .set({ revoked_at: now })
          .where('tenant_id', '=', tenantId)
          .where('client_id', '=', id)
          .where((eb) => eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '>', now)]))
          .execute();
        await this.insertAudit(db, audit, now);
        return true;
      });
    } finally {
      this.tokensChanged();
    }
  }

  async issueAccessToken(clientId: string, t: NewToken, now: string): Promise<boolean> {
    return this.write(async (db) => {
      // The write comes first (SQLite takes the write lock on it) and doubles as the check that the client is
      // still active in this transaction: a revocation that commits first leaves nothing to issue.
      const r = await db
        .updateTable('oauth_clients')
        .set({ last_used_at: now })
        .where('id', '=', clientId)
        .where('tenant_id', '=', t.tenantId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return false;
      // Entra asks for a new token about every hour: expired ones are dropped here so they never pile up.
      await db
        .deleteFrom('tokens')
        .where('tenant_id', '=', t.tenantId)
        .where('client_id', '=', clientId)
        .where('expires_at', '<=', now)
        .execute();
      await db
        .insertInto('tokens')
        .values({
          id: t.id,
          tenant_id: t.tenantId,
          hash: t.hash,
          hint: t.hint,
          created_at: now,
          expires_at: t.expiresAt ?? null,
          client_id: clientId,
        })
        .execute();
      return true;
    });
  }

  // ---- setup links --------------------------------------------------------------------------------------

  async createLink(
    l: { id: string; tenantId: string; hash: string; hint: string; createdBy: string; expiresAt: string },
    now: string,
    audit: AuditInput,
  ): Promise<SetupLinkRow> {
    await this.write(async (db) => {
      await db
        .insertInto('setup_links')
        .values({
          id: l.id,
          tenant_id: l.tenantId,
          hash: l.hash,
          hint: l.hint,
          created_at: now,
          created_by: l.createdBy,
          expires_at: l.expiresAt,
        })
        .execute();
      await this.insertAudit(db, audit, now);
    });
    return {
      id: l.id,
      tenantId: l.tenantId,
      hint: l.hint,
      createdAt: now,
      createdBy: l.createdBy,
      expiresAt: l.expiresAt,
      revokedAt: null,
      boundAt: null,
    };
  }

  async listLinks(tenantId: string): Promise<SetupLinkRow[]> {
    const rows = await this.db
      .selectFrom('setup_links')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(linkRow);
  }

  async revokeLink(tenantId: string, id: string, now: string, audit: AuditInput): Promise<boolean> {
    return this.write(async (db) => {
      const r = await db
        .updateTable('setup_links')
        .set({ revoked_at: now })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return false;
      await this.insertAudit(db, audit, now);
      return true;
    });
  }

  async findLinkByHash(hash: string): Promise<SetupLinkRow | undefined> {
    const r = await this.db.selectFrom('setup_links').selectAll().where('hash', '=', hash).executeTakeFirst();
    return r ? linkRow(r) : undefined;
  }

  async findLinkBySession(sessionHash: string): Promise<SetupLinkRow | undefined> {
    const r = await this.db
      .selectFrom('setup_links')
      .selectAll()
      .where('session_hash', '=', sessionHash)
      .executeTakeFirst();
    return r ? linkRow(r) : undefined;
  }

  async bindLink(id: string, sessionHash: string, now: string): Promise<boolean> {
    return this.write(async (db) => {
      // Conditional: of two browsers opening the link at once, exactly one binds it.
      const r = await db
        .updateTable('setup_links')
        .set({ bound_at: now, session_hash: sessionHash })
        .where('id', '=', id)
        .where('session_hash', 'is', null)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    });
  }

  // ---- connection state ---------------------------------------------------------------------------------

  async flushConnection(
    deltas: ReadonlyMap<string, ConnectionDelta>,
    bucket: string,
    pruneBefore: string,
  ): Promise<void> {
    if (!deltas.size) return;
    await this.write(async (db) => {
      for (const [tenantId, d] of deltas) {
        // A URL naming no tenant (a scanner, a typo) has nothing to record: the SELECT finds no row to insert.
        const exists = await db
          .selectFrom('tenants')
          .select('id')
          .where('id', '=', tenantId)
          .executeTakeFirst();
        if (!exists) continue;
        await db
          .insertInto('tenant_connection')
          .values({
            tenant_id: tenantId,
            last_request_at: d.lastRequestAt,
            last_success_at: d.lastSuccessAt,
            last_rejected_at: d.lastRejectedAt,
            rejected_run: d.rejectedTail,
            test_connection_at: d.testConnectionAt,
            first_user_at: d.firstUserAt,
            first_group_at: d.firstGroupAt,
            first_write_at: d.firstWriteAt,
          })
          .onConflict((oc) =>
            oc.column('tenant_id').doUpdateSet({
              last_request_at: later('last_request_at'),
              last_success_at: later('last_success_at'),
              last_rejected_at: later('last_rejected_at'),
              test_connection_at: later('test_connection_at'),
              first_user_at: firstOf('first_user_at'),
              first_group_at: firstOf('first_group_at'),
              first_write_at: firstOf('first_write_at'),
              // A success ends the run of 401s; otherwise this instance's 401s extend it.
              rejected_run: d.sawSuccess
                ? d.rejectedTail
                : sql`tenant_connection.rejected_run + ${d.rejectedTail}`,
            }),
          )
          .execute();
        if (d.requests > 0)
          await db
            .insertInto('connection_buckets')
            .values({ tenant_id: tenantId, bucket, requests: d.requests, failures: d.failures })
            .onConflict((oc) =>
              oc.columns(['tenant_id', 'bucket']).doUpdateSet({
                requests: sql`connection_buckets.requests + ${d.requests}`,
                failures: sql`connection_buckets.failures + ${d.failures}`,
              }),
            )
            .execute();
      }
      await db.deleteFrom('connection_buckets').where('bucket', '<', pruneBefore).execute();
    });
  }

  private recordQuery(windowStart: string, now: string) {
    return this.db
      .selectFrom('tenants as t')
      .leftJoin('tenant_connection as c', 'c.tenant_id', 't.id')
      .select([
        't.id as tenant_id',
        't.name as tenant_name',
        't.created_at as tenant_created_at',
        'c.last_request_at',
        'c.last_success_at',
        'c.last_rejected_at',
        'c.rejected_run',
        'c.test_connection_at',
        'c.first_user_at',
        'c.first_group_at',
        'c.first_write_at',
        'c.state',
        'c.reason',
        'c.state_changed_at',
      ])
      .select((eb) => [
        eb
          .selectFrom('connection_buckets as b')
          .select(sql<number>`COALESCE(SUM(b.requests), 0)`.as('n'))
          .whereRef('b.tenant_id', '=', 't.id')
          .where('b.bucket', '>=', windowStart)
          .as('window_requests'),
        eb
          .selectFrom('connection_buckets as b')
          .select(sql<number>`COALESCE(SUM(b.failures), 0)`.as('n'))
          .whereRef('b.tenant_id', '=', 't.id')
          .where('b.bucket', '>=', windowStart)
          .as('window_failures'),
        // A credential that can still work: an active Secret Token (access tokens come and go with their client)
        // or an active OAuth client.
        eb
          .or([
            eb.exists(
              eb
                .selectFrom('tokens as k')
                .select('k.id')
                .whereRef('k.tenant_id', '=', 't.id')
                .where('k.client_id', 'is', null)
                .where((w) => w.or([w('k.revoked_at', 'is', null), w('k.revoked_at', '>', now)]))
                .where((w) => w.or([w('k.expires_at', 'is', null), w('k.expires_at', '>', now)])),
            ),
            eb.exists(
              eb
                .selectFrom('oauth_clients as o')
                .select('o.id')
                .whereRef('o.tenant_id', '=', 't.id')
                .where('o.revoked_at', 'is', null),
            ),
          ])
          .as('has_credential'),
      ]);
  }

  private record(r: any): ConnectionRecord {
    return {
      tenantId: r.tenant_id,
      tenantName: r.tenant_name,
      tenantCreatedAt: r.tenant_created_at,
      lastRequestAt: r.last_request_at ?? null,
      lastSuccessAt: r.last_success_at ?? null,
      lastRejectedAt: r.last_rejected_at ?? null,
      rejectedRun: Number(r.rejected_run ?? 0),
      testConnectionAt: r.test_connection_at ?? null,
      firstUserAt: r.first_user_at ?? null,
      firstGroupAt: r.first_group_at ?? null,
      firstWriteAt: r.first_write_at ?? null,
      state: r.state ?? null,
      reason: r.reason ?? null,
      stateChangedAt: r.state_changed_at ?? null,
      windowRequests: Number(r.window_requests ?? 0),
      windowFailures: Number(r.window_failures ?? 0),
      hasCredential: r.has_credential === true || Number(r.has_credential) === 1,
    };
  }

  async connection(
    tenantId: string,
    windowStart: string,
    now: string,
  ): Promise<ConnectionRecord | undefined> {
    const r = await this.recordQuery(windowStart, now).where('t.id', '=', tenantId).executeTakeFirst();
    return r ? this.record(r) : undefined;
  }

  async connections(windowStart: string, now: string): Promise<ConnectionRecord[]> {
    const rows = await this.recordQuery(windowStart, now).orderBy('t.created_at').orderBy('t.id').execute();
    return rows.map((r) => this.record(r));
  }

  async announceState(
    tenantId: string,
    from: string | null,
    to: { state: string; reason: string },
    now: string,
    draft: EventDraft | undefined,
  ): Promise<boolean> {
    return this.write(async (db) => {
      await db
        .insertInto('tenant_connection')
        .values({ tenant_id: tenantId })
        .onConflict((oc) => oc.column('tenant_id').doNothing())
        .execute();
      const r = await db
        .updateTable('tenant_connection')
        .set({ state: to.state, reason: to.reason, state_changed_at: now })
        .where('tenant_id', '=', tenantId)
        .where((eb) => (from === null ? eb('state', 'is', null) : eb('state', '=', from)))
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return false;
      if (draft) await appendEvents(execOf(db, this.dialect), tenantId, [draft], now);
      return true;
    });
  }
}
