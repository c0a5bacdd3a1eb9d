// The checker against deliberately broken SCIM servers (issue 5, "What must show"): each flaw
// must be reported by the right check with the right explanation, and a correct server passes all.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runChecks, type CheckReport, type CheckResult } from '../../src/checker/index.js';
import { startFakeScim, type Flaws } from './fake-scim.js';

async function runAgainst(flaws: Flaws): Promise<CheckReport> {
  const fake = await startFakeScim({ flaws });
  try {
    const report = await runChecks({ tenantUrl: fake.tenantUrl, token: fake.token });
    // Whatever failed, the run deletes everything it created.
    assert.equal(fake.users.size, 0, 'users left behind');
    assert.equal(fake.groups.size, 0, 'groups left behind');
    return report;
  } finally {
    await fake.close();
  }
}

function result(report: CheckReport, id: string): CheckResult {
  const r = report.results.find((x) => x.id === id);
  assert.ok(r, `no result for ${id}`);
  return r;
}

describe('a correct server', () => {
  let report: CheckReport;
  before(async () => {
    report = await runAgainst({});
  });

  test('passes every check, none skipped', () => {
    const notPassed = report.results
      .filter((r) => r.status !== 'pass')
      .map((r) => `${r.id}: ${r.explanation}`);
    assert.deepEqual(notPassed, []);
    assert.equal(report.failed, 0);
    assert.equal(report.skipped, 0);
    assert.equal(report.passed, report.results.length);
    assert.ok(report.results.length > 60, `only ${report.results.length} checks ran`);
  });

  test('covers every group and both dialects', () => {
    const groups = new Set(report.results.map((r) => r.group));
    assert.deepEqual([...groups].sort(), ['connection', 'discovery', 'groups', 'protocol', 'users']);
    assert.ok(report.results.some((r) => r.id.startsWith('users.legacy.')));
    assert.ok(report.results.some((r) => r.id.startsWith('users.compliant.')));
    for (const attr of [
      'userName',
      'xid',
      'joynFieldId',
      'department',
      'phoneNumbers-mobile',
      'addresses-work-postalCode',
    ])
      assert.ok(
        report.results.some((r) => r.id === `users.attr.${attr}`),
        `no round trip for ${attr}`,
      );
  });

  test('records each request and response, with the token redacted', () => {
    const r = result(report, 'groups.legacy.remove-members');
    const patch = r.exchanges?.find((e) => e.request.method === 'PATCH');
    assert.ok(patch, 'the PATCH was not recorded');
    assert.deepEqual(patch.request.body, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        {
          op: 'Remove',
          path: 'members',
          value: [
            {
              $ref: null,
              value: (patch.request.body as { Operations: { value: { value: string }[] }[] }).Operations[0]!
                .value[0]!.value,
            },
          ],
        },
      ],
    });
    assert.equal(patch.request.headers['Content-Type'], 'application/scim+json');
    assert.equal(patch.request.headers.Authorization, 'Bearer <redacted>');
    assert.equal(patch.response?.status, 204);
    assert.equal(report.cleanup.leftovers.length, 0);
    assert.ok(report.cleanup.deleted >= 10);
  });
});

describe('flawed servers', () => {
  test('(1) emptying a group on a legacy Remove is reported as silently removing every other member', async () => {
    const report = await runAgainst({ emptyGroupOnLegacyRemove: true });
    const r = result(report, 'groups.legacy.remove-members');
    assert.equal(r.status, 'fail');
    assert.match(r.explanation, /^Entra would silently remove every other member of this group from the app/);
    // The evidence is the GET that shows the emptied group.
    assert.equal(r.request?.method, 'GET');
    assert.deepEqual((r.response?.body as { members: unknown[] }).members, []);
    // The compliant removal is not affected by this flaw.
    assert.equal(result(report, 'groups.compliant.remove-member').status, 'pass');
    assert.equal(report.failed, 1);
  });

  test('(2) a 404 to a query with no match is reported as quarantine', async () => {
    const report = await runAgainst({ notFoundOnEmptyQuery: true });
    const r = result(report, 'connection.users-query');
    assert.equal(r.status, 'fail');
    assert.match(r.explanation, /^Entra would quarantine the job: a query answered 404/);
    assert.equal(r.response?.status, 404);
    assert.equal(result(report, 'connection.groups-query').status, 'fail');
    // Queries that do find something still pass.
    assert.equal(result(report, 'users.match.username').status, 'pass');
  });

  test('(3) "active": "False" returned as a string is reported as a re-PATCH loop', async () => {
    const report = await runAgainst({ activeNotCoerced: true });
    const r = result(report, 'users.legacy.disable');
    assert.equal(r.status, 'fail');
    assert.match(
      r.explanation,
      /JSON booleans: the GET returned "active": "False" \(a string\).*re-PATCH active on every cycle/,
    );
    assert.equal((r.response?.body as { active: unknown }).active, 'False');
    // The compliant dialect sends a JSON boolean, which this server stores correctly.
    assert.equal(result(report, 'users.compliant.disable').status, 'pass');
  });

  test('(4) dropping "name.givenName" from a path-less replace is reported with the attribute', async () => {
    const report = await runAgainst({ dropPathlessDottedKeys: true });
    const r = result(report, 'users.compliant.replace-several');
    assert.equal(r.status, 'fail');
    assert.match(r.explanation, /^Entra would re-PATCH these attributes on every cycle/);
    assert.match(r.explanation, /name\.givenName \(sent "Kkom", got "Jane"\)/);
    // The legacy dialect sends one op per attribute with a path, which this server handles.
    assert.equal(result(report, 'users.legacy.replace-several').status, 'pass');
  });

  test('a server that accepts any token fails the bad-token probe', async () => {
    const report = await runAgainst({ acceptAnyToken: true });
    const r = result(report, 'connection.bad-token');
    assert.equal(r.status, 'fail');
    assert.match(r.explanation, /anyone could read and change this tenant/);
  });
});
