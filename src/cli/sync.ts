/**
 * `joyn-scim sync …`: the provisioning engine (issues 6 and 16). A job is a file (`--config job.yaml`) or a job stored
 * in the deployment (`--job <name>`, see `sync jobs`); its state lives in the server's database (DATABASE_URL,
 * src/config.ts). A cycle takes the job's lease, so `sync run` never runs a job that a server (or another shell) is
 * running at the same moment.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { testConnection } from '../checker/index.js';
import { loadConfig, type Config } from '../config.js';
import { loadJobConfig, type JobConfig } from '../engine/config.js';
import { bearerValue } from '../engine/oauth-token.js';
import { allowDeletes, pauseJob, resumeJob, restartJob } from '../engine/control.js';
import { EngineJobs } from '../engine/job-definitions.js';
import type { JobRunner } from '../engine/job.js';
import { formatLogLine, logsToCsv, logsToJson } from '../engine/log-export.js';
import type { LogQuery, ProvisioningAction, ProvisioningStatus } from '../engine/log-types.js';
import { formatOnDemand, provisionOnDemand } from '../engine/on-demand.js';
import { buildRunner, resolveTarget, type RuntimeDeps } from '../engine/runtime.js';
import { formatStatus, getStatus, nextCycle, progressBar } from '../engine/status.js';
import { SyncState } from '../engine/state/store.js';
import { TenantTargets } from '../engine/tenant-target.js';
import { openStore } from '../store/open.js';
import { TenantService } from '../service/tenants.js';
import type { SqlStore } from '../store/sql/sql-store.js';
import { intOption, UsageError, withEnvironment } from './common.js';
import { registerSyncJobs } from './sync-jobs.js';

export interface JobOptions {
  config?: string;
  job?: string;
}

/** What a `sync` command works with: the job's configuration, its state, and how to run it. */
export interface JobSession {
  cfg: JobConfig;
  state: SyncState;
  config: Config;
  /** Secrets, the engine's credential for tenant targets (opened on first use), who runs cycles. */
  runtime(): Promise<RuntimeDeps>;
}

/** Opens the state and loads the job named by --config or --job; closes everything afterwards. */
export async function withJob<T>(o: JobOptions, fn: (s: JobSession) => Promise<T>): Promise<T> {
  if ((o.config === undefined) === (o.job === undefined))
    throw new UsageError('name the job: --config <file> (a job file) or --job <name> (a stored job)');
  const config = loadConfig();
  // A job file is read before the database is opened: a bad file is reported without touching the store.
  const fromFile = o.config !== undefined ? loadJobConfig(o.config) : undefined;
  const state = await SyncState.open(config.databaseUrl);
  let store: SqlStore | undefined;
  let targets: TenantTargets | undefined;
  try {
    const jobs = new EngineJobs(state, { secretKey: config.engine.secretKey });
    const cfg = fromFile ?? jobs.config(await jobs.get(o.job!));
    const runtime = async (): Promise<RuntimeDeps> => {
      if (cfg.target.tenant && !targets) {
        // A tenant of this deployment, reached where its server said it listens (PUBLIC_URL or its address).
        store = openStore(config);
        await store.migrate();
        const tenants = new TenantService(store, config.publicUrl);
        targets = new TenantTargets({
          tenants,
          baseUrl: async () => (await tenants.serverPublicUrl())?.url ?? config.publicUrl,
          instance: `cli pid ${process.pid}`,
          lifetimeMs: 86_400_000,
        });
      }
      return {
        state,
        // The operator's own shell: any variable a job file names (stored jobs name JOYN_SYNC_* ones).
        env: (name) => config.engine.environmentSecret(name),
        ...(targets ? { targets } : {}),
        mail: config.mail,
        leaseMs: config.engine.leaseMs,
        log: (m) => console.error(m),
      };
    };
    return await fn({ cfg, state, config, runtime });
  } finally {
    await targets?.close().catch(() => undefined);
    await store?.close();
    await state.close();
  }
}

const CONFIG_HELP = 'the job file (JSON or YAML)';
const JOB_HELP = "a job stored in the deployment ('sync jobs list')";

/** Adds --config and --job (one of them is required). */
export function jobOptions(c: Command): Command {
  return c.option('--config <file>', CONFIG_HELP).option('--job <name>', JOB_HELP);
}

function summary(r: JobRunner, out: NonNullable<JobRunner['lastOutcome']>): string {
  const s = out.cycle.stats;
  return `cycle ${out.cycle.id} (${out.cycle.kind}): ${out.cycle.state}; ${s.created} created, ${s.updated} updated, ${s.disabled} disabled, ${s.deleted} deleted, ${s.staged} staged, ${s.failed} failed, ${s.outOfScope ?? 0} out of scope (job '${r.name}')`;
}

export function registerSync(program: Command): void {
  const sync = program
    .command('sync')
    .description(
      'the provisioning engine: read a directory, map, match and provision users and groups into a SCIM target (like Entra ID)',
    )
    .addHelpText(
      'after',
      '\nA job is a file (--config job.yaml) or stored in the deployment (--job <name>, see `sync jobs`).\nThe job state (links, escrows, cycles, logs) lives in DATABASE_URL, next to the SCIM server data.\nSee docs/engine.md.',
    );

  jobOptions(
    sync
      .command('run')
      .description(
        'run provisioning cycles every intervalMinutes (default 40) until stopped; --once runs one cycle',
      )
      .option(
        '--once',
        'run a single cycle now and exit (exit code 1 when it failed or quarantined the job)',
      ),
  ).action(async (o: JobOptions & { once?: boolean }) => {
    await withJob(o, async ({ cfg, state, runtime }) => {
      const tty = process.stdout.isTTY === true;
      let last = 0;
      let lastDrawn = '';
      const draw = (d: number, t: number, final = false): void => {
        if (!tty || (!final && Date.now() - last < 200)) return;
        last = Date.now();
        lastDrawn = progressBar(d, t);
        process.stdout.write(`\r${lastDrawn}`);
      };
      const r = await buildRunner(cfg, {
        ...(await runtime()),
        onProgress: (d, t) => draw(d, t, d === t),
      });
      const report = (): void => {
        const out = r.lastOutcome;
        if (!out) return;
        // The final progress in named units, on a terminal as the bar's last state, otherwise as one line.
        if (tty) {
          if (!lastDrawn.includes('100%')) draw(out.cycle.completedUnits, out.cycle.totalUnits, true);
          process.stdout.write('\n');
        } else console.log(`progress: ${progressBar(out.cycle.completedUnits, out.cycle.totalUnits)}`);
        console.log(summary(r, out));
        if (out.notice) console.error(`joyn-scim: warning: ${out.notice}`);
        if (out.quarantine) console.log(`job quarantined: ${out.quarantine.reason}: ${out.quarantine.error}`);
      };
      try {
        if (o.once) {
          const job = await r.job();
          if (job.state === 'paused' || job.state === 'disabled')
            throw new Error(`job '${cfg.name}' is ${job.state}: run 'joyn-scim sync resume' first`);
          const out = await r.runCycleNow();
          report();
          // One cycle only: say that nothing repeats it from here, and when the job would be due next (its interval,
          // or a quarantine's back-off), which is when 'sync run' or a server running the stored job takes it up.
          const next = nextCycle(await state.getJob(cfg.name), cfg, new Date(), false);
          console.log(
            `next cycle: none scheduled by --once (it runs one cycle; 'joyn-scim sync run' without --once repeats every ${cfg.intervalMinutes} min); ${next.at ? `the job is next due ${next.at} (${next.note})` : `the job: ${next.note}`}`,
          );
          if (out.cycle.state === 'failed' || out.quarantine) process.exitCode = 1;
          return;
        }
        const ac = new AbortController();
        const stop = (): void => ac.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        console.log(
          `job '${cfg.name}': provisioning to ${r.client.tenantUrl} every ${cfg.intervalMinutes} min (Ctrl-C stops after the current cycle)`,
        );
        // Say when the next cycle is due after every cycle, and whenever the job's state changes (at the start,
        // a pause or resume from another process), so a waiting terminal is never silent about why.
        let previous: string | undefined;
        await r.loop(ac.signal, (step) => {
          if (step === 'ran') report();
          const changed = step !== previous;
          previous = step;
          if (step === 'ran' || step === 'busy' || changed)
            void state.getJob(cfg.name).then((row) => {
              const next = nextCycle(row, cfg, new Date(), false);
              console.log(
                `${step === 'busy' ? 'another process is running this job now; ' : ''}next cycle: ${next.at ? `${next.at} (${next.note})` : next.note}`,
              );
            });
        });
      } finally {
        await r.close();
      }
    });
  });

  jobOptions(
    sync
      .command('status')
      .description(
        'show the job state, current cycle progress, next cycle, linked counts, last cycle statistics and steady-state times',
      )
      .option('--json', 'print the status as JSON'),
  ).action(async (o: JobOptions & { json?: boolean }) => {
    await withJob(o, async ({ cfg, state }) => {
      const s = await getStatus(state, cfg.name, { config: cfg });
      console.log(
        o.json ? JSON.stringify(s, null, 2) : formatStatus(s, { tty: process.stdout.isTTY === true }),
      );
    });
  });

  jobOptions(
    sync
      .command('logs')
      .description(
        'show or export the provisioning logs, newest first (one record per object per cycle, kept logRetentionDays)',
      )
      .option('--status <status>', 'success | failure | skipped | warning')
      .option('--action <action>', 'create | update | disable | delete | stagedDelete | other')
      .option('--cycle <id>', 'only this cycle id')
      .option('--search <text>', 'source or target id or display name contains <text>')
      .option('--since <time>', 'ISO date/time, or a duration like 2h / 3d')
      .option('--limit <n>', 'the newest n records (1-1000000)', intOption(1, 1_000_000))
      .option('--format <format>', 'text | json | csv', 'text')
      .option('--output <file>', 'write to a file instead of stdout'),
  ).action(
    async (
      o: JobOptions & {
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
      await withJob(o, async ({ cfg, state }) => {
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

  jobOptions(
    sync
      .command('test-connection')
      .description(
        "run Entra's Test Connection: query the target for a random GUID and expect an empty ListResponse",
      ),
  ).action(async (o: JobOptions) => {
    await withJob(o, async ({ cfg, runtime }) => {
      const t = await resolveTarget(cfg, await runtime());
      const r = await testConnection(t.config.target.tenantUrl, await bearerValue(t.token));
      console.log(r.message);
      if (!r.ok) process.exitCode = 1;
    });
  });

  jobOptions(
    sync
      .command('provision')
      .description(
        'provision one user on demand (id, userPrincipalName, mail or mailNickname) and print the steps',
      )
      .argument('<user>', 'the user in the source'),
  ).action(async (user: string, o: JobOptions) => {
    await withJob(o, async ({ cfg, runtime }) => {
      const r = await buildRunner(cfg, await runtime());
      try {
        const res = await provisionOnDemand(r, user, { token: r.opts.token });
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
    jobOptions(sync.command(name).description(description)).action(
      async (o: JobOptions & Record<string, unknown>) => {
        await withJob(o, async ({ cfg, state }) => console.log(await fn(state, cfg.name, o)));
      },
    );

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

  registerSyncJobs(sync);

  // Every subcommand keeps the job state in DATABASE_URL; all may read the variables the job names for its secrets.
  for (const c of sync.commands)
    if (c.name() !== 'jobs')
      withEnvironment(
        c,
        ['DATABASE_URL', 'ENGINE_SECRET_KEY', 'ENGINE_LEASE_SECONDS'],
        [
          'variables the job names for its secrets: target.tokenEnv, the LDAP source',
          'bindPasswordEnv (docs/engine.md); e-mail: SMTP_HOST, SMTP_PORT, SMTP_SECURE, SMTP_USER, SMTP_PASSWORD,',
          'NOTIFY_EMAIL_FROM, NOTIFY_EMAIL_TO (README "Configuration")',
        ],
      );
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
