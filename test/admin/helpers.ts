/**
 * A real server with the admin API registered, on a free port over a real store (SQLite or PostgreSQL).
 */
import { loadConfig, type Config } from '../../src/config.js';
import { buildApp, type App } from '../../src/http/app.js';
import { createStore } from '../../src/store/index.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { freshDatabase, type DialectName, type TestDatabase } from '../helpers/stores.js';

export interface AdminServer {
  base: string;
  config: Config;
  built: App;
  store: SqlStore;
  close(): Promise<void>;
}

export async function startAdminServer(
  dialect: DialectName,
  adminToken: string | undefined,
  shared?: { store: SqlStore },
): Promise<AdminServer> {
  let db: TestDatabase | undefined;
  let store = shared?.store;
  if (!store) {
    db = await freshDatabase(dialect);
    store = createStore(db.url);
    await store.migrate();
  }
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: db?.url ?? 'unused',
    RATE_LIMIT_PER_MINUTE: '0',
    ...(adminToken ? { ADMIN_TOKEN: adminToken } : {}),
  });
  // buildApp wires the admin API and console (registerAdmin) like the real server.
  const built = await buildApp({ store, config });
  const base = await built.app.listen({ port: 0, host: '127.0.0.1' });
  // PORT=0: the Tenant URL must name the real port (as src/server.ts does).
  config.publicUrl = base;
  const owned = store;
  return {
    base,
    config,
    built,
    store: owned,
    close: async () => {
      await built.app.close();
      await built.drain();
      if (!shared) {
        await owned.close();
        await db?.drop();
      }
    },
  };
}
