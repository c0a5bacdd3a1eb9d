import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExpressionValue, SourceValue } from '../types.js';
import { ExpressionError, compileExpression } from './index.js';

type Attrs = Record<string, SourceValue>;
const NOW = new Date('2021-08-25T17:41:18Z');

const ev = (text: string, attributes: Attrs = {}): ExpressionValue =>
  compileExpression(text).evaluate({ attributes, now: () => NOW });

type Case = readonly [expression: string, attributes: Attrs, expected: ExpressionValue];

function table(name: string, cases: readonly Case[]): void {
  describe(name, () => {
    for (const [text, attrs, expected] of cases) {
      test(`${text} ${JSON.stringify(attrs)}`, () => assert.deepEqual(ev(text, attrs), expected));
    }
  });
}

function runtimeError(text: string, attrs: Attrs, message: RegExp): void {
  test(`runtime error: ${text}`, () => {
    assert.throws(
      () => ev(text, attrs),
      (e: unknown) =>
        e instanceof ExpressionError && message.test(e.message) && typeof e.position === 'number',
    );
  });
}

table('Entra default mappings', [
  ['Switch([IsSoftDeleted], , "False", "True", "True", "False")', { IsSoftDeleted: true }, 'False'],
  ['Switch([IsSoftDeleted], , "False", "True", "True", "False")', { IsSoftDeleted: false }, 'True'],
  ['Switch([IsSoftDeleted], , "False", "True", "True", "False")', { IsSoftDeleted: 'True' }, 'False'],
  ['Not([IsSoftDeleted])', { IsSoftDeleted: true }, 'False'],
  ['Not([IsSoftDeleted])', { IsSoftDeleted: false }, 'True'],
  ['Not([IsSoftDeleted])', { IsSoftDeleted: 'TRUE' }, 'False'],
  ['Join(" ", [givenName], [surname])', { givenName: 'Ada', surname: 'Lovelace' }, 'Ada Lovelace'],
  ['Join(" ", [givenName], [surname])', { givenName: 'Ada' }, 'Ada'],
  ['[userPrincipalName]', { UserPrincipalName: 'ada@contoso.com' }, 'ada@contoso.com'],
  ['[accountEnabled]', { accountEnabled: true }, true],
  ['[employeeNumber]', { employeeNumber: 42 }, 42],
  ['[missing]', {}, undefined],
  ['[proxyAddresses]', { proxyAddresses: ['a', 'b'] }, ['a', 'b']],
  ['[proxyAddresses]', { proxyAddresses: [] }, undefined],
  ['"constant"', {}, 'constant'],
  ['Append([accountEnabled], "!")', { accountEnabled: true }, 'True!'],
]);

table('Append', [
  [
    'Append([userPrincipalName], ".test")',
    { userPrincipalName: 'John.Doe@contoso.com' },
    'John.Doe@contoso.com.test',
  ],
  ['Append([userPrincipalName], [suffix])', { userPrincipalName: 'a' }, 'a'],
  ['Append([userPrincipalName], ".test")', {}, undefined],
  ['Append([n], "x")', { n: 5 }, '5x'],
]);

table('role functions (no app roles in our sources)', [
  ['AppRoleAssignmentsComplex([appRoleAssignments])', { appRoleAssignments: ['Admin'] }, undefined],
  ['AssertiveAppRoleAssignmentsComplex([appRoleAssignments])', { appRoleAssignments: ['Admin'] }, undefined],
  ['SingleAppRoleAssignment([appRoleAssignments])', { appRoleAssignments: ['Admin', 'User'] }, 'Admin'],
  ['SingleAppRoleAssignment([appRoleAssignments])', { appRoleAssignments: 'User' }, 'User'],
  ['SingleAppRoleAssignment([appRoleAssignments])', {}, undefined],
]);

table('BitAnd', [
  ['BitAnd(&HF, &HF7)', {}, 7],
  ['BitAnd([uac], 2)', { uac: 514 }, 2],
  ['BitAnd([uac], 2)', { uac: '512' }, 0],
  ['BitAnd([uac], 2)', {}, undefined],
]);
runtimeError('BitAnd([a], 2)', { a: 'x' }, /BitAnd at column 1: both values must be integers/);

table('CBool', [
  ['CBool([a] = [b])', { a: 'x', b: 'x' }, 'True'],
  ['CBool([a] = [b])', { a: 'x', b: 'X' }, 'False'],
  ['CBool([n])', { n: 0 }, 'False'],
  ['CBool([n])', { n: '-3' }, 'True'],
  ['CBool([flag])', { flag: true }, 'True'],
  ['CBool("false")', {}, 'False'],
]);
runtimeError('CBool([a])', { a: 'maybe' }, /cannot convert "maybe" to a Boolean/);
runtimeError('CBool([a])', {}, /the expression is null/);

table('CDate (UTC, M/d/yyyy h:mm:ss tt)', [
  ['CDate([StatusHireDate])', { StatusHireDate: '2020-03-16-07:00' }, '3/16/2020 7:00:00 AM'],
  ['CDate("2021-06-30+08:00")', {}, '6/29/2021 4:00:00 PM'],
  ['CDate("2009-06-15T01:45:30-07:00")', {}, '6/15/2009 8:45:30 AM'],
  ['CDate("2009-06-15T13:45:30Z")', {}, '6/15/2009 1:45:30 PM'],
  ['CDate("8/25/2021 5:41:18 PM")', {}, '8/25/2021 5:41:18 PM'],
  ['CDate("2024-01-01")', {}, '1/1/2024 12:00:00 AM'],
  ['CDate([d])', {}, undefined],
]);
runtimeError('CDate([d])', { d: 'yesterday' }, /CDate at column 1: expression "yesterday" is not a date/);
runtimeError('CDate("2021-02-30")', {}, /is not a date/);

table('Coalesce', [
  [
    'Coalesce([mail],[userPrincipalName])',
    { userPrincipalName: 'John.Doe@contoso.com' },
    'John.Doe@contoso.com',
  ],
  ['Coalesce([mail],[userPrincipalName])', { mail: 'j@c.com', userPrincipalName: 'u@c.com' }, 'j@c.com'],
  ['Coalesce([mail],[userPrincipalName], "none")', {}, 'none'],
  ['Coalesce([mail],[userPrincipalName], "")', {}, ''],
  ['Coalesce([mail],[userPrincipalName])', {}, undefined],
  ['Coalesce([mail],[userPrincipalName])', { mail: '', userPrincipalName: 'u' }, 'u'],
]);

table('ConvertToBase64 / ConvertToUTF8Hex', [
  ['ConvertToBase64("Hello world!")', {}, 'SABlAGwAbABvACAAdwBvAHIAbABkACEA'],
  ['ConvertToBase64([x])', {}, undefined],
  ['ConvertToUTF8Hex("Hello world!")', {}, '48656C6C6F20776F726C6421'],
  ['ConvertToUTF8Hex("é")', {}, 'C3A9'],
  [
    'Join("", 1000, Replace(ConvertToUTF8Hex([objectId]), , "[a-zA-Z_]*", , "", , ))',
    { objectId: '00aa00aa-bb11-cc22-dd33-44ee44ee44ee' },
    '100030306161303061612626231312636332322646433332343465653434656534346565',
  ],
]);

table('Count / CStr / Item / RemoveDuplicates', [
  ['Count([proxyAddresses])', { proxyAddresses: ['a', 'b', 'c'] }, 3],
  ['Count([proxyAddresses])', {}, 0],
  ['Count([mail])', { mail: 'x' }, 1],
  ['CStr([dn])', { dn: 'cn=Joe,dc=contoso,dc=com' }, 'cn=Joe,dc=contoso,dc=com'],
  ['CStr([n])', { n: 12 }, '12'],
  ['CStr([b])', { b: false }, 'False'],
  ['CStr(CDate("2024-02-29"))', {}, '2/29/2024 12:00:00 AM'],
  ['Item([proxyAddresses], 1)', { proxyAddresses: ['smtp:a', 'SMTP:b'] }, 'smtp:a'],
  ['Item([proxyAddresses], 2)', { proxyAddresses: ['smtp:a', 'SMTP:b'] }, 'SMTP:b'],
  ['Item([proxyAddresses], 3)', { proxyAddresses: ['smtp:a', 'SMTP:b'] }, undefined],
  ['Item([mail], 1)', { mail: 'x' }, 'x'],
  ['RemoveDuplicates([proxyAddresses])', { proxyAddresses: ['a', 'b', 'a', 'A'] }, ['a', 'b', 'A']],
  ['RemoveDuplicates([mail])', { mail: 'x' }, 'x'],
]);
runtimeError('Item([proxyAddresses], 0)', { proxyAddresses: ['a'] }, /index must be 1 or greater/);

describe('DateAdd (Microsoft table, StatusHireDate 2012-03-16-07:00)', () => {
  const cases: [string, number, string][] = [
    ['d', 7, '3/23/2012 7:00:00 AM'],
    ['d', -10, '3/6/2012 7:00:00 AM'],
    ['ww', 2, '3/30/2012 7:00:00 AM'],
    ['m', 10, '1/16/2013 7:00:00 AM'],
    ['yyyy', 2, '3/16/2014 7:00:00 AM'],
    ['h', 20, '3/17/2012 3:00:00 AM'],
    ['n', -90, '3/16/2012 5:30:00 AM'],
    ['s', 61, '3/16/2012 7:01:01 AM'],
  ];
  for (const [interval, value, expected] of cases) {
    test(`${interval} ${value}`, () => {
      assert.equal(
        ev(`DateAdd("${interval}", ${value}, CDate([StatusHireDate]))`, {
          StatusHireDate: '2012-03-16-07:00',
        }),
        expected,
      );
    });
  }
  test('month end clamps like .NET AddMonths', () => {
    assert.equal(ev('DateAdd("m", 1, CDate("2024-01-31"))'), '2/29/2024 12:00:00 AM');
    assert.equal(ev('DateAdd("yyyy", 1, CDate("2024-02-29"))'), '2/28/2025 12:00:00 AM');
  });
  test('null date → null', () => assert.equal(ev('DateAdd("d", 1, [x])'), undefined));
});
runtimeError('DateAdd([i], 1, Now())', { i: 'q' }, /interval must be one of yyyy, m, d, ww, h, n, s/);
runtimeError('DateAdd("d", [n], Now())', { n: 'seven' }, /value must be a number/);

describe('DateDiff (Microsoft table)', () => {
  const cases: [string, string, string, number][] = [
    ['d', '2021-08-18+08:00', '2021-08-31+08:00', 13],
    ['d', '8/25/2021 5:41:18 PM', '2012-03-16-07:00', -3449],
    ['ww', '8/25/2021 5:41:18 PM', '2012-03-16-07:00', -493],
    ['m', '8/25/2021 5:41:18 PM', '2012-03-16-07:00', -113],
    ['yyyy', '8/25/2021 5:41:18 PM', '2012-03-16-07:00', -9],
    ['d', '2021-08-31+08:00', '2021-08-31+08:00', 0],
    ['h', '2021-08-24', '2021-08-25', 24],
    ['n', '2021-08-24', '2021-08-25', 1440],
    ['s', '2021-08-24', '2021-08-25', 86400],
  ];
  for (const [interval, d1, d2, expected] of cases) {
    test(`${interval} ${d1} → ${d2}`, () => {
      assert.equal(ev(`DateDiff("${interval}", CDate([d1]), CDate([d2]))`, { d1, d2 }), expected);
    });
  }
  test('Now() comes from ctx.now', () => {
    assert.equal(
      ev('DateDiff("d", Now(), CDate([StatusHireDate]))', { StatusHireDate: '2012-03-16-07:00' }),
      -3449,
    );
    assert.equal(ev('Now()'), '8/25/2021 5:41:18 PM');
  });
  test('Microsoft example: IIF over DateDiff inside Switch', () => {
    const text =
      'Switch([Active], , "1", IIF(DateDiff("d", Now(), CDate([StatusHireDate])) > 5, "False", "True"), "0", "False")';
    assert.equal(ev(text, { Active: '1', StatusHireDate: '2021-08-28' }), 'True');
    assert.equal(ev(text, { Active: '1', StatusHireDate: '2021-09-30' }), 'False');
    assert.equal(ev(text, { Active: '0', StatusHireDate: '2021-09-30' }), 'False');
  });
});

table('DateFromNum / NumFromDate (AD FILETIME)', [
  ['DateFromNum(129699324000000000)', {}, '1/1/2012 11:00:00 PM'],
  ['DateFromNum([lastLogonTimestamp])', { lastLogonTimestamp: '129699324000000000' }, '1/1/2012 11:00:00 PM'],
  ['DateFromNum([lastLogonTimestamp])', {}, undefined],
  ['NumFromDate("2012-01-01T23:00:00Z")', {}, '129699324000000000'],
  [
    'NumFromDate(Join("", FormatDateTime([ContractEndDate], ,"yyyy-MM-ddzzz", "yyyy-MM-dd"), " 23:59:59-08:00"))',
    { ContractEndDate: '2020-12-31-08:00' },
    '132539615990000000',
  ],
  [
    'NumFromDate(Join("",FormatDateTime([endDate], ,"M/d/yyyy hh:mm:ss tt","yyyy-MM-dd")," 23:59:59-08:00"))',
    { endDate: '12/31/2020 09:30:00 AM' },
    '132539615990000000',
  ],
]);
runtimeError('DateFromNum([v])', { v: 'abc' }, /is not an AD date number/);

table('FormatDateTime', [
  [
    'FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")',
    { extensionAttribute1: '20150123105347.1Z' },
    '2015-01-23',
  ],
  [
    'FormatDateTime([extensionAttribute1], "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")',
    { extensionAttribute1: '20150123105347.1Z' },
    '2015-01-23',
  ],
  [
    'FormatDateTime([d], , "yyyyMMddHHmmss.fZ", "M/d/yy h:m:s tt fff")',
    { d: '20150123105347.1Z' },
    '1/23/15 10:53:47 AM 100',
  ],
  [
    'FormatDateTime([d], , "yyyy-MM-ddTHH:mm:ssK", "dd.MM.yyyy HH:mm zzz K")',
    { d: '2024-02-29T23:30:00+02:00' },
    '29.02.2024 21:30 +00:00 Z',
  ],
  [
    'FormatDateTime([d], , "M/d/yyyy h:mm:ss tt", "yyyy-MM-ddTHH:mm:ss.fffK")',
    { d: '8/25/2021 5:41:18 PM' },
    '2021-08-25T17:41:18.000Z',
  ],
  [
    'FormatDateTime([d], , "dd/MM/yyyy", "yyyy\'-\'MM\\\\-dd \'at\' H")',
    { d: '05/03/2024' },
    '2024-03-05 at 0',
  ],
  ['FormatDateTime([d], , "d MMMM yyyy", "ddd, MMM d yyyy")', { d: '5 March 2024' }, 'Tue, Mar 5 2024'],
  ['FormatDateTime([d], , "yyyy-MM-dd", "yyyy-MM-dd")', { d: '  2024-03-05  ' }, '2024-03-05'],
  ['FormatDateTime([d], , "yyyy-MM-dd", "yyyy-MM-dd")', {}, undefined],
  [
    'FormatDateTime([d], "RoundtripKind, AllowLeadingWhite", "yyyyMMdd", "MM/dd/yyyy")',
    { d: '20240305' },
    '03/05/2024',
  ],
  ['FormatDateTime(CDate([d]), , , "yyyy")', { d: '2024-03-05' }, '2024'],
  ['FormatDateTime([d], , "HH:mm:ss.FFF", "ss.FFF|ss.FF")', { d: '10:00:07.5' }, '07.5|07.5'],
  ['FormatDateTime([d], , "HH:mm:ss", "ss.FFF")', { d: '10:00:07' }, '07'],
]);
runtimeError(
  'FormatDateTime([d], , "yyyy-MM-dd", "yyyy")',
  { d: '2024/03/05' },
  /"2024\/03\/05" does not match the input format "yyyy-MM-dd"/,
);
runtimeError('FormatDateTime([d], , "yyyy-MM-dd", "yyyy")', { d: '2024-13-05' }, /does not match/);
runtimeError(
  'FormatDateTime([d], "Sideways", "yyyy-MM-dd", "yyyy")',
  { d: '2024-03-05' },
  /unknown DateTimeStyles value 'Sideways'/,
);

describe('Guid / RandomString', () => {
  test('Guid() is a fresh RFC 4122 GUID each time', () => {
    const e = compileExpression('Guid()');
    const a = e.evaluate({ attributes: {} });
    const b = e.evaluate({ attributes: {} });
    assert.match(String(a), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(a, b);
  });
  test('RandomString(6,3,0,0,3): 6 characters, at least 3 digits and 3 lower-case', () => {
    for (let i = 0; i < 50; i++) {
      const s = String(ev('RandomString(6,3,0,0,3)'));
      assert.equal(s.length, 6);
      assert.ok((s.match(/\d/g) ?? []).length >= 3, s);
      assert.ok((s.match(/[a-z]/g) ?? []).length >= 3, s);
    }
  });
  test('RandomString(10,2,2,2,1,"?,"): minimums and avoided characters', () => {
    for (let i = 0; i < 50; i++) {
      const s = String(ev('RandomString(10,2,2,2,1,"?,")'));
      assert.equal(s.length, 10);
      assert.ok((s.match(/\d/g) ?? []).length >= 2, s);
      assert.ok((s.match(/[A-Z]/g) ?? []).length >= 2, s);
      assert.ok((s.match(/[a-z]/g) ?? []).length >= 1, s);
      assert.ok((s.match(/[^A-Za-z0-9]/g) ?? []).length >= 2, s);
      assert.ok(!s.includes('?') && !s.includes(','), s);
    }
  });
});
runtimeError('RandomString(300,0,0,0,0)', {}, /Length must be between 1 and 256/);
runtimeError('RandomString(4,2,2,2,0)', {}, /add up to 6, more than Length 4/);
runtimeError('RandomString(4,2,0,0,0,"0123456789")', {}, /excludes every character of a required category/);

describe('IgnoreFlowIfNullOrEmpty', () => {
  const cases: Case[] = [
    ['IgnoreFlowIfNullOrEmpty([department])', {}, undefined],
    ['IgnoreFlowIfNullOrEmpty([department])', { department: '' }, undefined],
    ['IgnoreFlowIfNullOrEmpty([department])', { department: 'Sales' }, 'Sales'],
    [
      'IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr.", "3444", "Prof.", "3445", "Prof. Dr."))',
      { prefix: '9999' },
      undefined,
    ],
    [
      'IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr.", "3444", "Prof.", "3445", "Prof. Dr."))',
      { prefix: '3444' },
      'Prof.',
    ],
  ];
  for (const [text, attrs, expected] of cases)
    test(`${text} ${JSON.stringify(attrs)}`, () => assert.deepEqual(ev(text, attrs), expected));
});

table('IIF', [
  ['IIF([country]="USA",[country],[departmentName])', { country: 'USA', departmentName: 'Sales' }, 'USA'],
  [
    'IIF([country]="USA",[country],[departmentName])',
    { country: 'Canada', departmentName: 'Sales' },
    'Sales',
  ],
  ['IIF([country]="USA",IIF([state]="CA","True","False"),"False")', { country: 'USA', state: 'CA' }, 'True'],
  ['IIF([country]="USA",IIF([state]="CA","True","False"),"False")', { country: 'USA', state: 'WA' }, 'False'],
  ['IIF([country]="USA","True",IIF([state]="CA","True","False"))', { country: 'FR', state: 'CA' }, 'True'],
  ['IIF([n] > 9, "big", "small")', { n: '10' }, 'big'],
  ['IIF([n] >= 10, "big", "small")', { n: 10 }, 'big'],
  ['IIF([n] < 10, "small", "big")', { n: 9 }, 'small'],
  ['IIF([n] <= 9, "small", "big")', { n: '10' }, 'big'],
  ['IIF([a] <> "x", "diff", "same")', { a: 'X' }, 'diff'],
  ['IIF([a] > "b", "after", "before")', { a: 'c' }, 'after'],
  ['IIF([accountEnabled], "on", "off")', { accountEnabled: false }, 'off'],
  [
    'IIF([companyName] = "Company A", "A", IIF([companyName] = "Company B", "B", "External"))',
    { companyName: 'Company B' },
    'B',
  ],
  // Only the chosen branch is evaluated.
  ['IIF([a]="x", "ok", CDate("not a date"))', { a: 'x' }, 'ok'],
]);
runtimeError(
  'IIF([country]="USA",[country],"Other")',
  {},
  /IIF at column 1: attribute \[country\] in the condition is null or empty/,
);
runtimeError(
  'IIF([country]="","Other",[country])',
  { country: '' },
  /null or empty; IIF cannot evaluate it \(use Switch with a "" key instead\)/,
);
runtimeError(
  'IIF(IsPresent([country]),[country],"Other")',
  {},
  /attribute \[country\] in the condition is null/,
);
runtimeError('IIF([a], "x", "y")', { a: 'maybe' }, /condition must evaluate to "True" or "False"/);
runtimeError('CBool([a] = [b])', { a: 'x' }, /comparison '=' at column 11: one side is null/);

table('InStr', [
  ['InStr("The quick brown fox","quick")', {}, 5],
  ['InStr("repEated","e",3,vbBinaryCompare)', {}, 7],
  ['InStr("repEated","e",3,vbTextCompare)', {}, 4],
  ['InStr("repEated","e",3,"vbTextCompare")', {}, 4],
  ['InStr("abc","z")', {}, 0],
  ['InStr("abc","a",9)', {}, 0],
  ['InStr([x],"a")', {}, undefined],
]);
runtimeError('InStr("abc","a",0)', {}, /start must be 1 or greater/);
runtimeError('InStr("abc","a",1,"sideways")', {}, /compareType must be vbTextCompare or vbBinaryCompare/);

table('IsNull / IsNullOrEmpty / IsPresent / IsString', [
  ['IsNull([displayName])', {}, 'True'],
  ['IsNull([displayName])', { displayName: null }, 'True'],
  ['IsNull([displayName])', { displayName: '' }, 'False'],
  ['IsNullOrEmpty([displayName])', { displayName: '' }, 'True'],
  ['IsNullOrEmpty([displayName])', { DISPLAYNAME: 'x' }, 'False'],
  ['IsPresent([displayName])', { displayName: 'x' }, 'True'],
  ['IsPresent([displayName])', { displayName: '' }, 'False'],
  ['IsString([displayName])', { displayName: 'x' }, 'True'],
  ['IsString([n])', { n: 3 }, 'False'],
  ['IsString([x])', {}, 'False'],
  [
    'Switch(IsPresent([directManager]),[directManager], IsPresent([skiplevelManager]),[skiplevelManager], IsPresent([director]),[director])',
    { skiplevelManager: 'm2' },
    undefined,
  ],
]);

table('Join', [
  ['Join(", ", "", [surname], [givenName])', { givenName: 'John', surname: 'Doe' }, 'Doe, John'],
  [
    'Join(";", [proxyAddresses], [mail])',
    { proxyAddresses: ['smtp:a', 'smtp:b'], mail: 'm' },
    'smtp:a;smtp:b;m',
  ],
  ['Join("", [a], [b])', { a: 'x', b: 'y' }, 'xy'],
  ['Join(" ", [a], [b])', {}, ''],
  ['Join("-", [n], [flag])', { n: 7, flag: true }, '7-True'],
]);

table('Left', [
  ['Left("John Doe", 3)', {}, 'Joh'],
  ['Left("John Doe", 0)', {}, ''],
  ['Left("John Doe", -1)', {}, 'John Doe'],
  ['Left("John Doe", 50)', {}, 'John Doe'],
  ['Left([x], 3)', {}, ''],
]);

table('Mid', [
  ['Mid([s], 1, 3)', { s: 'John' }, 'Joh'],
  ['Mid([s], 3, 10)', { s: 'John' }, 'hn'],
  ['Mid([s], 5, 2)', { s: 'John' }, ''],
  ['Mid([s], 2, 0)', { s: 'John' }, ''],
  ['Mid([s], 1, 1)', {}, undefined],
  ['Append(Mid([givenName], 1, 3), Mid([surname], 1, 5))', { givenName: 'John', surname: 'Doe' }, 'JohDoe'],
]);
runtimeError('Mid("abc", 0, 1)', {}, /Mid at column 1: start must be 1 or greater, got 0/);
runtimeError('Mid("abc", 1, -1)', {}, /length cannot be negative/);

describe('NormalizeDiacritics (Microsoft table)', () => {
  const pairs: [string, string][] = [
    ['Zoë', 'Zoe'],
    ['äàâãåáąăāǟǡ', 'aaaaaaaaaaa'],
    ['ÄÀÂÃÅÁĄĂĀǞǠ', 'AAAAAAAAAAA'],
    ['æǣ ÆǢ', 'aeae AEAE'],
    ['çčć ÇČĆ', 'ccc CCC'],
    ['ď Ď', 'd D'],
    ['ëèéêęěėē ËÈÉÊĘĚĖĒ', 'eeeeeeee EEEEEEEE'],
    ['ğ Ğ', 'g G'],
    ['ïîìíıī ÏÎÌÍİĪ', 'iiiiii IIIIII'],
    ['ľł ŁĽ', 'll LL'],
    ['ñńň ÑŃŇ', 'nnn NNN'],
    ['öòőõôóō ÖÒŐÕÔÓŌ', 'ooooooo OOOOOOO'],
    ['ø Ø', 'oe OE'],
    ['ř Ř', 'r R'],
    ['ß', 'ss'],
    ['šśșş ŠŚȘŞ', 'ssss SSSS'],
    ['ťț ŤȚ', 'tt TT'],
    ['üùûúůűū ÜÙÛÚŮŰŪ', 'uuuuuuu UUUUUUU'],
    ['ÿý ŸÝ', 'yy YY'],
    ['źžż ŹŽŻ', 'zzz ZZZ'],
    ['ā́ ē̃ o̱', 'a e o'],
    ['Jéssica Smith', 'Jessica Smith'],
    ['한국어 日本', '한국어 日本'],
  ];
  for (const [input, expected] of pairs)
    test(input, () => assert.equal(ev('NormalizeDiacritics([s])', { s: input }), expected));
  test('null → null', () => assert.equal(ev('NormalizeDiacritics([s])'), undefined));
});

table('Not', [
  ['Not("True")', {}, 'False'],
  ['Not("False")', {}, 'True'],
  ['Not("true")', {}, 'False'],
  ['Not("anything")', {}, 'True'],
  ['Not(IsNull([x]))', {}, 'False'],
]);

table('PCase', [
  ['PCase([firstName])', { firstName: 'PABLO GONSALVES (SECOND)' }, 'Pablo Gonsalves (Second)'],
  ['PCase([lastName]," \'-")', { lastName: "PINTO-DE'SILVA" }, "Pinto-De'Silva"],
  ['PCase(Join(" ",[firstName],[lastName]))', { firstName: 'GREGORY', lastName: 'JAMES' }, 'Gregory James'],
  ['PCase([s])', { s: "o'neil mc_donald-smith" }, "O'neil Mc_Donald-Smith"],
  ['PCase([s], "-")', { s: 'anne-marie de la tour' }, 'Anne-Marie de la tour'],
  ['PCase([s])', { s: 'élodie ÉCOLE' }, 'Élodie École'],
  ['PCase([s])', {}, undefined],
]);

table('Redact', [
  ['Redact([userPrincipalName])', { userPrincipalName: 'a@b.c' }, 'a@b.c'],
  ['Redact("StringToBeRedacted")', {}, 'StringToBeRedacted'],
]);

table('Replace: oldValue + replacementValue', [
  ['Replace([mail], "@contoso.com", , , "", , )', { mail: 'john.doe@contoso.com' }, 'john.doe'],
  [
    'Replace([BusinessTitle],"Product Developer", , , "Software Engineer", , )',
    { BusinessTitle: 'Product Developer' },
    'Software Engineer',
  ],
  ['Replace([s], "a", , , "b", , )', { s: 'aAaa' }, 'bAbb'],
  ['Replace([s], ".", , , "", , )', { s: 'a.b.c' }, 'abc'],
  ['Replace([s], "$&", , , "x", , )', { s: 'a$&b' }, 'axb'],
  ['Replace([s], "a", , , "$&", , )', { s: 'ab' }, '$&b'],
  ['Replace([mail], "@contoso.com", , , "", , )', {}, undefined],
  ['Replace([mail], "@contoso.com", , , "")', { mail: 'x@contoso.com' }, 'x'],
]);
table('Replace: oldValue + template', [
  [
    'Replace([UserID],"<username>", , , , , "<username>@contoso.com")',
    { UserID: 'jsmith' },
    'jsmith@contoso.com',
  ],
  ['Replace([UserID],"<u>", , , , , "<u>.<u>")', { UserID: 'js' }, 'js.js'],
  ['Replace([UserID],"<username>", , , , , "<username>@contoso.com")', {}, undefined],
]);
table('Replace: regexPattern + replacementValue (.NET substitutions)', [
  [
    'Replace([telephoneNumber], , "\\\\+(?<isdCode>\\\\d* )(?<phoneNumber>\\\\d{10})", , "${phoneNumber}", , )',
    { telephoneNumber: '+91 9998887777' },
    '9998887777',
  ],
  ['Replace([mobile], , "[()\\\\s-]+", , "", , )', { mobile: '+1 (999) 888-7777' }, '+19998887777'],
  ['Replace([mailNickname], , "[a-zA-Z_]*", , "", , )', { mailNickname: 'john_doe72' }, '72'],
  [
    'Replace([s], , "(\\\\w+)@(\\\\w+)", , "$2 at $1 ($$) [$0]", , )',
    { s: 'ann@corp' },
    'corp at ann ($) [ann@corp]',
  ],
  ['Replace([s], , "(?\'user\'\\\\w+)@", , "${user}/", , )', { s: 'ann@corp' }, 'ann/corp'],
  ['Replace([s], , "(?i)ABC", , "x", , )', { s: 'abcABC' }, 'xx'],
  ['Replace([s], , "b", , "[$`|$\'|$_]", , )', { s: 'abc' }, 'a[a|c|abc]c'],
  ['Replace([s], , "x", , "${nope}$9", , )', { s: 'axb' }, 'a${nope}$9b'],
]);
table('Replace: regexPattern + regexGroupName + replacementValue', [
  [
    'Replace([AddressLineData], ,"(?<streetNumber>^\\\\d*)","streetNumber", "888", , )',
    { AddressLineData: '545 Tremont Street' },
    '888 Tremont Street',
  ],
  [
    'Replace([userPrincipalName], , "(?<Suffix>@(.)*)", "Suffix", "", , )',
    { userPrincipalName: 'jsmith@contoso.com' },
    'jsmith',
  ],
  ['Replace([s], , "a(?<d>\\\\d)", "d", "#", , )', { s: 'a1 b2 a3' }, 'a# b2 a#'],
]);
table('Replace: regexPattern + regexGroupName + replacementAttributeName', [
  [
    'Replace([telephoneNumber], , "\\\\+(?<isdCode>\\\\d* )(?<phoneNumber>\\\\d{10})", "phoneNumber" , , [mobile], )',
    { telephoneNumber: '', mobile: '+91 8887779999' },
    '8887779999',
  ],
  [
    'Replace([telephoneNumber], , "\\\\+(?<isdCode>\\\\d* )(?<phoneNumber>\\\\d{10})", "phoneNumber" , , [mobile], )',
    { mobile: '+91 8887779999' },
    '8887779999',
  ],
  [
    'Replace([telephoneNumber], , "\\\\+(?<isdCode>\\\\d* )(?<phoneNumber>\\\\d{10})", "phoneNumber" , , [mobile], )',
    { telephoneNumber: '+1 555', mobile: '+91 8887779999' },
    '+1 555',
  ],
  [
    'Replace([telephoneNumber], , "\\\\+(?<isdCode>\\\\d* )(?<phoneNumber>\\\\d{10})", "phoneNumber" , , [mobile], )',
    { mobile: 'none' },
    undefined,
  ],
]);
runtimeError(
  'Replace([s], , [pattern], , "", , )',
  { s: 'x', pattern: '(' },
  /Replace at column 1: invalid regular expression "\("/,
);
runtimeError(
  'Replace([s], , "(?<a>x)", [g], "", , )',
  { s: 'x', g: 'b' },
  /regexGroupName 'b' is not a group/,
);

describe('SelectUniqueValue', () => {
  const text = `SelectUniqueValue(
      Join("@", NormalizeDiacritics(StripSpaces(Join(".",  [PreferredFirstName], [PreferredLastName]))), "contoso.com"),
      Join("@", NormalizeDiacritics(StripSpaces(Join(".",  Mid([PreferredFirstName], 1, 1), [PreferredLastName]))), "contoso.com"),
      Join("@", NormalizeDiacritics(StripSpaces(Join(".",  Mid([PreferredFirstName], 1, 2), [PreferredLastName]))), "contoso.com")
    )`;
  const ctx = { attributes: { PreferredFirstName: 'John', PreferredLastName: 'Smith' } };
  test('evaluate returns the first candidate', () =>
    assert.equal(compileExpression(text).evaluate(ctx), 'John.Smith@contoso.com'));
  test('candidates lists every rule in order for the engine to check', () => {
    const e = compileExpression(text);
    assert.deepEqual(e.candidates?.(ctx), [
      'John.Smith@contoso.com',
      'J.Smith@contoso.com',
      'Jo.Smith@contoso.com',
    ]);
  });
  test('empty rules are skipped', () => {
    const e = compileExpression('SelectUniqueValue([a], [b], "fallback")');
    assert.equal(e.evaluate({ attributes: { b: 'B' } }), 'B');
    assert.deepEqual(e.candidates?.({ attributes: { b: 'B' } }), ['B', 'fallback']);
  });
});

table('Split / StripSpaces', [
  [
    'Split([extensionAttribute5], ",")',
    { extensionAttribute5: 'PermissionSetOne, PermissionSetTwo' },
    ['PermissionSetOne', 'PermissionSetTwo'],
  ],
  ['Split([s], ";")', { s: 'a;;b;' }, ['a', 'b']],
  ['Split([s], ",")', {}, undefined],
  ['Count(Split([s], ","))', { s: 'a,b,c' }, 3],
  ['Item(Split([s], ","), 2)', { s: 'a,b,c' }, 'b'],
  ['StripSpaces([s])', { s: ' J o h n ' }, 'John'],
  ['StripSpaces([s])', {}, undefined],
]);
runtimeError('Split([s], "")', { s: 'abc' }, /delimiter must not be empty/);

table('Switch', [
  [
    'Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", "Australia/Brisbane", "SA", "Australia/Adelaide")',
    { state: 'QLD' },
    'Australia/Brisbane',
  ],
  [
    'Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", "Australia/Brisbane", "SA", "Australia/Adelaide")',
    { state: 'WA' },
    'Australia/Sydney',
  ],
  [
    'Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", "Australia/Brisbane")',
    { state: 'qld' },
    'Australia/Sydney',
  ],
  ['Switch(ToLower([statusFlag]), "0", "true", "1", "false", "0")', { statusFlag: 'TRUE' }, '1'],
  ['Switch([statusFlag], "Default Value", "true", "1", "", "0")', {}, '0'],
  ['Switch([statusFlag], "Default Value", "true", "1", "", "0")', { statusFlag: '' }, '0'],
  ['Switch([statusFlag], "Default Value", "true", "1", "", "0")', { statusFlag: 'x' }, 'Default Value'],
  ['Switch([country],[country],"","Other")', { country: 'NZ' }, 'NZ'],
  ['Switch([country],[country],"","Other")', {}, 'Other'],
  ['Switch([a], , "x", "y")', { a: 'z' }, undefined],
]);
runtimeError('Switch([a], "d", "x", "y")', { a: ['1', '2'] }, /argument 1 is multi-valued \(2 values\)/);

table('ToLower / ToUpper', [
  [
    'ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".",  [PreferredFirstName], [PreferredLastName]))), "contoso.com"))',
    { PreferredFirstName: 'John', PreferredLastName: 'Smith' },
    'john.smith@contoso.com',
  ],
  ['ToUpper([s])', { s: 'straße' }, 'STRASSE'],
  ['ToUpper([s], "tr-TR")', { s: 'istanbul' }, 'İSTANBUL'],
  ['ToUpper([s])', { s: 'istanbul' }, 'ISTANBUL'],
  ['ToLower([s], "en-US")', { s: 'ABC' }, 'abc'],
  ['ToLower([s])', {}, undefined],
]);
runtimeError('ToLower([s], "not a culture!")', { s: 'A' }, /unknown culture/);

table('Word', [
  ['Word("The quick brown fox",3," ")', {}, 'brown'],
  ['Word("This,string!has&many separators",3,",!&#")', {}, 'has'],
  ['Word("This,string!has&many separators",4,",!&#")', {}, 'many separators'],
  ['Word("a  b",2," ")', {}, 'b'],
  ['Word("The quick brown fox",0," ")', {}, ''],
  ['Word("The quick brown fox",-1," ")', {}, ''],
  ['Word("The quick brown fox",5," ")', {}, ''],
  ['Word([missing],1," ")', {}, ''],
  ['Word("nodelimiters",1," ")', {}, 'nodelimiters'],
]);

describe('attribute lookups', () => {
  test('names are case-insensitive; own properties only', () => {
    assert.equal(ev('[MAIL]', { mail: 'x' }), 'x');
    assert.equal(ev('[constructor]', {}), undefined);
    assert.equal(ev('[__proto__]', {}), undefined);
    assert.equal(ev('[toString]', {}), undefined);
  });
  test('exact spelling wins over another case', () => {
    assert.equal(ev('[Mail]', { mail: 'lower', Mail: 'exact' }), 'exact');
  });
});

runtimeError(
  'DateFromNum(1e308)',
  {},
  /DateFromNum at column 1: the resulting date is outside years 1 to 9999/,
);
runtimeError(
  'DateAdd("yyyy", 9000, CDate("2024-01-01"))',
  {},
  /DateAdd at column 1: the resulting date is outside years 1 to 9999/,
);
