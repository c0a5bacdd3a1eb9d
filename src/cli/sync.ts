/**
 * `joyn-scim sync …`: the provisioning engine (issue 6). Every command takes `--config <file>` (one job per file);
 * the job's state lives in the server's database (DATABASE_URL, see src/config.ts).
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { testConnection } from '../checker/index.js';
import { loadConfig } from '../config.js';
import { loadJobConfig, resolveToken, type JobConfig } from '../engine/config.js';
import { bearerValue } from '../engine/oauth-token.js';
import { allowDeletes, pauseJob, resumeJob, restartJob } from '../engine/control.js';
import { JobRunner } from '../engine/job.js';
import { formatLogLine, logsToCsv, logsToJson } from '../engine/log-export.js';
import type { LogQuery, ProvisioningAction, ProvisioningStatus } from '../engine/log-types.js';
import { smtpNotifier, type Notifier } from '../engine/notify.js';
import { formatOnDemand, provisionOnDemand } from '../engine/on-demand.js';
import { formatStatus, getStatus, progressBar } from '../engine/status.js';
import { SyncState } from '../engine/state/store.js';
import { intOption, UsageError, withEnvironment } from './common.js';

interface Common {
  config: string;
}

// The CLI entry point hands the environment down: tokenEnv / passwordEnv name variables in it.
const env = process.env;

async function withJob<T>(
  configPath: string,
  fn: (cfg: JobConfig, state: SyncState) => Promise<T>,
): Promise<T> {
  const cfg = loadJobConfig(configPath);
  const state = await SyncState.open(loadConfig(env).databaseUrl);
  try {
    return await fn(cfg, state);
  } finally {
    await state.close();
  }
}

/**
 * The job's e-mail: through the deployment's SMTP server (SMTP_*), to the job's notifications.to, else to the
 * operators (NOTIFY_EMAIL_TO); none when neither names anyone. Recipients without a server are a mistake, said now.
 */
function notifierOf(cfg: JobConfig): { notifier?: Notifier } {
  const mail = loadConfig(env).mail;
  if (cfg.notifications && !mail)
    throw new Error(
      `job '${cfg.name}': notifications.to needs the deployment's SMTP server: set SMTP_HOST (docs/engine.md "Notifications")`,
    );
  const to = cfg.notifications?.to ?? mail?.to ?? [];
  return mail && to.length ? { notifier: smtpNotifier(mail, to) } : {};
}

function runner(cfg: JobConfig, state: SyncState, onProgress?: (d: number, t: number) => void): JobRunner {
  return new JobRunner({
    config: cfg,
    state,
    token: resolveToken(cfg, env),
    env,
    ...notifierOf(cfg),
    ...(onProgress ? { onProgress } : {}),
    log: (m) => console.error(m),
  });
}

const CONFIG_HELP = 'the job configuration file (JSON or YAML)';

export function registerSync(program: Command): void {
  const sync = program
    .command('sync')
    .description(
      'the provisioning engine: read a directory, map, match and provision users and groups into a SCIM target (like Entra ID)',
    )
    .addHelpText(
      'after',
      '\nThe job state (links, escrows, cycles, logs) lives in DATABASE_URL, next to the SCIM server data.\nSee docs/engine.md.',
    );

  sync
    .command('run')
    .description(
      'run provisioning cycles every intervalMinutes (default 40) until stopped; --once runs one cycle',
    )
    .requiredOption('--config <file>', CONFIG_HELP)
    .option('--once', 'run a single cycle now and exit (exit code 1 when it failed or quarantined the job)')
    .action(async (o: Common & { once?: boolean }) => {
      await withJob(o.config, async (cfg, state) => {
        const tty = process.stdout.isTTY === true;
        let last = 0;
        const r = runner(cfg, state, (d, t) => {
          if (!tty || Date.now() - last < 200) return;
          last = Date.now();
          process.stdout.write(`\r${progressBar(d, t)}`);
        });
        try {
          if (o.once) {
            const job = await r.job();
            if (job.state === 'paused' || job.state === 'disabled')
              throw new Error(`job '${cfg.name}' is ${job.state}: run 'joyn-scim sync resume' first`);
            const out = await r.runCycleNow();
            if (tty) process.stdout.write('\n');
            const s = out.cycle.stats;
            console.log(
              `cycle ${out.cycle.id} (${out.cycle.kind}): ${out.cycle.state}; ${s.created} created, ${s.updated} updated, ${s.disabled} disabled, ${s.deleted} deleted, ${s.staged} staged, ${s.failed} failed`,
            );
            if (out.quarantine)
              console.log(`job quarantined: ${out.quarantine.reason}: ${out.quarantine.error}`);
            if (out.cycle.state === 'failed' || out.quarantine) process.exitCode = 1;
            return;
          }
          const ac = new AbortController();
          const stop = (): void => ac.abort();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
          console.log(
            `job '${cfg.name}': provisioning to ${cfg.target.tenantUrl} every ${cfg.intervalMinutes} min (Ctrl-C stops after the current cycle)`,
          );
          await r.loop(ac.signal, (step) => {
            if (step === 'ran') console.log(`${tty ? '\n' : ''}${new Date().toISOString()} cycle finished`);
          });
        } finally {
          await r.close();
        }
      });
    });

  sync
    .command('status')
    .description('show the job state, current cycle progress, linked counts and the last cycle statistics')
    .requiredOption('--config <file>', CONFIG_HELP)
    .option('--json', 'print the status as JSON')
    .action(async (o: Common & { json?: boolean }) => {
      await withJob(o.config, async (cfg, state) => {
        const s = await getStatus(state, cfg.name);
        console.log(
          o.json ? JSON.stringify(s, null, 2) : formatStatus(s, { tty: process.stdout.isTTY === true }),
        );
      });
    });

  sync
    .command('logs')
    .description(
      'show or export the provisioning logs (one record per object per cycle, kept logRetentionDays)',
    )
    .requiredOption('--config <file>', CONFIG_HELP)
    .option('--status <status>', 'success | failure | skipped | warning')
    .option('--action <action>', 'create | update | disable | delete | stagedDelete | other')
    .option('--cycle <id>', 'only this cycle id')
    .option('--search <text>', 'source or target id or display name contains <text>')
    .option('--since <time>', 'ISO date/time, or a duration like 2h / 3d')
    .option('--limit <n>', 'at most n records (1-1000000)', intOption(1, 1_000_000))
    .option('--format <format>', 'text | json | csv', 'text')
    .option('--output <file>', 'write to a file instead of stdout')
    .action(
      async (
        o: Common & {
          status?: string;
          action?: string;
          cycle?: string;
          search?: string;
          since?: string;
          limit?: number;
          format: string;
          output?: string;
        },
      ) => {
        const statuses = ['success', 'failure', 'skipped', 'warning'];
        const actions = ['create', 'update', 'disable', 'delete', 'stagedDelete', 'other'];
        if (o.status && !statuses.includes(o.status))
          throw new UsageError(`--status must be one of ${statuses.join(', ')}`);
        if (o.action && !actions.includes(o.action))
          throw new UsageError(`--action must be one of ${actions.join(', ')}`);
        if (!['text', 'json', 'csv'].includes(o.format))
          throw new UsageError('--format must be text, json or csv');
        await withJob(o.config, async (cfg, state) => {
          const q: LogQuery = { job: cfg.name };
          if (o.status) q.status = o.status as ProvisioningStatus;
          if (o.action) q.action = o.action as ProvisioningAction;
          if (o.cycle) q.cycleId = o.cycle;
          if (o.search) q.search = o.search;
          if (o.since) q.since = parseSince(o.since, new Date());
          if (o.limit) q.limit = o.limit;
          const logs = await state.queryLogs(q);
          const text =
            o.format === 'json'
              ? logsToJson(logs)
              : o.format === 'csv'
                ? logsToCsv(logs)
                : logs.map(formatLogLine).join('\n') + (logs.length ? '\n' : '');
          if (o.output) writeFileSync(o.output, text);
          else process.stdout.write(text);
        });
      },
    );

  sync
    .command('test-connection')
    .description(
      "run Entra's Test Connection: query the target for a random GUID and expect an empty ListResponse",
    )
    .requiredOption('--config <file>', CONFIG_HELP)
    .action(async (o: Common) => {
      const cfg = loadJobConfig(o.config);
      const r = await testConnection(cfg.target.tenantUrl, await bearerValue(resolveToken(cfg, env)));
      console.log(r.message);
      if (!r.ok) process.exitCode = 1;
    });

  sync
    .command('provision')
    .description(
      'provision one user on demand (id, userPrincipalName, mail or mailNickname) and print the steps',
    )
    .argument('<user>', 'the user in the source')
    .requiredOption('--config <file>', CONFIG_HELP)
    .action(async (user: string, o: Common) => {
      await withJob(o.config, async (cfg, state) => {
        const r = runner(cfg, state);
        try {
          const res = await provisionOnDemand(r, user, { token: resolveToken(cfg, env) });
          console.log(formatOnDemand(res));
          if (!res.connection.ok || res.log?.status === 'failure') process.exitCode = 1;
        } finally {
          await r.close();
        }
      });
    });

  const admin = (
    name: string,
    description: string,
    fn: (state: SyncState, job: string, o: Record<string, unknown>) => Promise<string>,
  ) =>
    sync
      .command(name)
      .description(description)
      .requiredOption('--config <file>', CONFIG_HELP)
      .action(async (o: Common & Record<string, unknown>) => {
        await withJob(o.config, async (cfg, state) => console.log(await fn(state, cfg.name, o)));
      });

  admin(
    'pause',
    'stop the job: the current cycle finishes, no new cycle starts until resume',
    async (s, j) => {
      await pauseJob(s, j, new Date());
      return `job '${j}' paused`;
    },
  );
  admin('resume', 'start the job again where it stopped (also lifts a quarantine)', async (s, j) => {
    await resumeJob(s, j, new Date());
    return `job '${j}' resumed; the next cycle runs at once`;
  });
  admin(
    'restart',
    'clear the watermark, escrows and quarantine (next cycle is an initial one); --reset full also drops links',
    async (s, j, o) => {
      const reset = o.reset === 'full' ? 'full' : 'default';
      if (o.reset !== undefined && o.reset !== 'full') throw new UsageError("--reset accepts only 'full'");
      await restartJob(s, j, reset, new Date());
      return `job '${j}' restarted${reset === 'full' ? ' (links dropped: every object is matched again)' : ''}`;
    },
  ).option('--reset <scope>', "'full' also breaks the links between source and target objects");
  admin(
    'allow-deletes',
    'carry out the disables and deletes held back by the accidental-deletion threshold in the next cycle',
    async (s, j) => {
      await allowDeletes(s, j, new Date());
      return `job '${j}': held-back deletions will be carried out in the next cycle`;
    },
  );

  // Every subcommand but test-connection keeps the job state in DATABASE_URL; all may read the variables the job
  // file names for its secrets.
  for (const c of sync.commands)
    withEnvironment(c, c.name() === 'test-connection' ? [] : ['DATABASE_URL'], [
      'variables the job file names for its secrets: target.tokenEnv, the LDAP source',
      'bindPasswordEnv (docs/engine.md); e-mail: SMTP_HOST, SMTP_PORT, SMTP_SECURE, SMTP_USER, SMTP_PASSWORD,',
      'NOTIFY_EMAIL_FROM, NOTIFY_EMAIL_TO (README "Configuration")',
    ]);
}

/** `--since`: an ISO timestamp or a duration back from now (30m, 2h, 3d). */
export function parseSince(v: string, now: Date): string {
  const m = /^(\d+)\s*([mhd])$/i.exec(v.trim());
  if (m) {
    const ms =
      Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2]!.toLowerCase() as 'm' | 'h' | 'd'];
    return new Date(now.getTime() - ms).toISOString();
  }
  const t = Date.parse(v);
  if (Number.isNaN(t))
    throw new UsageError(`--since: '${v}' is neither an ISO date/time nor a duration like 2h`);
  return new Date(t).toISOString();
}
