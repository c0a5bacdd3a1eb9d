/**
 * Users, replayed as Entra sends them (entra-scim-client.md §1.3–§1.14) in both PATCH dialects:
 * the legacy one (capitalised ops, "True"/"False" strings, one op per attribute) on one user,
 * the compliant `aadOptscim062020` one (lower-case ops, JSON booleans, path-less replace with
 * attribute-path keys) on another.
 */
import { CORE_USER, ENTERPRISE_USER, JOYN_USER, PATCH_OP } from '../scim/types.js';
import {
  CheckFailure,
  CheckSkipped,
  diffAttributes,
  expectObject,
  expectOneMatch,
  expectList,
  expectStatus,
  readPath,
  rePatchExplanation,
  type CheckContext,
  type CheckDef,
} from './context.js';
import { queryParam, type Reply } from './http.js';

const DEPT = `${ENTERPRISE_USER}:department`;
const MANAGER = `${ENTERPRISE_USER}:manager`;
const XID = `${JOYN_USER}:xid`;
const FIELD_ID = `${JOYN_USER}:joynFieldId`;
const WORK_EMAIL = 'emails[type eq "work"].value';
const MOBILE = 'phoneNumbers[type eq "mobile"].value';
const addr = (sub: string): string => `addresses[type eq "work"].${sub}`;

/** §1.5, Microsoft's sample body. */
function microsoftUser(ctx: CheckContext): Record<string, unknown> {
  return {
    schemas: [CORE_USER, ENTERPRISE_USER],
    externalId: ctx.name('0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef'),
    userName: ctx.name('Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee'),
    active: true,
    emails: [
      {
        primary: true,
        type: 'work',
        value: ctx.name('Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com'),
      },
    ],
    meta: { resourceType: 'User' },
    name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
    roles: [],
  };
}

/** §1.5 "Joyn FSM shape", with every attribute of the Joyn mapping table. */
function joynUser(ctx: CheckContext): Record<string, unknown> {
  return {
    schemas: [CORE_USER, ENTERPRISE_USER],
    externalId: ctx.name('jdoe'),
    userName: ctx.name('jdoe@contoso.com'),
    active: true,
    displayName: 'Jane Doe',
    emails: [{ primary: true, type: 'work', value: ctx.name('jdoe@contoso.com') }],
    meta: { resourceType: 'User' },
    name: { formatted: 'Jane Doe', familyName: 'Doe', givenName: 'Jane' },
    addresses: [
      {
        type: 'work',
        formatted: '1 Main St, Springfield, IL 62701, US',
        streetAddress: '1 Main St',
        locality: 'Springfield',
        region: 'IL',
        postalCode: '62701',
        country: 'US',
      },
    ],
    // §2.12: stored and returned exactly as sent (Microsoft's own example number).
    phoneNumbers: [{ type: 'mobile', value: '55555555555' }],
    [ENTERPRISE_USER]: { department: 'Field Ops' },
    [JOYN_USER]: { xid: ctx.name('X-1001'), joynFieldId: 'F-77' },
    roles: [],
  };
}

/** The round-trip expectations of the Joyn shape, one per row of the mapping table. */
function joynExpected(ctx: { name(s: string): string }): Record<string, unknown> {
  return {
    userName: ctx.name('jdoe@contoso.com'),
    [WORK_EMAIL]: ctx.name('jdoe@contoso.com'),
    active: true,
    'name.formatted': 'Jane Doe',
    displayName: 'Jane Doe',
    externalId: ctx.name('jdoe'),
    'name.givenName': 'Jane',
    'name.familyName': 'Doe',
    [addr('formatted')]: '1 Main St, Springfield, IL 62701, US',
    [addr('streetAddress')]: '1 Main St',
    [addr('locality')]: 'Springfield',
    [addr('region')]: 'IL',
    [addr('postalCode')]: '62701',
    [addr('country')]: 'US',
    [MOBILE]: '55555555555',
    [DEPT]: 'Field Ops',
    [XID]: ctx.name('X-1001'),
    [FIELD_ID]: 'F-77',
  };
}

const ATTR_LABELS: Record<string, string> = {
  [DEPT]: 'department',
  [XID]: 'xid',
  [FIELD_ID]: 'joynFieldId',
  [WORK_EMAIL]: 'emails work',
  [MOBILE]: 'phoneNumbers mobile',
};
const labelOf = (path: string): string =>
  ATTR_LABELS[path] ?? path.replace('addresses[type eq "work"].', 'addresses work ');

/** The id the create returned, or a failure that says what Entra cannot do without it. */
function createdId(reply: Reply, what: string): string {
  expectStatus(reply, [201], 'create', what);
  const body = expectObject(reply, what);
  if (typeof body.id !== 'string' || body.id.length === 0)
    throw new CheckFailure(
      `Entra could not link the created user: the 201 answer to ${what} has no "id" (§1.5)`,
      reply.exchange,
    );
  return body.id;
}

export async function getResource(
  ctx: CheckContext,
  path: string,
  what: string,
): Promise<{ reply: Reply; body: Record<string, unknown> }> {
  const reply = await ctx.send('GET', path);
  expectStatus(reply, [200], 'read', what);
  return { reply, body: expectObject(reply, what) };
}

/** PATCH exactly as given, then GET and compare; any difference is re-PATCHed for ever (§2.12). */
export async function patchAndCompare(
  ctx: CheckContext,
  id: string,
  body: unknown,
  expected: Record<string, unknown>,
  how: string,
): Promise<Record<string, unknown>> {
  const reply = await ctx.send('PATCH', `/Users/${id}`, { body });
  expectStatus(reply, [200, 204], 'update', `the PATCH (${how})`);
  if (reply.status === 200 && reply.text.length > 0) expectObject(reply, `the PATCH (${how})`);
  const { reply: get, body: user } = await getResource(
    ctx,
    `/Users/${id}`,
    'GET /Users/{id} after the PATCH',
  );
  const diffs = diffAttributes(user, expected);
  if (diffs.length > 0)
    throw new CheckFailure(
      rePatchExplanation(diffs, `${how} was answered ${reply.status} but not applied`),
      get.exchange,
    );
  return user;
}

const legacy = (ops: unknown[]): unknown => ({ schemas: [PATCH_OP], Operations: ops });
const compliant = legacy;

/** §1.13 disable/enable, then the user must still be visible to GET and to the matching filter. */
function activeCheck(dialect: 'legacy' | 'compliant', enable: boolean): CheckDef {
  const key = dialect === 'legacy' ? 'user.legacy' : 'user.compliant';
  const sent: unknown = dialect === 'legacy' ? (enable ? 'True' : 'False') : enable;
  return {
    id: `users.${dialect}.${enable ? 'enable' : 'disable'}`,
    group: 'users',
    title: `${dialect === 'legacy' ? 'Legacy' : 'Compliant'}: ${enable ? 're-enable' : 'disable'} with ${JSON.stringify(sent)}; the user stays visible`,
    spec: '§1.13',
    writes: true,
    async run(ctx) {
      const id = ctx.fixture(key);
      const body =
        dialect === 'legacy'
          ? { Operations: [{ op: 'Replace', path: 'active', value: sent }], schemas: [PATCH_OP] }
          : { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: sent }] };
      const reply = await ctx.send('PATCH', `/Users/${id}`, { body });
      expectStatus(reply, [200, 204], 'update', `the ${enable ? 'enable' : 'disable'} PATCH`);
      const get = await ctx.send('GET', `/Users/${id}`);
      if (get.status === 404 && !enable)
        throw new CheckFailure(
          'Entra would report InvalidAnchor for a disabled user: a disabled user answered 404, but only a hard-deleted user may disappear (§1.13)',
          get.exchange,
        );
      expectStatus(get, [200], 'read', 'GET /Users/{id} after the PATCH');
      const user = expectObject(get, 'GET /Users/{id}');
      const active = readPath(user, 'active');
      if (typeof active === 'string')
        throw new CheckFailure(
          `Entra expects JSON booleans: the GET returned "active": ${JSON.stringify(active)} (a string), so Entra would see a difference and re-PATCH active on every cycle (§2.3)`,
          get.exchange,
        );
      if (active !== enable)
        throw new CheckFailure(
          `Entra would re-PATCH active on every cycle and the user ${enable ? 'stays locked out' : 'keeps access'}: sent ${JSON.stringify(sent)}, the GET returned ${JSON.stringify(active)}`,
          get.exchange,
        );
      const userName = String(readPath(user, 'userName') ?? '');
      const q = await ctx.send('GET', '/Users', { query: queryParam('filter', `userName eq "${userName}"`) });
      expectOneMatch(q, id, `the matching query for a ${enable ? 're-enabled' : 'disabled'} user`);
      return `active is ${enable} (a JSON boolean) and the user is still found by GET and filter`;
    },
  };
}

export function userChecks(): CheckDef[] {
  const checks: CheckDef[] = [
    {
      id: 'users.create.microsoft',
      group: 'users',
      title: "Create a user with Microsoft's sample body",
      spec: '§1.5',
      writes: true,
      async run(ctx) {
        const body = microsoftUser(ctx);
        const reply = await ctx.send('POST', '/Users', { body });
        const id = createdId(reply, 'POST /Users');
        ctx.fixtures.set('user.legacy', id);
        const diffs = diffAttributes(reply.json, {
          userName: body.userName,
          active: true,
          externalId: body.externalId,
        });
        if (diffs.length > 0)
          throw new CheckFailure(
            rePatchExplanation(diffs, 'the 201 answer differs from the POST'),
            reply.exchange,
          );
        return 'created with 201 and an id Entra can cache';
      },
    },
    {
      id: 'users.create.joyn',
      group: 'users',
      title: 'Create a user with every Joyn attribute (enterprise and joynfsm extensions)',
      spec: '§1.5',
      writes: true,
      async run(ctx) {
        const reply = await ctx.send('POST', '/Users', { body: joynUser(ctx) });
        ctx.fixtures.set('user.compliant', createdId(reply, 'POST /Users'));
        return 'created with 201; the extension data arrived without its URN in "schemas", as Entra sends it';
      },
    },
    {
      id: 'users.create.nulls',
      group: 'users',
      title: 'Create a user with explicit nulls and the malformed enterprise URN (older Learn sample)',
      spec: '§1.5',
      writes: true,
      async run(ctx) {
        const body = {
          schemas: [CORE_USER, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0User'],
          externalId: ctx.name('jyoung'),
          userName: ctx.name('jyoung@testuser.com'),
          active: true,
          addresses: null,
          displayName: 'Joy Young',
          emails: [{ type: 'work', value: ctx.name('jyoung@testuser.com'), primary: true }],
          meta: { resourceType: 'User' },
          name: { familyName: 'Young', givenName: 'Joy' },
          phoneNumbers: null,
          preferredLanguage: null,
          title: null,
          department: null,
          manager: null,
        };
        const reply = await ctx.send('POST', '/Users', { body });
        ctx.fixtures.set('user.nulls', createdId(reply, 'POST /Users with nulls'));
        return 'nulls are treated as absent and the unknown URN is ignored (§2.8, §2.9)';
      },
    },
    {
      id: 'users.get-by-id',
      group: 'users',
      title: 'Get the user by id',
      spec: '§1.6',
      writes: true,
      async run(ctx) {
        const id = ctx.fixture('user.compliant');
        const { reply, body } = await getResource(ctx, `/Users/${id}`, 'GET /Users/{id}');
        if (body.id !== id)
          throw new CheckFailure(
            `Entra would lose the link: GET /Users/${id} returned id ${JSON.stringify(body.id)}`,
            reply.exchange,
          );
        if (!Array.isArray(body.schemas) || !body.schemas.includes(CORE_USER))
          throw new CheckFailure(
            `Entra could not deserialize the user (SystemForCrossDomainIdentityManagementServiceIncompatible): "schemas" lacks ${CORE_USER}`,
            reply.exchange,
          );
        ctx.data.set('user.compliant.get', reply);
        return 'the user is returned with its id';
      },
    },
  ];

  // One check per row of the Joyn mapping table: what the POST sent must come back from GET (§2.12).
  for (const path of Object.keys(joynExpected({ name: (s) => s }))) {
    checks.push({
      id: `users.attr.${labelOf(path).replace(/ /g, '-')}`,
      group: 'users',
      title: `Round trip: ${labelOf(path)}`,
      spec: '§2.12',
      writes: true,
      async run(ctx) {
        const reply = ctx.data.get('user.compliant.get') as Reply | undefined;
        if (!reply) throw new CheckSkipped('needs the GET of users.get-by-id, which did not succeed');
        const want = joynExpected(ctx)[path];
        const diffs = diffAttributes(reply.json, { [path]: want });
        if (diffs.length > 0)
          throw new CheckFailure(
            rePatchExplanation(diffs, 'the GET does not return what the POST sent'),
            reply.exchange,
          );
        return `${labelOf(path)} comes back exactly as sent`;
      },
    });
  }

  checks.push(
    matchCheck('users.match.username', 'Match by userName', '§1.3', 'user.compliant', (ctx) =>
      queryParam('filter', `userName eq "${ctx.name('jdoe@contoso.com')}"`),
    ),
    matchCheck(
      'users.match.username-case',
      'Match by userName in a different case',
      '§2.11',
      'user.compliant',
      (ctx) => queryParam('filter', `userName eq "${ctx.name('jdoe@contoso.com').toUpperCase()}"`),
    ),
    matchCheck('users.match.externalid', 'Match by externalId (quoted)', '§1.3', 'user.compliant', (ctx) =>
      queryParam('filter', `externalId eq "${ctx.name('jdoe')}"`),
    ),
    matchCheck(
      'users.match.externalid-unquoted',
      'Match by externalId (unquoted, as on Learn)',
      '§1.3',
      'user.compliant',
      (ctx) => queryParam('filter', `externalId eq ${ctx.name('jdoe')}`),
    ),
    // A real Entra log: `?filter=externalId+eq+%22johnwong%22`, `+` for every space (§1.3, §2.11).
    matchCheck(
      'users.match.externalid-plus',
      'Match by externalId with "+" for spaces',
      '§1.3',
      'user.compliant',
      (ctx) => `filter=externalId+eq+%22${encodeURIComponent(ctx.name('jdoe'))}%22`,
    ),
    matchCheck(
      'users.match.xid',
      'Match by the joynfsm xid (URN attribute path)',
      '§1.3',
      'user.compliant',
      (ctx) => queryParam('filter', `${XID} eq "${ctx.name('X-1001')}"`),
    ),
    matchCheck(
      'users.match.email',
      'Match by emails[type eq "work"].value',
      '§1.3',
      'user.compliant',
      (ctx) => queryParam('filter', `${WORK_EMAIL} eq "${ctx.name('jdoe@contoso.com')}"`),
    ),

    // ---- legacy dialect, on the user created from Microsoft's sample -------------------------
    {
      id: 'users.legacy.update-multi',
      group: 'users',
      title: 'Legacy: Replace a work email (value filter) and name.familyName',
      spec: '§1.8',
      writes: true,
      async run(ctx) {
        const email = ctx.name('updatedEmail@microsoft.com');
        await patchAndCompare(
          ctx,
          ctx.fixture('user.legacy'),
          legacy([
            { op: 'Replace', path: 'emails[type eq "work"].value', value: email },
            { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
          ]),
          { [WORK_EMAIL]: email, 'name.familyName': 'updatedFamilyName' },
          'a legacy multi-valued + single-valued Replace',
        );
        return 'both values were applied';
      },
    },
    {
      id: 'users.legacy.update-mixed',
      group: 'users',
      title: 'Legacy: mixed Replace/Add, including an address that does not exist yet and the joynfsm xid',
      spec: '§1.8',
      writes: true,
      async run(ctx) {
        const email = ctx.name('AdeleV2@contoso.com');
        await patchAndCompare(
          ctx,
          ctx.fixture('user.legacy'),
          legacy([
            { op: 'Replace', path: 'emails[type eq "work"].value', value: email },
            { op: 'Replace', path: 'addresses[type eq "work"].formatted', value: '18/2111' },
            { op: 'Add', path: DEPT, value: 'Retail' },
            { op: 'Replace', path: XID, value: ctx.name('X-1002') },
          ]),
          {
            [WORK_EMAIL]: email,
            [addr('formatted')]: '18/2111',
            [DEPT]: 'Retail',
            [XID]: ctx.name('X-1002'),
          },
          'a legacy PATCH with a value-filter path on an absent address (create-on-absent, §2.5)',
        );
        return 'every operation was applied; the missing work address was created';
      },
    },
    {
      id: 'users.legacy.every-attribute',
      group: 'users',
      title: 'Legacy: one op per Joyn attribute round-trips',
      spec: '§1.8, §2.12',
      writes: true,
      async run(ctx) {
        const values: Record<string, string> = {
          displayName: 'Adele Vance',
          externalId: ctx.name('adelev'),
          'name.givenName': 'Adele',
          'name.familyName': 'Vance',
          'name.formatted': 'Adele Vance',
          [WORK_EMAIL]: ctx.name('adele.vance@contoso.com'),
          [addr('streetAddress')]: '18 Harbour Rd',
          [addr('locality')]: 'Leeds',
          [addr('region')]: 'West Yorkshire',
          [addr('postalCode')]: 'LS1 4AB',
          [addr('country')]: 'GB',
          [MOBILE]: '+44 7700 900123',
          [DEPT]: 'Service',
          [XID]: ctx.name('X-1003'),
          [FIELD_ID]: 'F-78',
        };
        const ops = Object.entries(values).map(([path, value], i) => ({
          op: i % 3 === 2 ? 'Add' : 'Replace',
          path,
          value,
        }));
        await patchAndCompare(
          ctx,
          ctx.fixture('user.legacy'),
          legacy(ops),
          values,
          'a legacy PATCH with one op per attribute',
        );
        return 'every Joyn attribute was applied and comes back as sent';
      },
    },
    {
      id: 'users.legacy.rename',
      group: 'users',
      title: 'Legacy: rename (Replace userName); the new name is found by the matching query',
      spec: '§1.9',
      writes: true,
      async run(ctx) {
        const id = ctx.fixture('user.legacy');
        const renamed = ctx.name('5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com');
        await patchAndCompare(
          ctx,
          id,
          legacy([{ op: 'Replace', path: 'userName', value: renamed }]),
          { userName: renamed },
          'the rename',
        );
        const q = await ctx.send('GET', '/Users', {
          query: queryParam('filter', `userName eq "${renamed}"`),
        });
        expectOneMatch(q, id, 'the matching query on the new userName');
        return 'renamed, and the new userName matches';
      },
    },
    {
      id: 'users.legacy.add-single',
      group: 'users',
      title: 'Legacy: Add on a single-valued attribute (nickName) sets it',
      spec: '§1.10',
      writes: true,
      async run(ctx) {
        await patchAndCompare(
          ctx,
          ctx.fixture('user.legacy'),
          legacy([{ op: 'Add', path: 'nickName', value: 'Babs' }]),
          { nickName: 'Babs' },
          'Add nickName',
        );
        return 'Add set the value';
      },
    },
    {
      id: 'users.legacy.replace-several',
      group: 'users',
      title: 'Legacy: replace several attributes, one op each',
      spec: '§1.11',
      writes: true,
      async run(ctx) {
        const email = ctx.name('TestBcwqnm@test.microsoft.com');
        const employeeNumber = `${ENTERPRISE_USER}:employeeNumber`;
        await patchAndCompare(
          ctx,
          ctx.fixture('user.legacy'),
          legacy([
            { op: 'Replace', path: 'displayName', value: 'Pvlo' },
            { op: 'Replace', path: 'emails[type eq "work"].value', value: email },
            { op: 'Replace', path: 'name.givenName', value: 'Gtfd' },
            { op: 'Replace', path: 'name.familyName', value: 'Pkqf' },
            { op: 'Replace', path: 'externalId', value: ctx.name('Eqpj') },
            { op: 'Replace', path: employeeNumber, value: 'Eqpj' },
          ]),
          {
            displayName: 'Pvlo',
            [WORK_EMAIL]: email,
            'name.givenName': 'Gtfd',
            'name.familyName': 'Pkqf',
            externalId: ctx.name('Eqpj'),
            [employeeNumber]: 'Eqpj',
          },
          'the legacy multi-attribute Replace',
        );
        return 'every value was applied';
      },
    },
    managerCheck('legacy'),
    {
      id: 'users.legacy.manager-reference',
      group: 'users',
      title: 'Reference check: filter=id eq … and manager eq …&attributes=id',
      spec: '§1.7',
      writes: true,
      async run(ctx) {
        const id = ctx.fixture('user.legacy');
        const mgr = ctx.fixture('user.compliant');
        const query = `${queryParam('filter', `id eq ${id} and manager eq ${mgr}`)}&attributes=id`;
        const reply = await ctx.send('GET', '/Users', { query });
        const list = expectList(reply, 'the manager reference query');
        if (list.resources.length !== 1 || list.resources[0]!.id !== id)
          throw new CheckFailure(
            `Entra would think the manager is not set and re-PATCH it on every cycle: the reference query returned ${list.resources.length} resources`,
            reply.exchange,
          );
        return 'the reference query finds the user with this manager';
      },
    },
    activeCheck('legacy', false),
    activeCheck('legacy', true),

    // ---- compliant dialect (aadOptscim062020), on the Joyn user ----------------------------
    {
      id: 'users.compliant.replace-several',
      group: 'users',
      title: 'Compliant: path-less replace whose keys are attribute paths ("name.givenName")',
      spec: '§1.11',
      writes: true,
      async run(ctx) {
        const email = ctx.name('TestMhvaes@test.microsoft.com');
        const employeeNumber = `${ENTERPRISE_USER}:employeeNumber`;
        await patchAndCompare(
          ctx,
          ctx.fixture('user.compliant'),
          compliant([
            { op: 'replace', path: 'emails[type eq "work"].value', value: email },
            {
              op: 'replace',
              value: {
                displayName: 'Bjfe',
                'name.givenName': 'Kkom',
                'name.familyName': 'Unua',
                [employeeNumber]: 'Aklq',
              },
            },
          ]),
          {
            [WORK_EMAIL]: email,
            displayName: 'Bjfe',
            'name.givenName': 'Kkom',
            'name.familyName': 'Unua',
            [employeeNumber]: 'Aklq',
          },
          'a path-less replace with attribute-path keys',
        );
        return 'each key was resolved as an attribute path';
      },
    },
    {
      id: 'users.compliant.every-attribute',
      group: 'users',
      title: 'Compliant: every Joyn attribute through path-less replace and value-filter paths',
      spec: '§1.11, §2.4, §2.12',
      writes: true,
      async run(ctx) {
        const pathless: Record<string, string> = {
          displayName: 'Jane Q. Doe',
          externalId: ctx.name('jqdoe'),
          'name.givenName': 'Janet',
          'name.familyName': 'Doe-Smith',
          'name.formatted': 'Janet Doe-Smith',
          [DEPT]: 'Dispatch',
          [XID]: ctx.name('X-2001'),
          [FIELD_ID]: 'F-99',
        };
        const withPath: Record<string, string> = {
          [WORK_EMAIL]: ctx.name('janet@contoso.com'),
          [addr('formatted')]: '2 Side St, Shelbyville, IL 62565, US',
          [addr('streetAddress')]: '2 Side St',
          [addr('locality')]: 'Shelbyville',
          [addr('region')]: 'IL',
          [addr('postalCode')]: '62565',
          [addr('country')]: 'US',
          [MOBILE]: '+1 (555) 010-4477',
        };
        const ops = [
          ...Object.entries(withPath).map(([path, value]) => ({ op: 'replace', path, value })),
          { op: 'replace', value: pathless },
        ];
        await patchAndCompare(
          ctx,
          ctx.fixture('user.compliant'),
          compliant(ops),
          { ...withPath, ...pathless },
          'a compliant PATCH',
        );
        return 'every Joyn attribute was applied and comes back as sent';
      },
    },
    {
      id: 'users.compliant.pathless-add',
      group: 'users',
      title: 'Compliant: path-less add with attribute-path keys',
      spec: '§1.11',
      writes: true,
      async run(ctx) {
        const value = {
          displayName: 'Foo Bar',
          title: 'Bar Foo',
          'name.givenName': 'Foo',
          'name.familyName': 'Bar',
          'name.formatted': 'Foo Bar',
        };
        await patchAndCompare(
          ctx,
          ctx.fixture('user.compliant'),
          compliant([{ op: 'add', value }]),
          value,
          'a path-less add with attribute-path keys',
        );
        return 'each key was resolved as an attribute path';
      },
    },
    {
      id: 'users.compliant.add-single',
      group: 'users',
      title: 'Compliant: add on a single-valued attribute (nickName) sets it',
      spec: '§1.10',
      writes: true,
      async run(ctx) {
        await patchAndCompare(
          ctx,
          ctx.fixture('user.compliant'),
          compliant([{ op: 'add', path: 'nickName', value: 'Babs' }]),
          { nickName: 'Babs' },
          'add nickName',
        );
        return 'add set the value';
      },
    },
    managerCheck('compliant'),
    activeCheck('compliant', false),
    activeCheck('compliant', true),
    {
      id: 'users.delete',
      group: 'users',
      title: 'Delete a user, then GET answers 404 and the matching query answers an empty list',
      spec: '§1.14',
      writes: true,
      async run(ctx) {
        const id = ctx.fixture('user.nulls');
        const del = await ctx.send('DELETE', `/Users/${id}`);
        expectStatus(del, [204, 200], 'delete', 'DELETE /Users/{id}');
        const get = await ctx.send('GET', `/Users/${id}`);
        if (get.status !== 404)
          throw new CheckFailure(
            `Entra would keep finding a user it hard-deleted: GET after DELETE answered ${get.status}, expected 404`,
            get.exchange,
          );
        const q = await ctx.send('GET', '/Users', {
          query: queryParam('filter', `userName eq "${ctx.name('jyoung@testuser.com')}"`),
        });
        const list = expectList(q, 'the matching query for a deleted user');
        if (list.resources.length !== 0)
          throw new CheckFailure('Entra would match a deleted user: the query still returns it', q.exchange);
        return 'deleted: 204, then 404 and no match';
      },
    },
  );
  return checks;
}

function matchCheck(
  id: string,
  title: string,
  spec: string,
  fixture: string,
  query: (ctx: CheckContext) => string,
): CheckDef {
  return {
    id,
    group: 'users',
    title,
    spec,
    writes: true,
    async run(ctx) {
      const uid = ctx.fixture(fixture);
      const reply = await ctx.send('GET', '/Users', { query: query(ctx) });
      expectOneMatch(reply, uid, 'the matching query');
      return 'exactly one match, with the right id';
    },
  };
}

/** §1.12: the Learn array form (legacy) or a bare string on the URN path (compliant); always returned as an object. */
function managerCheck(dialect: 'legacy' | 'compliant'): CheckDef {
  return {
    id: `users.${dialect}.manager`,
    group: 'users',
    title:
      dialect === 'legacy'
        ? 'Legacy: Add manager as [{"$ref","value"}]; returned as an object'
        : 'Compliant: add manager as a bare string on the enterprise URN path; returned as an object',
    spec: '§1.12',
    writes: true,
    async run(ctx) {
      const id = ctx.fixture(dialect === 'legacy' ? 'user.legacy' : 'user.compliant');
      const mgr = ctx.fixture(dialect === 'legacy' ? 'user.compliant' : 'user.legacy');
      const op =
        dialect === 'legacy'
          ? { op: 'Add', path: 'manager', value: [{ $ref: ctx.client.url(`/Users/${mgr}`), value: mgr }] }
          : { op: 'add', path: MANAGER, value: mgr };
      const reply = await ctx.send('PATCH', `/Users/${id}`, {
        body: { schemas: [PATCH_OP], Operations: [op] },
      });
      expectStatus(reply, [200, 204], 'update', 'the manager PATCH');
      const { reply: get, body } = await getResource(ctx, `/Users/${id}`, 'GET /Users/{id}');
      const manager = readPath(body, MANAGER);
      if (typeof manager === 'string' || Array.isArray(manager))
        throw new CheckFailure(
          `Entra could not deserialize the user (SystemForCrossDomainIdentityManagementServiceIncompatible): manager is returned as ${Array.isArray(manager) ? 'an array' : 'a bare string'}, not as {"value": …}`,
          get.exchange,
        );
      const value = readPath(body, `${MANAGER}.value`);
      if (value !== mgr)
        throw new CheckFailure(
          `Entra would re-PATCH the manager on every cycle: manager.value is ${JSON.stringify(value)}, expected ${JSON.stringify(mgr)}`,
          get.exchange,
        );
      return 'the manager is stored and returned as an object';
    },
  };
}
