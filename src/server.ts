/** Starting and stopping a server process: store, migrations, first-run tenant, HTTP, graceful shutdown. */
import type { Config } from './config.js';
import { startWebhooks, type WebhookRuntime } from './events/webhook-runtime.js';
import { buildApp, type App } from './http/app.js';
import { reloadCertificate } from './http/tls.js';
import { engineFor } from './engine/service.js';
import { openStore } from './store/open.js';
import type { SqlStore } from './store/sql/sql-store.js';

export interface RunningServer extends App {
  store: SqlStore;
  url: string;
  /** Present only on the very first start: the `default` tenant's Tenant URL and its token (shown once). */
  firstRun?: { tenantUrl: string; token: string };
  /**
   * Re-reads TLS_CERT and TLS_KEY for new connections (main.ts calls it on SIGHUP). Throws, keeping the
   * certificate in use, when the files are unreadable or not a matching pair; does nothing without TLS.
   */
  reloadTls(): void;
  /** The webhook delivery worker, when it runs in this process (docs/events.md "Webhooks"). */
  webhooks?: WebhookRuntime;
  close(): Promise<void>;
}

export async function startServer(
  config: Config,
  opts: { createDefaultTenant?: boolean } = {},
): Promise<RunningServer> {
  const store = openStore(config);
  await store.migrate();
  let built: App;
  let address: string;
  try {
    built = await buildApp({ store, config });
    address = await built.app.listen({ port: config.port, host: config.host });
  } catch (e) {
    // An unreadable TLS certificate or a busy port: do not leave the store open behind the error.
    await store.close();
    throw e;
  }
  // With PORT=0 (tests) the real port is known only now; PUBLIC_URL, when set, always wins.
  if (!config.publicUrlExplicit && config.port === 0) config.publicUrl = address;
  // The provisioning engine inside the server: stored jobs on their intervals (docs/engine.md "Jobs in the server").
  // It reaches this server's SCIM endpoints at the listening address (behind TLS, at PUBLIC_URL, whose name the
  // certificate carries).
  const engine = await engineFor(store, config.engine).catch(async (e: unknown) => {
    await built.app.close();
    await store.close();
    throw e;
  });
  engine.start({
    tenants: built.tenants,
    baseUrl: () => (config.tls ? config.publicUrl : address),
    mail: config.mail,
    log: built.app.log,
  });
  let firstRun: RunningServer['firstRun'];
  if (opts.createDefaultTenant !== false && (await store.listTenants()).length === 0) {
    try {
      const t = await built.tenants.createTenant('default');
      firstRun = { tenantUrl: t.tenantUrl, token: t.token };
    } catch {
      // Another instance created it at the same moment: fine, that one printed its token.
    }
  }
  // Responses still being produced when shutdown starts. Keep-alive clients (Entra, load balancers) would
  // otherwise hold their connections open after the last response until keepAliveTimeout (72 s), and the
  // process would not exit: node's server.close() reaps only the connections idle at that very moment.
  const inFlight = new Set<import('node:http').ServerResponse>();
  built.app.server.on('request', (_req, res: import('node:http').ServerResponse) => {
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });
  // Events past the retention are pruned every hour (and shortly after start), by every instance: deleting
  // what another instance already deleted costs nothing.
  const prune = () => {
    const before = new Date(Date.now() - config.events.retentionDays * 86_400_000).toISOString();
    void store.events
      .prune(before)
      .then((n) => n && built.app.log.info({ pruned: n, before }, 'pruned events past the retention'))
      .catch((err) => built.app.log.warn({ err }, 'could not prune events'));
  };
  const webhooks = startWebhooks({ store, config, log: built.app.log, metrics: built.metrics.webhooks });
  const pruneTimer = setInterval(prune, 60 * 60_000).unref();
  const firstPrune = setTimeout(prune, 10_000).unref();
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      clearInterval(pruneTimer);
      clearTimeout(firstPrune);
      // Cycles running here stop at the next object and release their jobs before the HTTP server goes.
      await engine.stop().catch((err: unknown) => built.app.log.warn({ err }, 'engine stop failed'));
      // Stop accepting, let in-flight requests finish, then close the pool / database file.
      for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
      const closed = built.app.close();
      // A response already on its way may have kept its connection alive: reap it once it is idle.
      const reaper = setInterval(() => built.app.server.closeIdleConnections(), 100);
      try {
        await closed;
      } finally {
        clearInterval(reaper);
      }
      await built.drain();
      await webhooks?.stop();
      await store.close();
    })());
  const reloadTls = () => {
    if (config.tls) reloadCertificate(built.app.server as unknown as import('node:tls').Server, config.tls);
  };
  return {
    ...built,
    store,
    url: address,
    ...(firstRun ? { firstRun } : {}),
    ...(webhooks ? { webhooks } : {}),
    reloadTls,
    close,
  };
}
