import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { resolve, join } from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { describeWithSlapd, startSlapd, type SlapdHandle } from '../../../test/helpers/slapd.js';
import type { SourceDelta, SourceObject, SourceSnapshot } from '../types.js';
import {
  createSource,
  formatGuid,
  generateDirectory,
  loadIntoLdap,
  normalizeDn,
  parseDirectoryJson,
  parseGeneralizedTime,
  readDirectoryExport,
  validateSourceConfig,
} from './index.js';
import type { DirectoryExport } from './file.js';
import { readFile } from 'node:fs/promises';

const FIXTURES = resolve(import.meta.dirname, '../../../test/fixtures/directory');

const summary = (d: SourceDelta): { changed: string[]; deleted: string[] } => ({
  changed: d.changed.map((o) => `${o.kind}:${o.id}`).sort(),
  deleted: d.deleted.map((o) => `${o.kind}:${o.id}`).sort(),
});
const byId = (objs: readonly SourceObject[], id: string): SourceObject => {
  const o = objs.find((x) => x.id === id);
  assert.ok(o, `object ${id} is present`);
  return o;
};

describe('ldap helpers', () => {
  test('formatGuid prints AD objectGUID bytes in Windows order', () => {
    const bytes = Buffer.from('33221100554477668899aabbccddeeff', 'hex');
    assert.equal(formatGuid(bytes), '00112233-4455-6677-8899-aabbccddeeff');
    assert.equal(formatGuid(Buffer.from([1, 2, 3])), 'AQID'); // not a GUID → base64
  });

  test('parseGeneralizedTime orders OpenLDAP and AD forms, honours offsets and fractions', () => {
    assert.equal(parseGeneralizedTime('20240102030405Z'), Date.UTC(2024, 0, 2, 3, 4, 5));
    assert.equal(parseGeneralizedTime('20240102030405.0Z'), Date.UTC(2024, 0, 2, 3, 4, 5));
    assert.equal(parseGeneralizedTime('20240102050405+0200'), Date.UTC(2024, 0, 2, 3, 4, 5));
    assert.ok(parseGeneralizedTime('20240102030405.5Z') > parseGeneralizedTime('20240102030405Z'));
    assert.ok(Number.isNaN(parseGeneralizedTime('yesterday')));
  });

  test('normalizeDn ignores case and spaces around separators, keeps escapes', () => {
    assert.equal(
      normalizeDn('CN=Alex Wilber, OU=People,DC=Example,dc=org'),
      normalizeDn('cn=alex wilber,ou=people,dc=example,dc=org'),
    );
    assert.notEqual(normalizeDn('cn=a\\,b,dc=x'), normalizeDn('cn=a,b,dc=x'));
  });
});

describeWithSlapd('ldap source against a real slapd', () => {
  // A fresh server per test keeps the tests independent (slapd starts in well under a second).
  let slapd: SlapdHandle;
  let admin: Client;
  beforeEach(async () => {
    slapd = await startSlapd();
    admin = new Client({ url: slapd.url });
    await admin.bind(slapd.bindDN, slapd.bindPassword);
  });
  afterEach(async () => {
    await admin?.unbind().catch(() => undefined);
    await slapd?.stop();
  });

  const people = (uid: string): string => `uid=${uid},ou=people,${slapd.suffix}`;
  const group = (cn: string): string => `cn=${cn},ou=groups,${slapd.suffix}`;
  const entryUUID = async (dn: string): Promise<string> => {
    const r = await admin.search(dn, { scope: 'base', attributes: ['entryUUID'] });
    const v = r.searchEntries[0]?.entryUUID;
    assert.equal(typeof v, 'string');
    return v as string;
  };
  const addUser = async (
    uid: string,
    given: string,
    sn: string,
    extra: Record<string, string> = {},
  ): Promise<void> => {
    await admin.add(people(uid), {
      objectClass: ['inetOrgPerson'],
      uid,
      cn: `${given} ${sn}`,
      givenName: given,
      sn,
      mail: `${uid}@contoso.com`,
      ...extra,
    });
  };

  test('readAll, then modify two entries and delete one → readChanges reports exactly them', async () => {
    await addUser('adele', 'Adele', 'Vance', {
      l: 'Redmond',
      departmentNumber: 'Field Service',
      userPassword: 'hunter2',
    });
    await addUser('alex', 'Alex', 'Wilber');
    await addUser('diego', 'Diego', 'Siciliani', { pwdAccountLockedTime: '000001010000Z' });
    await addUser('megan', 'Megan', 'Bowen');
    await addUser('nestor', 'Nestor', 'Wilke');
    await admin.add(group('dispatch'), {
      objectClass: ['groupOfNames'],
      cn: 'dispatch',
      member: [people('alex')],
    });
    await admin.add(group('field'), {
      objectClass: ['groupOfNames'],
      cn: 'field',
      description: 'Field staff',
      // a nested group, a user written in another case, and a reference to nothing the source reads
      member: [
        people('adele'),
        'UID=Diego, OU=People,' + slapd.suffix,
        group('dispatch'),
        `cn=ghost,${slapd.suffix}`,
      ],
    });
    await admin.add(group('joyn-users'), {
      objectClass: ['groupOfNames'],
      cn: 'joyn-users',
      member: [people('adele'), people('alex'), group('field')],
    });

    const id = {
      adele: await entryUUID(people('adele')),
      alex: await entryUUID(people('alex')),
      diego: await entryUUID(people('diego')),
      megan: await entryUUID(people('megan')),
      nestor: await entryUUID(people('nestor')),
      dispatch: await entryUUID(group('dispatch')),
      field: await entryUUID(group('field')),
      joyn: await entryUUID(group('joyn-users')),
    };

    const config = validateSourceConfig({
      type: 'ldap',
      url: slapd.url,
      bindDN: slapd.bindDN,
      bindPasswordEnv: 'JOYN_TEST_LDAP_PASSWORD',
      baseDN: slapd.suffix,
      assignmentGroupDNs: [group('joyn-users')],
      pageSize: 2, // several pages even with this small directory
    });
    const source = createSource(config, { env: { JOYN_TEST_LDAP_PASSWORD: slapd.bindPassword } });
    assert.equal(source.description.includes(slapd.bindPassword), false);

    const { snapshot, watermark } = await source.readAll();
    assert.deepEqual(
      snapshot.users.map((u) => u.id).sort(),
      [id.adele, id.alex, id.diego, id.megan, id.nestor].sort(),
    );
    assert.deepEqual(snapshot.groups.map((g) => g.id).sort(), [id.dispatch, id.field, id.joyn].sort());
    // Members resolved from DNs to ids (case/space-insensitively); the ghost reference is dropped.
    assert.deepEqual(
      [...(byId(snapshot.groups, id.field).members ?? [])].sort(),
      [id.adele, id.diego, id.dispatch].sort(),
    );
    assert.deepEqual(byId(snapshot.groups, id.dispatch).members, [id.alex]);
    // Assignments: the assignment group, and its direct members (the nested group's members are not expanded).
    assert.deepEqual([...snapshot.assignments].sort(), [id.joyn, id.adele, id.alex, id.field].sort());

    const adele = byId(snapshot.users, id.adele).attributes;
    assert.equal(adele.userPrincipalName, 'adele@contoso.com');
    assert.equal(adele.givenName, 'Adele');
    assert.equal(adele.surname, 'Vance');
    assert.equal(adele.sn, 'Vance');
    assert.equal(adele.mailNickname, 'adele');
    assert.equal(adele.displayName, 'Adele Vance');
    assert.equal(adele.city, 'Redmond');
    assert.equal(adele.department, 'Field Service');
    assert.equal(adele.accountEnabled, true);
    assert.equal(adele.entryUUID, id.adele);
    assert.equal(typeof adele.modifyTimestamp, 'string');
    assert.equal(adele.userPassword, undefined, 'secrets are not read into the snapshot');
    assert.equal(byId(snapshot.users, id.diego).attributes.accountEnabled, false); // ppolicy lock
    assert.equal(byId(snapshot.groups, id.field).attributes.displayName, 'field');
    assert.equal(byId(snapshot.groups, id.field).attributes.description, 'Field staff');

    // Nothing changed → empty delta.
    const quiet = await source.readChanges(watermark);
    assert.deepEqual(summary(quiet), { changed: [], deleted: [] });

    // Modify two entries (a user attribute; a group's membership) and delete one user.
    await admin.modify(
      people('megan'),
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'mobile', values: ['+1 303 555 0105'] }),
      }),
    );
    await admin.modify(
      group('dispatch'),
      new Change({
        operation: 'add',
        modification: new Attribute({ type: 'member', values: [people('megan')] }),
      }),
    );
    await admin.del(people('nestor'));
    const delta = await source.readChanges(quiet.watermark);
    assert.deepEqual(summary(delta), {
      changed: [`group:${id.dispatch}`, `user:${id.megan}`].sort(),
      deleted: [`user:${id.nestor}`],
    });
    assert.equal(byId(delta.changed, id.megan).attributes.mobile, '+1 303 555 0105');
    assert.deepEqual(
      [...(byId(delta.changed, id.dispatch).members ?? [])].sort(),
      [id.alex, id.megan].sort(),
    );
    assert.equal(delta.snapshot.users.length, 4);
    assert.deepEqual(summary(await source.readChanges(delta.watermark)), { changed: [], deleted: [] });

    // Deleting a member: OpenLDAP without the refint overlay leaves the DN in the groups, so the groups' own
    // modifyTimestamp does not move, yet their resolved members change, and the source reports them.
    await admin.del(people('alex'));
    const afterDelete = await source.readChanges(delta.watermark);
    assert.deepEqual(summary(afterDelete), {
      changed: [`group:${id.dispatch}`, `group:${id.joyn}`].sort(),
      deleted: [`user:${id.alex}`],
    });
    assert.deepEqual(byId(afterDelete.changed, id.dispatch).members, [id.megan]);

    // Let the clock pass the watermark's second so the modifyTimestamp comparison (not the same-second hash) decides.
    await new Promise((r) => setTimeout(r, 1100));
    // Unassign adele: the assignment group changes, and adele's assignment status changes with it.
    await admin.modify(
      group('joyn-users'),
      new Change({
        operation: 'delete',
        modification: new Attribute({ type: 'member', values: [people('adele')] }),
      }),
    );
    // Lock megan (disabled) — a change of her own entry.
    await admin.modify(
      people('megan'),
      new Change({
        operation: 'add',
        modification: new Attribute({ type: 'pwdAccountLockedTime', values: ['000001010000Z'] }),
      }),
    );
    const later = await source.readChanges(afterDelete.watermark);
    assert.deepEqual(summary(later), {
      changed: [`group:${id.joyn}`, `user:${id.adele}`, `user:${id.megan}`].sort(),
      deleted: [],
    });
    assert.equal(byId(later.changed, id.megan).attributes.accountEnabled, false);
    assert.equal(later.snapshot.assignments.includes(id.adele), false);
    assert.deepEqual(summary(await source.readChanges(later.watermark)), { changed: [], deleted: [] });
    await source.close();
  });

  const roundTrip = async (dir: DirectoryExport, file: SourceSnapshot): Promise<void> => {
    const loaded = await loadIntoLdap(
      { url: slapd.url, bindDN: slapd.bindDN, bindPassword: slapd.bindPassword },
      dir,
      { baseDN: slapd.suffix },
    );
    const source = createSource({
      ...loaded.sourceConfig,
      url: slapd.url,
      bindDN: slapd.bindDN,
      bindPassword: slapd.bindPassword,
    });
    const { snapshot } = await source.readAll();
    assert.deepEqual(snapshot.users.map((u) => u.id).sort(), file.users.map((u) => u.id).sort());
    assert.deepEqual(snapshot.groups.map((g) => g.id).sort(), file.groups.map((g) => g.id).sort());
    assert.deepEqual([...snapshot.assignments].sort(), [...file.assignments].sort());
    for (const g of file.groups)
      assert.deepEqual(
        [...(byId(snapshot.groups, g.id).members ?? [])].sort(),
        [...(g.members ?? [])].sort(),
        g.id,
      );
    const compared = [
      'userPrincipalName',
      'mail',
      'givenName',
      'surname',
      'displayName',
      'mailNickname',
      'department',
      'mobile',
      'streetAddress',
      'city',
      'state',
      'postalCode',
      'country',
      'employeeId',
    ];
    for (const u of file.users) {
      const l = byId(snapshot.users, u.id).attributes;
      for (const a of compared) assert.equal(l[a], u.attributes[a], `${u.id}.${a}`);
      // LDAP cannot say "soft-deleted": such users are written locked, so they read back as disabled.
      assert.equal(
        l.accountEnabled,
        u.attributes.accountEnabled === true && u.softDeleted !== true,
        `${u.id}.accountEnabled`,
      );
    }
    for (const g of file.groups)
      assert.equal(byId(snapshot.groups, g.id).attributes.displayName, g.attributes.displayName);
  };

  test('loadIntoLdap + the suggested config read back the fixture export with the same ids', async () => {
    const dir = JSON.parse(await readFile(join(FIXTURES, 'directory.json'), 'utf8')) as DirectoryExport;
    await roundTrip(dir, await readDirectoryExport(join(FIXTURES, 'directory.json')));
  });

  test('a generated directory round-trips through LDAP (paged reads, nested groups)', async () => {
    const dir = generateDirectory({ users: 400, groups: 20, seed: 11 });
    await roundTrip(dir, parseDirectoryJson(dir, 'generated'));
  });

  test('a wrong password fails with a message that names the bind DN but not the password', async () => {
    const source = createSource({
      type: 'ldap',
      url: slapd.url,
      bindDN: slapd.bindDN,
      bindPassword: 'S3cret-wrong-pw',
      baseDN: slapd.suffix,
    });
    await assert.rejects(source.readAll(), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.match(e.message, /bind failed/);
      assert.ok(e.message.includes(slapd.bindDN));
      assert.equal(e.message.includes('S3cret-wrong-pw'), false);
      return true;
    });
    const noEnv = createSource(
      {
        type: 'ldap',
        url: slapd.url,
        bindDN: slapd.bindDN,
        bindPasswordEnv: 'JOYN_NOT_SET_ANYWHERE',
        baseDN: slapd.suffix,
      },
      { env: {} },
    );
    await assert.rejects(noEnv.readAll(), /JOYN_NOT_SET_ANYWHERE \(bindPasswordEnv\) is not set/);
  });
});
