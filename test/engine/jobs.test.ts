/**
 * Jobs as data and the lease that makes one runner per job (issue 16), on every store dialect: definitions stored
 * with their secrets sealed or referenced (never in clear), validated like job files; leases claimed by exactly one
 * of many concurrent claimants, renewed only by their holder, taken over only once they lapse.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/engine/config.js';
import { EngineJobs, JobNotFoundError, JobRunningError } from '../../src/engine/job-definitions.js';
import { JobRunner, JobBusyError } from '../../src/engine/job.js';
import { openDefinition, sealDefinition } from '../../src/engine/secrets.js';
import { JobExistsError, SyncState } from '../../src/engine/state/store.js';
import { writeDirectoryJson } from '../../src/engine/source/index.js';
import { validateJobConfig } from '../../src/engine/config.js';
import { DIALECTS, freshDatabase } from '../helpers/stores.js';
import { FakeTarget } from './fake-target.js';
import { smallDirectory } from './setup.js';

const KEY = randomBytes(32);
const job = (over: Record<string, unknown> = {}) => ({
  name: 'hr',
  source: { type: 'file', path: '/srv/exports/hr.json' },
  target: { tenantUrl: 'https://scim.example.com/scim/t/v2', token: 'jsk_the-plain-secret-token' },
  ...over,
});

describe('job definitions: secrets', () => {
  test('a secret in clear is sealed with the key, opens only for its job and field, and is refused without a key', () => {
    const sealed = sealDefinition(job(), KEY);
    assert.doesNotMatch(JSON.stringify(sealed), /the-plain-secret/);
    assert.match(String((sealed.target as { token: { encrypted: string } }).token.encrypted), /^v1\./);
    assert.equal(
      (openDefinition(sealed, KEY).target as { token: string }).token,
      'jsk_the-plain-secret-token',
    );
    // Sealed again (jobs show → update): kept, still opens.
    assert.deepEqual(sealDefinition(sealed, KEY), sealed);
    // Another key, another job name: refused with what to do.
    assert.throws(
      () => openDefinition(sealed, randomBytes(32)),
      /cannot be decrypted with this ENGINE_SECRET_KEY/,
    );
    assert.throws(() => openDefinition({ ...sealed, name: 'other' }, KEY), /cannot be decrypted/);
    assert.throws(() => openDefinition(sealed, undefined), /ENGINE_SECRET_KEY is not set/);
    assert.throws(
      () => sealDefinition(job(), undefined),
      (e: Error) =>
        e instanceof ConfigError &&
        /^target\.token: a job stored on the server never holds a secret in clear: name an environment variable .* or set ENGINE_SECRET_KEY/.test(
          e.message,
        ),
    );
  });

  test('a stored job names only JOYN_SYNC_ variables: the server’s own settings stay out of reach', () => {
    const byEnv = job({ target: { tenantUrl: 'https://x.example/scim/v2', tokenEnv: 'ADMIN_TOKEN' } });
    assert.throws(
      () => sealDefinition(byEnv, KEY),
      /target\.tokenEnv: .* only environment variables that start with JOYN_SYNC_ \(got 'ADMIN_TOKEN'\)/,
    );
    const ldap = job({
      source: {
        type: 'ldap',
        url: 'ldap://dir:389',
        baseDN: 'dc=x',
        bindDN: 'cn=a',
        bindPasswordEnv: 'DATABASE_URL',
      },
    });
    assert.throws(() => sealDefinition(ldap, KEY), /source\.bindPasswordEnv/);
    // OAuth client credentials: the client secret would be sent to a token endpoint the job names.
    const oauth = job({
      target: {
        tenantUrl: 'https://x.example/scim/v2',
        oauth: { tokenEndpoint: 'https://evil.example/token', clientId: 'c', clientSecretEnv: 'ADMIN_TOKEN' },
      },
    });
    assert.throws(
      () => sealDefinition(oauth, KEY),
      /target\.oauth\.clientSecretEnv: .*\(got 'ADMIN_TOKEN'\)/,
    );
    const ok = job({ target: { tenantUrl: 'https://x.example/scim/v2', tokenEnv: 'JOYN_SYNC_HR_TOKEN' } });
    assert.deepEqual(sealDefinition(ok, undefined), ok);
  });
});

for (const dialect of DIALECTS) {
  describe(`stored jobs and leases on ${dialect}`, () => {
    async function open() {
      const db = await freshDatabase(dialect);
      const state = await SyncState.open(dialect === 'sqlite' ? `sqlite:${db.url}` : db.url);
      return {
        db,
        state,
        async close() {
          await state.close();
          await db.drop();
        },
      };
    }

    test('create, list, get, replace, enable/disable, delete; the stored row never holds the secret', async () => {
      const { state, db, close } = await open();
      try {
        const jobs = new EngineJobs(state, { secretKey: KEY });
        const row = await jobs.create(
          { ...job(), source: { type: 'file', path: 'exports/hr.json' } },
          '/srv',
        );
        assert.equal(row.name, 'hr');
        assert.equal(row.enabled, true);
        assert.equal(row.revision, 1);
        assert.deepEqual(row.definition.source, { type: 'file', path: '/srv/exports/hr.json' });
        // What the database holds: sealed.
        const raw = await state.db
          .selectFrom('sync_job_definitions')
          .select('definition')
          .executeTakeFirstOrThrow();
        assert.doesNotMatch(String(raw.definition), /the-plain-secret/);
        assert.equal(jobs.config(row).target.token, 'jsk_the-plain-secret-token');

        await assert.rejects(jobs.create(job()), JobExistsError);
        await assert.rejects(
          jobs.create(job({ name: 'rel', source: { type: 'file', path: 'hr.json' } })),
          /source\.path: a job stored on the server needs an absolute path/,
        );
        await assert.rejects(
          jobs.create(
            job({ name: 'bad', mappings: { users: [{ source: 'mail', target: 'emial', matching: 1 }] } }),
          ),
          /mappings\.users\[0\]\.target: unknown SCIM attribute 'emial'/,
        );

        const replaced = await jobs.replace('hr', { ...row.definition, intervalMinutes: 15, enabled: false });
        assert.equal(replaced.revision, 2);
        assert.equal(replaced.enabled, false);
        assert.equal(jobs.config(replaced).intervalMinutes, 15);
        assert.equal(jobs.config(replaced).target.token, 'jsk_the-plain-secret-token');
        await assert.rejects(jobs.replace('hr', job({ name: 'renamed' })), /a job cannot be renamed/);
        await assert.rejects(jobs.replace('nope', job({ name: 'nope' })), JobNotFoundError);
        assert.equal((await jobs.setEnabled('hr', true)).enabled, true);

        await jobs.create(job({ name: 'b-job', target: { tenant: 'acme' } }));
        assert.deepEqual(
          (await jobs.list()).map((j) => j.name),
          ['b-job', 'hr'],
        );
        const summary = await jobs.summary((await jobs.list())[0]!);
        assert.equal(summary.target, 'tenant acme');
        assert.equal(summary.state, 'notConfigured');
        assert.equal(summary.nextCycle?.note, 'due now (the job has never run)');

        // Deleting takes the job's state with it, and is refused while a cycle holds its lease.
        await state.ensureJob('hr', new Date());
        await state.setWatermark('hr', 'w', new Date());
        const lease = (await state.claimLease('hr', 'someone else', 60_000))!;
        await assert.rejects(
          jobs.delete('hr'),
          (e: Error) => e instanceof JobRunningError && /running a cycle on someone else/.test(e.message),
        );
        await state.releaseLease('hr', lease.token);
        await jobs.delete('hr');
        assert.equal(await state.getJob('hr'), undefined);
        assert.equal(await state.getWatermark('hr'), undefined);
        await assert.rejects(jobs.get('hr'), JobNotFoundError);
        await assert.rejects(jobs.delete('hr'), JobNotFoundError);
      } finally {
        await close();
        void db;
      }
    });

    test('a lease: one of many concurrent claims wins; only its holder renews it; taken over once it lapses', async () => {
      const a = await open();
      // A second connection to the same database, as another instance has.
      const b = await SyncState.open(dialect === 'sqlite' ? `sqlite:${a.db.url}` : a.db.url);
      try {
        const claims = await Promise.all(
          Array.from({ length: 12 }, (_, i) => (i % 2 ? a.state : b).claimLease('j', `instance ${i}`, 1500)),
        );
        const won = claims.filter((c) => c !== undefined);
        assert.equal(won.length, 1, 'exactly one claim wins');
        const lease = won[0]!;
        assert.ok(lease.expiresAt > lease.now && lease.expiresAt - lease.acquiredAt === 1500);
        assert.equal(await a.state.claimLease('j', 'late', 1500), undefined);
        assert.equal(await b.renewLease('j', 'not-the-token', 1500), false);
        assert.equal(await b.renewLease('j', lease.token, 1500), true);
        // Lapsed: another claimant takes it, and the old holder can neither renew nor release the new lease.
        await sleep(1700);
        const next = await a.state.claimLease('j', 'successor', 1500);
        assert.ok(next && next.owner === 'successor' && next.token !== lease.token);
        assert.equal(await b.renewLease('j', lease.token, 1500), false);
        await b.releaseLease('j', lease.token);
        assert.equal((await a.state.getLease('j'))?.owner, 'successor');
        await a.state.releaseLease('j', next.token);
        assert.equal(await a.state.getLease('j'), undefined);
        assert.deepEqual(await a.state.listLeases(), []);
      } finally {
        await b.close();
        await a.close();
      }
    });

    test('a cycle runs under the lease: a second runner of the same job is refused; an orphaned cycle is marked interrupted', async () => {
      const { state, db, close } = await open();
      const target = await new FakeTarget().start();
      const dir = mkdtempSync(join(tmpdir(), 'joyn-lease-'));
      try {
        await writeDirectoryJson(join(dir, 'd.json'), smallDirectory());
        const config = validateJobConfig(
          {
            name: 'leased',
            source: { type: 'file', path: 'd.json' },
            target: { tenantUrl: target.url, token: target.token },
          },
          dir,
        );
        const held = (await state.claimLease('leased', 'server elsewhere pid 1', 60_000))!;
        const runner = new JobRunner({ config, state, token: target.token, instance: 'test runner' });
        await assert.rejects(
          runner.runCycleNow(),
          (e: Error) =>
            e instanceof JobBusyError && /running a cycle on server elsewhere pid 1/.test(e.message),
        );
        assert.equal(await runner.runDue(), 'busy');
        assert.equal(target.calls.length, 0, 'nothing was sent while another holds the job');
        // The holder died mid-cycle: its cycle row stays "running" until the next holder says what happened.
        await state.startCycle({
          id: 'orphan',
          job: 'leased',
          kind: 'initial',
          state: 'running',
          startedAt: new Date().toISOString(),
          endedAt: null,
          totalUnits: 10,
          completedUnits: 3,
          stats: (await import('../../src/engine/state/store.js')).emptyStats(),
          error: null,
        });
        await state.releaseLease('leased', held.token);
        const out = await runner.runCycleNow();
        assert.equal(out.cycle.state, 'succeeded');
        assert.equal(out.cycle.instance, 'test runner');
        const orphan = (await state.listCycles('leased', 5)).find((c) => c.id === 'orphan')!;
        assert.equal(orphan.state, 'failed');
        assert.match(
          String(orphan.error),
          /^interrupted: .* test runner took the job over and continued from the last watermark$/,
        );
        assert.equal(await state.getLease('leased'), undefined, 'released after the cycle');
        await runner.close();
      } finally {
        await target.close();
        rmSync(dir, { recursive: true, force: true });
        await close();
        void db;
      }
    });
  });
}
