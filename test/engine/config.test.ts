import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateJobConfig } from '../../src/engine/config.js';
import {
  buildCreateBody,
  compileMappings,
  diffForUpdate,
  mappingAttributes,
} from '../../src/engine/mapping.js';
import { attributePatch, memberPatch } from '../../src/engine/patch-body.js';

const base = {
  name: 'j',
  source: { type: 'file', path: 'd.json' },
  target: { tenantUrl: 'https://scim.example.com/scim/t/v2', token: 'x' },
};
const cfg = (extra: Record<string, unknown>) => validateJobConfig({ ...base, ...extra }, '/tmp');
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

describe('job configuration', () => {
  test('defaults follow Entra', () => {
    const c = cfg({});
    assert.equal(c.target.dialect, 'legacy');
    assert.equal(c.target.concurrency, 4);
    assert.equal(c.target.matchBatch, 50);
    assert.equal(c.scope, 'assigned');
    assert.equal(c.provisionGroups, true);
    assert.deepEqual(c.targetActions, { create: true, update: true, delete: true });
    assert.equal(c.skipOutOfScopeDeletions, false);
    assert.equal(c.deletionThreshold, 500);
    assert.equal(c.intervalMinutes, 40);
    assert.equal(c.logRetentionDays, 30);
    assert.equal(c.mappings.users.length, 18);
    assert.equal(c.mappings.users.find((m) => m.matching === 1)?.target, 'userName');
  });

  test('errors name the field', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [
        {
          mappings: {
            users: [
              { source: 'mail', target: 'userName', matching: 1 },
              {},
              {},
              { type: 'Direct', source: 'mail', target: 'emial' },
            ],
          },
        },
        /ConfigError: mappings\.users\[1\]\.target: is required/,
      ],
      [
        {
          mappings: {
            users: [
              { source: 'upn', target: 'userName', matching: 1 },
              { source: 'mail', target: 'emial' },
            ],
          },
        },
        /ConfigError: mappings\.users\[1\]\.target: unknown SCIM attribute 'emial'/,
      ],
      [
        {
          mappings: {
            users: [
              { source: 'upn', target: 'userName', matching: 1 },
              { source: 'x', target: 'emails.value' },
            ],
          },
        },
        /ConfigError: mappings\.users\[1\]\.target: 'emails' is multi-valued/,
      ],
      [
        {
          mappings: {
            users: [
              { source: 'upn', target: 'userName', matching: 1 },
              { type: 'Expression', expression: 'Join(" ", [a]', target: 'displayName' },
            ],
          },
        },
        /ConfigError: mappings\.users\[1\]\.expression: .*position/,
      ],
      [
        { mappings: { users: [{ source: 'upn', target: 'id', matching: 1 }] } },
        /ConfigError: mappings\.users\[0\]\.target: 'id' is read-only/,
      ],
      [
        { mappings: { users: [{ source: 'upn', target: 'userName' }] } },
        /ConfigError: mappings\.users: at least one mapping needs `matching`/,
      ],
      [{ target: { tenantUrl: 'ftp://x', token: 't' } }, /ConfigError: target\.tenantUrl: /],
      [{ target: { tenantUrl: 'https://x' } }, /ConfigError: target\.token: /],
      [
        { target: { tenantUrl: 'https://x', token: 't', dialect: 'modern' } },
        /ConfigError: target\.dialect: must be one of 'legacy', 'compliant'/,
      ],
      [
        { target: { tenantUrl: 'https://x', token: 't', matchBatch: 500 } },
        /ConfigError: target\.matchBatch: must be at most 100/,
      ],
      [{ scope: 'some' }, /ConfigError: scope: must be one of/],
      [{ deletionThreshold: -1 }, /ConfigError: deletionThreshold: /],
      [{ sourc: {} }, /ConfigError: sourc: unknown field/],
      [{ notifications: { to: [] } }, /ConfigError: notifications\.to: /],
      // One SMTP server per deployment (SMTP_*): a job file names only its recipients.
      [
        { notifications: { smtp: { host: 'h' }, to: ['a@b'] } },
        /ConfigError: notifications\.smtp: the SMTP server is the deployment's: set SMTP_HOST/,
      ],
      [
        { notifications: { from: 'x@y', to: ['a@b'] } },
        /ConfigError: notifications\.from: .*NOTIFY_EMAIL_FROM/,
      ],
      [
        { scopingFilters: { users: [[{ attribute: 'department', operator: 'LIKE', value: 'x' }]] } },
        /ConfigError: scopingFilters\.users: /,
      ],
    ];
    for (const [extra, re] of bad) assert.throws(() => cfg(extra), re, JSON.stringify(extra));
  });
});

describe('mapping, diff and PATCH bodies', () => {
  const users = compileMappings('User', cfg({}).mappings.users, 'mappings.users');
  const src = {
    id: 's1',
    kind: 'user' as const,
    attributes: {
      userPrincipalName: 'ada@contoso.com',
      mail: 'ada@contoso.com',
      givenName: 'Ada',
      surname: 'Lovelace',
      displayName: 'Ada Lovelace',
      mailNickname: 'ada',
      department: 'R&D',
      streetAddress: '1 Main St',
      city: 'London',
      country: 'GB',
      employeeId: 'E1',
      mobile: null,
    },
  };

  test('create body holds every non-null mapped value in canonical SCIM shape', () => {
    const { body } = buildCreateBody(users, mappingAttributes(src, false));
    assert.equal(body.userName, 'ada@contoso.com');
    assert.equal(body.active, true);
    assert.deepEqual(body.name, { formatted: 'Ada Lovelace', givenName: 'Ada', familyName: 'Lovelace' });
    assert.deepEqual(body.addresses, [
      {
        type: 'work',
        formatted: '1 Main St, London, GB',
        streetAddress: '1 Main St',
        locality: 'London',
        country: 'GB',
      },
    ]);
    assert.equal(body.phoneNumbers, undefined);
    assert.deepEqual(body[ENT], { department: 'R&D' });
    assert.deepEqual(body.schemas, ['urn:ietf:params:scim:schemas:core:2.0:User', ENT]);
  });

  test('diff returns only differing attributes; soft-deleted flips active', () => {
    const { body } = buildCreateBody(users, mappingAttributes(src, false));
    const target = JSON.parse(JSON.stringify(body)) as typeof body;
    target.active = 'True'; // a target that echoes Entra's string boolean is still equal
    assert.deepEqual(diffForUpdate(users, mappingAttributes(src, false), target), []);
    const changed = { ...src, attributes: { ...src.attributes, city: 'Paris' } };
    const diff = diffForUpdate(users, mappingAttributes(changed, true), target);
    assert.deepEqual(
      diff.map((c) => [c.op, c.path.text, c.oldValue, c.newValue]),
      [
        ['replace', 'active', 'True', false],
        ['replace', 'addresses[type eq "work"].formatted', '1 Main St, London, GB', '1 Main St, Paris, GB'],
        ['replace', 'addresses[type eq "work"].locality', 'London', 'Paris'],
      ],
    );
    assert.deepEqual(attributePatch('legacy', diff).Operations[0], {
      op: 'Replace',
      path: 'active',
      value: 'False',
    });
    const compliant = attributePatch('compliant', diff).Operations;
    assert.equal(compliant.length, 3);
    assert.deepEqual(compliant[2], { op: 'replace', path: 'active', value: false });
  });

  test('member PATCH bodies in both dialects', () => {
    assert.deepEqual(memberPatch('legacy', ['a'], ['b', 'c']).Operations, [
      { op: 'Add', path: 'members', value: [{ value: 'a' }] },
      { op: 'Remove', path: 'members', value: [{ value: 'b' }, { value: 'c' }] },
    ]);
    assert.deepEqual(memberPatch('compliant', [], ['b']).Operations, [
      { op: 'remove', path: 'members[value eq "b"]' },
    ]);
  });
});
