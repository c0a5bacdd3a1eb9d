/** Starting and stopping a server process: store, migrations, first-run tenant, HTTP, graceful shutdown. */
import type { Config } from './config.js';
import { buildApp, type App } from './http/app.js';
import { createStore } from './store/index.js';
import type { SqlStore } from './store/sql/sql-store.js';

export interface RunningServer extends App {
  store: SqlStore;
  url: string;
  /** Present only on the very first start: the `default` tenant's Tenant URL and its token (shown once). */
  firstRun?: { tenantUrl: string; token: string };
  close(): Promise<void>;
}

export function openStore(config: Config): SqlStore {
  return createStore(config.databaseUrl, {
    poolSize: config.db.poolSize,
    statementTimeoutMs: config.db.statementTimeoutMs,
    ...(config.db.ssl ? { ssl: config.db.ssl } : {}),
  });
}

export async function startServer(
  config: Config,
  opts: { createDefaultTenant?: boolean } = {},
): Promise<RunningServer> {
  const store = openStore(config);
  await store.migrate();
  const built = await buildApp({ store, config });
  const address = await built.app.listen({ port: config.port, host: config.host });
  // With PORT=0 (tests) the real port is known only now; PUBLIC_URL, when set, always wins.
  if (!config.publicUrlExplicit && config.port === 0) config.publicUrl = address;
  let firstRun: RunningServer['firstRun'];
  if (opts.createDefaultTenant !== false && (await store.listTenants()).length === 0) {
    try {
      const t = await built.tenants.createTenant('default');
      firstRun = { tenantUrl: t.tenantUrl, token: t.token };
    } catch {
      // Another instance created it at the same moment: fine, that one printed its token.
    }
  }
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // Stop accepting, let in-flight requests finish, then close the pool / database file.
      await built.app.close();
      await store.close();
    })());
  return { ...built, store, url: address, ...(firstRun ? { firstRun } : {}), close };
}
