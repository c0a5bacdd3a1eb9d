/**
 * Operator commands for tenants and their Secret Tokens: tenants, tokens, activity, audit.
 *
 * Every token command names the tenant, and the service refuses a token id of any other tenant as unknown
 * (exit 1, nothing changed). Every change is written to the audit log with the CLI's OS user and host.
 */
import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.js';
import { ScimError } from '../scim/errors.js';
import { openStore } from '../store/open.js';
import { TenantService, type IssuedToken, type RotatedToken } from '../service/tenants.js';
import { tokenState } from '../service/tokens.js';
import type { SqlStore } from '../store/sql/sql-store.js';
import type { TokenRow } from '../store/types.js';
import {
  cliActor,
  durationOption,
  intOption,
  print,
  STORE_ENV,
  URL_ENV,
  UsageError,
  warn,
  withEnvironment,
} from './common.js';

/** Where the base of the printed Tenant URLs came from, and what Entra ID will make of it. */
interface PublicUrlChoice {
  url: string;
  source: string;
  warnings: string[];
}

/**
 * The Tenant URL base the CLI prints: PUBLIC_URL from this environment if set; else the PUBLIC_URL the server last
 * started with (recorded in the store), since the CLI usually runs in another environment than the server; else
 * HOST/PORT like the server. Entra ID accepts only a public HTTPS Tenant URL: anything else gets a warning.
 */
export async function choosePublicUrl(config: Config, svc: TenantService): Promise<PublicUrlChoice> {
  const recorded = await svc.serverPublicUrl();
  const warnings: string[] = [];
  let choice: { url: string; source: string; explicit: boolean };
  if (config.publicUrlExplicit) {
    choice = { url: config.publicUrl, source: 'PUBLIC_URL in this environment', explicit: true };
    if (recorded && recorded.url !== config.publicUrl)
      warnings.push(
        `the server last started (${recorded.recordedAt}) with ${recorded.explicit ? 'PUBLIC_URL=' : 'no PUBLIC_URL, at '}${recorded.url}, not ${config.publicUrl}`,
      );
  } else if (recorded)
    choice = {
      url: recorded.url,
      source: recorded.explicit
        ? `the server's PUBLIC_URL (recorded when it started, ${recorded.recordedAt})`
        : `the server's listening address: it started without PUBLIC_URL (${recorded.recordedAt})`,
      explicit: recorded.explicit,
    };
  else
    choice = {
      url: config.publicUrl,
      source: 'HOST and PORT: PUBLIC_URL is not set and no server has recorded one',
      explicit: false,
    };
  if (!choice.explicit)
    warnings.push(
      'PUBLIC_URL is not set: Entra ID accepts only a public HTTPS Tenant URL; start the server with PUBLIC_URL=https://<public host> (docs/deployment.md)',
    );
  else if (!/^https:\/\//i.test(choice.url))
    warnings.push(
      `PUBLIC_URL ${choice.url} is not HTTPS: Entra ID accepts only a public HTTPS Tenant URL (docs/deployment.md)`,
    );
  return { url: choice.url, source: choice.source, warnings };
}

interface Session {
  svc: TenantService;
  store: SqlStore;
  publicUrl: PublicUrlChoice;
}

/** Opens the store the environment names, runs `fn`, closes it. A service 400 is a usage error (exit 2). */
async function withTenants<T>(fn: (s: Session) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const store = openStore(config);
  try {
    await store.migrate();
    const probe = new TenantService(store, config.publicUrl);
    const publicUrl = await choosePublicUrl(config, probe);
    return await fn({ svc: new TenantService(store, publicUrl.url), store, publicUrl });
  } catch (e) {
    if (e instanceof ScimError) throw e.status === 400 ? new UsageError(e.detail) : new Error(e.detail);
    throw e;
  } finally {
    await store.close();
  }
}

const issuedJson = (t: IssuedToken) => ({
  id: t.id,
  name: t.name,
  tenantUrl: t.tenantUrl,
  tokenId: t.tokenId,
  token: t.token,
  expiresAt: t.expiresAt,
});

const expiryText = (t: { expiresAt: string | null }) =>
  t.expiresAt ? `expires ${t.expiresAt}` : 'does not expire';

function tokenLine(t: TokenRow, now: Date): string {
  const state = tokenState(t, now);
  const parts = [t.id, t.hint, `created ${t.createdAt}`, `last used ${t.lastUsedAt ?? 'never'}`];
  if (state === 'revoked') parts.push(`REVOKED ${t.revokedAt}`);
  else if (state === 'expired') parts.push(`EXPIRED ${t.expiresAt}`);
  else {
    if (t.revokedAt) parts.push(`active until ${t.revokedAt} (rotation overlap)`);
    if (t.expiresAt) parts.push(`expires ${t.expiresAt}`);
  }
  if (t.label) parts.push(`[${t.label}]`);
  return parts.join('  ');
}

const NUMBER_OF_ENTRIES = intOption(1, 10_000);

export function registerTenants(program: Command): void {
  const tenants = program.command('tenants').description('manage tenants (one per Joyn FSM customer)');
  withEnvironment(
    tenants
      .command('create <name>')
      .description('create a tenant and print its Tenant URL and a new Secret Token (shown once)')
      .option(
        '--expires-in <duration>',
        'the token stops working after this long (90d, 24h, …)',
        durationOption('--expires-in'),
      )
      .option('--json', 'print one JSON object {"id","name","tenantUrl","tokenId","token","expiresAt"}')
      .action(async (name: string, o: { json?: boolean; expiresIn?: number }) => {
        const { t, url } = await withTenants(async (s) => ({
          t: await s.svc.createTenant(name, {
            actor: cliActor(),
            ...(o.expiresIn !== undefined ? { expiresInMs: o.expiresIn } : {}),
          }),
          url: s.publicUrl,
        }));
        for (const w of url.warnings) warn(w);
        if (o.json) print(JSON.stringify(issuedJson(t)));
        else
          print(
            `Created tenant "${t.name}" (${t.id})\n  Tenant URL:   ${t.tenantUrl}\n  Secret Token: ${t.token}\n  Token id:     ${t.tokenId} (${expiryText(t)})\nThe token is shown only this once.`,
          );
      }),
    [...STORE_ENV, ...URL_ENV],
  );
  withEnvironment(
    tenants
      .command('list')
      .description('list tenants with their Tenant URLs, and say where the URLs’ base (PUBLIC_URL) came from')
      .option('--json', 'print a JSON array [{"id","name","createdAt","tenantUrl"}]')
      .action(async (o: { json?: boolean }) => {
        const { rows, url } = await withTenants(async (s) => ({
          rows: (await s.svc.listTenants()).map((t) => ({ ...t, tenantUrl: s.svc.tenantUrl(t.id) })),
          url: s.publicUrl,
        }));
        for (const w of url.warnings) warn(w);
        if (o.json) return print(JSON.stringify(rows));
        print(`Tenant URLs use ${url.url}, from ${url.source}.`);
        if (!rows.length) print('no tenants yet: joyn-scim tenants create <name>');
        for (const t of rows) print(`${t.id}  ${t.name.padEnd(20)}  ${t.tenantUrl}  created ${t.createdAt}`);
      }),
    [...STORE_ENV, ...URL_ENV],
  );
  withEnvironment(
    tenants
      .command('delete <tenant>')
      .description(
        'delete a tenant (id or name) and ALL its users, groups, tokens and activity (needs --yes)',
      )
      .option('--yes', 'confirm the deletion')
      .action(async (tenant: string, o: { yes?: boolean }) => {
        if (!o.yes)
          throw new UsageError(`refusing to delete tenant '${tenant}' and all its data without --yes`);
        await withTenants((s) => s.svc.deleteTenant(tenant, { actor: cliActor() }));
        print(`deleted tenant ${tenant}`);
      }),
    STORE_ENV,
  );

  const tokens = program
    .command('tokens')
    .description('manage Secret Tokens of a tenant (issue, list, rotate, revoke)');
  withEnvironment(
    tokens
      .command('issue <tenant>')
      .description('issue a new Secret Token for a tenant (id or name); printed once, stored only as a hash')
      .option(
        '--expires-in <duration>',
        'the token stops working after this long (90d, 24h, …)',
        durationOption('--expires-in'),
      )
      .option('--json', 'print one JSON object {"id","name","tenantUrl","tokenId","token","expiresAt"}')
      .action(async (tenant: string, o: { json?: boolean; expiresIn?: number }) => {
        const { t, url } = await withTenants(async (s) => ({
          t: await s.svc.issueToken(tenant, {
            actor: cliActor(),
            ...(o.expiresIn !== undefined ? { expiresInMs: o.expiresIn } : {}),
          }),
          url: s.publicUrl,
        }));
        for (const w of url.warnings) warn(w);
        if (o.json) print(JSON.stringify(issuedJson(t)));
        else
          print(
            `New token ${t.tokenId} for "${t.name}" (${expiryText(t)})\n  Tenant URL:   ${t.tenantUrl}\n  Secret Token: ${t.token}\nThe token is shown only this once.`,
          );
      }),
    [...STORE_ENV, ...URL_ENV],
  );
  withEnvironment(
    tokens
      .command('list <tenant>')
      .description(
        "list a tenant's tokens: id, hint, created, last used, expiry, revocation (never the secret)",
      )
      .option('--json', 'print a JSON array')
      .action(async (tenant: string, o: { json?: boolean }) => {
        const rows = await withTenants((s) => s.svc.listTokens(tenant));
        const now = new Date();
        if (o.json) print(JSON.stringify(rows.map((t) => ({ ...t, state: tokenState(t, now) }))));
        else if (!rows.length) print(`no tokens: joyn-scim tokens issue ${tenant}`);
        else for (const t of rows) print(tokenLine(t, now));
      }),
    STORE_ENV,
  );
  withEnvironment(
    tokens
      .command('rotate <tenant>')
      .description(
        'issue a new token; with --revoke <token-id> also revoke that token of the same tenant, at once or after --overlap',
      )
      .option('--revoke <token-id>', "the tenant's token to revoke (checked before anything is issued)")
      .option(
        '--overlap <duration>',
        'keep the revoked token working this long (24h, …) so Entra ID can be updated first',
        durationOption('--overlap'),
      )
      .option(
        '--expires-in <duration>',
        'the new token stops working after this long (90d, …)',
        durationOption('--expires-in'),
      )
      .option(
        '--json',
        'print one JSON object {"id","name","tenantUrl","tokenId","token","expiresAt","revokedTokenId","revokesAt"}',
      )
      .action(
        async (
          tenant: string,
          o: { revoke?: string; overlap?: number; expiresIn?: number; json?: boolean },
        ) => {
          if (o.overlap !== undefined && o.revoke === undefined)
            throw new UsageError(
              '--overlap needs --revoke <token-id>: the token that keeps working meanwhile',
            );
          const { t, url } = await withTenants(async (s) => ({
            t: await s.svc.rotateToken(tenant, {
              actor: cliActor(),
              ...(o.revoke !== undefined ? { revoke: o.revoke } : {}),
              ...(o.overlap !== undefined ? { overlapMs: o.overlap } : {}),
              ...(o.expiresIn !== undefined ? { expiresInMs: o.expiresIn } : {}),
            }),
            url: s.publicUrl,
          }));
          for (const w of url.warnings) warn(w);
          if (o.json)
            print(
              JSON.stringify({ ...issuedJson(t), revokedTokenId: t.revokedTokenId, revokesAt: t.revokesAt }),
            );
          else print(rotatedText(t, o.overlap !== undefined));
        },
      ),
    [...STORE_ENV, ...URL_ENV],
  );
  withEnvironment(
    tokens
      .command('revoke <tenant> <token-id>')
      .description(
        "revoke a tenant's token at once (requests with it get 401); another tenant's token id is refused",
      )
      .action(async (tenant: string, id: string) => {
        await withTenants((s) => s.svc.revokeToken(tenant, id, { actor: cliActor() }));
        print(`revoked ${id}`);
      }),
    STORE_ENV,
  );

  withEnvironment(
    program
      .command('activity <tenant>')
      .description("show a tenant's provisioning activity log (writes and failures, newest first)")
      .option('-n, --limit <n>', 'how many entries (1-10000)', NUMBER_OF_ENTRIES, 50)
      .option('--json', 'print a JSON array')
      .action(async (tenant: string, o: { limit: number; json?: boolean }) => {
        const rows = await withTenants((s) => s.svc.activity(tenant, { limit: o.limit }));
        if (o.json) print(JSON.stringify(rows));
        else
          for (const a of rows)
            print(`${a.at}  ${String(a.status).padEnd(3)}  ${a.method.padEnd(6)} ${a.path}  ${a.summary}`);
      }),
    STORE_ENV,
  );

  withEnvironment(
    program
      .command('audit [tenant]')
      .description(
        'show the audit log of tenant and token operations (who, via what, when, on what), newest first; a tenant id or name (also a deleted one) narrows it',
      )
      .option('-n, --limit <n>', 'how many entries (1-10000)', NUMBER_OF_ENTRIES, 50)
      .option('--json', 'print a JSON array')
      .action(async (tenant: string | undefined, o: { limit: number; json?: boolean }) => {
        const rows = await withTenants((s) => s.svc.auditLog(tenant, { limit: o.limit }));
        if (o.json) print(JSON.stringify(rows));
        else if (!rows.length) print(tenant ? `no audit records for '${tenant}'` : 'no audit records yet');
        else
          for (const e of rows)
            print(
              `${e.at}  ${e.actor.via}:${e.actor.name}  ${e.action}  ${e.tenantId ? `tenant ${e.tenantName} (${e.tenantId})` : 'deployment'}  ${e.target}  ${e.detail}`,
            );
      }),
    STORE_ENV,
  );
}

function rotatedText(t: RotatedToken, overlap: boolean): string {
  const lines = [
    `New token ${t.tokenId} for "${t.name}" (${expiryText(t)})`,
    `  Tenant URL:   ${t.tenantUrl}`,
    `  Secret Token: ${t.token}`,
    'The token is shown only this once.',
  ];
  if (t.revokedTokenId)
    lines.push(
      overlap
        ? `Token ${t.revokedTokenId} keeps working until ${t.revokesAt}, then is revoked: paste the new token into Entra ID before then.`
        : `Revoked ${t.revokedTokenId}.`,
    );
  return lines.join('\n');
}
