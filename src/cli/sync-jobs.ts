/**
 * `joyn-scim sync jobs …`: jobs stored in the deployment (issue 16), run by the servers' scheduler on their interval.
 * The same definitions the admin API manages under /admin/api/engine/jobs; a job file is a valid definition.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml, stringify } from 'yaml';
import { loadConfig } from '../config.js';
import { openStore } from '../store/open.js';
import { ConfigError } from '../engine/config.js';
import { EngineJobs, type JobSummary } from '../engine/job-definitions.js';
import { SyncState, type JobDefinitionRow } from '../engine/state/store.js';
import { print, UsageError, withEnvironment } from './common.js';

async function withJobs<T>(fn: (jobs: EngineJobs) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const state = await SyncState.open(config.databaseUrl);
  try {
    return await fn(new EngineJobs(state, { secretKey: config.engine.secretKey }));
  } finally {
    await state.close();
  }
}

/** A job that targets a tenant of this deployment must name one that exists (else it could never run). */
async function checkTenant(raw: unknown): Promise<void> {
  const tenant = (raw as { target?: { tenant?: unknown } } | null)?.target?.tenant;
  if (typeof tenant !== 'string') return;
  const store = openStore(loadConfig());
  try {
    await store.migrate();
    if (!(await store.getTenant(tenant)))
      throw new ConfigError(
        'target.tenant',
        `there is no tenant '${tenant}' in this deployment ('joyn-scim tenants list')`,
      );
  } finally {
    await store.close();
  }
}

/** A job file as a definition, and the folder its relative paths resolve against. */
function readJobFile(path: string): { raw: unknown; baseDir: string } {
  const abs = resolve(path);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new ConfigError('', `cannot read ${abs}: ${(e as Error).message}`);
  }
  try {
    return { raw: /\.ya?ml$/i.test(abs) ? parseYaml(text) : JSON.parse(text), baseDir: dirname(abs) };
  } catch (e) {
    throw new ConfigError(
      '',
      `${abs} is not valid ${/\.ya?ml$/i.test(abs) ? 'YAML' : 'JSON'}: ${(e as Error).message}`,
    );
  }
}

function line(s: JobSummary): string {
  const next = s.nextCycle ? (s.nextCycle.at ? `next ${s.nextCycle.at}` : s.nextCycle.note) : '';
  const last = s.lastCycle
    ? `last ${s.lastCycle.kind} ${s.lastCycle.state} ${s.lastCycle.endedAt ?? ''}`.trim()
    : 'never run';
  return [
    s.name,
    s.enabled ? 'enabled' : 'DISABLED',
    s.state,
    `${s.source} → ${s.target}`,
    s.runningOn ? `running on ${s.runningOn}` : last,
    next,
    s.problem ? `PROBLEM: ${s.problem}` : '',
  ]
    .filter(Boolean)
    .join('  ');
}

function show(row: JobDefinitionRow, json: boolean): string {
  const doc = { ...row.definition, enabled: row.enabled };
  if (json)
    return JSON.stringify(
      {
        name: row.name,
        enabled: row.enabled,
        revision: row.revision,
        createdAt: row.createdAt,
        updatedAt: row.updatedAt,
        definition: row.definition,
      },
      null,
      2,
    );
  // YAML a job file can hold: `sync jobs update <name> --from` takes it back (sealed secrets stay sealed).
  return `# job '${row.name}', revision ${row.revision}, updated ${row.updatedAt}\n${stringify(doc)}`.trimEnd();
}

export function registerSyncJobs(sync: Command): void {
  const jobs = sync
    .command('jobs')
    .description('jobs stored in the deployment: every server runs the enabled ones on their interval')
    .addHelpText(
      'after',
      `
A definition is a job file (docs/engine.md "A job"). Secrets are never stored in clear: name a variable of the
server's environment (target.tokenEnv: JOYN_SYNC_…), or give the secret and set ENGINE_SECRET_KEY to store it
encrypted. target.tenant: <name> provisions into a tenant of this deployment with the engine's own credential.`,
    );

  jobs
    .command('create')
    .description('store a job from a job file (JSON or YAML); relative paths resolve against the file')
    .requiredOption('--from <file>', 'the job file')
    .option('--disabled', 'store it without scheduling it')
    .action(async (o: { from: string; disabled?: boolean }) => {
      const { raw, baseDir } = readJobFile(o.from);
      await checkTenant(raw);
      await withJobs(async (j) => {
        const withFlag =
          o.disabled && typeof raw === 'object' && raw !== null ? { ...raw, enabled: false } : raw;
        const row = await j.create(withFlag, baseDir);
        print(
          `job '${row.name}' stored${row.enabled ? ': the servers run it on its interval (first cycle now)' : ' (disabled)'}`,
        );
      });
    });

  jobs
    .command('list')
    .description('the stored jobs: state, source → target, last and next cycle')
    .option('--json', 'print a JSON array')
    .action(async (o: { json?: boolean }) => {
      await withJobs(async (j) => {
        const out: JobSummary[] = [];
        for (const row of await j.list()) out.push(await j.summary(row));
        if (o.json) print(JSON.stringify(out, null, 2));
        else if (!out.length) print("no stored jobs ('joyn-scim sync jobs create --from job.yaml' adds one)");
        else for (const s of out) print(line(s));
      });
    });

  jobs
    .command('show')
    .description('a stored job: its definition as YAML (secrets as variable names or encrypted), or --json')
    .argument('<name>', 'the job')
    .option('--json', 'print JSON')
    .action(async (name: string, o: { json?: boolean }) => {
      await withJobs(async (j) => print(show(await j.get(name), o.json === true)));
    });

  jobs
    .command('update')
    .description('replace a stored job from a job file, or only --enable / --disable it')
    .argument('<name>', 'the job')
    .option('--from <file>', 'the new definition (its name must be <name>)')
    .option('--enable', 'schedule it again')
    .option('--disable', 'take it off the schedule (its state is kept)')
    .action(async (name: string, o: { from?: string; enable?: boolean; disable?: boolean }) => {
      if (o.enable && o.disable) throw new UsageError('--enable and --disable exclude each other');
      if (!o.from && !o.enable && !o.disable)
        throw new UsageError('say what to change: --from <file>, --enable or --disable');
      await withJobs(async (j) => {
        let row: JobDefinitionRow | undefined;
        if (o.from) {
          const { raw, baseDir } = readJobFile(o.from);
          await checkTenant(raw);
          row = await j.replace(name, raw, baseDir);
        }
        if (o.enable || o.disable) row = await j.setEnabled(name, o.enable === true);
        print(`job '${name}' updated (revision ${row!.revision}, ${row!.enabled ? 'enabled' : 'disabled'})`);
      });
    });

  jobs
    .command('delete')
    .description(
      'delete a stored job and all its state (links, escrows, cycles, logs); refused while a cycle runs',
    )
    .argument('<name>', 'the job')
    .action(async (name: string) => {
      await withJobs(async (j) => {
        await j.delete(name);
        print(`job '${name}' deleted with its state`);
      });
    });

  for (const c of jobs.commands) withEnvironment(c, ['DATABASE_URL', 'ENGINE_SECRET_KEY'], []);
}
