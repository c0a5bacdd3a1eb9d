/**
 * The engine inside the server (issue 16): stored jobs through the admin API, run by the server's scheduler into a
 * tenant of the same deployment with the engine's own labelled credential, job control, at most
 * ENGINE_MAX_CONCURRENT_CYCLES cycles at once, and the scheduler's interval (with a fake clock).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import Fastify from 'fastify';
import { loadConfig } from '../../src/config.js';
import { registerEngineRoutes } from '../../src/admin/engine-routes.js';
import { FakeClock } from '../../src/engine/clock.js';
import { EngineJobs } from '../../src/engine/job-definitions.js';
import { Scheduler } from '../../src/engine/scheduler.js';
import { engineFor } from '../../src/engine/service.js';
import { SyncState } from '../../src/engine/state/store.js';
import { writeDirectoryJson } from '../../src/engine/source/index.js';
import { openStore } from '../../src/store/open.js';
import { DIALECTS, freshDatabase } from '../helpers/stores.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { FakeTarget } from './fake-target.js';
import { smallDirectory } from './setup.js';

const ADMIN = 'engine-admin-token-0123456789abcdef';
const KEY = randomBytes(32).toString('base64');

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('every engine route carries the least role it needs: viewer to read, operator to control, admin to change jobs', async () => {
  const app = Fastify();
  const routes: { method: string; url: string; role: unknown }[] = [];
  app.addHook('onRoute', (r) => {
    routes.push({ method: String(r.method), url: r.url, role: (r.config as { role?: unknown })?.role });
  });
  registerEngineRoutes(app, { store: {} as never, config: loadConfig({}) });
  await app.ready();
  const roles = Object.fromEntries(
    routes.filter((r) => r.method !== 'HEAD').map((r) => [`${r.method} ${r.url}`, r.role]),
  );
  for (const [route, role] of Object.entries(roles))
    assert.equal(
      role,
      /^(POST \/engine\/jobs|PUT .*|PATCH .*|DELETE .*)$/.test(route)
        ? 'admin'
        : route.startsWith('GET ')
          ? 'viewer'
          : 'operator',
      route,
    );
  for (const r of ['pause', 'resume', 'run', 'restart', 'allow-deletes', 'provision'])
    assert.equal(roles[`POST /engine/jobs/:name/${r}`], 'operator', r);
  await app.close();
});

for (const dialect of DIALECTS) {
  describe(`the engine inside the server on ${dialect}`, () => {
    test('jobs through the admin API, run by the scheduler into a tenant of this deployment with the engine’s own credential', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'joyn-engine-svc-'));
      const db = await freshDatabase(dialect);
      let srv: TestServer | undefined;
      try {
        srv = await startTestServer({
          databaseUrl: db.url,
          env: { ADMIN_TOKEN: ADMIN, ENGINE_POLL_MS: '100', ENGINE_SECRET_KEY: KEY, LOG_LEVEL: 'silent' },
        });
        const api = async (method: string, path: string, body?: unknown) => {
          const r = await fetch(`${srv!.baseUrl}/admin/api${path}`, {
            method,
            headers: {
              authorization: `Bearer ${ADMIN}`,
              ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            },
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          });
          const text = await r.text();
          return { status: r.status, body: text ? (JSON.parse(text) as any) : undefined };
        };
        const tenant = await srv.newTenant('acme-svc');
        await writeDirectoryJson(join(dir, 'd.json'), smallDirectory());
        const def = {
          name: 'svc',
          source: { type: 'file', path: join(dir, 'd.json') },
          target: { tenant: 'acme-svc' },
        };

        assert.equal(
          (await api('POST', '/engine/jobs', { ...def, source: { type: 'file', path: 'd.json' } })).status,
          400,
        );
        const nope = await api('POST', '/engine/jobs', { ...def, target: { tenant: 'no-such-tenant' } });
        assert.equal(nope.status, 400);
        assert.equal(
          nope.body.detail,
          "target.tenant: there is no tenant 'no-such-tenant' in this deployment",
        );
        const created = await api('POST', '/engine/jobs', def);
        assert.equal(created.status, 201, JSON.stringify(created.body));
        assert.equal((await api('POST', '/engine/jobs', def)).status, 409);

        // The scheduler runs it: the first cycle is due at once.
        const status = await waitFor('the first cycle', async () => {
          const s = await api('GET', '/engine/jobs/svc/status');
          return s.body.last?.state === 'succeeded' && !s.body.runningOn && s.body;
        });
        assert.equal(status.last.stats.created, 4); // 3 users + 1 group
        assert.match(status.last.instance, /^server .* pid \d+$/);
        assert.match(status.nextCycle.note, /^in (39|40) min$/);
        const users = await fetch(`${tenant.tenantUrl}/Users`, {
          headers: { authorization: `Bearer ${tenant.token}` },
        });
        assert.equal(((await users.json()) as { totalResults: number }).totalResults, 3);

        // The engine's credential: a token of the tenant, hashed like any, labelled as the engine's.
        const tokens = await api('GET', `/tenants/${tenant.tenantId}/tokens`);
        const engineTokens = tokens.body.tokens.filter((t: { label: string | null }) => t.label);
        assert.equal(engineTokens.length, 1);
        assert.match(engineTokens[0].label, /^provisioning engine \(server .* pid \d+\)$/);
        assert.equal(engineTokens[0].state, 'active');
        assert.ok(engineTokens[0].expiresAt, 'the engine credential expires');

        const list = await api('GET', '/engine/jobs');
        assert.deepEqual(
          list.body.jobs.map((j: { name: string; state: string; stored: { target: string } }) => [
            j.name,
            j.state,
            j.stored.target,
          ]),
          [['svc', 'active', 'tenant acme-svc']],
        );
        const logs = await api('GET', '/engine/jobs/svc/logs?limit=2');
        assert.equal(logs.body.logs.length, 2);
        assert.ok(logs.body.logs[0].activityDateTime >= logs.body.logs[1].activityDateTime, 'newest first');
        assert.equal((await api('GET', '/engine/jobs/svc/logs?status=bogus')).status, 400);

        // Control: paused stays paused (run refused), resume and run now start a cycle.
        assert.equal((await api('POST', '/engine/jobs/svc/pause')).body.job.state, 'paused');
        assert.equal((await api('POST', '/engine/jobs/svc/run')).status, 409);
        const before = (await api('GET', '/engine/jobs/svc/cycles')).body.cycles.length;
        const engine = await engineFor(srv.server.store, loadConfig({}).engine);
        await engine.scheduler!.tick();
        assert.deepEqual(engine.scheduler!.runningJobs, []);
        assert.equal((await api('POST', '/engine/jobs/svc/resume')).body.job.state, 'active');
        await waitFor(
          'a cycle after resume',
          async () => (await api('GET', '/engine/jobs/svc/cycles')).body.cycles.length > before,
        );

        // On demand: the user not assigned, with the reason.
        const od = await api('POST', '/engine/jobs/svc/provision', { user: 'user4@contoso.com' });
        assert.equal(od.status, 200, JSON.stringify(od.body));
        assert.match(od.body.log.reason, /not assigned to the app/);

        // A disabled job is not scheduled, even when asked to run.
        assert.equal((await api('PATCH', '/engine/jobs/svc', { enabled: false })).body.enabled, false);
        await waitFor('the cycle to end', async () => engine.scheduler!.runningJobs.length === 0);
        const n = (await api('GET', '/engine/jobs/svc/cycles')).body.cycles.length;
        await api('POST', '/engine/jobs/svc/run');
        await engine.scheduler!.tick();
        assert.deepEqual(engine.scheduler!.runningJobs, []);
        assert.equal((await api('GET', '/engine/jobs/svc/cycles')).body.cycles.length, n);

        // A secret in clear is stored sealed (ENGINE_SECRET_KEY is set here) and never shown in clear.
        const withToken = await api('PUT', '/engine/jobs/svc', {
          ...def,
          target: { tenantUrl: tenant.tenantUrl, token: tenant.token },
        });
        assert.equal(withToken.status, 200, JSON.stringify(withToken.body));
        const shown = await api('GET', '/engine/jobs/svc');
        assert.doesNotMatch(JSON.stringify(shown.body), new RegExp(tenant.token));
        assert.match(shown.body.definition.definition.target.token.encrypted, /^v1\./);
        assert.equal(shown.body.definition.revision, 3);
        assert.equal((await api('PUT', '/engine/jobs/svc', { ...def, name: 'other' })).status, 400);

        assert.equal((await api('DELETE', '/engine/jobs/svc')).status, 204);
        assert.equal((await api('GET', '/engine/jobs/svc')).status, 404);
        assert.equal((await api('DELETE', '/engine/jobs/svc')).status, 404);

        // A clean stop revokes the engine's credential.
        await srv.close();
        const store = openStore(loadConfig({ DATABASE_URL: db.url }));
        try {
          const left = (await store.listTokens(tenant.tenantId)).filter((t) => t.label);
          assert.equal(left.length, 1);
          assert.ok(left[0]!.revokedAt, 'revoked when the server stopped');
        } finally {
          await store.close();
        }
      } finally {
        await srv?.close().catch(() => undefined);
        await db.drop();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('at most ENGINE_MAX_CONCURRENT_CYCLES cycles at once on one instance; every due job runs', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'joyn-engine-bound-'));
      let srv: TestServer | undefined;
      try {
        srv = await startTestServer({
          dialect,
          env: { ENGINE_POLL_MS: '50', ENGINE_MAX_CONCURRENT_CYCLES: '1', LOG_LEVEL: 'silent' },
        });
        const engine = await engineFor(srv.server.store, loadConfig({}).engine);
        await srv.newTenant('bound');
        for (const name of ['one', 'two', 'three']) {
          const d = smallDirectory();
          for (const u of d.users) {
            u.userPrincipalName = `${name}-${String(u.userPrincipalName)}`;
            u.mailNickname = `${name}-${String(u.mailNickname)}`;
          }
          d.groups![0]!.displayName = `${name} group`;
          await writeDirectoryJson(join(dir, `${name}.json`), d);
          await engine.jobs.create({
            name,
            source: { type: 'file', path: join(dir, `${name}.json`) },
            target: { tenant: 'bound' },
          });
        }
        let most = 0;
        await waitFor('all three jobs to run', async () => {
          most = Math.max(most, engine.scheduler!.runningJobs.length);
          const done = await Promise.all(
            ['one', 'two', 'three'].map(
              async (j) => (await engine.state.listCycles(j, 1))[0]?.state === 'succeeded',
            ),
          );
          return done.every(Boolean);
        });
        assert.equal(most, 1);
        const all = (
          await Promise.all(['one', 'two', 'three'].map((j) => engine.state.listCycles(j, 5)))
        ).flat();
        all.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
        for (let i = 1; i < all.length; i++)
          assert.ok(all[i]!.startedAt >= all[i - 1]!.endedAt!, 'one cycle at a time on this instance');
      } finally {
        await srv?.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

test('the scheduler keeps each job’s interval (fake clock): due at once, then intervalMinutes after the last cycle', async () => {
  const db = await freshDatabase('sqlite');
  const target = await new FakeTarget().start();
  const dir = mkdtempSync(join(tmpdir(), 'joyn-engine-interval-'));
  const state = await SyncState.open(`sqlite:${db.url}`);
  try {
    await writeDirectoryJson(join(dir, 'd.json'), smallDirectory());
    const jobs = new EngineJobs(state);
    await jobs.create({
      name: 'timed',
      source: { type: 'file', path: join(dir, 'd.json') },
      target: { tenantUrl: target.url, tokenEnv: 'JOYN_SYNC_TOKEN' },
      intervalMinutes: 40,
    });
    const clock = new FakeClock('2025-05-01T00:00:00Z');
    const infos: Record<string, unknown>[] = [];
    const scheduler = new Scheduler({
      jobs,
      state,
      env: { JOYN_SYNC_TOKEN: target.token },
      instance: 'test scheduler',
      maxConcurrent: 2,
      leaseMs: 10_000,
      pollMs: 60_000,
      log: {
        info: (fields: object, msg: string) => void infos.push({ ...fields, msg }),
        warn: () => undefined,
      },
      clock,
    });
    const cycles = async () =>
      (await state.listCycles('timed', 10)).filter((c) => c.state !== 'running').length;
    const settle = () => waitFor('the cycle to end', async () => scheduler.runningJobs.length === 0);
    await scheduler.tick();
    await settle();
    assert.equal(await cycles(), 1);
    // After each cycle the scheduler logs when the job's next one is due.
    await waitFor('the next-cycle log line', async () =>
      infos.some((l) => l.msg === 'next provisioning cycle'),
    );
    assert.deepEqual(
      infos.find((l) => l.msg === 'next provisioning cycle'),
      {
        job: 'timed',
        nextCycleAt: '2025-05-01T00:40:00.000Z',
        note: 'in 40 min',
        msg: 'next provisioning cycle',
      },
    );
    clock.advance(39 * 60_000);
    await scheduler.tick();
    await settle();
    assert.equal(await cycles(), 1, 'not due before 40 minutes');
    clock.advance(61_000);
    await scheduler.tick();
    await settle();
    assert.equal(await cycles(), 2, 'due 40 minutes after the last cycle');
    await scheduler.stop();
  } finally {
    await state.close();
    await target.close();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
});
