/** Shared set-up of the engine tests: a temp directory export, a job config, a temp SQLite state. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateJobConfig, type JobConfig } from '../../src/engine/config.js';
import { JobRunner, type JobRunnerOptions } from '../../src/engine/job.js';
import { writeDirectoryJson, type DirectoryExport } from '../../src/engine/source/index.js';
import { SyncState } from '../../src/engine/state/store.js';

export interface TestJob {
  dir: string;
  config: JobConfig;
  state: SyncState;
  runner: JobRunner;
  /** Rewrites the source export (the next cycle sees the change). */
  write(d: DirectoryExport): Promise<void>;
  /** A runner with other options over the same state (e.g. a FakeClock). */
  rebuild(opts?: Partial<JobRunnerOptions>): JobRunner;
  cleanup(): Promise<void>;
}

export async function makeJob(
  directory: DirectoryExport,
  target: { tenantUrl: string; token: string },
  raw: Record<string, unknown> = {},
  runnerOpts: Partial<JobRunnerOptions> = {},
  databaseUrl?: string,
): Promise<TestJob> {
  const dir = mkdtempSync(join(tmpdir(), 'joyn-sync-'));
  const file = join(dir, 'directory.json');
  await writeDirectoryJson(file, directory);
  const config = validateJobConfig(
    {
      name: 'test-job',
      source: { type: 'file', path: 'directory.json' },
      target: { tenantUrl: target.tenantUrl, token: target.token, concurrency: 4, maxAttempts: 2 },
      ...raw,
    },
    dir,
  );
  const state = await SyncState.open(databaseUrl ?? `sqlite:${join(dir, 'state.db')}`);
  const build = (o: Partial<JobRunnerOptions> = {}): JobRunner =>
    new JobRunner({ config, state, token: target.token, ...runnerOpts, ...o });
  const runner = build();
  return {
    dir,
    config,
    state,
    runner,
    write: (d) => writeDirectoryJson(file, d),
    rebuild: build,
    async cleanup() {
      await runner.close();
      await state.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A small hand-written directory: 4 users (u1..u4), 1 group (g1 with u1, u2); u1..u3 and g1 assigned. */
export function smallDirectory(): DirectoryExport {
  const user = (n: number, extra: Record<string, unknown> = {}) => ({
    id: `u${n}`,
    userPrincipalName: `user${n}@contoso.com`,
    mail: `user${n}@contoso.com`,
    givenName: `Given${n}`,
    surname: `Sur${n}`,
    displayName: `Given${n} Sur${n}`,
    mailNickname: `user${n}`,
    accountEnabled: true,
    department: 'Field Service',
    city: 'Redmond',
    employeeId: `E${n}`,
    ...extra,
  });
  return {
    users: [user(1), user(2), user(3), user(4)],
    groups: [{ id: 'g1', displayName: 'Dispatch', members: ['u1', 'u2'] }],
    assignments: ['u1', 'u2', 'u3', 'g1'],
  };
}
