import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CORE_USER, ENTERPRISE_USER, JOYN_USER } from '../types.js';
import { matchesFilter, parseInstant, type MatchOptions } from './evaluate.js';
import { parseFilter } from './parser.js';

const user: Record<string, unknown> = {
  schemas: [CORE_USER, ENTERPRISE_USER],
  userName: 'BJensen',
  externalId: 'bjensen-ext',
  displayName: 'Babs Jensen',
  title: '',
  active: true,
  loginCount: 12,
  name: { givenName: 'Barbara', familyName: "O'Malley" },
  emails: [
    { type: 'work', value: 'bjensen@example.com', primary: true },
    { type: 'home', value: 'babs@jensen.org' },
  ],
  phoneNumbers: [],
  preferences: {},
  nickName: null,
  addresses: [{ type: 'work', locality: 'Redmond' }],
  meta: { created: '2015-10-10T21:38:21.861Z', lastModified: '2011-05-13T04:42:34Z' },
  [ENTERPRISE_USER]: { department: 'Sales', manager: { value: 'm-1' }, employeeNumber: '701984' },
  [JOYN_USER]: { xid: 'X-1' },
};

const matches = (filter: string, obj: Record<string, unknown> = user, opts?: MatchOptions): boolean =>
  matchesFilter(parseFilter(filter), obj, opts);

function table(name: string, rows: [string, boolean][], obj: Record<string, unknown> = user): void {
  describe(name, () => {
    for (const [filter, want] of rows) {
      test(`${filter} → ${want}`, () => assert.equal(matches(filter, obj), want));
    }
  });
}

table('strings (caseExact false by default) and attribute lookup', [
  ['userName eq "bjensen"', true],
  ['USERNAME eq "BJENSEN"', true],
  ['userName eq "bjense"', false],
  ['name.GIVENNAME eq "barbara"', true],
  ['userName co "jen"', true],
  ['userName co "xx"', false],
  ['userName sw "BJ"', true],
  ['userName sw "je"', false],
  ['userName ew "SEN"', true],
  ['userName ew "bj"', false],
  ['userName gt "bjensem"', true],
  ['userName lt "bjensem"', false],
  ['userName ge "bjensen"', true],
  ['userName le "bjensen"', true],
  ['externalId eq bjensen-ext', true],
  ['nickName eq "x"', false],
]);

table('ne is the negation of eq', [
  ['userName ne "bjensen"', false],
  ['userName ne "other"', true],
  ['nickName ne "x"', true],
  ['emails.type ne "work"', false],
]);

table('pr', [
  ['userName pr', true],
  ['title pr', false],
  ['phoneNumbers pr', false],
  ['preferences pr', false],
  ['nickName pr', false],
  ['missing pr', false],
  ['name pr', true],
  ['emails pr', true],
  ['emails.primary pr', true],
  ['addresses.value pr', false],
  ['active pr', true],
  ['loginCount pr', true],
  ['toString pr', false],
  ['constructor pr', false],
]);

table('null literal', [
  ['title eq null', true],
  ['nickName eq null', true],
  ['userName eq null', false],
  ['userName ne null', true],
  ['nickName ne null', false],
  ['userName gt null', false],
]);

table('numbers and booleans keep their types', [
  ['loginCount eq 12', true],
  ['loginCount gt 10', true],
  ['loginCount ge 12', true],
  ['loginCount lt 12', false],
  ['loginCount le 11', false],
  ['loginCount eq "12"', false],
  ['loginCount co 1', false],
  ['active eq true', true],
  ['active eq false', false],
  ['active ne false', true],
  ['active eq "true"', false],
  ['active gt false', false],
  ['active ge true', false],
  ['active lt true', false],
]);

table('date-times compare as instants', [
  ['meta.lastModified eq "2011-05-13T06:42:34+02:00"', true],
  ['meta.lastModified eq "2011-05-13T04:42:34.000Z"', true],
  ['meta.lastModified gt "2011-05-13T04:42:33Z"', true],
  ['meta.lastModified gt "2011-05-13T04:42:34Z"', false],
  ['meta.lastModified ge "2011-05-13T04:42:34Z"', true],
  ['meta.lastModified lt "2011-05-13T00:00:00-05:00"', true],
  // 14:38:21.8617979-07:00 is 21:38:21.8617979Z, a fraction of a millisecond after `created`
  ['meta.created gt 2015-10-10T14:38:21.8617979-07:00', false],
  ['meta.created lt 2015-10-10T14:38:21.8617979-07:00', true],
  ['meta.created gt 2015-10-10T14:38:21.8607979-07:00', true],
  // co/sw/ew stay textual
  ['meta.created sw "2015-10-10"', true],
]);

table('multi-valued attributes match when any value matches', [
  ['emails.value ew "jensen.org"', true],
  ['emails.type eq "home"', true],
  ['emails.type eq "other"', false],
  ['emails co "example.com"', true],
  ['emails eq "babs@jensen.org"', true],
  ['schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"', true],
  ['schemas eq "urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User"', false],
]);

table('schema URIs', [
  ['urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj"', true],
  ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "sales"', true],
  ['URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:DEPARTMENT eq "sales"', true],
  ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m-1"', true],
  ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "m-1"', true],
  ['urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User:xid eq "X-1"', true],
  ['urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User:department pr', false],
  ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User pr', true],
  ['urn:example:other:1.0:User:userName pr', false],
]);

table('value paths and the Entra form', [
  ['emails[type eq "work"]', true],
  ['emails[type eq "other"]', false],
  ['emails[type eq "work" and primary eq true]', true],
  ['emails[type eq "home" and primary eq true]', false],
  ['emails[not (type eq "work")]', true],
  ['emails[type eq "work"].value eq "bjensen@example.com"', true],
  ['emails[type eq "home"].value eq "bjensen@example.com"', false],
  ['emails[type eq "work"].value pr', true],
  ['emails[type eq "other"].value pr', false],
  ['addresses[type eq "work"].locality eq "redmond"', true],
  ['addresses[type eq "home"].locality eq "redmond"', false],
  ['phoneNumbers[type eq "work"]', false],
  ['schemas[value sw "urn:ietf:params:scim:schemas:extension"]', true],
]);

table('logical operators', [
  ['userName eq "bjensen" and active eq true', true],
  ['userName eq "bjensen" and active eq false', false],
  ['userName eq "x" or active eq true', true],
  ['userName eq "x" or active eq false', false],
  ['not (userName eq "x")', true],
  ['not (userName eq "bjensen")', false],
  ['userName eq "x" or userName eq "y" or name.familyName co "malley" and active eq true', true],
]);

describe('element correlation (RFC 7644 §3.4.2.2 valuePath)', () => {
  const u = {
    emails: [
      { type: 'work', value: 'w@contoso.com' },
      { type: 'home', value: 'x@other.com' },
    ],
  };
  test('the work email must itself contain "x"', () => {
    assert.equal(matches('emails[type eq "work" and value co "x"]', u), false);
    assert.equal(matches('emails[type eq "work" and value co "@contoso"]', u), true);
    assert.equal(matches('emails[type eq "home" and value co "x"]', u), true);
  });
  test('whereas the uncorrelated form looks at each attribute separately', () => {
    assert.equal(matches('emails.type eq "work" and emails.value co "x"', u), true);
  });
  test('the Entra form reads the sub-attribute of the selected elements only', () => {
    assert.equal(matches('emails[type eq "work"].value co "x"', u), false);
    assert.equal(matches('emails[type eq "home"].value co "x"', u), true);
  });
});

describe('caseExact', () => {
  test('is asked with (attribute, sub-attribute) and changes string matching', () => {
    const calls: string[] = [];
    const caseExact = (attr: string, sub?: string): boolean => {
      calls.push(sub === undefined ? attr : `${attr}.${sub}`);
      return attr === 'userName' || sub === 'type';
    };
    assert.equal(matches('userName eq "bjensen"', user, { caseExact }), false);
    assert.equal(matches('userName eq "BJensen"', user, { caseExact }), true);
    assert.equal(matches('emails[type eq "WORK"]', user, { caseExact }), false);
    assert.equal(matches('emails[type eq "work"]', user, { caseExact }), true);
    assert.equal(matches('name.givenName eq "BARBARA"', user, { caseExact }), true);
    assert.equal(matches('emails eq "BABS@jensen.org"', user, { caseExact }), true);
    assert.deepEqual(new Set(calls), new Set(['userName', 'emails.type', 'name.givenName', 'emails.value']));
  });
  test('parentAttr: matching one element of a multi-valued attribute (the PATCH engine)', () => {
    const f = parseFilter('type eq "WORK"');
    const caseExact = (attr: string, sub?: string) => attr === 'emails' && sub === 'type';
    assert.equal(matchesFilter(f, { type: 'work' }), true);
    assert.equal(matchesFilter(f, { type: 'work' }, { parentAttr: 'emails', caseExact }), false);
    assert.equal(matchesFilter(f, { type: 'WORK' }, { parentAttr: 'emails', caseExact }), true);
  });
});

describe('parseInstant', () => {
  test('RFC 3339 forms', () => {
    assert.equal(parseInstant('2011-05-13T04:42:34Z'), Date.UTC(2011, 4, 13, 4, 42, 34));
    assert.equal(parseInstant('2011-05-13T06:42:34+02:00'), Date.UTC(2011, 4, 13, 4, 42, 34));
    assert.equal(parseInstant('2011-05-13t04:42:34.5z'), Date.UTC(2011, 4, 13, 4, 42, 34, 500));
    const seven = parseInstant('2015-10-10T14:38:21.8617979-07:00');
    assert.ok(
      seven !== undefined && Math.abs(seven - (Date.UTC(2015, 9, 10, 21, 38, 21, 861) + 0.7979)) < 1e-3,
    );
  });
  test('anything else is not an instant', () => {
    for (const s of [
      '2011-05-13',
      'bjensen',
      '2011-13-01T00:00:00Z',
      '2011-05-13T25:00:00Z',
      '2011-05-13T04:42:34',
    ]) {
      assert.equal(parseInstant(s), undefined, s);
    }
  });
});
