/**
 * Operator commands of the self-serve connection (issue 15; docs/setup.md): `setup-link create|list|revoke`,
 * `oauth-clients create|list|revoke` and `connection [tenant]`. Every command names the tenant, and an id of
 * another tenant's link or client is refused as unknown (exit 1, nothing changed). Changes are audited with the
 * CLI's OS user and host.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { ScimError } from '../scim/errors.js';
import { openStore } from '../store/open.js';
import { ConnectionMonitor, type ConnectionView } from '../service/connection-state.js';
import { OAuthClientService, tokenEndpoint } from '../service/oauth-clients.js';
import { linkState, SetupLinkService } from '../service/setup-links.js';
import { TenantService } from '../service/tenants.js';
import type { SqlStore } from '../store/sql/sql-store.js';
import {
  cliActor,
  durationOption,
  print,
  STORE_ENV,
  URL_ENV,
  UsageError,
  warn,
  withEnvironment,
} from './common.js';
import { choosePublicUrl } from './tenants.js';

interface Session {
  store: SqlStore;
  publicUrl: string;
  oauth: OAuthClientService;
  links: SetupLinkService;
  connection: ConnectionMonitor;
}

async function withSetup<T>(fn: (s: Session) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const store = openStore(config);
  try {
    await store.migrate();
    const url = await choosePublicUrl(config, new TenantService(store, config.publicUrl));
    for (const w of url.warnings) warn(w);
    const clock = () => new Date();
    return await fn({
      store,
      publicUrl: url.url,
      oauth: new OAuthClientService(store, clock, config.setup.accessTokenLifetimeMs),
      links: new SetupLinkService(store, () => url.url, clock, config.setup.linkLifetimeMs),
      connection: new ConnectionMonitor(store, clock, {
        idleAfterMs: config.setup.idleAfterMs,
        eventsEnabled: config.events.enabled,
        warn: (err, msg) => warn(`${msg}: ${(err as Error).message}`),
      }),
    });
  } catch (e) {
    if (e instanceof ScimError) throw e.status === 400 ? new UsageError(e.detail) : new Error(e.detail);
    throw e;
  } finally {
    await store.close();
  }
}

const LINK_MAX = durationOption('--expires');

function connectionLine(c: ConnectionView): string {
  return `${c.tenantName.padEnd(20)}  ${c.state.padEnd(14)}  last request ${c.lastRequestAt ?? 'never'}  ${c.reason}`;
}

export function registerSetup(program: Command): void {
  const link = program
    .command('setup-link')
    .description(
      "setup links: a page where the customer's IT admin connects their directory (docs/setup.md)",
    );
  withEnvironment(
    link
      .command('create <tenant>')
      .description('create a link for one tenant (shown once; works in the first browser that opens it)')
      .option(
        '--expires <duration>',
        'the link stops working after this long (at most 7d; default 24h)',
        LINK_MAX,
      )
      .option('--json', 'print one JSON object {"id","tenantId","url","expiresAt"}')
      .action(async (tenant: string, o: { expires?: number; json?: boolean }) => {
        const l = await withSetup((s) =>
          s.links.create(tenant, {
            actor: cliActor(),
            ...(o.expires !== undefined ? { expiresInMs: o.expires } : {}),
          }),
        );
        if (o.json)
          print(JSON.stringify({ id: l.id, tenantId: l.tenantId, url: l.url, expiresAt: l.expiresAt }));
        else
          print(
            `Setup link ${l.id} (expires ${l.expiresAt}):\n  ${l.url}\nSend it to the customer's IT admin. It is shown only this once and works in one browser.`,
          );
      }),
    [...STORE_ENV, ...URL_ENV, 'SETUP_LINK_HOURS'],
  );
  withEnvironment(
    link
      .command('list <tenant>')
      .description("list a tenant's setup links: id, hint, created, expiry, opened, state (never the link)")
      .option('--json', 'print a JSON array')
      .action(async (tenant: string, o: { json?: boolean }) => {
        const rows = await withSetup((s) => s.links.list(tenant));
        const now = new Date();
        if (o.json) return print(JSON.stringify(rows.map((l) => ({ ...l, state: linkState(l, now) }))));
        if (!rows.length) return print(`no setup links: joyn-scim setup-link create ${tenant}`);
        for (const l of rows)
          print(
            `${l.id}  ${l.hint}  created ${l.createdAt} by ${l.createdBy}  expires ${l.expiresAt}  opened ${l.boundAt ?? 'never'}  ${linkState(l, now).toUpperCase()}`,
          );
      }),
    STORE_ENV,
  );
  withEnvironment(
    link
      .command('revoke <tenant> <link-id>')
      .description("revoke a tenant's setup link at once (its page stops working)")
      .action(async (tenant: string, id: string) => {
        await withSetup((s) => s.links.revoke(tenant, id, { actor: cliActor() }));
        print(`revoked setup link ${id}`);
      }),
    STORE_ENV,
  );

  const clients = program
    .command('oauth-clients')
    .description('OAuth 2.0 clients of a tenant (client credentials grant; docs/setup.md)');
  withEnvironment(
    clients
      .command('create <tenant>')
      .description(
        'create a client: prints the Token Endpoint, Client Identifier and Client Secret (shown once)',
      )
      .option('--name <name>', 'a name to tell clients apart', 'Entra provisioning')
      .option('--json', 'print one JSON object {"clientId","clientSecret","tokenEndpoint","tenantId"}')
      .action(async (tenant: string, o: { name: string; json?: boolean }) => {
        const { c, endpoint } = await withSetup(async (s) => ({
          c: await s.oauth.create(tenant, o.name, { actor: cliActor() }),
          endpoint: tokenEndpoint(s.publicUrl),
        }));
        if (o.json)
          print(
            JSON.stringify({
              clientId: c.id,
              clientSecret: c.clientSecret,
              tokenEndpoint: endpoint,
              tenantId: c.tenantId,
            }),
          );
        else
          print(
            `OAuth client ${c.id} "${c.name}"\n  Token Endpoint:    ${endpoint}\n  Client Identifier: ${c.id}\n  Client Secret:     ${c.clientSecret}\nThe secret is shown only this once.`,
          );
      }),
    [...STORE_ENV, ...URL_ENV],
  );
  withEnvironment(
    clients
      .command('list <tenant>')
      .description(
        "list a tenant's clients: id, name, secret hint, created, last token, revoked (never a secret)",
      )
      .option('--json', 'print a JSON array')
      .action(async (tenant: string, o: { json?: boolean }) => {
        const rows = await withSetup((s) => s.oauth.list(tenant));
        if (o.json) return print(JSON.stringify(rows));
        if (!rows.length) return print(`no OAuth clients: joyn-scim oauth-clients create ${tenant}`);
        for (const c of rows)
          print(
            `${c.id}  ${c.secretHint}  ${c.name.padEnd(20)}  created ${c.createdAt}  last token ${c.lastUsedAt ?? 'never'}${c.revokedAt ? `  REVOKED ${c.revokedAt}` : ''}`,
          );
      }),
    STORE_ENV,
  );
  withEnvironment(
    clients
      .command('revoke <tenant> <client-id>')
      .description("revoke a tenant's client and every access token it holds, at once")
      .action(async (tenant: string, id: string) => {
        await withSetup((s) => s.oauth.revoke(tenant, id, { actor: cliActor() }));
        print(`revoked OAuth client ${id} and its access tokens`);
      }),
    STORE_ENV,
  );

  withEnvironment(
    program
      .command('connection [tenant]')
      .description(
        'connection state of one tenant (id or name) or of all: awaiting_setup, connected, healthy, unhealthy, idle, disabled, with the reason',
      )
      .option('--json', 'print JSON')
      .action(async (tenant: string | undefined, o: { json?: boolean }) => {
        const rows = await withSetup(async (s) => {
          if (tenant === undefined) return s.connection.states();
          const t = await s.store.getTenant(tenant);
          if (!t) throw new Error(`no tenant with id or name '${tenant}'`);
          return [(await s.connection.state(t.id))!];
        });
        if (o.json) return print(JSON.stringify(tenant === undefined ? rows : rows[0]));
        if (!rows.length) return print('no tenants yet');
        for (const c of rows) print(connectionLine(c));
      }),
    [...STORE_ENV, 'CONNECTION_IDLE_MINUTES'],
  );
}
