/**
 * docs/engine.md is run, not only read (issue 16): the "Try it" commands exactly as the page shows them, against the
 * sample directory in docs/examples/engine/ and a server process started as `npm start` starts it; and the table of
 * the source attributes the default mapping reads is checked against the mapping itself.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_GROUP_MAPPINGS, DEFAULT_USER_MAPPINGS } from '../../src/engine/default-mapping.js';
import { compileMappings } from '../../src/engine/mapping.js';
import { SyncState } from '../../src/engine/state/store.js';
import { freshDatabase, type TestDatabase } from '../helpers/stores.js';
import { ROOT, runCli, spawnServer, waitReady, type ServerProcess } from '../ops/processes.js';

const DOC = readFileSync(join(ROOT, 'docs/engine.md'), 'utf8');

/** The lines of the walkthrough's sh block. */
function walkthrough(): string[] {
  const start = DOC.indexOf('<!-- walkthrough:start -->');
  const end = DOC.indexOf('<!-- walkthrough:end -->');
  assert.ok(start >= 0 && end > start, 'docs/engine.md has the walkthrough markers');
  const block = /```sh\n([\s\S]*?)```/.exec(DOC.slice(start, end));
  assert.ok(block, 'the walkthrough is one sh block');
  return block[1]!.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
}

/** A markdown table's rows after the heading line that starts with `header`, as cells. */
function table(header: string): string[][] {
  const lines = DOC.split('\n');
  const i = lines.findIndex((l) => l.startsWith(`| ${header}`));
  assert.ok(i >= 0, `a table headed '${header}'`);
  const rows: string[][] = [];
  for (const l of lines.slice(i + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows;
}
/** The `code` spans of a cell, leaving out what is said in parentheses. */
const codes = (cell: string): string[] =>
  [...cell.replace(/\([^)]*\)/g, '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

test('the table of source attributes the default mapping reads is the default mapping', () => {
  for (const [header, rt, list] of [
    ['SCIM target (users)', 'User', DEFAULT_USER_MAPPINGS],
    ['SCIM target (groups)', 'Group', DEFAULT_GROUP_MAPPINGS],
  ] as const) {
    const om = compileMappings(rt, list, 'mappings');
    const want = new Map<string, string[]>(
      om.attributes.map((m) => [
        m.path.text,
        m.config.type === 'Direct' ? [m.config.source!] : [...(m.expression?.attributes ?? [])],
      ]),
    );
    if (om.members) want.set('members', ['members']);
    const got = new Map(
      table(header).map(([target, sources]) => [codes(target!)[0]!, codes(sources!)] as const),
    );
    assert.deepEqual([...got.keys()], [...want.keys()], `${rt}: the targets, in order`);
    for (const [target, sources] of want) assert.deepEqual(got.get(target), sources, `${rt} ${target}`);
  }
});

describe('docs/engine.md "Try it", exactly as shown', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  before(async () => {
    db = await freshDatabase('sqlite');
    server = await spawnServer(db.url, { ENGINE_POLL_MS: '200' });
    await waitReady(server);
  });
  after(async () => {
    await server?.stop();
    await db?.drop();
  });

  test('every command succeeds, and the tenant holds what the page says', async () => {
    const env = { DATABASE_URL: db.url };
    const out: string[] = [];
    let token = '';
    for (const line of walkthrough()) {
      assert.match(line, /^npx joyn-scim /, 'each line is a joyn-scim command');
      // `npx joyn-scim` is the package's bin; the tests run the same CLI from source.
      const r = await runCli(line.replace(/^npx joyn-scim /, '').split(/\s+/), env);
      assert.equal(r.code, 0, `${line}\n${r.stdout}\n${r.stderr}`);
      out.push(r.stdout);
      token ||= /Secret Token: (\S+)/.exec(r.stdout)?.[1] ?? '';
    }
    const [, run, status, logs, provision] = out;
    assert.match(run!, /succeeded; 5 created, .* 0 failed, 2 out of scope \(job 'example-hr'\)/);
    assert.match(run!, /^progress: \[#+\] 100% \(10\/10 objects\)$/m);
    assert.match(status!, /^Linked: {9}3 users, 2 groups$/m);
    assert.match(status!, /^Next cycle: {5}.*\(in (39|40) min\)$/m);
    assert.match(logs!, /User John Doggett \(u-105\) \| reason: Out of scope: not assigned to the app/);
    assert.match(logs!, /User Monica Reyes \(u-104\) \| reason: Disabled or soft-deleted in the source/);
    assert.match(
      logs!,
      /User Carl Contractor \(u-103\) \| reason: Out of scope: scoping filter clause 'department NOT EQUALS "Contractors"' is false \(department is "Contractors"\)/,
    );
    assert.equal(provision!.split(`clause 'department NOT EQUALS "Contractors"'`).length - 1, 1);

    const tenantUrl = /Tenant URL: +(\S+)/.exec(out[0]!)![1]!;
    const get = async (path: string) =>
      (await (
        await fetch(`${tenantUrl}${path}`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as {
        totalResults: number;
        Resources: { userName?: string; displayName?: string }[];
      };
    const users = await get('/Users');
    assert.deepEqual(users.Resources.map((u) => u.userName).sort(), [
      'dana.scully@example.com',
      'fox.mulder@example.com',
      'walter.skinner@example.com',
    ]);
    assert.deepEqual((await get('/Groups')).Resources.map((g) => g.displayName).sort(), [
      'Dispatchers',
      'Technicians',
    ]);

    // The stored CSV job runs in the server and matches what the first job created: nothing twice.
    const state = await SyncState.open(`sqlite:${db.url}`);
    try {
      let last;
      for (let i = 0; i < 300 && !(last = (await state.listCycles('example-hr-csv', 1))[0])?.endedAt; i++)
        await sleep(100);
      assert.equal(last?.state, 'succeeded', JSON.stringify(last));
      assert.equal(last.stats.created, 0);
      assert.equal(last.stats.failed, 0);
      assert.match(String(last.instance), /^server /);
    } finally {
      await state.close();
    }
    assert.equal((await get('/Users')).totalResults, 3);
  });
});
