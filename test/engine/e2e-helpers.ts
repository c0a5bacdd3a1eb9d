/** Reading a tenant back over SCIM and computing the expected mapped values independently of the engine. */
import assert from 'node:assert/strict';
import type { ProvisioningAction } from '../../src/engine/log-types.js';
import type { DirectoryExport, DirectoryExportUser } from '../../src/engine/source/index.js';
import type { TestJob } from './setup.js';

export const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const JOYN = 'urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User';

export type Resource = Record<string, unknown> & { id: string };

export async function scimGet(
  tenantUrl: string,
  token: string,
  path: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${tenantUrl}${path}`, { headers: { Authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Every resource of an endpoint, paged with startIndex/count (RFC 7644 §3.4.2.4). */
export async function listAll(
  tenantUrl: string,
  token: string,
  endpoint: 'Users' | 'Groups',
): Promise<Resource[]> {
  const out: Resource[] = [];
  let start = 1;
  for (;;) {
    const { status, body } = await scimGet(
      tenantUrl,
      token,
      `/${endpoint}?startIndex=${start}&count=500${endpoint === 'Groups' ? '&excludedAttributes=members' : ''}`,
    );
    if (status !== 200) throw new Error(`GET /${endpoint} → ${status}`);
    const page = (body.Resources as Resource[] | undefined) ?? [];
    out.push(...page);
    const total = Number(body.totalResults);
    if (page.length === 0 || out.length >= total) return out;
    start += page.length;
  }
}

/** Users the engine must provision: assigned directly or a direct member of an assigned group, and enabled. */
export function expectedUsers(d: DirectoryExport): DirectoryExportUser[] {
  const assigned = new Set(d.assignments ?? []);
  const groupIds = new Set((d.groups ?? []).map((g) => g.id));
  const inScope = new Set<string>();
  for (const id of assigned) if (!groupIds.has(id)) inScope.add(id);
  for (const g of d.groups ?? [])
    if (assigned.has(g.id)) for (const m of g.members ?? []) if (!groupIds.has(m)) inScope.add(m);
  return d.users.filter((u) => inScope.has(u.id) && u.accountEnabled !== false && !u.softDeleted);
}

/** The default Joyn FSM mapping (spec §3.3), written out by hand for comparison. */
export function expectedUserResource(u: DirectoryExportUser): Record<string, unknown> {
  const s = (k: string): string => String(u[k]);
  const out: Record<string, unknown> = {
    userName: s('userPrincipalName'),
    active: true,
    displayName: s('displayName'),
    externalId: s('mailNickname'),
    'name.formatted': `${s('givenName')} ${s('surname')}`,
    'name.givenName': s('givenName'),
    'name.familyName': s('surname'),
    email: s('mail'),
    'address.formatted': [u.streetAddress, u.city, u.state, u.postalCode, u.country].map(String).join(', '),
    'address.streetAddress': s('streetAddress'),
    'address.locality': s('city'),
    'address.region': s('state'),
    'address.postalCode': s('postalCode'),
    'address.country': s('country'),
    mobile: s('mobile'),
    department: s('department'),
    xid: s('employeeId'),
  };
  return out;
}

/** The same shape read from a SCIM resource. */
export function actualUserResource(r: Resource): Record<string, unknown> {
  const name = (r.name ?? {}) as Record<string, unknown>;
  const work = ((r.addresses ?? []) as Record<string, unknown>[]).find((a) => a.type === 'work') ?? {};
  return {
    userName: r.userName,
    active: r.active,
    displayName: r.displayName,
    externalId: r.externalId,
    'name.formatted': name.formatted,
    'name.givenName': name.givenName,
    'name.familyName': name.familyName,
    email: ((r.emails ?? []) as Record<string, unknown>[]).find((e) => e.type === 'work')?.value,
    'address.formatted': work.formatted,
    'address.streetAddress': work.streetAddress,
    'address.locality': work.locality,
    'address.region': work.region,
    'address.postalCode': work.postalCode,
    'address.country': work.country,
    mobile: ((r.phoneNumbers ?? []) as Record<string, unknown>[]).find((p) => p.type === 'mobile')?.value,
    department: (r[ENT] as Record<string, unknown> | undefined)?.department,
    xid: (r[JOYN] as Record<string, unknown> | undefined)?.xid,
  };
}

/**
 * The "100 changed users" step shared by the file and LDAP runs: even-numbered users got a new department, odd ones a
 * new mobile. The cycle must be incremental, PATCH exactly those users, and send only the changed attribute of each.
 */
export async function assertOnlyChangedAttributesPatched(opts: {
  job: TestJob;
  out: Awaited<ReturnType<TestJob['runner']['runCycleNow']>>;
  changed: DirectoryExportUser[];
  byUserName: Map<string, Resource>;
  tenantUrl: string;
  token: string;
}): Promise<void> {
  const { job, out, changed, byUserName, tenantUrl, token } = opts;
  assert.equal(out.cycle.kind, 'incremental');
  assert.equal(out.cycle.stats.updated, changed.length);
  assert.equal(
    out.cycle.stats.created + out.cycle.stats.disabled + out.cycle.stats.deleted + out.cycle.stats.failed,
    0,
  );
  const logs = await job.state.queryLogs({ job: 'test-job', cycleId: out.cycle.id, action: 'update' });
  assert.equal(logs.length, changed.length);
  const bySource = new Map(logs.map((l) => [l.sourceIdentity.id, l]));
  assert.deepEqual(new Set(bySource.keys()), new Set(changed.map((u) => u.id)));
  for (const [i, u] of changed.entries()) {
    const log = bySource.get(u.id)!;
    const before = byUserName.get(String(u.userPrincipalName))!;
    const { body } = await scimGet(tenantUrl, token, `/Users/${before.id}`);
    if (i % 2 === 0) {
      assert.deepEqual(log.modifiedProperties, [
        {
          displayName: `${ENT}:department`,
          oldValue: (before[ENT] as Record<string, string>).department,
          newValue: `Dept ${i}`,
        },
      ]);
      assert.equal((body[ENT] as Record<string, unknown>).department, `Dept ${i}`);
    } else {
      assert.deepEqual(
        log.modifiedProperties.map((m) => m.displayName),
        ['phoneNumbers[type eq "mobile"].value'],
      );
      assert.equal(
        (body.phoneNumbers as { type: string; value: string }[]).find((p) => p.type === 'mobile')?.value,
        u.mobile,
      );
    }
    assert.deepEqual(actualUserResource(body as Resource), expectedUserResource(u));
  }
}

type CycleOutcome = Awaited<ReturnType<TestJob['runner']['runCycleNow']>>;

/** The source ids of a cycle's provisioning-log records with this action. */
export async function loggedSourceIds(
  job: TestJob,
  out: CycleOutcome,
  action: ProvisioningAction,
): Promise<Set<string>> {
  const logs = await job.state.queryLogs({ job: 'test-job', cycleId: out.cycle.id, action });
  return new Set(logs.map((l) => l.sourceIdentity.id));
}

/**
 * The initial-cycle check shared by the file and LDAP runs: no failures; exactly the in-scope users, each with the
 * mapped values; exactly the assigned groups, and (for the first 40) exactly the provisioned direct members (users
 * and assigned nested groups; unprovisioned members and placeholders must not appear). Fills `byUserName`.
 */
export async function assertInitialCycleProvisioned(opts: {
  job: TestJob;
  out: CycleOutcome;
  dir: DirectoryExport;
  byUserName: Map<string, Resource>;
  tenantUrl: string;
  token: string;
}): Promise<void> {
  const { job, out, dir, byUserName, tenantUrl, token } = opts;
  assert.equal(
    out.cycle.stats.failed,
    0,
    JSON.stringify(
      (await job.state.queryLogs({ job: 'test-job', status: 'failure', limit: 3 })).map((l) => l.reason),
    ),
  );
  const want = expectedUsers(dir);
  const users = await listAll(tenantUrl, token, 'Users');
  assert.equal(users.length, want.length);
  for (const u of users) byUserName.set(String(u.userName), u);
  for (const u of want) {
    const got = byUserName.get(String(u.userPrincipalName));
    assert.ok(got, `user ${String(u.userPrincipalName)} missing`);
    assert.deepEqual(actualUserResource(got), expectedUserResource(u));
  }
  const assigned = new Set(dir.assignments);
  const wantGroups = dir.groups!.filter((g) => assigned.has(g.id));
  const groups = await listAll(tenantUrl, token, 'Groups');
  assert.equal(groups.length, wantGroups.length);
  const groupByName = new Map(groups.map((g) => [String(g.displayName), g]));
  const userIdBySource = new Map(
    dir.users.map((u) => [u.id, byUserName.get(String(u.userPrincipalName))?.id]),
  );
  const groupIdBySource = new Map(wantGroups.map((g) => [g.id, groupByName.get(String(g.displayName))?.id]));
  for (const g of wantGroups.slice(0, 40)) {
    const target = groupByName.get(String(g.displayName));
    assert.ok(target, `group ${String(g.displayName)} missing`);
    assert.equal(target.externalId, g.id);
    const { body } = await scimGet(tenantUrl, token, `/Groups/${target.id}`);
    const got = new Set(((body.members ?? []) as { value: string }[]).map((m) => m.value));
    const expected = new Set(
      (g.members ?? [])
        .map((m) => userIdBySource.get(m) ?? groupIdBySource.get(m))
        .filter((x): x is string => !!x),
    );
    assert.deepEqual(got, expected, `members of ${String(g.displayName)}`);
  }
}
