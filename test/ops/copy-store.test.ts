/**
 * `joyn-scim copy-store --from <url> --to <url>` (issue 4): the path for a customer who outgrows one machine.
 * An SQLite store is filled through HTTP exactly as Entra fills it, copied with the CLI, and a server on the
 * copy must answer every read identically and accept the old tokens. Then the copy is copied back into a
 * new SQLite file and compared again. With PostgreSQL configured the hop is SQLite → PostgreSQL → SQLite;
 * without it, SQLite → SQLite → SQLite (the same code path, both directions of the JSON/boolean conversion
 * are then only exercised on SQLite).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { emptyStats, SyncState } from '../../src/engine/state/store.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/stores.js';
import { cliOk, runCli, scimClient, type ScimClient } from './processes.js';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const JOYN = 'urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User';

interface TenantInfo {
  id: string;
  name: string;
  token: string;
  /** A second token that is revoked before the copy: it must stay revoked. */
  revokedToken: string;
}

async function withServer<T>(url: string, fn: (s: RunningServer) => Promise<T>): Promise<T> {
  const config = loadConfig({ NODE_ENV: 'test', PORT: '0', DATABASE_URL: url, RATE_LIMIT_PER_MINUTE: '0' });
  const s = await startServer(config, { createDefaultTenant: false });
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

const client = (s: RunningServer, t: TenantInfo, token = t.token) =>
  scimClient(`${s.url}/scim/${t.id}/v2`, token);

async function populate(scim: ScimClient, tag: string): Promise<void> {
  const ids: string[] = [];
  for (let i = 0; i < 12; i++) {
    const r = await scim('POST', '/Users', {
      schemas: [CORE_USER, ENTERPRISE, JOYN],
      userName: `${tag}.User${i}@Contoso.com`,
      externalId: `${tag}-ext-${i}`,
      active: i % 3 !== 0,
      displayName: `${tag} Üser ${i}`,
      name: { givenName: `Given${i}`, familyName: `Family ${tag}` },
      emails: [
        { type: 'work', value: `${tag}.user${i}@contoso.com`, primary: true },
        { type: 'home', value: `home${i}@example.org` },
      ],
      phoneNumbers: [{ type: 'mobile', value: `+1 555 01${String(i).padStart(2, '0')}` }],
      [ENTERPRISE]: {
        employeeNumber: String(1000 + i),
        department: i % 2 ? 'Field Service' : 'Dispatch',
        ...(ids[0] ? { manager: { value: ids[0] } } : {}),
      },
      [JOYN]: { xid: `XID-${tag}-${i}`, joynFieldId: `F${i}` },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids.push(r.body.id);
  }
  // Later writes: versions above 1, lastModified after created.
  for (const id of ids.slice(0, 4)) {
    const r = await scim('PATCH', `/Users/${id}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'Replace', path: 'title', value: 'Technician' }],
    });
    assert.equal(r.status, 204);
  }
  assert.equal((await scim('DELETE', `/Users/${ids[11]}`)).status, 204);
  // A failed write, so the activity log holds an error entry too.
  assert.equal(
    (await scim('POST', '/Users', { schemas: [CORE_USER], userName: `${tag}.user0@contoso.com` })).status,
    409,
  );
  const groups: string[] = [];
  for (let g = 0; g < 3; g++) {
    const r = await scim('POST', '/Groups', {
      schemas: [CORE_GROUP],
      displayName: `${tag} Group ${g}`,
      externalId: `${tag}-g${g}`,
      members: ids.slice(g * 3, g * 3 + 5).map((value) => ({ value })),
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    groups.push(r.body.id);
  }
  // A nested group and a legacy member add.
  const p = await scim('PATCH', `/Groups/${groups[0]}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'Add', path: 'members', value: [{ value: groups[2] }, { value: ids[10] }] }],
  });
  assert.equal(p.status, 204);
}

/** Everything a client can read about a tenant, with the server's own base URL taken out. */
async function snapshot(s: RunningServer, t: TenantInfo, env: Record<string, string>): Promise<unknown> {
  const scim = client(s, t);
  const users = await scim('GET', '/Users?count=1000&sortBy=id');
  const groups = await scim('GET', '/Groups?count=1000&sortBy=id');
  assert.equal(users.status, 200);
  assert.equal(groups.status, 200);
  const one = await scim('GET', `/Users/${users.body.Resources[0].id}`);
  const activity = (
    JSON.parse(await cliOk(['activity', t.id, '--json', '-n', '1000'], env)) as {
      seq?: number;
      status?: number;
    }[]
  )
    // verify() sends 401s to every copy, and 401s are recorded: they are not part of what was copied.
    .filter((e) => e.status !== 401)
    .map(({ seq: _seq, ...rest }) => rest);
  const tokens = (
    JSON.parse(await cliOk(['tokens', 'list', t.id, '--json'], env)) as { lastUsedAt?: unknown }[]
  ).map(
    // last use is written by the servers that read the store during this test: not part of the copy's identity.
    ({ lastUsedAt: _l, ...rest }) => rest,
  );
  // The tenant's directory events, in order, without their ids' store-local positions (cursors are per store).
  const events = (await cliOk(['events', 'tail', '--tenant', t.id, '--json'], env))
    .trim()
    .split('\n')
    // An event holds the resource as the server that wrote it rendered it, locations included.
    .map((l) => JSON.parse(l.replace(/http:\/\/127\.0\.0\.1:\d+/g, 'BASE')))
    .filter((e) => !('cursor' in e));
  const apiKeys = (
    JSON.parse(await cliOk(['api-keys', 'list', '--tenant', t.id, '--json'], env)) as {
      lastUsedAt?: unknown;
    }[]
  ).map(({ lastUsedAt: _l, ...rest }) => rest);
  return JSON.parse(
    JSON.stringify({
      users: users.body,
      groups: groups.body,
      one: one.body,
      activity,
      tokens,
      events,
      apiKeys,
    }).replaceAll(s.url, 'BASE'),
  );
}

/** The provisioning engine's state for one job, as the engine leaves it after a cycle with a failure. */
async function fillEngineState(url: string): Promise<void> {
  const st = await SyncState.open(url);
  try {
    const now = new Date('2026-11-20T10:00:00.000Z');
    await st.ensureJob('hr-to-joyn', now);
    await st.setWatermark('hr-to-joyn', '2026-11-20T09:59:00Z', now);
    await st.saveLinks(
      'hr-to-joyn',
      [
        {
          kind: 'user',
          sourceId: 'hr-1',
          targetId: 'u-1',
          managed: true,
          disabled: false,
          display: 'Ada',
          members: null,
        },
        {
          kind: 'user',
          sourceId: 'hr-2',
          targetId: 'u-2',
          managed: false,
          disabled: true,
          display: null,
          members: null,
        },
        {
          kind: 'group',
          sourceId: 'hr-g',
          targetId: 'g-1',
          managed: true,
          disabled: false,
          display: 'Techs',
          members: ['hr-1'],
        },
      ],
      [],
      now,
    );
    await st.saveEscrows(
      'hr-to-joyn',
      [
        {
          kind: 'user',
          sourceId: 'hr-3',
          attempts: 2,
          firstFailedAt: '2026-11-20T09:00:00.000Z',
          nextAttemptAt: '2026-11-20T11:00:00.000Z',
          errorCode: 'SystemForCrossDomainIdentityManagementServiceIncompatible',
          reason: 'HTTP 500 from the target',
        },
      ],
      [],
    );
    await st.startCycle({
      id: 'cycle-1',
      job: 'hr-to-joyn',
      kind: 'initial',
      state: 'entryLevelErrors',
      startedAt: '2026-11-20T09:00:00.000Z',
      endedAt: '2026-11-20T09:05:00.000Z',
      totalUnits: 4,
      completedUnits: 4,
      stats: { ...emptyStats(), imported: 4, created: 3, failed: 1 },
      error: null,
    });
    await st.insertLogs([
      {
        jobId: 'hr-to-joyn',
        cycleId: 'cycle-1',
        changeId: 'change-1',
        activityDateTime: '2026-11-20T09:01:00.000Z',
        action: 'create',
        status: 'success',
        steps: [],
        modifiedProperties: [{ displayName: 'userName', oldValue: null, newValue: 'ada@contoso.com' }],
        sourceIdentity: { id: 'hr-1', displayName: 'Ada', identityType: 'User' },
        targetIdentity: { id: 'u-1', displayName: 'ada@contoso.com', identityType: 'User' },
        durationMs: 12,
      },
    ]);
  } finally {
    await st.close();
  }
}

/** What the engine would read back for that job. */
async function engineState(url: string): Promise<unknown> {
  const st = await SyncState.open(url);
  try {
    const job = await st.getJob('hr-to-joyn');
    return {
      job: job && { name: job.name, status: job.status },
      watermark: await st.getWatermark('hr-to-joyn'),
      links: [...(await st.loadLinks('hr-to-joyn'))].sort(),
      escrows: [...(await st.loadEscrows('hr-to-joyn'))].sort(),
      cycles: await st.listCycles('hr-to-joyn'),
      logs: await st.queryLogs({ job: 'hr-to-joyn' }),
    };
  } finally {
    await st.close();
  }
}

for (const dialect of DIALECTS) {
  describe(`copy-store: sqlite → ${dialect} → sqlite`, () => {
    let source: TestDatabase;
    let middle: TestDatabase;
    let back: TestDatabase;
    const tenants: TenantInfo[] = [];
    let original: unknown[];
    let originalEngine: unknown;

    before(async () => {
      source = await freshDatabase('sqlite');
      middle = await freshDatabase(dialect);
      back = await freshDatabase('sqlite');
      for (const name of ['acme', 'globex']) {
        const env = { DATABASE_URL: source.url };
        const t = JSON.parse(await cliOk(['tenants', 'create', name, '--json'], env));
        const second = JSON.parse(await cliOk(['tokens', 'issue', name, '--json'], env));
        const listed: { id: string; hint: string }[] = JSON.parse(
          await cliOk(['tokens', 'list', name, '--json'], env),
        );
        const secondId = listed.find(
          (x) =>
            second.token.startsWith(x.hint.replace(/…$/, '')) &&
            !t.token.startsWith(x.hint.replace(/…$/, '')),
        );
        assert.ok(secondId, 'found the second token');
        await cliOk(['tokens', 'revoke', name, secondId.id], env);
        await cliOk(['api-keys', 'create', `${name}-app`, '--tenant', name, '--json'], env);
        tenants.push({ id: t.id, name, token: t.token, revokedToken: second.token });
      }
      await fillEngineState(source.url);
      originalEngine = await engineState(source.url);
      original = await withServer(source.url, async (s) => {
        for (const t of tenants) await populate(client(s, t), t.name);
        const out = [];
        for (const t of tenants) out.push(await snapshot(s, t, { DATABASE_URL: source.url }));
        return out;
      });
      // Every create, update, delete and membership change left its event: the copy has something to carry.
      for (const o of original as { events: { type: string }[] }[])
        assert.ok(o.events.filter((e) => e.type === 'group.member_added').length >= 15, 'events recorded');
    });

    after(async () => {
      await source?.drop();
      await middle?.drop();
      await back?.drop();
    });

    const verify = async (url: string, write = false) =>
      withServer(url, async (s) => {
        for (const [i, t] of tenants.entries()) {
          assert.deepEqual(await snapshot(s, t, { DATABASE_URL: url }), original[i]);
          const scim = client(s, t);
          // The derived lookup columns came along: Entra's lookups still find the users, ignoring case.
          const byName = await scim(
            'GET',
            `/Users?filter=${encodeURIComponent(`userName eq "${t.name.toUpperCase()}.USER3@CONTOSO.COM"`)}`,
          );
          assert.equal(byName.body.totalResults, 1);
          const byXid = await scim(
            'GET',
            `/Users?filter=${encodeURIComponent(`${JOYN}:xid eq "XID-${t.name}-5"`)}`,
          );
          assert.equal(byXid.body.totalResults, 1);
          const byEmail = await scim(
            'GET',
            `/Users?filter=${encodeURIComponent(`emails[type eq "work"].value eq "${t.name}.user7@contoso.com"`)}`,
          );
          assert.equal(byEmail.body.totalResults, 1);
          const inactive = await scim(
            'GET',
            `/Users?filter=${encodeURIComponent('active eq false')}&count=0`,
          );
          assert.equal(inactive.body.totalResults, 4);
          // The old token works, the revoked one stays revoked, and the other tenant's token sees nothing.
          assert.equal((await client(s, t, t.revokedToken)('GET', '/Users?count=1')).status, 401);
          const other = tenants[1 - i]!;
          assert.equal((await client(s, t, other.token)('GET', '/Users?count=1')).status, 401);
          // The copy is writable and uniqueness still holds (only on the last copy: a write adds activity).
          if (write) {
            const dup = await scim('POST', '/Users', {
              schemas: [CORE_USER],
              userName: `${t.name}.USER1@contoso.com`,
            });
            assert.equal(dup.status, 409);
          }
        }
      });

    test(`copies every tenant into ${dialect} and reads back identically, old tokens included`, async () => {
      const out = await cliOk(['copy-store', '--from', source.url, '--to', middle.url], {});
      assert.match(
        out,
        /copied 2 tenants, 22 users, 6 groups, \d+ memberships, 4 tokens, \d+ activity entries, \d+ audit records, \d+ events, 2 API keys, 8 provisioning-engine rows; counts verified/,
      );
      await verify(middle.url);
      // The engine's job resumes on the copy where it left off (links, escrows, watermark, history).
      assert.deepEqual(await engineState(middle.url), originalEngine);
    });

    test('copies back into a new SQLite file and reads back identically again', async () => {
      const out = await cliOk(['copy-store', '--from', middle.url, '--to', back.url], {});
      assert.match(out, /copied 2 tenants, 22 users, 6 groups.*2 API keys, 8 provisioning-engine rows/);
      await verify(back.url, true);
      assert.deepEqual(await engineState(back.url), originalEngine);
    });

    test('refuses to copy into a store that already holds tenants, and leaves it unchanged', async () => {
      const before = await withServer(middle.url, (s) =>
        snapshot(s, tenants[0]!, { DATABASE_URL: middle.url }),
      );
      const r = await runCli(['copy-store', '--from', source.url, '--to', middle.url], {});
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /already holds tenants/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      const afterwards = await withServer(middle.url, (s) =>
        snapshot(s, tenants[0]!, { DATABASE_URL: middle.url }),
      );
      assert.deepEqual(afterwards, before);
    });
  });
}
