/**
 * Schema of the self-serve connection (issue 15; migration 0013_setup of both dialects):
 *
 * - `oauth_clients`: per-tenant OAuth 2.0 clients (RFC 6749 §2.3.1, client credentials §4.4). The client id is
 *   public; only a SHA-256 hash of the secret is kept.
 * - `tokens.client_id`: the access tokens a client obtains at the token endpoint are rows of `tokens` like Secret
 *   Tokens, with an expiry and the issuing client's id. The SCIM request path therefore looks them up with the
 *   same one index lookup (and the same verified-token cache) as a Secret Token; revoking the client revokes its
 *   rows in the same transaction. Secret Tokens have `client_id` NULL.
 * - `setup_links`: links an operator hands to a customer's IT admin; hashed, short-lived, bound to the first
 *   browser session that opens them (`session_hash`, the hash of an HttpOnly cookie).
 * - `tenant_connection`: per tenant, what the connection-state machine reads (last request, last success, the
 *   run of 401s, Test Connection, first user and group) and the state last announced with an event.
 * - `connection_buckets`: request and failure counts per tenant per 10-minute bucket (the error rate of the
 *   last hour), added to by every instance's periodic flush.
 */
import { sql, type Kysely, type Migration } from 'kysely';

export function setupMigration(dialect: 'sqlite' | 'postgres'): Migration {
  const pg = dialect === 'postgres';
  const text = pg ? sql.raw('TEXT COLLATE "C"') : sql.raw('TEXT');
  return {
    async up(db: Kysely<any>) {
      const stmts = [
        sql`CREATE TABLE oauth_clients (
            id ${text} PRIMARY KEY,
            tenant_id ${text} NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            secret_hash TEXT NOT NULL UNIQUE,
            secret_hint TEXT NOT NULL,
            created_at TEXT NOT NULL,
            last_used_at TEXT,
            revoked_at TEXT)`,
        sql`CREATE INDEX oauth_clients_tenant ON oauth_clients(tenant_id)`,
        sql`ALTER TABLE tokens ADD COLUMN client_id ${text}`,
        sql`CREATE INDEX tokens_client ON tokens(client_id)`,
        sql`CREATE TABLE setup_links (
            id ${text} PRIMARY KEY,
            tenant_id ${text} NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            hash TEXT NOT NULL UNIQUE,
            hint TEXT NOT NULL,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            revoked_at TEXT,
            bound_at TEXT,
            session_hash TEXT UNIQUE)`,
        sql`CREATE INDEX setup_links_tenant ON setup_links(tenant_id)`,
        sql`CREATE TABLE tenant_connection (
            tenant_id ${text} PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
            last_request_at TEXT,
            last_success_at TEXT,
            last_rejected_at TEXT,
            rejected_run INTEGER NOT NULL DEFAULT 0,
            test_connection_at TEXT,
            first_user_at TEXT,
            first_group_at TEXT,
            first_write_at TEXT,
            state TEXT,
            reason TEXT,
            state_changed_at TEXT)`,
        sql`CREATE TABLE connection_buckets (
            tenant_id ${text} NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            bucket ${text} NOT NULL,
            requests INTEGER NOT NULL,
            failures INTEGER NOT NULL,
            PRIMARY KEY (tenant_id, bucket))`,
      ];
      for (const s of stmts) await s.execute(db);
    },
  };
}
