/**
 * Initial-cycle throughput for `npm run bench`: a generated directory (file source) provisioned into a real
 * joyn-scim server in this process, users per second over the whole cycle (queries, POSTs, groups, memberships).
 * The server is started the way test/helpers/server.ts does it (free port, fresh tenant), from src/ only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config.js';
import { startServer } from '../server.js';
import { validateJobConfig } from './config.js';
import { JobRunner } from './job.js';
import { generateDirectory, writeDirectoryJson } from './source/index.js';
import { SyncState } from './state/store.js';

export async function benchInitialCycle(opts: {
  users: number;
  databaseUrl?: string;
}): Promise<{ usersPerSecond: number; seconds: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'joyn-bench-'));
  const server = await startServer(
    loadConfig({
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: opts.databaseUrl ?? join(dir, 'server.db'),
      RATE_LIMIT_PER_MINUTE: '0',
    }),
    { createDefaultTenant: false },
  );
  const tenant = await server.tenants.createTenant(`bench-${Date.now().toString(36)}`);
  const target = { tenantUrl: server.tenants.tenantUrl(tenant.id), token: tenant.token };
  // The engine state gets its own SQLite file: the server runs in this process, and one SQLite file takes one writer.
  const state = await SyncState.open(`sqlite:${join(dir, 'state.db')}`);
  try {
    const directory = generateDirectory({
      users: opts.users,
      groups: Math.max(1, Math.round(opts.users / 50)),
      seed: 42,
      assignedFraction: 1,
    });
    await writeDirectoryJson(join(dir, 'directory.json'), directory);
    const config = validateJobConfig(
      {
        name: 'bench',
        source: { type: 'file', path: 'directory.json' },
        target: { tenantUrl: target.tenantUrl, token: target.token, concurrency: 8 },
      },
      dir,
    );
    const runner = new JobRunner({ config, state, token: target.token });
    const started = performance.now();
    const out = await runner.runCycleNow();
    const seconds = (performance.now() - started) / 1000;
    await runner.close();
    if (out.cycle.stats.failed > 0) throw new Error(`bench cycle had ${out.cycle.stats.failed} failures`);
    return { usersPerSecond: opts.users / seconds, seconds };
  } finally {
    await state.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
