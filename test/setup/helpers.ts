/**
 * A real server for the self-serve connection suites: the whole app (SCIM, token endpoint, setup page, admin API)
 * on a free port over a real store, with a clock the test can move (token expiry, link expiry, idle), two tenants
 * (A and B) and their Secret Tokens.
 */
import { loadConfig, type Config } from '../../src/config.js';
import { buildApp, type App } from '../../src/http/app.js';
import { createStore } from '../../src/store/index.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { freshDatabase, type DialectName, type TestDatabase } from '../helpers/stores.js';

export const ADMIN = 'setup-suite-admin-token-0b1c2d3e4f5a6b7c8d9e';

export interface Tenant {
  id: string;
  name: string;
  tenantUrl: string;
  token: string;
  tokenId: string;
}

export interface SetupServer {
  base: string;
  /** The store's DATABASE_URL (for CLI runs against the same store). */
  databaseUrl: string;
  config: Config;
  built: App;
  store: SqlStore;
  a: Tenant;
  b: Tenant;
  /** Moves the server's clock forward. */
  advance(ms: number): void;
  now(): Date;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function startSetupServer(
  dialect: DialectName,
  env: Record<string, string> = {},
): Promise<SetupServer> {
  const db: TestDatabase = await freshDatabase(dialect);
  const store = createStore(db.url);
  await store.migrate();
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: db.url,
    RATE_LIMIT_PER_MINUTE: '0',
    ADMIN_TOKEN: ADMIN,
    ...env,
  });
  let offset = 0;
  const clock = () => new Date(Date.now() + offset);
  const built = await buildApp({ store, config, clock });
  const base = await built.app.listen({ port: 0, host: '127.0.0.1' });
  config.publicUrl = base;
  const tenant = async (name: string): Promise<Tenant> => {
    const t = await built.tenants.createTenant(name);
    return { id: t.id, name: t.name, tenantUrl: t.tenantUrl, token: t.token, tokenId: t.tokenId };
  };
  const a = await tenant('tenant-a');
  const b = await tenant('tenant-b');
  return {
    base,
    databaseUrl: db.url,
    config,
    built,
    store,
    a,
    b,
    advance: (ms) => {
      offset += ms;
    },
    now: clock,
    admin: async (method, path, body) => {
      const res = await fetch(`${base}/admin/api${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${ADMIN}`,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    close: async () => {
      await built.app.close();
      await built.drain();
      await store.close();
      await db.drop();
    },
  };
}

/** A SCIM request with a bearer token; returns the status (and the body when there is one). */
export async function scim(
  tenantUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(tenantUrl + path, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/scim+json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

export const newUser = (userName: string) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  userName,
  active: true,
});
