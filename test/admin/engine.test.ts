/**
 * The engine in the admin API, on every store: a real job (file source) runs a cycle into a tenant of the same
 * server and database; the API then shows its state, progress, cycles and logs (newest first, filtered), and pause,
 * resume, restart, allow-deletes and provision on demand change it, each audited.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadJobConfig } from '../../src/engine/config.js';
import { JobRunner } from '../../src/engine/job.js';
import { writeDirectoryJson } from '../../src/engine/source/index.js';
import { SyncState } from '../../src/engine/state/store.js';
import { smallDirectory } from '../engine/setup.js';
import { DIALECTS } from '../helpers/stores.js';
import { request, startAdminServer, type AdminServer } from './helpers.js';

const ADMIN = 'engine-admin-token-0123456789abcdefghijklmnop';

for (const dialect of DIALECTS) {
  describe(`engine in the console (${dialect})`, () => {
    let s: AdminServer;
    let dir: string;
    let jobFile: string;
    let state: SyncState | undefined;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'joyn-console-engine-'));
      jobFile = join(dir, 'job.yaml');
      s = await startAdminServer(dialect, ADMIN, {
        env: { SYNC_JOB_FILES: `${jobFile}, ${join(dir, 'missing.yaml')}` },
      });
      const t = await s.built.tenants.createTenant('Engine Co');
      // The job's token comes from the environment the server was started with (target.tokenEnv).
      (s.config.consoleEngine.env as Record<string, string>).ENGINE_TEST_TOKEN = t.token;
      await writeDirectoryJson(join(dir, 'directory.json'), smallDirectory());
      writeFileSync(
        jobFile,
        `name: contoso-sync\nsource: { type: file, path: directory.json }\ntarget: { tenantUrl: "${t.tenantUrl}", tokenEnv: ENGINE_TEST_TOKEN, concurrency: 2 }\n`,
      );
    });
    after(async () => {
      await state?.close();
      await s?.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const api = (method: string, path: string, body?: unknown) =>
      request(`${s.base}/admin/api${path}`, method, {
        ...(body === undefined ? {} : { body }),
        headers: { Authorization: `Bearer ${ADMIN}` },
      });

    test('before any cycle: the job of the file is listed, not stored, never run; a broken file is named', async () => {
      const r = await api('GET', '/engine/jobs');
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(
        r.body.jobs.map((j: any) => [j.name, j.state, j.onDemand, j.stored]),
        [['contoso-sync', 'notConfigured', true, null]],
      );
      assert.equal(r.body.jobFileProblems.length, 1);
      assert.match(r.body.jobFileProblems[0].error, /missing\.yaml/);
      const one = await api('GET', '/engine/jobs/contoso-sync');
      assert.equal(one.status, 200, one.text);
      assert.deepEqual([one.body.definition, one.body.cycles], [null, []]);
      assert.equal((await api('GET', '/engine/jobs/no-such-job')).status, 404);
      // Nothing to control before it is stored or has run here.
      const paused = await api('POST', '/engine/jobs/contoso-sync/pause');
      assert.equal(paused.status, 404);
      assert.match(paused.body.detail, /no provisioning job 'contoso-sync' stored or run in this deployment/);
    });

    test('after a cycle: state, last cycle and its statistics, linked objects, cycles, logs newest first', async () => {
      state = await SyncState.open(s.config.databaseUrl);
      const cfg = loadJobConfig(jobFile);
      const runner = new JobRunner({
        config: cfg,
        state,
        token: String(s.config.consoleEngine.env.ENGINE_TEST_TOKEN),
      });
      const out = await runner.runCycleNow();
      await runner.close();
      assert.equal(out.cycle.state, 'succeeded');

      const list = await api('GET', '/engine/jobs');
      const job = list.body.jobs[0];
      assert.deepEqual([job.name, job.state, job.onDemand], ['contoso-sync', 'active', true]);
      assert.deepEqual(job.linked, { users: 3, groups: 1 });
      assert.equal(job.last.state, 'succeeded');
      assert.equal(job.last.stats.created, 4, 'three users and the group');
      assert.equal(job.last.completedUnits, job.last.totalUnits);
      assert.equal(job.current, null);

      const one = await api('GET', '/engine/jobs/contoso-sync');
      assert.equal(one.body.cycles.length, 1);
      assert.equal(one.body.cycles[0].id, out.cycle.id);

      const logs = await api('GET', '/engine/jobs/contoso-sync/logs');
      assert.equal(logs.status, 200);
      const times = logs.body.logs.map((l: any) => l.activityDateTime);
      assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
      const creates = await api('GET', '/engine/jobs/contoso-sync/logs?action=create&status=success');
      assert.equal(creates.body.logs.length, 4);
      const found = await api('GET', '/engine/jobs/contoso-sync/logs?search=GIVEN2');
      assert.deepEqual(
        found.body.logs.map((l: any) => l.sourceIdentity.id),
        ['u2'],
      );
      const page = await api('GET', '/engine/jobs/contoso-sync/logs?limit=2');
      assert.equal(page.body.logs.length, 2);
      const rest = await api(
        'GET',
        `/engine/jobs/contoso-sync/logs?limit=50&before=${encodeURIComponent(page.body.nextBefore)}`,
      );
      const ids = new Set([...page.body.logs, ...rest.body.logs].map((l: any) => l.changeId));
      assert.equal(ids.size, logs.body.logs.length, 'paging back neither skips nor repeats');
      assert.equal((await api('GET', '/engine/jobs/contoso-sync/logs?status=broken')).status, 400);
    });

    test('pause, resume, restart (full), allow deletes: the job’s state follows, each audited', async () => {
      const paused = await api('POST', '/engine/jobs/contoso-sync/pause');
      assert.equal(paused.status, 200, paused.text);
      assert.equal(paused.body.job.state, 'paused');
      assert.equal(paused.body.job.pausedReason, 'Paused by the operator');
      const resumed = await api('POST', '/engine/jobs/contoso-sync/resume');
      assert.deepEqual([resumed.body.job.state, resumed.body.job.runRequested], ['active', true]);
      assert.equal(
        (await api('POST', '/engine/jobs/contoso-sync/restart', { reset: 'sideways' })).status,
        400,
      );
      const restarted = await api('POST', '/engine/jobs/contoso-sync/restart', { reset: 'full' });
      assert.deepEqual(restarted.body.job.linked, { users: 0, groups: 0 }, 'a full reset breaks every link');
      const allowed = await api('POST', '/engine/jobs/contoso-sync/allow-deletes');
      assert.equal(allowed.body.job.forceDeletes, true);
      const audit = await api('GET', '/audit?limit=20');
      const actions = audit.body.entries
        .filter((e: any) => e.target === 'contoso-sync')
        .map((e: any) => e.action);
      assert.deepEqual(actions, ['engine.allow_deletes', 'engine.restart', 'engine.resume', 'engine.pause']);
    });

    test('provision on demand: one user through the five steps; an unknown user or job says why', async () => {
      const r = await api('POST', '/engine/jobs/contoso-sync/provision', { user: 'user1@contoso.com' });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.connection.ok, true);
      assert.equal(r.body.log.sourceIdentity.id, 'u1');
      assert.match(r.body.report, /2\. Import user: success/);
      assert.match(r.body.report, /5\. Perform action/);
      const unknown = await api('POST', '/engine/jobs/contoso-sync/provision', {
        user: 'nobody@contoso.com',
      });
      assert.equal(unknown.status, 400);
      assert.match(unknown.body.detail, /no user 'nobody@contoso.com' in the source/);
      const noFile = await api('POST', '/engine/jobs/other-job/provision', { user: 'user1@contoso.com' });
      assert.equal(noFile.status, 409);
      assert.match(noFile.body.detail, /SYNC_JOB_FILES/);
      const audit = await api('GET', '/audit?limit=5');
      assert.equal(audit.body.entries[0].action, 'engine.provision');
    });
  });
}
