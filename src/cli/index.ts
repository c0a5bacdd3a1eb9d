#!/usr/bin/env node
/** `joyn-scim`: one entry point, one file per command group. Same configuration as the server (src/config.ts). */
import { Command } from 'commander';
import { registerAdmin } from './admin.js';
import { registerCheck } from './check.js';
import { registerEvents } from './events.js';
import { registerSync } from './sync.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('joyn-scim')
    .description(
      'Joyn FSM SCIM 2.0 service: server, operator commands, conformance checker and provisioning engine.\nConfiguration comes from the environment: DATABASE_URL, PORT, HOST, PUBLIC_URL (see README.md).',
    )
    .showHelpAfterError();
  registerAdmin(program);
  registerCheck(program);
  registerEvents(program);
  registerSync(program);
  return program;
}

// An operator command is not answering a client that times out: it may wait longer for a busy SQLite file than
// the server does (STORE_BUSY_WAIT_MS still overrides). `serve` is the server and keeps the server's default.
if (process.argv[2] !== 'serve') process.env.STORE_BUSY_WAIT_MS ??= '30000';

buildProgram()
  .parseAsync(process.argv)
  .catch((err) => {
    console.error(`joyn-scim: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
