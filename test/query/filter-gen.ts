/**
 * fast-check arbitraries for SCIM filters over the attributes of a loaded dataset. Each generated filter
 * carries the reference AST (canonical paths) and a text with varied spelling: attribute-name case, optional
 * URN prefixes, operator case, redundant parentheses, precedence left to the parser, `emails` for
 * `emails.value`, booleans as "True"/"false" strings and date-times with offsets.
 */
import fc from 'fast-check';
import { ENT, JOYN, keyOf, TYPES, type Lit, type Op, type RFilter, type RPath } from './reference.js';

export interface Gen {
  f: RFilter;
  text: string;
  /** The loosest operator at the top of `text` (decides where parentheses are needed). */
  top: 'or' | 'and' | 'atom';
}

const CORE_URN = {
  User: 'urn:ietf:params:scim:schemas:core:2.0:User',
  Group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
};

const caseVariants = (s: string) => [s, s, s.toUpperCase(), s.toLowerCase()];

function spellings(rt: 'User' | 'Group', p: RPath): string[] {
  const tail = `${p.attr}${p.sub ? '.' + p.sub : ''}`;
  if (p.uri) return [`${p.uri}:${tail}`, `${p.uri.toLowerCase()}:${tail}`, tail, tail.toUpperCase()];
  const out = caseVariants(tail);
  if (p.attr !== 'meta') out.push(`${CORE_URN[rt]}:${tail}`);
  if (p.sub === 'value' && ['emails', 'members', 'addresses', 'ims', 'groups'].includes(p.attr))
    out.push(p.attr);
  return out;
}

const USER_LEAVES: RPath[] = [
  { attr: 'userName' },
  { attr: 'displayName' },
  { attr: 'title' },
  { attr: 'userType' },
  { attr: 'externalId' },
  { attr: 'id' },
  { attr: 'active' },
  { attr: 'name', sub: 'givenName' },
  { attr: 'name', sub: 'familyName' },
  { attr: 'name', sub: 'formatted' },
  { attr: 'emails', sub: 'value' },
  { attr: 'emails', sub: 'type' },
  { attr: 'emails', sub: 'display' },
  { attr: 'emails', sub: 'primary' },
  { attr: 'ims', sub: 'value' },
  { attr: 'addresses', sub: 'locality' },
  { attr: 'addresses', sub: 'country' },
  { attr: 'addresses', sub: 'postalCode' },
  { attr: 'addresses', sub: 'type' },
  { attr: 'addresses', sub: 'primary' },
  { attr: 'groups', sub: 'value' },
  { attr: 'meta', sub: 'created' },
  { attr: 'meta', sub: 'lastModified' },
  { attr: 'meta', sub: 'resourceType' },
  { uri: ENT, attr: 'department' },
  { uri: ENT, attr: 'employeeNumber' },
  { uri: ENT, attr: 'manager', sub: 'value' },
  { uri: JOYN, attr: 'xid' },
  { uri: JOYN, attr: 'joynFieldId' },
];
const USER_PR_ONLY: RPath[] = [
  { attr: 'name' },
  { attr: 'emails' },
  { attr: 'addresses' },
  { attr: 'groups' },
  { attr: 'ims' },
  { uri: ENT, attr: 'manager' },
];
const GROUP_LEAVES: RPath[] = [
  { attr: 'displayName' },
  { attr: 'externalId' },
  { attr: 'id' },
  { attr: 'members', sub: 'value' },
  { attr: 'members', sub: 'type' },
  { attr: 'members', sub: 'display' },
  { attr: 'meta', sub: 'created' },
  { attr: 'meta', sub: 'lastModified' },
  { attr: 'meta', sub: 'resourceType' },
];
const GROUP_PR_ONLY: RPath[] = [{ attr: 'members' }];

/** Sub-attributes usable inside `attr[...]`, per multi-valued attribute. */
const ELEMENT_SUBS: Record<string, string[]> = {
  emails: ['value', 'type', 'display', 'primary'],
  addresses: ['locality', 'country', 'type', 'primary', 'postalCode'],
  ims: ['value', 'type'],
  members: ['value', 'type', 'display'],
};

/** Every value seen at each attribute key in the dataset, to pick literals that hit. */
export function valuePools(views: Iterable<Record<string, unknown>>): Map<string, string[]> {
  const pools = new Map<string, Set<string>>();
  const add = (k: string, v: unknown) => {
    if (typeof v !== 'string') return;
    let s = pools.get(k);
    if (!s) pools.set(k, (s = new Set()));
    s.add(v);
  };
  const walk = (o: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      const key = prefix + k;
      if (Array.isArray(v)) {
        for (const e of v)
          if (e && typeof e === 'object') for (const [s, x] of Object.entries(e)) add(`${key}.${s}`, x);
      } else if (v && typeof v === 'object') {
        if (k.startsWith('urn:')) walk(v as Record<string, unknown>, `${k}:`);
        else for (const [s, x] of Object.entries(v)) add(`${key}.${s}`, x);
      } else add(key, v);
    }
  };
  for (const v of views) walk(v, '');
  return new Map([...pools].map(([k, s]) => [k, [...s].sort()]));
}

const OPS_STRING: Op[] = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'];
const OPS_DATE: Op[] = ['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'eq', 'gt', 'lt', 'co', 'sw', 'ew'];
const opText = (op: string) => fc.constantFrom(op, op, op.toUpperCase(), op[0]!.toUpperCase() + op.slice(1));

/** `2024-03-01T10:00:00.000Z` written at another UTC offset (same instant). */
function withOffset(iso: string, minutes: number): string {
  const d = new Date(Date.parse(iso) + minutes * 60000).toISOString().slice(0, 23);
  const sign = minutes >= 0 ? '+' : '-';
  const m = Math.abs(minutes);
  return `${d}${sign}${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

function literalArb(
  key: string,
  op: Op,
  pools: Map<string, string[]>,
): fc.Arbitrary<{ value: Lit; text: string }> {
  const t = TYPES[key]!;
  const q = (s: string) => ({ value: s, text: JSON.stringify(s) });
  if (t.type === 'boolean')
    return fc.oneof(
      fc.boolean().map((b) => ({ value: b, text: String(b) })),
      fc
        .constantFrom('True', 'false', 'FALSE')
        .map((s) => ({ value: s.toLowerCase() === 'true', text: JSON.stringify(s) })),
    );
  if (t.type === 'dateTime') {
    const pool = pools.get(key) ?? ['2023-06-01T00:00:00.000Z'];
    const base = fc.constantFrom(...pool);
    if (op === 'co' || op === 'sw' || op === 'ew') return base.map(q);
    return fc.oneof(
      base.map(q),
      fc
        .tuple(base, fc.constantFrom(-86400000, -1, 1, 3600000))
        .map(([b, d]) => q(new Date(Date.parse(b) + d).toISOString())),
      fc.tuple(base, fc.constantFrom(120, -300, 330)).map(([b, m]) => q(withOffset(b, m))),
      fc.constantFrom('2022-01-01T00:00:00Z', '2023-07-15T12:30:00+02:00', '2024-12-31T23:59:59.999Z').map(q),
    );
  }
  const pool = pools.get(key) ?? [];
  const base = pool.length ? fc.constantFrom(...pool) : fc.constant('none');
  const arbs: fc.Arbitrary<{ value: Lit; text: string }>[] = [
    base.map(q),
    base.map((s) => q(s.toUpperCase())),
    base.map((s) => q(s.toLowerCase())),
    fc
      .tuple(base, fc.nat(), fc.nat())
      .map(([s, a, b]) => q(s.slice(Math.min(a, b) % (s.length + 1), (Math.max(a, b) % (s.length + 1)) + 1))),
    fc.constantFrom('a', 'E', '_', '%', '\\', 'é', 'É', '@', '', '.', 'zz', 'M').map(q),
  ];
  if (pool.some((s) => /^\d+$/.test(s)))
    arbs.push(
      fc
        .constantFrom(...pool.filter((s) => /^\d+$/.test(s)))
        .map((s) => ({ value: Number(s), text: String(Number(s)) })),
    );
  return fc.oneof(...arbs);
}

function compareArb(
  rt: 'User' | 'Group',
  path: RPath,
  spelled: fc.Arbitrary<string>,
  key: string,
  pools: Map<string, string[]>,
): fc.Arbitrary<Gen> {
  const t = TYPES[key]!;
  const ops: Op[] = t.type === 'boolean' ? ['eq', 'ne'] : t.type === 'dateTime' ? OPS_DATE : OPS_STRING;
  const cmp = fc.constantFrom(...ops).chain((op) =>
    fc.tuple(spelled, opText(op), literalArb(key, op, pools)).map(([s, o, l]): Gen => ({
      f: { k: 'cmp', path, op, value: l.value },
      text: `${s} ${o} ${l.text}`,
      top: 'atom',
    })),
  );
  const nul = fc.tuple(spelled, fc.constantFrom<Op>('eq', 'ne')).map(([s, op]): Gen => ({
    f: { k: 'cmp', path, op, value: null },
    text: `${s} ${op} null`,
    top: 'atom',
  }));
  const pr = fc
    .tuple(spelled, opText('pr'))
    .map(([s, o]): Gen => ({ f: { k: 'pr', path }, text: `${s} ${o}`, top: 'atom' }));
  void rt;
  return fc.oneof({ weight: 8, arbitrary: cmp }, { weight: 1, arbitrary: nul }, { weight: 1, arbitrary: pr });
}

/** A filter over the sub-attributes of one element of `attr` (inside `attr[...]`). */
function innerArb(attr: string, pools: Map<string, string[]>, depth: number): fc.Arbitrary<Gen> {
  const subs = ELEMENT_SUBS[attr]!;
  const leafArb = fc
    .constantFrom(...subs)
    .chain((sub) =>
      compareArb('User', { attr: sub }, fc.constantFrom(...caseVariants(sub)), `${attr}.${sub}`, pools),
    );
  if (depth <= 0) return leafArb;
  const sub = innerArb(attr, pools, depth - 1);
  return fc.oneof(
    { weight: 3, arbitrary: leafArb },
    { weight: 2, arbitrary: logical(sub) },
    { weight: 1, arbitrary: negate(sub) },
  );
}

const wrap = (g: Gen, need: boolean) => (need ? `(${g.text})` : g.text);

function logical(child: fc.Arbitrary<Gen>): fc.Arbitrary<Gen> {
  return fc
    .tuple(
      child,
      child,
      fc.constantFrom<'and' | 'or'>('and', 'or'),
      fc.constantFrom('', '', 'upper'),
      fc.boolean(),
      fc.boolean(),
    )
    .map(([l, r, k, c, pl, pr]): Gen => {
      // `and` binds tighter than `or` (RFC 7644 §3.4.2.2 precedence): only an `or` under an `and` needs parentheses.
      // The right operand of a same-kind chain is parenthesised so the tree shape is the one evaluated.
      const needL = (k === 'and' && l.top === 'or') || pl;
      const needR = (k === 'and' && r.top !== 'atom') || (k === 'or' && r.top === 'or') || pr;
      const word = c === 'upper' ? k.toUpperCase() : k;
      return { f: { k, l: l.f, r: r.f }, text: `${wrap(l, needL)} ${word} ${wrap(r, needR)}`, top: k };
    });
}

function negate(child: fc.Arbitrary<Gen>): fc.Arbitrary<Gen> {
  return fc
    .tuple(child, fc.constantFrom('not', 'NOT', 'Not'))
    .map(([g, w]): Gen => ({ f: { k: 'not', f: g.f }, text: `${w} (${g.text})`, top: 'atom' }));
}

export function filterArb(rt: 'User' | 'Group', pools: Map<string, string[]>, depth = 3): fc.Arbitrary<Gen> {
  const leaves = rt === 'User' ? USER_LEAVES : GROUP_LEAVES;
  const prOnly = rt === 'User' ? USER_PR_ONLY : GROUP_PR_ONLY;
  const mvAttrs = rt === 'User' ? ['emails', 'addresses', 'ims'] : ['members'];

  const simple = fc
    .constantFrom(...leaves)
    .chain((p) => compareArb(rt, p, fc.constantFrom(...spellings(rt, p)), keyOf(p), pools));
  const presentOnly = fc
    .constantFrom(...prOnly)
    .chain((p) =>
      fc
        .constantFrom(...spellings(rt, p))
        .map((s): Gen => ({ f: { k: 'pr', path: p }, text: `${s} pr`, top: 'atom' })),
    );
  // `emails[type eq "work"].value eq "x"`: a value filter on the path of a comparison.
  const filteredPath = fc.constantFrom(...mvAttrs).chain((attr) =>
    fc.tuple(innerArb(attr, pools, 1), fc.constantFrom(...ELEMENT_SUBS[attr]!)).chain(([inner, sub]) => {
      const path: RPath = { attr, sub, filter: inner.f };
      return compareArb(rt, path, fc.constant(`${attr}[${inner.text}].${sub}`), keyOf({ attr, sub }), pools);
    }),
  );
  // `emails[type eq "work" and value co "x"]`: a value path as a filter of its own (element-correlated).
  const vp = fc.constantFrom(...mvAttrs).chain((attr) =>
    fc.tuple(innerArb(attr, pools, 2), fc.constantFrom(attr, attr.toUpperCase())).map(([inner, s]): Gen => ({
      f: { k: 'vp', attr, inner: inner.f },
      text: `${s}[${inner.text}]`,
      top: 'atom',
    })),
  );
  const leaf = fc.oneof(
    { weight: 10, arbitrary: simple },
    { weight: 1, arbitrary: presentOnly },
    { weight: 2, arbitrary: filteredPath },
    { weight: 3, arbitrary: vp },
  );
  const build = (d: number): fc.Arbitrary<Gen> => {
    if (d <= 0) return leaf;
    const sub = build(d - 1);
    return fc.oneof(
      { weight: 3, arbitrary: leaf },
      { weight: 3, arbitrary: logical(sub) },
      { weight: 1, arbitrary: negate(sub) },
      {
        weight: 1,
        arbitrary: sub.map((g): Gen => ({ ...g, text: `(${g.text})`, top: 'atom' })),
      },
    );
  };
  return build(depth);
}
