import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { createSource, FileSource, LdapSource, validateSourceConfig } from './index.js';

const FIXTURES = resolve(import.meta.dirname, '../../../test/fixtures/directory');

describe('validateSourceConfig', () => {
  test('accepts a file config and an LDAP config, keeping only known fields', () => {
    assert.deepEqual(validateSourceConfig({ type: 'file', path: 'export.json' }), {
      type: 'file',
      path: 'export.json',
    });
    const ldap = validateSourceConfig({
      type: 'ldap',
      url: 'ldaps://dc1.contoso.com:636',
      bindDN: 'CN=svc-joyn,OU=Service,DC=contoso,DC=com',
      bindPasswordEnv: 'JOYN_LDAP_PASSWORD',
      baseDN: 'DC=contoso,DC=com',
      userFilter: '(&(objectCategory=person)(objectClass=user))',
      groupFilter: '(objectClass=group)',
      idAttribute: 'objectGUID',
      disabledFilter: '(userAccountControl:1.2.840.113556.1.4.803:=2)',
      assignmentGroupDNs: ['CN=Joyn Users,OU=Groups,DC=contoso,DC=com'],
      pageSize: 1000,
    });
    assert.equal(ldap.type, 'ldap');
    assert.equal(ldap.type === 'ldap' && ldap.idAttribute, 'objectGUID');
    assert.deepEqual(ldap.type === 'ldap' && ldap.assignmentGroupDNs, [
      'CN=Joyn Users,OU=Groups,DC=contoso,DC=com',
    ]);
  });

  const bad: [string, unknown, RegExp][] = [
    ['not an object', 'file', /source: must be an object/],
    ['unknown type', { type: 'ftp', path: 'x' }, /source\.type: must be "file" or "ldap" \(got "ftp"\)/],
    ['file without path', { type: 'file' }, /source\.path: is required/],
    ['file with empty path', { type: 'file', path: ' ' }, /source\.path: must be a non-empty string/],
    ['unknown key', { type: 'file', path: 'x', pth: 'y' }, /source\.pth: unknown setting for a file source/],
    ['ldap without url', { type: 'ldap', baseDN: 'dc=x' }, /source\.url: is required/],
    [
      'ldap bad url',
      { type: 'ldap', url: 'http://x', baseDN: 'dc=x' },
      /source\.url: must look like ldap:\/\//,
    ],
    ['ldap without baseDN', { type: 'ldap', url: 'ldap://x:389' }, /source\.baseDN: is required/],
    [
      'both passwords',
      {
        type: 'ldap',
        url: 'ldap://x',
        baseDN: 'dc=x',
        bindDN: 'cn=a',
        bindPassword: 'p',
        bindPasswordEnv: 'P',
      },
      /source\.bindPasswordEnv: set either/,
    ],
    [
      'password without DN',
      { type: 'ldap', url: 'ldap://x', baseDN: 'dc=x', bindPassword: 'p' },
      /source\.bindDN: is required when a bind password/,
    ],
    [
      'unbalanced filter',
      { type: 'ldap', url: 'ldap://x', baseDN: 'dc=x', userFilter: '(&(objectClass=person)' },
      /source\.userFilter: unbalanced parentheses/,
    ],
    [
      'assignment not a DN',
      { type: 'ldap', url: 'ldap://x', baseDN: 'dc=x', assignmentGroupDNs: ['joyn-users'] },
      /source\.assignmentGroupDNs\[0\]: must be a DN/,
    ],
    [
      'bad pageSize',
      { type: 'ldap', url: 'ldap://x', baseDN: 'dc=x', pageSize: 0 },
      /source\.pageSize: must be an integer from 1/,
    ],
  ];
  for (const [name, value, pattern] of bad) {
    test(`rejects: ${name}`, () => {
      assert.throws(() => validateSourceConfig(value), pattern);
    });
  }

  test('an error never echoes the bind password', () => {
    assert.throws(
      () =>
        validateSourceConfig({
          type: 'ldap',
          url: 'ldap://x',
          baseDN: 'dc=x',
          bindPassword: 'TopSecret!',
          extra: 1,
        }),
      (e: unknown) => e instanceof Error && !e.message.includes('TopSecret!'),
    );
  });
});

describe('createSource', () => {
  test('builds the connector for the type; descriptions carry no password', async () => {
    const file = createSource({ type: 'file', path: 'directory.json' }, { baseDir: FIXTURES });
    assert.ok(file instanceof FileSource);
    const { snapshot } = await file.readAll();
    assert.equal(snapshot.users.length, 6);
    const ldap = createSource({
      type: 'ldap',
      url: 'ldap://127.0.0.1:1',
      baseDN: 'dc=x',
      bindDN: 'cn=admin,dc=x',
      bindPassword: 'TopSecret!',
    });
    assert.ok(ldap instanceof LdapSource);
    assert.equal(ldap.description, 'ldap ldap://127.0.0.1:1 dc=x as cn=admin,dc=x');
  });
});
