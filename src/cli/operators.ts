/**
 * `joyn-scim operators …`: the accounts that sign in to the operator console (docs/console.md). A password is
 * generated and printed once unless --password-stdin gives one; the store keeps only its scrypt hash. Every change
 * is written to the audit log with the CLI's OS user and host.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { OPERATOR_ROLES, OperatorService, type OperatorRow } from '../admin/operators.js';
import { operatorView } from '../admin/operator-routes.js';
import { ScimError } from '../scim/errors.js';
import { openStore } from '../store/open.js';
import { cliActor, print, STORE_ENV, UsageError, withEnvironment } from './common.js';

async function withOperators<T>(fn: (svc: OperatorService) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const store = openStore(config);
  try {
    await store.migrate();
    return await fn(new OperatorService(store, config.console));
  } catch (e) {
    if (e instanceof ScimError) throw e.status === 400 ? new UsageError(e.detail) : new Error(e.detail);
    throw e;
  } finally {
    await store.close();
  }
}

/** The first line of standard input (a password piped in, never a command-line argument that `ps` would show). */
async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const line = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  if (!line) throw new UsageError('--password-stdin: standard input is empty; pipe the password in');
  return line;
}

function line(o: OperatorRow): string {
  const v = operatorView(o);
  const parts = [v.id, v.name.padEnd(24), v.role.padEnd(8), v.state.toUpperCase()];
  parts.push(`last sign-in ${v.lastSignInAt ?? 'never'}`);
  if (v.failedAttempts) parts.push(`${v.failedAttempts} failed sign-ins in a row`);
  return parts.join('  ');
}

const ROLE_HELP = `viewer (reads everything), operator (+ tokens, Test Connection, engine control, webhook redelivery) or admin (+ tenants, operators, webhooks, API keys)`;

export function registerOperators(program: Command): void {
  const ops = program
    .command('operators')
    .description('manage operator accounts: who signs in to the web console (/admin), and with which role');

  withEnvironment(
    ops
      .command('create <name>')
      .description('create an account; prints a generated password once (or takes one with --password-stdin)')
      .requiredOption('--role <role>', ROLE_HELP)
      .option('--password-stdin', 'read the password from the first line of standard input')
      .option('--json', 'print one JSON object {"operator": {…}, "password"?}')
      .action(async (name: string, o: { role: string; passwordStdin?: boolean; json?: boolean }) => {
        if (!(OPERATOR_ROLES as readonly string[]).includes(o.role))
          throw new UsageError(`--role must be one of ${OPERATOR_ROLES.join(', ')}, got '${o.role}'`);
        const password = o.passwordStdin ? await readStdinLine() : undefined;
        const r = await withOperators((svc) => svc.create(name, o.role, password, cliActor()));
        if (o.json)
          return print(
            JSON.stringify({
              operator: operatorView(r.operator),
              ...(r.password ? { password: r.password } : {}),
            }),
          );
        print(`Created operator "${r.operator.name}" (${r.operator.id}) with role ${r.operator.role}.`);
        if (r.password)
          print(
            `  Password: ${r.password}\nThe password is shown only this once: the operator can change it after signing in.`,
          );
      }),
    STORE_ENV,
  );

  withEnvironment(
    ops
      .command('list')
      .description(
        'list accounts: id, name, role, state (active, waiting after failed sign-ins, disabled, locked)',
      )
      .option('--json', 'print a JSON array')
      .action(async (o: { json?: boolean }) => {
        const rows = await withOperators((svc) => svc.list());
        if (o.json) return print(JSON.stringify(rows.map(operatorView)));
        if (!rows.length) return print('no operators yet: joyn-scim operators create <name> --role admin');
        for (const r of rows) print(line(r));
      }),
    STORE_ENV,
  );

  withEnvironment(
    ops
      .command('disable <name>')
      .description('disable an account (name or id): it cannot sign in, and its sessions end at once')
      .action(async (name: string) => {
        const r = await withOperators((svc) => svc.disable(name, cliActor()));
        print(`disabled operator ${r.name}; its sessions ended`);
      }),
    STORE_ENV,
  );

  withEnvironment(
    ops
      .command('enable <name>')
      .description('enable an account again, also one locked after failed sign-ins')
      .action(async (name: string) => {
        const r = await withOperators((svc) => svc.enable(name, cliActor()));
        print(`enabled operator ${r.name}`);
      }),
    STORE_ENV,
  );

  withEnvironment(
    ops
      .command('reset-password <name>')
      .description(
        'set a new password (generated and printed once, or --password-stdin); unlocks, ends every session',
      )
      .option('--password-stdin', 'read the password from the first line of standard input')
      .option('--json', 'print one JSON object {"operator": {…}, "password"?}')
      .action(async (name: string, o: { passwordStdin?: boolean; json?: boolean }) => {
        const password = o.passwordStdin ? await readStdinLine() : undefined;
        const r = await withOperators((svc) => svc.resetPassword(name, password, cliActor()));
        if (o.json)
          return print(
            JSON.stringify({
              operator: operatorView(r.operator),
              ...(r.password ? { password: r.password } : {}),
            }),
          );
        print(`New password for operator "${r.operator.name}"; every session of it ended.`);
        if (r.password) print(`  Password: ${r.password}\nThe password is shown only this once.`);
      }),
    STORE_ENV,
  );

  withEnvironment(
    ops
      .command('set-role <name> <role>')
      .description(`change an account's role (${OPERATOR_ROLES.join(', ')}); its sessions end`)
      .action(async (name: string, role: string) => {
        const r = await withOperators((svc) => svc.setRole(name, role, cliActor()));
        print(`operator ${r.name} is now ${r.role}`);
      }),
    STORE_ENV,
  );
}
