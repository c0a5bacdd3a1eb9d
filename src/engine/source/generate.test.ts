import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDirectory, readDirectoryExport, writeDirectoryCsv, writeDirectoryJson } from './index.js';

let tmp: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'joyn-generate-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('generateDirectory', () => {
  test('is deterministic for a seed and differs between seeds', () => {
    const a = generateDirectory({ users: 200, groups: 10, seed: 42 });
    const b = generateDirectory({ users: 200, groups: 10, seed: 42 });
    const c = generateDirectory({ users: 200, groups: 10, seed: 43 });
    assert.deepEqual(a, b);
    assert.equal(JSON.stringify(a), JSON.stringify(b));
    assert.notDeepEqual(
      a.users.map((u) => u.id),
      c.users.map((u) => u.id),
    );
  });

  test('counts, unique ids and UPNs, realistic attributes, members refer to real ids', () => {
    const dir = generateDirectory({ users: 1000, groups: 40, seed: 7 });
    assert.equal(dir.users.length, 1000);
    assert.equal(dir.groups?.length, 40);
    const ids = new Set([...dir.users.map((u) => u.id), ...(dir.groups ?? []).map((g) => g.id)]);
    assert.equal(ids.size, 1040, 'ids are unique across users and groups');
    assert.equal(new Set(dir.users.map((u) => u.userPrincipalName)).size, 1000, 'UPNs are unique');
    for (const u of dir.users) {
      assert.match(u.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.match(String(u.mobile), /^\+1 \d{3} 555 01\d{2}$/);
      assert.equal(u.mail, u.userPrincipalName);
      assert.equal(u.userPrincipalName, `${String(u.mailNickname)}@contoso.com`);
      assert.equal(u.displayName, `${String(u.givenName)} ${String(u.surname)}`);
      assert.equal(typeof u.accountEnabled, 'boolean');
      for (const a of [
        'department',
        'streetAddress',
        'city',
        'state',
        'postalCode',
        'country',
        'employeeId',
      ]) {
        assert.equal(typeof u[a], 'string', `${u.id}.${a}`);
      }
    }
    assert.equal(new Set(dir.users.map((u) => u.employeeId)).size, 1000);
    const disabled = dir.users.filter((u) => u.accountEnabled === false).length;
    assert.ok(disabled > 0 && disabled < 200, `some but few users are disabled (${disabled})`);
    for (const g of dir.groups ?? []) {
      assert.ok((g.members ?? []).length > 0);
      for (const m of g.members ?? []) assert.ok(ids.has(m) && m !== g.id);
    }
    for (const a of dir.assignments ?? []) assert.ok(ids.has(a));
    const assignedUsers = dir.users.filter((u) => dir.assignments?.includes(u.id)).length;
    assert.ok(
      assignedUsers > 700 && assignedUsers < 900,
      `default assignedFraction 0.8 (${assignedUsers}/1000)`,
    );
  });

  test('assignedFraction 0 and 1', () => {
    assert.deepEqual(generateDirectory({ users: 50, groups: 5, assignedFraction: 0 }).assignments, []);
    const all = generateDirectory({ users: 50, groups: 5, assignedFraction: 1 });
    assert.equal(all.assignments?.length, 55);
  });

  test('rejects bad options', () => {
    assert.throws(() => generateDirectory({ users: -1, groups: 0 }), /users must be a non-negative integer/);
    assert.throws(() => generateDirectory({ users: 1, groups: 0, assignedFraction: 2 }), /assignedFraction/);
  });

  test('written as JSON and as CSV, both read back to the same snapshot', async () => {
    const dir = generateDirectory({ users: 300, groups: 15, seed: 3 });
    await writeDirectoryJson(join(tmp, 'dir.json'), dir);
    await writeDirectoryCsv(join(tmp, 'csv'), dir);
    const fromJson = await readDirectoryExport(join(tmp, 'dir.json'));
    const fromCsv = await readDirectoryExport(join(tmp, 'csv'));
    assert.deepEqual(fromCsv, fromJson);
    assert.equal(fromJson.users.length, 300);
    assert.deepEqual(fromJson.assignments, dir.assignments);
  });
});
