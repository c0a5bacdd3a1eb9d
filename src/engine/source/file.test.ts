import { deflateRawSync } from 'node:zlib';
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile, appendFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { SourceDelta, SourceObject } from '../types.js';
import { createSource, readDirectoryExport } from './index.js';
import type { DirectoryExport } from './file.js';

const FIXTURES = resolve(import.meta.dirname, '../../../test/fixtures/directory');

let tmp: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'joyn-file-source-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const ids = (objs: readonly { id: string }[]): string[] => objs.map((o) => o.id).sort();
const byId = (objs: readonly SourceObject[], id: string): SourceObject => {
  const o = objs.find((x) => x.id === id);
  assert.ok(o, `object ${id} is in the snapshot`);
  return o;
};

describe('file source: parsing', () => {
  test('JSON export: users, groups, members, assignments and typed attributes', async () => {
    const snap = await readDirectoryExport(join(FIXTURES, 'directory.json'));
    assert.deepEqual(ids(snap.users), ['u-adele', 'u-alex', 'u-diego', 'u-grady', 'u-megan', 'u-nestor']);
    assert.deepEqual(ids(snap.groups), ['g-dispatch', 'g-empty', 'g-field']);
    assert.deepEqual([...snap.assignments].sort(), ['g-field', 'u-adele', 'u-alex', 'u-diego', 'u-grady']);
    const adele = byId(snap.users, 'u-adele');
    assert.equal(adele.kind, 'user');
    assert.equal(adele.attributes.userPrincipalName, 'adele.vance@contoso.com');
    assert.deepEqual(adele.attributes.proxyAddresses, [
      'SMTP:adele.vance@contoso.com',
      'smtp:adele@contoso.com',
    ]);
    assert.equal(adele.attributes.id, undefined, 'id is not repeated as an attribute');
    assert.equal(adele.attributes.objectId, 'u-adele', 'objectId is derived from the id');
    assert.equal(byId(snap.users, 'u-diego').attributes.accountEnabled, false);
    assert.equal(byId(snap.users, 'u-grady').softDeleted, true);
    assert.equal(byId(snap.users, 'u-adele').softDeleted, false);
    assert.deepEqual(byId(snap.groups, 'g-field').members, ['u-adele', 'u-diego', 'g-dispatch']);
    assert.deepEqual(byId(snap.groups, 'g-empty').members, []);
    assert.equal(byId(snap.groups, 'g-field').kind, 'group');
  });

  test('CSV export parses to exactly the same snapshot as the JSON export', async () => {
    const json = await readDirectoryExport(join(FIXTURES, 'directory.json'));
    const csv = await readDirectoryExport(join(FIXTURES, 'csv'));
    assert.deepEqual(csv, json);
  });

  test('CSV cells: quoting, mixed-case booleans, empty = absent, leading zeros kept, name[] lists', async () => {
    const snap = await readDirectoryExport(join(FIXTURES, 'csv'));
    const adele = byId(snap.users, 'u-adele');
    assert.equal(adele.attributes.streetAddress, '1 Microsoft Way, Building 4');
    assert.equal(adele.attributes.accountEnabled, true); // "TRUE"
    assert.deepEqual(adele.attributes.proxyAddresses, [
      'SMTP:adele.vance@contoso.com',
      'smtp:adele@contoso.com',
    ]);
    assert.equal('proxyAddresses[]' in adele.attributes, false);
    const diego = byId(snap.users, 'u-diego');
    assert.equal(diego.attributes.displayName, 'Diego "The Fixer" Siciliani');
    assert.equal(diego.attributes.accountEnabled, false); // "False"
    assert.equal('mobile' in diego.attributes, false);
    assert.equal(byId(snap.users, 'u-nestor').attributes.postalCode, '02108');
    assert.equal(byId(snap.groups, 'g-field').attributes.description, 'Technicians, dispatch and leads');
  });

  test('a plain column holding a;b stays one string (lists need a [] header)', async () => {
    const dir = join(tmp, 'semicolon');
    await mkdir(dir);
    await writeFile(join(dir, 'users.csv'), 'id,notes,tags[]\nu1,a;b,x;y\n');
    const snap = await readDirectoryExport(dir);
    assert.equal(byId(snap.users, 'u1').attributes.notes, 'a;b');
    assert.deepEqual(byId(snap.users, 'u1').attributes.tags, ['x', 'y']);
    assert.deepEqual(snap.groups, []);
    assert.deepEqual(snap.assignments, []);
  });
});

describe('file source: errors name the file and the row', () => {
  const expectError = async (path: string, pattern: RegExp): Promise<void> => {
    await assert.rejects(readDirectoryExport(path), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.match(e.message, pattern);
      return true;
    });
  };
  const jsonFile = async (name: string, text: string): Promise<string> => {
    const p = join(tmp, name);
    await writeFile(p, text);
    return p;
  };
  const csvDir = async (name: string, files: Record<string, string>): Promise<string> => {
    const d = join(tmp, name);
    await mkdir(d, { recursive: true });
    for (const [f, text] of Object.entries(files)) await writeFile(join(d, f), text);
    return d;
  };

  test('unreadable file', async () => {
    await expectError(join(tmp, 'nope.json'), /nope\.json: cannot read the export \(ENOENT\)/);
  });

  test('bad JSON reports line and column', async () => {
    const p = await jsonFile('bad.json', '{\n  "users": [\n    { "id": "u1", }\n  ]\n}\n');
    await expectError(p, /bad\.json: invalid JSON at line 3, column 19: expected a property name/);
  });

  test('user without id', async () => {
    const p = await jsonFile(
      'noid.json',
      JSON.stringify({ users: [{ id: 'u1' }, { mail: 'x@example.com' }] }),
    );
    await expectError(p, /noid\.json: users\[1\]: the user has no id/);
  });

  test('duplicate ids, also across users and groups', async () => {
    const p = await jsonFile(
      'dup.json',
      JSON.stringify({ users: [{ id: 'u1' }, { id: 'u2' }, { id: 'u1' }] }),
    );
    await expectError(
      p,
      /dup\.json: users\[2\]: duplicate id 'u1' \(already used by the user at dup\.json: users\[0\]\)/,
    );
    const q = await jsonFile(
      'dup2.json',
      JSON.stringify({ users: [{ id: 'x' }], groups: [{ id: 'x', members: [] }] }),
    );
    await expectError(q, /groups\[0\]: duplicate id 'x'/);
  });

  test('unknown member and unknown assignment', async () => {
    const p = await jsonFile(
      'mem.json',
      JSON.stringify({ users: [{ id: 'u1' }], groups: [{ id: 'g', members: ['u1', 'u9'] }] }),
    );
    await expectError(p, /mem\.json: groups\[0\]\.members\[1\]: unknown member id 'u9'/);
    const q = await jsonFile(
      'asg.json',
      JSON.stringify({ users: [{ id: 'u1' }], assignments: ['u1', 'zz'] }),
    );
    await expectError(q, /asg\.json: assignments\[1\]: assignment of unknown id 'zz'/);
  });

  test('nested objects are rejected with their path', async () => {
    const p = await jsonFile('nested.json', JSON.stringify({ users: [{ id: 'u1', manager: { id: 'u2' } }] }));
    await expectError(p, /users\[0\]\.manager: nested objects are not supported/);
  });

  test('CSV: missing id cell, duplicate id, ragged row, unknown member, missing users.csv', async () => {
    await expectError(
      await csvDir('c1', { 'users.csv': 'id,mail\nu1,a@x\n,b@x\n' }),
      /users\.csv line 3: the user has no id/,
    );
    await expectError(
      await csvDir('c2', { 'users.csv': 'id,mail\nu1,a@x\nu2,b@x\nu1,c@x\n' }),
      /users\.csv line 4: duplicate id 'u1' \(already used by the user at users\.csv line 2\)/,
    );
    await expectError(await csvDir('c3', { 'users.csv': 'id,mail\nu1,a@x,extra\n' }), /users\.csv: .*line 2/);
    await expectError(
      await csvDir('c4', {
        'users.csv': 'id\nu1\n',
        'groups.csv': 'id,displayName\ng1,G\n',
        'memberships.csv': 'groupId,memberId\ng1,u1\ng1,u2\n',
      }),
      /memberships\.csv line 3: unknown member id 'u2'/,
    );
    await expectError(
      await csvDir('c5', { 'users.csv': 'mail\na@x\n' }),
      /users\.csv: the header has no 'id' column/,
    );
    await expectError(
      await csvDir('c6', { 'groups.csv': 'id\ng1\n' }),
      /users\.csv: cannot read the file \(ENOENT\)/,
    );
  });

  test('a watermark from another source is refused', async () => {
    const src = createSource({ type: 'file', path: join(FIXTURES, 'directory.json') });
    await assert.rejects(src.readChanges('not-a-watermark'), /watermark is not one this source wrote/);
  });
});

describe('file source: change detection', () => {
  const summary = (d: SourceDelta): { changed: string[]; deleted: string[] } => ({
    changed: d.changed.map((o) => `${o.kind}:${o.id}`).sort(),
    deleted: d.deleted.map((o) => `${o.kind}:${o.id}`).sort(),
  });

  test('JSON: edit 3 users, delete 2, add 1, unassign 1 → exactly those in the delta', async () => {
    const path = join(tmp, 'delta.json');
    await cp(join(FIXTURES, 'directory.json'), path);
    const source = createSource({ type: 'file', path: 'delta.json' }, { baseDir: tmp });
    assert.match(source.description, /delta\.json/);
    const initial = await source.readAll();
    assert.equal(initial.snapshot.users.length, 6);

    // Nothing changed → empty delta.
    const quiet = await source.readChanges(initial.watermark);
    assert.deepEqual(summary(quiet), { changed: [], deleted: [] });

    const dir = JSON.parse(await readFile(path, 'utf8')) as DirectoryExport;
    const user = (id: string): Record<string, unknown> =>
      dir.users.find((u) => u.id === id) as Record<string, unknown>;
    user('u-adele').department = 'Dispatch';
    user('u-alex').mobile = '+1 206 555 0199';
    user('u-megan').accountEnabled = false;
    dir.users = dir.users.filter((u) => u.id !== 'u-nestor' && u.id !== 'u-grady');
    dir.assignments = (dir.assignments ?? []).filter((a) => a !== 'u-grady' && a !== 'u-diego');
    dir.users.push({ id: 'u-new', userPrincipalName: 'new.person@contoso.com', accountEnabled: true });
    // Reordering users and group members is not a change.
    dir.users.reverse();
    const field = dir.groups?.find((g) => g.id === 'g-field');
    field?.members?.reverse();
    await writeFile(path, JSON.stringify(dir, null, 2));

    const delta = await source.readChanges(quiet.watermark);
    assert.deepEqual(summary(delta), {
      changed: ['user:u-adele', 'user:u-alex', 'user:u-diego', 'user:u-megan', 'user:u-new'],
      deleted: ['user:u-grady', 'user:u-nestor'],
    });
    // Changed objects carry their full current state; the snapshot is complete.
    assert.equal(byId(delta.changed, 'u-adele').attributes.department, 'Dispatch');
    assert.equal(byId(delta.changed, 'u-adele').attributes.mail, 'adele.vance@contoso.com');
    assert.equal(delta.snapshot.users.length, 5);
    assert.equal(delta.snapshot.assignments.includes('u-diego'), false);

    // The new watermark is the new baseline.
    const again = await source.readChanges(delta.watermark);
    assert.deepEqual(summary(again), { changed: [], deleted: [] });
    // The old watermark still describes the old state (watermarks are values, not cursors).
    assert.deepEqual(summary(await source.readChanges(quiet.watermark)), summary(delta));
    await source.close();
  });

  test('CSV: a membership row and a deleted group show up as the group changing / deleted', async () => {
    const dir = join(tmp, 'delta-csv');
    await cp(join(FIXTURES, 'csv'), dir, { recursive: true });
    const source = createSource({ type: 'file', path: dir });
    const { watermark } = await source.readAll();
    await appendFile(join(dir, 'memberships.csv'), 'g-dispatch,u-megan\n');
    await writeFile(
      join(dir, 'groups.csv'),
      'id,displayName,mailNickname,description\ng-field,Field Service Technicians,field-service,"Technicians, dispatch and leads"\ng-dispatch,Dispatchers,dispatch,\n',
    );
    const delta = await source.readChanges(watermark);
    assert.deepEqual(summary(delta), { changed: ['group:g-dispatch'], deleted: ['group:g-empty'] });
    assert.deepEqual(byId(delta.changed, 'g-dispatch').members, ['u-alex', 'u-megan']);
  });

  test('assigning a group reports the group; a large export gets a raw JSON watermark, older deflated ones still read', async () => {
    const path = join(tmp, 'big.json');
    const users = Array.from({ length: 500 }, (_, i) => ({ id: `user-${i}`, mail: `user${i}@contoso.com` }));
    await writeFile(
      path,
      JSON.stringify({ users, groups: [{ id: 'g1', members: ['user-1'] }], assignments: [] }),
    );
    const source = createSource({ type: 'file', path });
    const { watermark } = await source.readAll();
    // Above 2 KiB: raw JSON (no base64 or deflate pass over 100,000 hashes in an incremental cycle).
    assert.match(watermark, /^r1\.\{/);
    // What earlier versions wrote (deflated, base64url) is still read.
    const older = `z1.${deflateRawSync(Buffer.from(watermark.slice(3))).toString('base64url')}`;
    assert.deepEqual(summary(await source.readChanges(older)), { changed: [], deleted: [] });
    await writeFile(
      path,
      JSON.stringify({ users, groups: [{ id: 'g1', members: ['user-1'] }], assignments: ['g1'] }),
    );
    const delta = await source.readChanges(watermark);
    assert.deepEqual(summary(delta), { changed: ['group:g1'], deleted: [] });
  });
});
