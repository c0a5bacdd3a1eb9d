/** Operator commands that run or move the whole store: serve, migrate, copy-store. */
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { openStore } from '../store/open.js';
import { copyStore, CopyRefused } from '../store/copy.js';
import { print, SERVER_ENV, STORE_ENV, UsageError, withEnvironment } from './common.js';

export function registerAdmin(program: Command): void {
  withEnvironment(
    program
      .command('serve')
      .description('run the SCIM server; same as npm start')
      .action(async () => {
        const { serve } = await import('../main.js');
        await serve();
      }),
    SERVER_ENV,
  );

  withEnvironment(
    program
      .command('migrate')
      .description('apply pending database migrations and exit (the server also applies them at start)')
      .action(async () => {
        const store = openStore(loadConfig());
        try {
          await store.migrate();
          print(`migrated ${store.dialect} store at ${store.describe}`);
        } finally {
          await store.close();
        }
      }),
    STORE_ENV,
  );

  withEnvironment(
    program
      .command('copy-store')
      .description(
        'copy every tenant (tokens, users, groups, memberships, activity, audit log) and the provisioning engine state from one store to another and verify counts',
      )
      .requiredOption('--from <url>', 'source store: an existing SQLite file or postgres://…')
      .requiredOption('--to <url>', 'destination store (SQLite path or postgres://…); must hold no data')
      .action(async (o: { from: string; to: string }) => {
        try {
          const report = await copyStore(o.from, o.to, (line) => print(line));
          print(
            `copied ${report.tenants} tenants, ${report.users} users, ${report.groups} groups, ${report.members} memberships, ${report.tokens} tokens, ${report.activity} activity entries, ${report.audit} audit records, ${report.events} events, ${report.apiKeys} API keys, ${report.syncRows} provisioning-engine rows${report.webhookEndpoints ? `, ${report.webhookEndpoints} webhook endpoints with ${report.webhookDeliveries} deliveries` : ''}; counts verified`,
          );
        } catch (e) {
          // Naming the same store twice is a mistake in the command line itself.
          if (e instanceof CopyRefused && e.reason === 'same-store') throw new UsageError(e.message);
          throw e;
        }
      }),
    [],
    ['(none: --from and --to name the stores)'],
  );
}
