/**
 * `joyn-scim check <tenant-url> --token <t>`: replays Entra ID against a SCIM endpoint (issue 5).
 * Exit code 1 when a check fails, 2 for a usage error (also a missing argument), 130 when interrupted; the last line
 * is `N passed, M failed[, K skipped]`.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { runChecks } from '../checker/run.js';
import { formatResult, summaryLine, toJUnit } from '../checker/report.js';
import { CHECK_GROUPS, type CheckGroup, type CheckResult } from '../checker/types.js';
import { loadConfig } from '../config.js';
import { withEnvironment } from './common.js';

interface CheckOptions {
  token?: string;
  json?: boolean;
  junit?: string;
  only?: string;
  allowWrites?: boolean;
  disposable?: boolean;
}

const GROUP_TITLES: Record<CheckGroup, string> = {
  connection: 'Test Connection',
  discovery: 'Discovery',
  users: 'Users',
  groups: 'Groups',
  protocol: 'Protocol',
};

export function registerCheck(program: Command): void {
  const check = program
    .command('check')
    .description(
      'replay what Microsoft Entra ID sends against a SCIM endpoint and report what Entra would do with each answer',
    )
    .argument('<tenant-url>', 'the Tenant URL, e.g. https://host/scim/<tenant>/v2')
    .option('--token <token>', 'the Secret Token (default: $JOYN_SCIM_TOKEN)')
    .option('--json', 'print one JSON report instead of lines')
    .option('--junit <file>', 'also write the results as JUnit XML to <file>')
    .option('--only <groups>', `comma-separated check groups or ids (${CHECK_GROUPS.join(', ')})`)
    .option(
      '--allow-writes',
      'run write checks even when the tenant already has users (prefixed resources, deleted afterwards)',
    )
    .option('--disposable', 'the tenant is a throwaway one: run write checks whatever it holds')
    .addHelpText(
      'after',
      `
Every resource the checker creates is named jscheck-<random>-… and deleted at the end, also after a
failure or Ctrl-C. Against a tenant that already has users, write checks are skipped unless
--allow-writes or --disposable is given.

Example:
  joyn-scim check https://scim.example.com/scim/acme/v2 --token "$TOKEN" --only connection,users`,
    )
    .action(async (tenantUrl: string, opts: CheckOptions, cmd: Command) => {
      // The CLI is the one place that reads the token from the environment (issue 5).
      const token = opts.token ?? loadConfig().cliToken;
      if (!token)
        cmd.error('error: a token is required: pass --token <t> or set JOYN_SCIM_TOKEN', { exitCode: 2 });
      try {
        new URL(tenantUrl);
      } catch {
        cmd.error(`error: not a URL: ${tenantUrl}`, { exitCode: 2 });
      }
      const only = opts.only
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const exitCode = await runCheckCommand(
        {
          tenantUrl,
          token: token!,
          only,
          json: !!opts.json,
          junit: opts.junit,
          allowWrites: !!opts.allowWrites,
          disposable: !!opts.disposable,
        },
        (m) => cmd.error(m, { exitCode: 2 }),
      );
      process.exitCode = exitCode;
    });
  withEnvironment(check, ['JOYN_SCIM_TOKEN']);
}

interface RunArgs {
  tenantUrl: string;
  token: string;
  only: string[] | undefined;
  json: boolean;
  junit: string | undefined;
  allowWrites: boolean;
  disposable: boolean;
}

async function runCheckCommand(a: RunArgs, fail: (message: string) => never): Promise<number> {
  const out = (s: string): void => {
    process.stdout.write(`${s}\n`);
  };
  // Ctrl-C / SIGTERM: stop after the current request, delete what was created, then exit.
  // A second signal exits at once.
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) process.exit(130);
    process.stderr.write(`\n${sig}: stopping and deleting the resources created so far…\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let lastGroup: string | undefined;
  try {
    let report;
    try {
      report = await runChecks({
        tenantUrl: a.tenantUrl,
        token: a.token,
        only: a.only,
        allowWrites: a.allowWrites,
        disposable: a.disposable,
        signal: controller.signal,
        onResult: a.json
          ? undefined
          : (r: CheckResult) => {
              if (r.group !== lastGroup) {
                out(`\n${GROUP_TITLES[r.group]}`);
                lastGroup = r.group;
              }
              out(`  ${formatResult(r).replace(/\n/g, '\n  ')}`);
            },
      });
    } catch (e) {
      return fail(`error: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (a.junit) writeFileSync(a.junit, toJUnit(report));
    if (a.json) out(JSON.stringify(report, null, 2));
    else {
      out('');
      if (!report.writes.allowed) out(`Write checks skipped: ${report.writes.reason}`);
      if (report.cleanup.leftovers.length > 0)
        out(
          `Could not delete ${report.cleanup.leftovers.length} resource(s) named ${report.cleanup.prefix}…:\n  ${report.cleanup.leftovers.join('\n  ')}`,
        );
      else if (report.cleanup.deleted > 0)
        out(`Cleaned up ${report.cleanup.deleted} resource(s) named ${report.cleanup.prefix}…`);
      if (report.interrupted) out('Interrupted.');
      out(summaryLine(report));
    }
    if (report.interrupted) return 130;
    return report.failed > 0 ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
