// A tiny entry point for tests: `node --import tsx test/checker/check-main.ts check <url> …`
// (src/cli/index.ts, written elsewhere, registers the same command).
import { Command } from 'commander';
import { registerCheck } from '../../src/cli/check.js';

const program = new Command('joyn-scim');
registerCheck(program);
await program.parseAsync(process.argv);
