/**
 * The provisioning engine inside two real server processes on one PostgreSQL database (issue 16 "Many instances"):
 * three stored jobs, each targeting the tenant `acme` of this deployment by name, scheduled by both instances.
 * Every job's cycles run, never two at once for one job (the lease); SIGKILL of the instance in the middle of a
 * job's cycle → the other instance takes the job over once the lease lapses and finishes it from the last watermark:
 * checked on the target, no object is created twice and no change is lost.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { generateDirectory, type DirectoryExport } from '../../src/engine/source/index.js';
import { describeIfAvailable } from '../helpers/services.js';
import { freshDatabase, postgresMissing, type TestDatabase } from '../helpers/stores.js';
import { cliOk, onInstance, spawnServer, waitReady, type ServerProcess } from '../ops/processes.js';

const ADMIN_TOKEN = 'test-admin-token-engine-0123456789';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const LEASE_SECONDS = 3;
/** Users of job gamma whose department changes in the cycle that is killed. */
const CHANGED = 400;

/** A directory whose names cannot clash with another job's in the same tenant. */
/** Users the engine creates: every user is assigned here; disabled ones are never created (§2.1). */
const enabled = (d: DirectoryExport) => d.users.filter((u) => u.accountEnabled !== false);

function directory(job: string, users: number, seed: number): DirectoryExport {
  const d = generateDirectory({
    users,
    groups: Math.max(2, users / 50),
    seed,
    assignedFraction: 1,
    domain: `${job}.example.com`,
  });
  for (const u of d.users) u.mailNickname = `${job}-${String(u.mailNickname)}`;
  for (const g of d.groups ?? []) g.displayName = `${job} ${String(g.displayName)}`;
  return d;
}

interface CycleRow {
  id: string;
  job: string;
  state: string;
  started_at: string;
  ended_at: string | null;
  instance: string | null;
  error: string | null;
  stats: string;
}

describeIfAvailable(
  'the engine scheduler in two server processes on one PostgreSQL',
  { unavailable: postgresMissing() },
  () => {
    let db: TestDatabase;
    let dir: string;
    let sql: pg.Client;
    const servers: ServerProcess[] = [];
    let tenant: { tenantUrl: string; token: string };
    const dirs: Record<string, DirectoryExport> = {};

    const api = async (s: ServerProcess, method: string, path: string, body?: unknown) => {
      const r = await fetch(`${s.url}/admin/api${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN_TOKEN}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await r.text();
      return { status: r.status, body: text ? (JSON.parse(text) as any) : undefined };
    };
    const cycles = async (job: string): Promise<CycleRow[]> =>
      (await sql.query<CycleRow>('SELECT * FROM sync_cycles WHERE job = $1 ORDER BY started_at, id', [job]))
        .rows;
    const finished = async (job: string) => (await cycles(job)).filter((c) => c.state !== 'running');
    async function waitFor<T>(
      what: string,
      fn: () => Promise<T | undefined | false>,
      ms = 120_000,
    ): Promise<T> {
      const deadline = Date.now() + ms;
      for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > deadline)
          throw new Error(
            `timed out waiting for ${what}\nA stderr: ${servers[0]?.stderr().slice(-2000)}\nB stderr: ${servers[1]?.stderr().slice(-2000)}`,
          );
        await sleep(100);
      }
    }
    const scim = async (s: ServerProcess, path: string) => {
      const r = await fetch(`${onInstance(tenant.tenantUrl, s.url)}${path}`, {
        headers: { authorization: `Bearer ${tenant.token}` },
      });
      return (await r.json()) as any;
    };

    before(async () => {
      db = await freshDatabase('postgres');
      dir = mkdtempSync(join(tmpdir(), 'joyn-engine-mi-'));
      const env = {
        ADMIN_TOKEN,
        ENGINE_POLL_MS: '200',
        ENGINE_LEASE_SECONDS: String(LEASE_SECONDS),
        ENGINE_MAX_CONCURRENT_CYCLES: '2',
      };
      const [a, b] = await Promise.all([spawnServer(db.url, env), spawnServer(db.url, env)]);
      servers.push(a!, b!);
      await Promise.all(servers.map((s) => waitReady(s)));
      tenant = JSON.parse(
        await cliOk(['tenants', 'create', 'acme', '--json'], { DATABASE_URL: db.url, PUBLIC_URL: a!.url }),
      );
      sql = new pg.Client({ connectionString: db.url });
      await sql.connect();
      for (const [job, users, seed] of [
        ['alpha', 40, 1],
        ['beta', 40, 2],
        ['gamma', 600, 3],
      ] as const) {
        dirs[job] = directory(job, users, seed);
        writeFileSync(join(dir, `${job}.json`), JSON.stringify(dirs[job]));
        // Created through the admin API of either instance: the definitions are data every instance sees.
        const r = await api(servers[seed % 2]!, 'POST', '/engine/jobs', {
          name: job,
          source: { type: 'file', path: join(dir, `${job}.json`) },
          target: { tenant: 'acme', concurrency: 4 },
        });
        assert.equal(r.status, 201, JSON.stringify(r.body));
      }
    });

    after(async () => {
      await sql?.end();
      await Promise.all(servers.map((s) => s.stop()));
      await db?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('every job runs on its own: initial cycles, then cycles asked of either instance; never two at once for one job; paused stays paused everywhere', async () => {
      for (const job of ['alpha', 'beta', 'gamma'])
        await waitFor(`the initial cycle of ${job}`, async () => (await finished(job)).length >= 1);
      // Two more rounds: each instance is asked to run every job at the same moment; one cycle each results.
      for (let round = 1; round <= 2; round++) {
        const before = Object.fromEntries(
          await Promise.all(
            ['alpha', 'beta', 'gamma'].map(async (j) => [j, (await finished(j)).length] as const),
          ),
        );
        await Promise.all(
          ['alpha', 'beta', 'gamma'].flatMap((j) =>
            servers.map((s) => api(s, 'POST', `/engine/jobs/${j}/run`)),
          ),
        );
        for (const job of ['alpha', 'beta', 'gamma'])
          await waitFor(`round ${round} of ${job}`, async () => (await finished(job)).length > before[job]!);
      }
      const instances = new Set<string>();
      for (const job of ['alpha', 'beta', 'gamma']) {
        const list = await cycles(job);
        assert.ok(list.length >= 3, `${job}: ${list.length} cycles`);
        for (const c of list) {
          assert.equal(c.state, 'succeeded', `${job} cycle ${c.id}: ${c.state} ${c.error ?? ''}`);
          instances.add(String(c.instance));
        }
        // The lease: a cycle of a job starts only after the previous one of that job ended.
        for (let i = 1; i < list.length; i++)
          assert.ok(
            list[i]!.started_at >= String(list[i - 1]!.ended_at),
            `${job}: cycle ${list[i]!.id} started ${list[i]!.started_at} before ${list[i - 1]!.id} ended ${list[i - 1]!.ended_at}`,
          );
      }
      for (const c of instances) assert.match(c, /^server .* pid \d+$/);
      // Users of every job, each once, on the target.
      for (const job of ['alpha', 'beta']) {
        const page = await scim(
          servers[1]!,
          `/Users?filter=${encodeURIComponent(`userName ew "@${job}.example.com"`)}&count=1`,
        );
        assert.equal(page.totalResults, enabled(dirs[job]!).length, job);
      }
      // Paused through one instance, paused everywhere: asked to run on both, it is refused; while the other jobs run
      // a round on both instances (their schedulers pass many times), it runs no cycle.
      assert.equal((await api(servers[0]!, 'POST', '/engine/jobs/alpha/pause')).body.job.state, 'paused');
      for (const s of servers) assert.equal((await api(s, 'POST', '/engine/jobs/alpha/run')).status, 409);
      const alphaBefore = (await cycles('alpha')).length;
      const others = Object.fromEntries(
        await Promise.all(['beta', 'gamma'].map(async (j) => [j, (await finished(j)).length] as const)),
      );
      await Promise.all(
        ['beta', 'gamma'].flatMap((j) => servers.map((s) => api(s, 'POST', `/engine/jobs/${j}/run`))),
      );
      for (const job of ['beta', 'gamma'])
        await waitFor(`a round of ${job}`, async () => (await finished(job)).length > others[job]!);
      assert.equal((await cycles('alpha')).length, alphaBefore, 'the paused job ran no cycle');
      assert.equal((await api(servers[1]!, 'GET', '/engine/jobs/alpha/status')).body.state, 'paused');

      // The engine's credential: a token of the tenant labelled as the engine's, one per instance.
      const tokens = await sql.query<{ label: string | null; hash: string }>(
        'SELECT label, hash FROM tokens WHERE tenant_id = (SELECT id FROM tenants WHERE name = $1) AND label IS NOT NULL',
        ['acme'],
      );
      assert.ok(tokens.rows.length >= 1 && tokens.rows.length <= 2, JSON.stringify(tokens.rows));
      for (const t of tokens.rows) {
        assert.match(String(t.label), /^provisioning engine \(server .* pid \d+\)$/);
        assert.match(t.hash, /^[0-9a-f]{64}$|^[A-Za-z0-9_-]{43}$/);
      }
    });

    test('SIGKILL of the instance running a cycle: the other takes the job over and finishes it; nothing created twice, no change lost', async () => {
      const gamma = dirs.gamma!;
      // 400 changed departments, 120 new users and 3 new groups: an incremental cycle of some 500 objects.
      gamma.users.slice(0, CHANGED).forEach((u, i) => (u.department = `Moved ${i}`));
      const added = generateDirectory({
        users: 120,
        groups: 0,
        seed: 99,
        assignedFraction: 1,
        domain: 'gamma.example.com',
      }).users.map((u, i) => ({
        ...u,
        id: `new-${i}`,
        userPrincipalName: `new${i}@gamma.example.com`,
        mail: `new${i}@gamma.example.com`,
        mailNickname: `gamma-new-${i}`,
      }));
      gamma.users.push(...added);
      const newGroups = [1, 2, 3].map((n) => ({
        id: `new-group-${n}`,
        displayName: `gamma new group ${n}`,
        members: added.slice(n * 10, n * 10 + 10).map((u) => u.id),
      }));
      gamma.groups!.push(...newGroups);
      gamma.assignments!.push(...added.map((u) => u.id), ...newGroups.map((g) => g.id));
      writeFileSync(join(dir, 'gamma.json'), JSON.stringify(gamma));
      const before = (await cycles('gamma')).length;

      assert.equal((await api(servers[0]!, 'POST', '/engine/jobs/gamma/run')).status, 200);
      // The cycle has started and changed some users on the target, far from all.
      const owner = await waitFor('gamma to start', async () => {
        const l = await sql.query<{ owner: string }>("SELECT owner FROM sync_leases WHERE job = 'gamma'");
        return (await cycles('gamma')).length > before && l.rows[0]?.owner;
      });
      await waitFor('gamma to be under way', async () => {
        const moved = await scim(
          servers[0]!,
          `/Users?filter=${encodeURIComponent(`${ENTERPRISE}:department sw "Moved "`)}&count=1`,
        ).catch(() => undefined);
        return moved && moved.totalResults >= 30;
      });
      const victim = servers.find((s) => owner.endsWith(` pid ${s.child.pid}`));
      assert.ok(victim, `lease owner ${owner} is one of the two servers`);
      const survivor = servers.find((s) => s !== victim)!;
      victim.child.kill('SIGKILL');
      await victim.exited;
      const moved = await scim(
        survivor,
        `/Users?filter=${encodeURIComponent(`${ENTERPRISE}:department sw "Moved "`)}&count=1`,
      );
      assert.ok(
        moved.totalResults < CHANGED,
        `the kill landed mid-cycle (${moved.totalResults} of ${CHANGED} moved)`,
      );

      // The survivor takes the job over once the lease lapses and completes a cycle.
      const done = await waitFor('the survivor to finish gamma', async () => {
        const list = (await cycles('gamma')).slice(before);
        return list.find(
          (c) => c.state === 'succeeded' && c.instance?.endsWith(` pid ${survivor.child.pid}`),
        );
      });
      const list = (await cycles('gamma')).slice(before);
      const interrupted = list.find((c) => c.instance?.endsWith(` pid ${victim.child.pid}`));
      assert.ok(interrupted, 'the killed instance had started the cycle');
      assert.equal(interrupted.state, 'failed');
      assert.match(String(interrupted.error), /interrupted/);
      const stats = JSON.parse(done.stats) as { failed: number; created: number };
      assert.equal(
        stats.failed,
        0,
        'the cycle that took over had no failures (no 409 for an object created twice)',
      );

      // On the target: every user of the job exactly once, with the changed department; every group once.
      const onTarget = new Map<string, { count: number; department: unknown }>();
      for (let start = 1; ; start += 500) {
        const page = await scim(
          survivor,
          `/Users?filter=${encodeURIComponent('userName ew "@gamma.example.com"')}&startIndex=${start}&count=500`,
        );
        for (const r of page.Resources ?? []) {
          const seen = onTarget.get(r.userName);
          onTarget.set(r.userName, { count: (seen?.count ?? 0) + 1, department: r[ENTERPRISE]?.department });
        }
        if (!page.Resources?.length || start + 500 > page.totalResults) break;
      }
      assert.equal(onTarget.size, enabled(gamma).length);
      for (const [i, u] of gamma.users.entries()) {
        const got = onTarget.get(String(u.userPrincipalName));
        if (u.accountEnabled === false) {
          assert.equal(got, undefined, String(u.userPrincipalName));
          continue;
        }
        assert.equal(got?.count, 1, `${String(u.userPrincipalName)} on the target ${got?.count ?? 0} times`);
        if (i < CHANGED)
          assert.equal(got.department, `Moved ${i}`, `change of ${String(u.userPrincipalName)} lost`);
      }
      for (const g of gamma.groups!) {
        const r = await scim(
          survivor,
          `/Groups?filter=${encodeURIComponent(`displayName eq "${String(g.displayName)}"`)}&excludedAttributes=members`,
        );
        assert.equal(r.totalResults, 1, String(g.displayName));
      }
      for (const g of newGroups) {
        const r = await scim(
          survivor,
          `/Groups?filter=${encodeURIComponent(`displayName eq "${g.displayName}"`)}`,
        );
        const want = g.members.filter((id) => gamma.users.find((u) => u.id === id)?.accountEnabled !== false);
        assert.equal(r.Resources[0].members?.length ?? 0, want.length, `members of ${g.displayName}`);
      }
    });
  },
);
