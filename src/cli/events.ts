/** `joyn-scim api-keys …` (application API keys) and `joyn-scim events tail` (the directory events stream). */
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { ApiKeyService } from '../events/api-keys.js';
import { isEventType, EVENT_TYPES, type DirectoryEvent, type EventType } from '../events/types.js';
import { ScimError } from '../scim/errors.js';
import { openStore } from '../store/open.js';
import type { SqlStore } from '../store/sql/sql-store.js';
import { cliActor, STORE_ENV, UsageError, withEnvironment } from './common.js';

async function withStore<T>(fn: (store: SqlStore) => Promise<T>): Promise<T> {
  const store = openStore(loadConfig());
  try {
    await store.migrate();
    return await fn(store);
  } catch (e) {
    if (e instanceof ScimError) throw new Error(e.detail);
    throw e;
  } finally {
    await store.close();
  }
}

const print = (s: string) => process.stdout.write(s + '\n');

function eventLine(e: DirectoryEvent): string {
  const d = e.data as Record<string, unknown>;
  const label = String(d.userName ?? d.displayName ?? d.name ?? '');
  const member = e.member ? ` member ${e.member.type ?? ''} ${e.member.value}`.replace('  ', ' ') : '';
  const changed = e.previous ? ` changed ${Object.keys(e.previous).join(',')}` : '';
  return `${e.occurredAt}  ${e.type.padEnd(28)} tenant ${e.tenant}  ${e.resource.type} ${e.resource.id}#${e.resource.sequence}${label ? ` (${label})` : ''}${member}${changed}`;
}

export function registerEvents(program: Command): void {
  const keys = program
    .command('api-keys')
    .description(
      'application API keys: how the Joyn FSM application reads events and the directory (docs/events.md)',
    );
  const create = keys
    .command('create <name>')
    .description('create a key (shown once); it reads every tenant unless --tenant is given')
    .option('--tenant <tenant>', 'limit the key to one tenant (id or name)')
    .option('--scopes <list>', 'comma-separated: events:read,directory:read', 'events:read,directory:read')
    .option('--json', 'print one JSON object {"id","name","tenantId","scopes","key",…}')
    .action(async (name: string, o: { tenant?: string; scopes: string; json?: boolean }) => {
      await withStore(async (store) => {
        const k = await new ApiKeyService(store).create(name, {
          tenant: o.tenant,
          scopes: o.scopes,
          actor: cliActor(),
        });
        if (o.json) print(JSON.stringify(k));
        else
          print(
            `Created API key ${k.id} "${k.name}" for ${k.tenantId ? `tenant ${k.tenantId}` : 'every tenant'} (${k.scopes.join(', ')})\n  API key: ${k.key}\nThe key is shown only this once.`,
          );
      });
    });
  const list = keys
    .command('list')
    .description('list keys: id, name, tenant, scopes, created, last used, revoked (never the secret)')
    .option('--tenant <tenant>', 'only the keys of one tenant (id or name)')
    .option('--json', 'print a JSON array')
    .action(async (o: { tenant?: string; json?: boolean }) => {
      await withStore(async (store) => {
        const rows = await new ApiKeyService(store).list(o.tenant);
        if (o.json) return print(JSON.stringify(rows));
        if (!rows.length) return print('no API keys yet: joyn-scim api-keys create <name>');
        for (const k of rows)
          print(
            `${k.id}  ${k.hint}  ${k.name.padEnd(20)}  ${k.tenantId ?? 'all tenants'}  ${k.scopes.join(',')}  created ${k.createdAt}  last used ${k.lastUsedAt ?? 'never'}${k.revokedAt ? `  REVOKED ${k.revokedAt}` : ''}`,
          );
      });
    });
  const revoke = keys
    .command('revoke <key-id>')
    .description('revoke a key at once')
    .action(async (id: string) => {
      await withStore(async (store) => {
        await new ApiKeyService(store).revoke(id, undefined, { actor: cliActor() });
        print(`revoked API key ${id}`);
      });
    });

  const tail = program
    .command('events')
    .description('read the directory events stream')
    .command('tail')
    .description(
      'print events oldest first (all retained, or those after --after); --follow keeps printing new ones',
    )
    .option('--tenant <tenant>', 'only one tenant (id or name)')
    .option('--type <list>', `comma-separated event types (${EVENT_TYPES.join(', ')})`)
    .option('--after <cursor>', 'start after this cursor (printed with --json)')
    .option('--follow', 'keep polling for new events until interrupted')
    .option('--json', 'print one JSON event per line, then a {"cursor"} line')
    .action(
      async (o: { tenant?: string; type?: string; after?: string; follow?: boolean; json?: boolean }) => {
        const types = o.type?.split(',').map((s) => s.trim());
        const bad = types?.filter((t) => !isEventType(t)) ?? [];
        if (bad.length)
          throw new UsageError(`unknown event type '${bad.join(',')}': use ${EVENT_TYPES.join(', ')}`);
        await withStore(async (store) => {
          let tenant: string | undefined;
          if (o.tenant) {
            const t = await store.getTenant(o.tenant);
            if (!t) throw new Error(`no tenant '${o.tenant}'`);
            tenant = t.id;
          }
          let after = o.after;
          let stop = false;
          process.once('SIGINT', () => (stop = true));
          for (;;) {
            const page = await store.events.list({
              after,
              tenant,
              types: types as EventType[] | undefined,
              limit: 100,
            });
            for (const e of page.events) print(o.json ? JSON.stringify(e) : eventLine(e));
            after = page.cursor;
            if (page.hasMore) continue;
            if (!o.follow || stop) break;
            await new Promise((r) => setTimeout(r, 1000));
            if (stop) break;
          }
          if (o.json) print(JSON.stringify({ cursor: after ?? '' }));
        });
      },
    );
  for (const c of [create, list, revoke, tail]) withEnvironment(c, STORE_ENV);
}
