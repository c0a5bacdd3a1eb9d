/** Operator commands: serve, migrate, tenants, tokens, activity, copy-store. */
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { ScimError } from '../scim/errors.js';
import { openStore } from '../server.js';
import { TenantService } from '../service/tenants.js';
import type { SqlStore } from '../store/sql/sql-store.js';
import { copyStore } from '../store/copy.js';

async function withTenants<T>(fn: (svc: TenantService, store: SqlStore) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const store = openStore(config);
  try {
    await store.migrate();
    return await fn(new TenantService(store, config.publicUrl), store);
  } catch (e) {
    if (e instanceof ScimError) throw new Error(e.detail);
    throw e;
  } finally {
    await store.close();
  }
}

const print = (s: string) => process.stdout.write(s + '\n');

export function registerAdmin(program: Command): void {
  program
    .command('serve')
    .description('run the SCIM server (PORT, HOST, DATABASE_URL, PUBLIC_URL); same as npm start')
    .action(async () => {
      const { serve } = await import('../main.js');
      await serve();
    });

  program
    .command('migrate')
    .description('apply pending database migrations and exit (the server also applies them at start)')
    .action(async () => {
      await withTenants(async (_svc, store) => print(`migrated ${store.dialect} store at ${store.describe}`));
    });

  const tenants = program.command('tenants').description('manage tenants (one per Joyn FSM customer)');
  tenants
    .command('create <name>')
    .description('create a tenant and print its Tenant URL and a new Secret Token (shown once)')
    .option('--json', 'print one JSON object {"id","name","tenantUrl","token"}')
    .action(async (name: string, o: { json?: boolean }) => {
      const t = await withTenants((svc) => svc.createTenant(name));
      if (o.json) print(JSON.stringify({ id: t.id, name: t.name, tenantUrl: t.tenantUrl, token: t.token }));
      else
        print(
          `Created tenant "${t.name}" (${t.id})\n  Tenant URL:   ${t.tenantUrl}\n  Secret Token: ${t.token}\nThe token is shown only this once.`,
        );
    });
  tenants
    .command('list')
    .description('list tenants with their Tenant URLs')
    .option('--json', 'print a JSON array')
    .action(async (o: { json?: boolean }) => {
      const rows = await withTenants(async (svc) =>
        (await svc.listTenants()).map((t) => ({ ...t, tenantUrl: svc.tenantUrl(t.id) })),
      );
      if (o.json) print(JSON.stringify(rows));
      else if (!rows.length) print('no tenants yet: joyn-scim tenants create <name>');
      else
        for (const t of rows) print(`${t.id}  ${t.name.padEnd(20)}  ${t.tenantUrl}  created ${t.createdAt}`);
    });
  tenants
    .command('delete <tenant>')
    .description('delete a tenant and ALL its users, groups, tokens and activity (needs --yes)')
    .option('--yes', 'confirm the deletion')
    .action(async (tenant: string, o: { yes?: boolean }) => {
      if (!o.yes) throw new Error(`refusing to delete tenant '${tenant}' and all its data without --yes`);
      await withTenants((svc) => svc.deleteTenant(tenant));
      print(`deleted tenant ${tenant}`);
    });

  const tokens = program.command('tokens').description('manage Secret Tokens (issue, list, rotate, revoke)');
  tokens
    .command('issue <tenant>')
    .description('issue a new Secret Token for a tenant (id or name); printed once, stored only as a hash')
    .option('--json', 'print one JSON object {"id","name","tenantUrl","token"}')
    .action(async (tenant: string, o: { json?: boolean }) => {
      const t = await withTenants((svc) => svc.issueToken(tenant));
      if (o.json) print(JSON.stringify({ id: t.id, name: t.name, tenantUrl: t.tenantUrl, token: t.token }));
      else
        print(
          `New token ${t.tokenId} for "${t.name}"\n  Tenant URL:   ${t.tenantUrl}\n  Secret Token: ${t.token}\nThe token is shown only this once.`,
        );
    });
  tokens
    .command('list <tenant>')
    .description("list a tenant's tokens: id, hint, created, last used, revoked (never the secret)")
    .option('--json', 'print a JSON array')
    .action(async (tenant: string, o: { json?: boolean }) => {
      const rows = await withTenants((svc) => svc.listTokens(tenant));
      if (o.json) print(JSON.stringify(rows));
      else
        for (const t of rows)
          print(
            `${t.id}  ${t.hint}  created ${t.createdAt}  last used ${t.lastUsedAt ?? 'never'}${t.revokedAt ? `  REVOKED ${t.revokedAt}` : ''}`,
          );
    });
  tokens
    .command('rotate <tenant>')
    .description('issue a new token; with --revoke <token-id> also revoke the old one (update Entra first)')
    .option('--revoke <token-id>', 'token to revoke after issuing the new one')
    .option('--json', 'print one JSON object {"id","name","tenantUrl","token"}')
    .action(async (tenant: string, o: { revoke?: string; json?: boolean }) => {
      const t = await withTenants((svc) => svc.rotateToken(tenant, o.revoke));
      if (o.json) print(JSON.stringify({ id: t.id, name: t.name, tenantUrl: t.tenantUrl, token: t.token }));
      else print(`New token ${t.tokenId}: ${t.token}${o.revoke ? `\nRevoked ${o.revoke}` : ''}`);
    });
  tokens
    .command('revoke <token-id>')
    .description('revoke a token at once (requests with it get 401)')
    .action(async (id: string) => {
      await withTenants((svc) => svc.revokeToken(id));
      print(`revoked ${id}`);
    });

  program
    .command('activity <tenant>')
    .description("show a tenant's provisioning activity log (writes and failures, newest first)")
    .option('-n, --limit <n>', 'how many entries', '50')
    .option('--json', 'print a JSON array')
    .action(async (tenant: string, o: { limit: string; json?: boolean }) => {
      const rows = await withTenants(async (svc, store) =>
        store.tenant((await svc.getTenant(tenant)).id).listActivity({ limit: Number(o.limit) || 50 }),
      );
      if (o.json) print(JSON.stringify(rows));
      else
        for (const a of rows)
          print(`${a.at}  ${String(a.status).padEnd(3)}  ${a.method.padEnd(6)} ${a.path}  ${a.summary}`);
    });

  program
    .command('copy-store')
    .description(
      'copy every tenant (tokens, users, groups, memberships, activity) and the provisioning engine state from one store to another and verify counts',
    )
    .requiredOption('--from <url>', 'source DATABASE_URL (sqlite path or postgres://…)')
    .requiredOption('--to <url>', 'destination DATABASE_URL (must hold no tenants)')
    .action(async (o: { from: string; to: string }) => {
      const report = await copyStore(o.from, o.to, (line) => print(line));
      print(
        `copied ${report.tenants} tenants, ${report.users} users, ${report.groups} groups, ${report.members} memberships, ${report.tokens} tokens, ${report.activity} activity entries, ${report.syncRows} provisioning-engine rows; counts verified`,
      );
    });
}
