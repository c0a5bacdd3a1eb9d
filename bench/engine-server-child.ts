/**
 * The joyn-scim server the engine bench provisions into, in its own process (the old bench ran it in the engine's
 * event loop, which measured both halves competing for one thread). A fresh tenant per start.
 *
 * Child → parent: { type: 'ready', tenantUrl, token } | { type: 'cpu', user, system } | { type: 'error', message }
 */
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';

const databaseUrl = process.env.BENCH_DATABASE_URL;
if (!databaseUrl) throw new Error('BENCH_DATABASE_URL is not set');
const server = await startServer(
  loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: 'silent',
    ENGINE_SCHEDULER_ENABLED: 'false',
  }),
  { createDefaultTenant: false },
);
const tenant = await server.tenants.createTenant(`engine-bench-${Date.now().toString(36)}`);
process.on('message', (m: { type?: string }) => {
  if (m?.type === 'cpu') process.send?.({ type: 'cpu', ...process.cpuUsage() });
  if (m?.type === 'exit') void server.close().then(() => process.exit(0));
});
process.on('disconnect', () => void server.close().then(() => process.exit(0)));
process.send?.({ type: 'ready', tenantUrl: tenant.tenantUrl, token: tenant.token });
