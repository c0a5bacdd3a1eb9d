/**
 * The real joyn-scim server for the bench, in its own process (so the load generator does not share its
 * event loop). It owns the store, so it also bulk-loads users on the parent's request (SqlStore.bulkInsertUsers,
 * not HTTP) and answers with a uniform sample of existing user ids for PATCH and member workloads.
 *
 * Parent → child: { type: 'grow', to: N } | { type: 'exit' }
 * Child → parent: { type: 'ready', tenantUrl, token, dialect } | { type: 'progress', loaded }
 *                 | { type: 'grown', loaded, seconds, sampleIds } | { type: 'error', message }
 */
import { sql } from 'kysely';
import { loadConfig } from '../src/config.js';
import { normalizeResource } from '../src/scim/schema/normalize.js';
import { startServer } from '../src/server.js';
import { newId } from '../src/store/sql/ids.js';
import { benchUser } from './users.js';

const databaseUrl = process.env.BENCH_DATABASE_URL;
if (!databaseUrl) throw new Error('BENCH_DATABASE_URL is not set');
const BATCH = 10_000;
const SAMPLE = 20_000;

const server = await startServer(
  loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: 'silent',
    ...(process.env.DATABASE_POOL_SIZE ? { DATABASE_POOL_SIZE: process.env.DATABASE_POOL_SIZE } : {}),
  }),
  { createDefaultTenant: false },
);
const tenant = await server.tenants.createTenant(`bench-${Date.now().toString(36)}`);
let loaded = 0;
const sample: string[] = [];

// Reservoir sampling (Algorithm R) over every user ever loaded, so PATCH targets are spread over the table.
function remember(id: string, index: number): void {
  if (sample.length < SAMPLE) sample.push(id);
  else {
    const j = Math.floor(Math.random() * (index + 1));
    if (j < SAMPLE) sample[j] = id;
  }
}

async function grow(to: number): Promise<void> {
  const started = performance.now();
  while (loaded < to) {
    const n = Math.min(BATCH, to - loaded);
    const now = new Date().toISOString();
    const batch = Array.from({ length: n }, (_, k) => {
      const id = newId();
      remember(id, loaded + k);
      // The same canonical form the service stores for a POST body.
      return { id, now, data: normalizeResource('User', benchUser(loaded + k)) };
    });
    await server.store.bulkInsertUsers(tenant.id, batch);
    loaded += n;
    process.send?.({ type: 'progress', loaded });
  }
  // PostgreSQL: refresh planner statistics as autovacuum would shortly after a large load.
  if (server.store.dialect === 'postgres') await sql`ANALYZE`.execute(server.store.db);
  process.send?.({ type: 'grown', loaded, seconds: (performance.now() - started) / 1000, sampleIds: sample });
}

process.on('message', (m: { type?: string; to?: number }) => {
  if (m?.type === 'cpu') process.send?.({ type: 'cpu', ...process.cpuUsage() });
  if (m?.type === 'grow')
    grow(m.to ?? 0).catch((e: unknown) =>
      process.send?.({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
    );
  if (m?.type === 'exit') void server.close().then(() => process.exit(0));
});
process.on('disconnect', () => void server.close().then(() => process.exit(0)));
process.send?.({
  type: 'ready',
  tenantUrl: tenant.tenantUrl,
  token: tenant.token,
  dialect: server.store.dialect,
});
