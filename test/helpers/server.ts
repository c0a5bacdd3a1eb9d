/**
 * A real joyn-scim server on a free port over a real store, with a fresh tenant and token.
 * Used by HTTP tests, the conformance suites, the checker and the engine's end-to-end tests.
 */
import { loadConfig, type Config } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { freshDatabase, type DialectName, type TestDatabase } from './stores.js';

export interface TestServer {
  baseUrl: string;
  tenantUrl: string;
  tenantId: string;
  token: string;
  dialect: DialectName;
  server: RunningServer;
  /** Creates another tenant on the same server. */
  newTenant(name?: string): Promise<{ tenantId: string; tenantUrl: string; token: string }>;
  close(): Promise<void>;
}

let counter = 0;

export async function startTestServer(
  opts: { databaseUrl?: string; dialect?: DialectName; env?: Record<string, string> } = {},
): Promise<TestServer> {
  let db: TestDatabase | undefined;
  let url = opts.databaseUrl;
  if (!url) {
    db = await freshDatabase(opts.dialect ?? 'sqlite');
    url = db.url;
  }
  const config: Config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: url,
    RATE_LIMIT_PER_MINUTE: '0',
    ...opts.env,
  });
  const server = await startServer(config, { createDefaultTenant: false });
  const baseUrl = server.url;
  const newTenant = async (name = `t${process.pid}-${++counter}-${Date.now().toString(36)}`) => {
    const t = await server.tenants.createTenant(name);
    return { tenantId: t.id, tenantUrl: server.tenants.tenantUrl(t.id), token: t.token };
  };
  const first = await newTenant();
  return {
    baseUrl,
    tenantUrl: first.tenantUrl,
    tenantId: first.tenantId,
    token: first.token,
    dialect: server.store.dialect,
    server,
    newTenant,
    close: async () => {
      await server.close();
      await db?.drop();
    },
  };
}
