#!/usr/bin/env node
/** `npm start`: the one place that wires config → store → service → http. */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig } from './config.js';
import { startServer } from './server.js';

export async function serve(): Promise<void> {
  const config = loadConfig();
  const server = await startServer(config);
  const log = server.app.log;
  log.info(
    { url: server.url, store: server.store.describe, dialect: server.store.dialect },
    'joyn-scim listening',
  );
  // The CLI runs in another environment: it prints Tenant URLs from the PUBLIC_URL recorded here (`tenants list`).
  try {
    await server.tenants.recordServerPublicUrl(config.publicUrl, config.publicUrlExplicit);
  } catch (err) {
    log.warn({ err }, 'could not record PUBLIC_URL for the CLI');
  }
  // Entra ID accepts only a public HTTPS Tenant URL: say so before anyone pastes a loopback http:// one.
  const https = /^https:\/\//i.test(config.publicUrl);
  const entraHint = !config.publicUrlExplicit
    ? [
        `PUBLIC_URL is not set, so Tenant URLs use ${config.publicUrl}: Entra ID refuses that (it needs public HTTPS).`,
        'For Entra, serve HTTPS (a TLS proxy, docs/deployment.md) and restart with PUBLIC_URL=https://<public host>;',
        'then `npx joyn-scim tenants list` prints the Tenant URL to paste. The token above stays valid.',
      ]
    : !https
      ? [
          `PUBLIC_URL ${config.publicUrl} is not HTTPS: Entra ID accepts only a public HTTPS Tenant URL (docs/deployment.md).`,
        ]
      : [];
  if (!config.publicUrlExplicit || !https)
    log.warn({ publicUrl: config.publicUrl }, 'Entra ID needs a public HTTPS PUBLIC_URL');
  if (server.firstRun) {
    // Printed to stdout once, never logged: the token is not stored anywhere in clear.
    process.stdout.write(
      [
        '',
        'joyn-scim: first start, created the tenant "default".',
        'Paste these into Microsoft Entra ID → Provisioning → Admin Credentials:',
        `  Tenant URL:   ${server.firstRun.tenantUrl}`,
        `  Secret Token: ${server.firstRun.token}`,
        ...entraHint,
        'The token is shown only this once. Issue another with: npx joyn-scim tokens issue default',
        '',
      ].join('\n') + '\n',
    );
  } else {
    const tenants = await server.tenants.listTenants();
    for (const t of tenants)
      log.info({ tenant: t.name, tenantUrl: server.tenants.tenantUrl(t.id) }, 'tenant');
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing in-flight requests');
    server.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // A renewed certificate takes effect without a restart (docs/security.md "TLS").
  process.on('SIGHUP', () => {
    if (!config.tls) return log.info('SIGHUP: no TLS_CERT/TLS_KEY configured, nothing to reload');
    try {
      server.reloadTls();
      log.info({ cert: config.tls.certFile }, 'SIGHUP: TLS certificate reloaded');
    } catch (err) {
      log.error({ err }, 'SIGHUP: TLS certificate not reloaded; the previous one stays in use');
    }
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

const isMain =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  serve().catch((err) => {
    console.error(`joyn-scim: could not start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
