/** The engine's state tables on every store dialect: SQLite always, PostgreSQL when JOYN_TEST_PG_URL is set. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ProvisioningLog } from '../../src/engine/log-types.js';
import { emptyStats, SyncState } from '../../src/engine/state/store.js';
import { DIALECTS, freshDatabase } from '../helpers/stores.js';

function log(i: number, over: Partial<ProvisioningLog> = {}): ProvisioningLog {
  return {
    jobId: 'j',
    cycleId: i < 3 ? 'c1' : 'c2',
    changeId: `ch-${i}`,
    activityDateTime: new Date(Date.UTC(2025, 0, 1 + i)).toISOString(),
    action: i % 2 ? 'update' : 'create',
    status: i === 4 ? 'failure' : 'success',
    steps: [
      { name: 'EntryImport', type: 'import', status: 'success', description: 'd', details: { a: 'b' } },
    ],
    modifiedProperties: [{ displayName: 'displayName', oldValue: null, newValue: `N${i}` }],
    sourceIdentity: {
      id: `src-${i}`,
      displayName: i === 2 ? "O'Brien_100%" : `User ${i}`,
      identityType: 'User',
    },
    targetIdentity: { id: `tgt-${i}`, identityType: 'User' },
    durationMs: 12.6,
    ...(i === 4 ? { errorCode: 'EntryConflict', reason: 'exists', recommendedAction: 'fix' } : {}),
    ...over,
  };
}

for (const dialect of DIALECTS) {
  describe(`sync state on ${dialect}`, () => {
    test('jobs, watermarks, links, escrows, cycles, logs', async () => {
      const db = await freshDatabase(dialect);
      const url = dialect === 'sqlite' ? `sqlite:${db.url}` : db.url;
      const state = await SyncState.open(url);
      try {
        // Opening again runs the migrator again: a no-op.
        await (await SyncState.open(url)).close();
        const now = new Date('2025-02-01T00:00:00Z');
        const job = await state.ensureJob('j', now);
        assert.equal(job.state, 'notRun');
        await state.updateJob(
          'j',
          {
            state: 'quarantined',
            forceDeletes: true,
            status: { countSuccessiveCompleteFailures: 2, lastExecution: now.toISOString() },
          },
          now,
        );
        const j2 = (await state.getJob('j'))!;
        assert.equal(j2.state, 'quarantined');
        assert.equal(j2.forceDeletes, true);
        assert.equal(j2.status.countSuccessiveCompleteFailures, 2);
        assert.equal(await state.getJob('other'), undefined);

        assert.equal(await state.getWatermark('j'), undefined);
        await state.setWatermark('j', 'w1', now);
        await state.setWatermark('j', 'w2', now);
        assert.equal(await state.getWatermark('j'), 'w2');
        await state.clearWatermark('j');
        assert.equal(await state.getWatermark('j'), undefined);

        const links = Array.from({ length: 450 }, (_, i) => ({
          kind: i < 400 ? ('user' as const) : ('group' as const),
          sourceId: `s${i}`,
          targetId: `t${i}`,
          managed: true,
          disabled: false,
          display: null,
          members: i >= 400 ? [`s${i - 400}`] : null,
        }));
        await state.saveLinks('j', links, [], now);
        await state.saveLinks(
          'j',
          [{ ...links[0]!, targetId: 'changed', managed: false, disabled: true }],
          [{ kind: 'user', sourceId: 's1' }],
          now,
        );
        await state.saveLinks('other-job', [links[2]!], [], now);
        const loaded = await state.loadLinks('j');
        assert.equal(loaded.size, 449);
        assert.deepEqual(loaded.get('user:s0'), {
          kind: 'user',
          sourceId: 's0',
          targetId: 'changed',
          managed: false,
          disabled: true,
          display: null,
          members: null,
        });
        assert.deepEqual(loaded.get('group:s405')?.members, ['s5']);
        assert.deepEqual(await state.countLinks('j'), { users: 399, groups: 50 });

        const esc = {
          kind: 'user' as const,
          sourceId: 's3',
          attempts: 1,
          firstFailedAt: now.toISOString(),
          nextAttemptAt: now.toISOString(),
          errorCode: 'EntryConflict',
          reason: 'r',
        };
        await state.saveEscrows('j', [esc], []);
        await state.saveEscrows('j', [{ ...esc, attempts: 2, reason: 'r2' }], []);
        assert.equal((await state.loadEscrows('j')).get('user:s3')?.attempts, 2);
        await state.saveEscrows('j', [], [{ kind: 'user', sourceId: 's3' }]);
        assert.equal((await state.loadEscrows('j')).size, 0);

        await state.startCycle({
          id: 'c1',
          job: 'j',
          kind: 'initial',
          state: 'running',
          startedAt: now.toISOString(),
          endedAt: null,
          totalUnits: 10,
          completedUnits: 0,
          stats: emptyStats(),
          error: null,
        });
        await state.updateCycle('c1', {
          completedUnits: 10,
          state: 'succeeded',
          endedAt: now.toISOString(),
          stats: { ...emptyStats(), created: 10 },
        });
        const [c] = await state.listCycles('j');
        assert.equal(c?.state, 'succeeded');
        assert.equal(c?.stats.created, 10);

        await state.insertLogs(Array.from({ length: 6 }, (_, i) => log(i)));
        assert.equal((await state.queryLogs({ job: 'j' })).length, 6);
        assert.deepEqual(
          (await state.queryLogs({ job: 'j', status: 'failure' })).map((l) => l.errorCode),
          ['EntryConflict'],
        );
        assert.equal((await state.queryLogs({ job: 'j', action: 'update' })).length, 3);
        assert.equal((await state.queryLogs({ job: 'j', cycleId: 'c1' })).length, 3);
        assert.deepEqual(
          (await state.queryLogs({ job: 'j', search: "o'brien_100%" })).map((l) => l.changeId),
          ['ch-2'],
        );
        assert.deepEqual(
          (await state.queryLogs({ job: 'j', search: 'user_1' })).map((l) => l.changeId),
          [],
        );
        assert.deepEqual(
          (await state.queryLogs({ job: 'j', search: 'TGT-5' })).map((l) => l.changeId),
          ['ch-5'],
        );
        assert.equal((await state.queryLogs({ job: 'j', since: '2025-01-04T00:00:00.000Z' })).length, 3);
        const one = (await state.queryLogs({ job: 'j', search: 'src-4' }))[0]!;
        assert.deepEqual(one.steps, log(4).steps);
        assert.deepEqual(one.modifiedProperties, log(4).modifiedProperties);
        assert.equal(one.durationMs, 13);
        assert.equal(await state.pruneLogs('j', new Date('2025-01-03T00:00:00Z')), 2);
        assert.equal((await state.queryLogs({ job: 'j' })).length, 4);
      } finally {
        await state.close();
        await db.drop();
      }
    });
  });
}
