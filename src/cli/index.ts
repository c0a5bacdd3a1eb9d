#!/usr/bin/env node
/** `joyn-scim`: one entry point, one file per command group. Same configuration as the server (src/config.ts). */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerAdmin } from './admin.js';
import { registerCheck } from './check.js';
import { registerEvents } from './events.js';
import { EXIT_CODES_HELP, EXIT_FAILURE, EXIT_USAGE, UsageError } from './common.js';
import { registerOperators } from './operators.js';
import { registerSetup } from './setup.js';
import { registerSync } from './sync.js';
import { registerTenants } from './tenants.js';
import { registerWebhooks } from './webhooks.js';

/** package.json sits two levels up from both src/cli/index.ts and dist/cli/index.js. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? 'unknown';
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('joyn-scim')
    .description(
      'Joyn FSM SCIM 2.0 service: server, operator commands, conformance checker and provisioning engine',
    )
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show help for the command')
    .addHelpCommand('help [command]', 'show help for a command')
    .showHelpAfterError('(add --help for usage)')
    // Commander's own errors (unknown option, missing argument, invalid value) become CommanderErrors that main()
    // maps to exit 2; subcommands created below inherit this.
    .exitOverride()
    .addHelpText(
      'after',
      `
Configuration comes from the environment, as for the server: each command's --help lists the variables it reads
(README.md "Configuration" has the full table).
${EXIT_CODES_HELP}`,
    );
  registerAdmin(program);
  registerTenants(program);
  registerCheck(program);
  registerEvents(program);
  registerOperators(program);
  registerWebhooks(program);
  registerSync(program);
  registerSetup(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  // An operator command is not answering a client that times out: it may wait longer for a busy SQLite file than
  // the server does (STORE_BUSY_WAIT_MS still overrides). `serve` is the server and keeps the server's default.
  if (argv[2] !== 'serve') process.env.STORE_BUSY_WAIT_MS ??= '30000';
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    // Commander has already printed its message (and the help hint): only the exit code is left to decide.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE;
    console.error(`joyn-scim: ${err instanceof Error ? err.message : String(err)}`);
    return err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
  }
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
