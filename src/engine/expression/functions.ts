/**
 * The function table of Entra's expression language: Microsoft's reference "Reference for writing
 * expressions for attribute mappings" (functions-for-customizing-application-data), condensed in
 * entra-provisioning-engine.md §4.
 *
 * Null handling (Microsoft documents it only for some functions; the rest follow one rule):
 * - null in → null out for text functions (Append, Mid, Replace, ToLower, …), so the attribute is not
 *   provisioned (§3.2 "Nulls are not provisioned");
 * - Left and Word return "" for null, as documented; Join skips null and "" values (Microsoft's example
 *   `Join(", ", "", [surname], [givenName])` → "Doe, John");
 * - IIF fails when an attribute in its condition is null or empty (documented limitation);
 * - Switch compares a null source as "" (Microsoft's advice: use a "" key).
 * A multi-valued value where one string is needed is an error (use Item or Join to pick the value).
 */
import { randomInt, randomUUID } from 'node:crypto';
import { collectAttributes, type ExpressionNode } from './ast.js';
import {
  DateTimeValue,
  dateAdd,
  dateDiff,
  fileTimeToMs,
  formatDate,
  isDateInterval,
  msToFileTime,
  parseDateExact,
  parseDateTime,
  type DateInterval,
} from './dates.js';
import { ExpressionError } from './errors.js';
import { compileRegex, dotNetSubstitute, groupExists } from './regex.js';
import {
  FALSE,
  TRUE,
  asBigInt,
  asNumber,
  boolText,
  isNullOrEmpty,
  isTrueValue,
  scalarText,
  type Value,
} from './values.js';

/** What an expression sees of the world while it runs. */
export interface Env {
  /** Attribute value, looked up case-insensitively; undefined = absent. */
  attr(name: string): Value;
  /** Current time (ms since epoch) for Now(). */
  now(): number;
}

/** A function call being evaluated: lazy access to its arguments (IIF/Switch/Coalesce evaluate only what they need). */
export interface Call {
  readonly fn: string;
  readonly pos: number;
  readonly count: number;
  readonly env: Env;
  readonly nodes: readonly (ExpressionNode | null)[];
  /** The slot was left empty (`F(a, , c)`) or not given. */
  isEmpty(i: number): boolean;
  value(i: number): Value;
  fail(reason: string): never;
}

export interface FunctionDef {
  /** Parameter names for messages; a trailing `?` marks one that may be left empty. */
  readonly params: readonly string[];
  /** Name of the repeating last parameter, if any. */
  readonly rest?: string;
  readonly min: number;
  readonly max: number;
  /** Compile-time checks beyond the argument count (throw ExpressionError). */
  check?(args: readonly (ExpressionNode | null)[], pos: number, topLevel: boolean): void;
  impl(call: Call): Value;
}

// ---- coercion helpers ------------------------------------------------------------------------

function text(call: Call, i: number): string | undefined {
  return toText(call, call.value(i), i);
}

function toText(call: Call, v: Value, i: number): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (v instanceof DateTimeValue) return v.toString();
  if (Array.isArray(v)) {
    const arr = v as readonly string[];
    if (arr.length === 0) return undefined;
    if (arr.length === 1) return arr[0];
    call.fail(
      `argument ${i + 1} is multi-valued (${arr.length} values); use Item() or Join() to pick one value`,
    );
  }
  return scalarText(v as string | number | boolean);
}

function int(call: Call, i: number, name: string): number {
  const v = call.value(i);
  if (v === undefined) call.fail(`${name} is missing or null`);
  const n = asNumber(
    typeof v === 'boolean' || Array.isArray(v) || v instanceof DateTimeValue
      ? undefined
      : (v as string | number),
  );
  if (n === undefined || !Number.isFinite(n))
    call.fail(`${name} must be a number, got ${JSON.stringify(toText(call, v, i))}`);
  return Math.trunc(n);
}

function dateMs(call: Call, v: Value, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (v instanceof DateTimeValue) return v.ms;
  const s = toText(call, v, 0);
  if (s === undefined) return undefined;
  const ms = parseDateTime(s);
  if (ms === undefined)
    call.fail(`${name} ${JSON.stringify(s)} is not a date/time (use ISO 8601, M/d/yyyy h:mm:ss tt or CDate)`);
  return ms;
}

// .NET DateTime.MinValue / MaxValue.
const MIN_DATE_MS = new Date(0).setUTCFullYear(1, 0, 1);
const MAX_DATE_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function dateValue(call: Call, ms: number): DateTimeValue {
  if (!Number.isFinite(ms) || ms < MIN_DATE_MS || ms > MAX_DATE_MS)
    call.fail('the resulting date is outside years 1 to 9999');
  return new DateTimeValue(ms);
}

function interval(call: Call, i: number): DateInterval {
  const s = text(call, i)?.toLowerCase();
  if (s === undefined || !isDateInterval(s))
    call.fail(`interval must be one of yyyy, m, d, ww, h, n, s; got ${JSON.stringify(s ?? null)}`);
  return s;
}

function constantString(node: ExpressionNode | null | undefined): string | undefined {
  return node?.kind === 'string' ? node.value : undefined;
}

function compileError(fn: string, pos: number, reason: string): ExpressionError {
  return new ExpressionError(`${fn} at column ${pos}: ${reason}`, pos);
}

// ---- individual functions with more than a line of logic ------------------------------------

const DIACRITIC_SPECIALS: Readonly<Record<string, string>> = {
  æ: 'ae',
  Æ: 'AE',
  ǣ: 'ae',
  Ǣ: 'AE',
  ø: 'oe',
  Ø: 'OE',
  œ: 'oe',
  Œ: 'OE',
  ß: 'ss',
  ł: 'l',
  Ł: 'L',
  ı: 'i',
};

/** Microsoft's NormalizeDiacritics table: base letters survive, combining accents go, æ/ø/œ/ß expand. */
export function normalizeDiacritics(s: string): string {
  const decomposed = s.normalize('NFD');
  let out = '';
  for (const ch of decomposed) out += DIACRITIC_SPECIALS[ch] ?? ch;
  // Only Latin combining diacritics (U+0300–U+036F); recompose so other scripts (Hangul …) survive.
  return out.replace(/[\u0300-\u036f]/g, '').normalize('NFC');
}

/**
 * PCase: lower-case everything, then upper-case the first letter of each word. Without separators,
 * words break on anything that is not a letter, digit or combining mark (.NET ToTitleCase's separator
 * categories), except an apostrophe inside a word ("o'neil" → "O'neil").
 */
export function pcase(s: string, separators?: string): string {
  let out = '';
  let wordStart = true;
  let prevLetter = false;
  for (const ch of s.toLowerCase()) {
    let isSep: boolean;
    if (separators !== undefined) isSep = separators.includes(ch);
    else if (ch === "'") isSep = !prevLetter;
    else isSep = !/[\p{L}\p{N}\p{M}]/u.test(ch);
    if (isSep) {
      out += ch;
      wordStart = true;
    } else {
      out += wordStart ? ch.toUpperCase() : ch;
      wordStart = false;
    }
    prevLetter = /\p{L}/u.test(ch);
  }
  return out;
}

// Windows password-complexity character sets (the reference RandomString links to).
const DIGITS = '0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const SPECIAL = '~!@#$%^&*_-+=`|\\(){}[]:;"\'<>,.?/';

function randomString(call: Call): string {
  const length = int(call, 0, 'Length');
  const mins = [
    int(call, 1, 'MinimumNumbers'),
    int(call, 2, 'MinimumSpecialCharacters'),
    int(call, 3, 'MinimumCapital'),
    int(call, 4, 'MinimumLowerCase'),
  ];
  const avoid = call.isEmpty(5) ? '' : (text(call, 5) ?? '');
  if (length < 1 || length > 256) call.fail(`Length must be between 1 and 256, got ${length}`);
  if (mins.some((m) => m < 0)) call.fail('minimum counts cannot be negative');
  const sum = mins.reduce((a, b) => a + b, 0);
  if (sum > length) call.fail(`the minimum counts add up to ${sum}, more than Length ${length}`);
  const pools = [DIGITS, SPECIAL, UPPER, LOWER].map((p) => [...p].filter((c) => !avoid.includes(c)).join(''));
  const chars: string[] = [];
  const pick = (pool: string): string => pool[randomInt(pool.length)] as string;
  pools.forEach((pool, k) => {
    const need = mins[k] ?? 0;
    if (need > 0 && pool.length === 0)
      call.fail('CharactersToAvoid excludes every character of a required category');
    for (let j = 0; j < need; j++) chars.push(pick(pool));
  });
  const all = pools.join('');
  if (all.length === 0) call.fail('CharactersToAvoid excludes every character');
  while (chars.length < length) chars.push(pick(all));
  for (let j = chars.length - 1; j > 0; j--) {
    const k = randomInt(j + 1);
    [chars[j], chars[k]] = [chars[k] as string, chars[j] as string];
  }
  return chars.join('');
}

const DATE_TIME_STYLES = new Set([
  'none',
  'allowleadingwhite',
  'allowtrailingwhite',
  'allowinnerwhite',
  'allowwhitespaces',
  'nocurrentdatedefault',
  'adjusttouniversal',
  'assumelocal',
  'assumeuniversal',
  'roundtripkind',
]);

function formatDateTime(call: Call): Value {
  const src = call.value(0);
  if (isNullOrEmpty(src)) return undefined;
  if (!call.isEmpty(1)) {
    // Validated but otherwise not needed: every instant here is UTC and white space is always allowed.
    for (const style of (text(call, 1) ?? '').split(/[\s,|+]+/).filter(Boolean)) {
      if (!DATE_TIME_STYLES.has(style.replace(/^DateTimeStyles\./i, '').toLowerCase()))
        call.fail(`unknown DateTimeStyles value '${style}'`);
    }
  }
  const inputFormat = text(call, 2);
  const outputFormat = text(call, 3);
  if (!outputFormat) call.fail('outputFormat is required');
  let ms: number | undefined;
  if (src instanceof DateTimeValue) ms = src.ms;
  else {
    const s = toText(call, src, 0) as string;
    ms = inputFormat ? parseDateExact(s, inputFormat, call.env.now()) : parseDateTime(s);
    if (ms === undefined)
      call.fail(`${JSON.stringify(s)} does not match the input format ${JSON.stringify(inputFormat ?? '')}`);
  }
  return formatDate(ms, outputFormat);
}

/** Replace: Microsoft's five argument combinations (reference "Replace"; §4 table). */
function replace(call: Call): Value {
  const has = (i: number): boolean => !call.isEmpty(i);
  const OLD = 1,
    PATTERN = 2,
    GROUP = 3,
    REPLACEMENT = 4,
    ATTRIBUTE = 5,
    TEMPLATE = 6;
  if (has(OLD)) {
    const oldValue = text(call, OLD) ?? '';
    const source = text(call, 0);
    if (has(REPLACEMENT)) {
      if (source === undefined) return undefined;
      if (oldValue === '') return source;
      return source.split(oldValue).join(text(call, REPLACEMENT) ?? '');
    }
    // oldValue + template: the source goes into the template wherever oldValue appears.
    const template = text(call, TEMPLATE);
    if (source === undefined || template === undefined) return undefined;
    if (oldValue === '') return template;
    return template.split(oldValue).join(source);
  }
  const pattern = text(call, PATTERN);
  if (pattern === undefined) return text(call, 0);
  const re = regexOrFail(call, pattern);
  const groupName = has(GROUP) ? text(call, GROUP) : undefined;
  if (groupName !== undefined && !groupExists(re, groupName))
    call.fail(`regexGroupName '${groupName}' is not a group of the pattern`);
  if (groupName !== undefined && !has(REPLACEMENT) && has(ATTRIBUTE)) {
    // Source wins when it has a value; otherwise extract the group from the replacement attribute.
    const source = text(call, 0);
    if (!isNullOrEmpty(source)) return source;
    const other = text(call, ATTRIBUTE);
    if (other === undefined) return undefined;
    re.lastIndex = 0;
    const m = re.exec(other);
    return m ? groupValue(m, groupName) : undefined;
  }
  const source = text(call, 0);
  if (source === undefined) return undefined;
  const replacement = text(call, REPLACEMENT) ?? '';
  re.lastIndex = 0;
  if (groupName === undefined) {
    return source.replace(re, (...args: unknown[]) =>
      dotNetSubstitute(replacement, matchFromReplaceArgs(args, source)),
    );
  }
  // Replace only the span of the named group inside each match.
  let out = '';
  let last = 0;
  for (const m of source.matchAll(re)) {
    const span =
      m.indices?.groups?.[groupName] ??
      (/^\d+$/.test(groupName) ? m.indices?.[Number(groupName)] : undefined);
    if (!span) continue;
    out += source.slice(last, span[0]) + replacement;
    last = span[1];
  }
  return out + source.slice(last);
}

function groupValue(m: RegExpExecArray, group: string): string | undefined {
  if (/^\d+$/.test(group)) return m[Number(group)];
  return m.groups?.[group];
}

function matchFromReplaceArgs(args: unknown[], input: string): RegExpExecArray {
  // String.prototype.replace callback: (match, p1…pn, offset, string, groups?)
  const hasGroups = typeof args[args.length - 1] === 'object' && args[args.length - 1] !== undefined;
  const end = hasGroups ? args.length - 3 : args.length - 2;
  const arr = args.slice(0, end) as string[];
  const m = Object.assign(arr, {
    index: args[end] as number,
    input,
    groups: hasGroups ? (args[args.length - 1] as Record<string, string>) : undefined,
  });
  return m as unknown as RegExpExecArray;
}

function regexOrFail(call: Call, pattern: string): RegExp {
  try {
    return compileRegex(pattern);
  } catch (e) {
    return call.fail(`invalid regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}`);
  }
}

function iif(call: Call): Value {
  // Documented limitation: "If the source attribute used within the IIF function is empty or null,
  // the condition check fails" — fail the object rather than guess.
  for (const name of collectAttributes(call.nodes[0] ?? null)) {
    if (isNullOrEmpty(call.env.attr(name))) {
      call.fail(
        `attribute [${name}] in the condition is null or empty; IIF cannot evaluate it (use Switch with a "" key instead)`,
      );
    }
  }
  const cond = call.value(0);
  let truth: boolean;
  if (typeof cond === 'boolean') truth = cond;
  else if (typeof cond === 'number') truth = cond !== 0;
  else if (typeof cond === 'string' && /^(true|false)$/i.test(cond)) truth = cond.toLowerCase() === 'true';
  else
    call.fail(
      `the condition must evaluate to "True" or "False", got ${JSON.stringify(cond === undefined ? null : String(cond))}`,
    );
  return call.value(truth ? 1 : 2);
}

function cbool(call: Call): Value {
  const v = call.value(0);
  if (v === undefined) call.fail('the expression is null');
  if (typeof v === 'boolean') return boolText(v);
  if (typeof v === 'string' && /^(true|false)$/i.test(v.trim()))
    return boolText(v.trim().toLowerCase() === 'true');
  const n = asNumber(typeof v === 'number' || typeof v === 'string' ? v : undefined);
  if (n === undefined) call.fail(`cannot convert ${JSON.stringify(String(v))} to a Boolean`);
  return boolText(n !== 0);
}

function instr(call: Call): Value {
  const haystack = text(call, 0);
  const needle = text(call, 1);
  if (haystack === undefined || needle === undefined) return undefined;
  const start = call.isEmpty(2) ? 1 : int(call, 2, 'start');
  if (start < 1) call.fail(`start must be 1 or greater, got ${start}`);
  let textCompare = false;
  if (!call.isEmpty(3)) {
    const ct = text(call, 3);
    if (ct === 'vbTextCompare' || ct === '1') textCompare = true;
    else if (ct !== 'vbBinaryCompare' && ct !== '0')
      call.fail(`compareType must be vbTextCompare or vbBinaryCompare, got ${JSON.stringify(ct ?? null)}`);
  }
  if (start > haystack.length + 1) return 0;
  const h = textCompare ? haystack.toLowerCase() : haystack;
  const n = textCompare ? needle.toLowerCase() : needle;
  return h.indexOf(n, start - 1) + 1;
}

function switchFn(call: Call): Value {
  const source = call.value(0);
  const s = isNullOrEmpty(source) ? '' : (toText(call, source, 0) as string);
  for (let k = 2; k + 1 < call.count; k += 2) {
    const key = call.isEmpty(k) ? '' : (text(call, k) ?? '');
    if (key === s) return call.value(k + 1);
  }
  return call.value(1);
}

function caseConvert(call: Call, upper: boolean): Value {
  const s = text(call, 0);
  if (s === undefined) return undefined;
  const culture = call.isEmpty(1) ? undefined : text(call, 1);
  if (!culture) return upper ? s.toUpperCase() : s.toLowerCase(); // invariant culture
  try {
    return upper ? s.toLocaleUpperCase(culture) : s.toLocaleLowerCase(culture);
  } catch {
    return call.fail(`unknown culture ${JSON.stringify(culture)} (expected e.g. en-US, tr-TR)`);
  }
}

function multi(v: Value, call: Call): readonly string[] | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v as readonly string[];
  return [toText(call, v, 0) as string];
}

const unary = (name: string): readonly string[] => [name];

// ---- the table --------------------------------------------------------------------------------

export const FUNCTIONS: Readonly<Record<string, FunctionDef>> = {
  Append: {
    params: ['source', 'suffix'],
    min: 2,
    max: 2,
    impl: (c) => {
      const s = text(c, 0);
      return s === undefined ? undefined : s + (text(c, 1) ?? '');
    },
  },
  // Role provisioning needs Entra's appRoleAssignments, which no source connector of ours supplies:
  // these two evaluate to null (attribute not provisioned). entra-provisioning-engine.md §3.2.
  AppRoleAssignmentsComplex: { params: ['[appRoleAssignments]'], min: 1, max: 1, impl: () => undefined },
  AssertiveAppRoleAssignmentsComplex: {
    params: ['[appRoleAssignments]'],
    min: 1,
    max: 1,
    impl: () => undefined,
  },
  BitAnd: {
    params: ['value1', 'value2'],
    min: 2,
    max: 2,
    impl: (c) => {
      const a = c.value(0);
      const b = c.value(1);
      if (a === undefined || b === undefined) return undefined;
      const x = asBigInt(a as string | number);
      const y = asBigInt(b as string | number);
      if (x === undefined || y === undefined) return c.fail('both values must be integers');
      return Number(BigInt.asIntN(64, x & y));
    },
  },
  CBool: { params: unary('expression'), min: 1, max: 1, impl: cbool },
  CDate: {
    params: unary('expression'),
    min: 1,
    max: 1,
    impl: (c) => {
      const ms = dateMs(c, c.value(0), 'expression');
      return ms === undefined ? undefined : new DateTimeValue(ms);
    },
  },
  Coalesce: {
    params: [],
    rest: 'source',
    min: 1,
    max: Infinity,
    impl: (c) => {
      let last: Value;
      for (let i = 0; i < c.count; i++) {
        last = c.value(i);
        if (!isNullOrEmpty(last)) return last;
      }
      // All null/empty: the last argument is the default ("" is a documented default).
      return last;
    },
  },
  ConvertToBase64: {
    params: unary('source'),
    min: 1,
    max: 1,
    impl: (c) => {
      const s = text(c, 0);
      return s === undefined ? undefined : Buffer.from(s, 'utf16le').toString('base64'); // .NET "Unicode" = UTF-16LE
    },
  },
  ConvertToUTF8Hex: {
    params: unary('source'),
    min: 1,
    max: 1,
    impl: (c) => {
      const s = text(c, 0);
      return s === undefined ? undefined : Buffer.from(s, 'utf8').toString('hex').toUpperCase();
    },
  },
  Count: {
    params: unary('attribute'),
    min: 1,
    max: 1,
    impl: (c) => {
      const v = c.value(0);
      if (v === undefined) return 0;
      return Array.isArray(v) ? v.length : 1;
    },
  },
  CStr: { params: unary('value'), min: 1, max: 1, impl: (c) => text(c, 0) },
  DateAdd: {
    params: ['interval', 'value', 'dateTime'],
    min: 3,
    max: 3,
    check: (args, pos) => checkInterval('DateAdd', args[0], pos),
    impl: (c) => {
      const iv = interval(c, 0);
      const n = int(c, 1, 'value');
      const ms = dateMs(c, c.value(2), 'dateTime');
      return ms === undefined ? undefined : dateValue(c, dateAdd(iv, n, ms));
    },
  },
  DateDiff: {
    params: ['interval', 'date1', 'date2'],
    min: 3,
    max: 3,
    check: (args, pos) => checkInterval('DateDiff', args[0], pos),
    impl: (c) => {
      const iv = interval(c, 0);
      const a = dateMs(c, c.value(1), 'date1');
      const b = dateMs(c, c.value(2), 'date2');
      return a === undefined || b === undefined ? undefined : dateDiff(iv, a, b);
    },
  },
  DateFromNum: {
    params: unary('value'),
    min: 1,
    max: 1,
    impl: (c) => {
      const v = c.value(0);
      if (isNullOrEmpty(v)) return undefined;
      const ticks = asBigInt(v as string | number);
      if (ticks === undefined || ticks < 0n)
        return c.fail(`${JSON.stringify(String(v))} is not an AD date number (100-ns ticks since 1601)`);
      return dateValue(c, fileTimeToMs(ticks));
    },
  },
  FormatDateTime: {
    // Older documentation has FormatDateTime(source, inputFormat, outputFormat); both forms are accepted.
    // An empty inputFormat (our extension) reads the source like CDate, or takes a DateTime as is.
    params: ['source', 'dateTimeStyles?', 'inputFormat?', 'outputFormat'],
    min: 3,
    max: 4,
    impl: formatDateTime,
  },
  Guid: { params: [], min: 0, max: 0, impl: () => randomUUID() },
  IgnoreFlowIfNullOrEmpty: {
    params: unary('expression'),
    min: 1,
    max: 1,
    // Evaluates to null (undefined) when empty, so the attribute does not flow; the compiled expression's
    // `ignoreFlowIfNullOrEmpty` flag tells the engine not to substitute a default value either.
    impl: (c) => {
      const v = c.value(0);
      return isNullOrEmpty(v) ? undefined : v;
    },
  },
  IIF: { params: ['condition', 'valueIfTrue', 'valueIfFalse'], min: 3, max: 3, impl: iif },
  InStr: {
    params: ['value1', 'value2', 'start?', 'compareType?'],
    min: 2,
    max: 4,
    impl: instr,
  },
  IsNull: {
    params: unary('expression'),
    min: 1,
    max: 1,
    // "For an attribute, a Null is expressed by the absence of the attribute": "" is not null.
    impl: (c) => {
      const v = c.value(0);
      return boolText(v === undefined || (Array.isArray(v) && v.length === 0));
    },
  },
  IsNullOrEmpty: {
    params: unary('expression'),
    min: 1,
    max: 1,
    impl: (c) => boolText(isNullOrEmpty(c.value(0))),
  },
  IsPresent: {
    params: unary('expression'),
    min: 1,
    max: 1,
    impl: (c) => boolText(!isNullOrEmpty(c.value(0))),
  },
  IsString: {
    params: unary('expression'),
    min: 1,
    max: 1,
    impl: (c) => boolText(typeof c.value(0) === 'string'),
  },
  Item: {
    params: ['attribute', 'index'],
    min: 2,
    max: 2,
    impl: (c) => {
      const values = multi(c.value(0), c);
      const index = int(c, 1, 'index');
      // "Index 0 shouldn't be used": indexes start at 1.
      if (index < 1) c.fail(`index must be 1 or greater, got ${index}`);
      return values?.[index - 1];
    },
  },
  Join: {
    params: ['separator'],
    rest: 'source',
    min: 2,
    max: Infinity,
    impl: (c) => {
      const sep = text(c, 0) ?? '';
      const parts: string[] = [];
      for (let i = 1; i < c.count; i++) {
        const v = c.value(i);
        if (Array.isArray(v)) parts.push(...(v as string[]).filter((x) => x !== ''));
        else if (!isNullOrEmpty(v)) parts.push(toText(c, v, i) as string);
      }
      return parts.join(sep);
    },
  },
  Left: {
    params: ['string', 'numChars'],
    min: 2,
    max: 2,
    impl: (c) => {
      const s = text(c, 0);
      if (s === undefined) return '';
      const n = int(c, 1, 'numChars');
      if (n < 0) return s;
      return s.slice(0, n);
    },
  },
  Mid: {
    params: ['source', 'start', 'length'],
    min: 3,
    max: 3,
    impl: (c) => {
      const s = text(c, 0);
      if (s === undefined) return undefined;
      const start = int(c, 1, 'start');
      const length = int(c, 2, 'length');
      if (start < 1) c.fail(`start must be 1 or greater, got ${start}`);
      if (length < 0) c.fail(`length cannot be negative, got ${length}`);
      return s.slice(start - 1, start - 1 + length);
    },
  },
  NormalizeDiacritics: {
    params: unary('source'),
    min: 1,
    max: 1,
    impl: (c) => {
      const s = text(c, 0);
      return s === undefined ? undefined : normalizeDiacritics(s);
    },
  },
  // "If source value is True, returns False. Otherwise, returns True."
  Not: { params: unary('source'), min: 1, max: 1, impl: (c) => (isTrueValue(c.value(0)) ? FALSE : TRUE) },
  Now: { params: [], min: 0, max: 0, impl: (c) => new DateTimeValue(c.env.now()) },
  NumFromDate: {
    params: unary('value'),
    min: 1,
    max: 1,
    impl: (c) => {
      const ms = dateMs(c, c.value(0), 'value');
      // A decimal string: AD large integers exceed Number's exact range.
      return ms === undefined ? undefined : msToFileTime(ms).toString();
    },
  },
  PCase: {
    params: ['source', 'wordSeparators?'],
    min: 1,
    max: 2,
    impl: (c) => {
      const s = text(c, 0);
      if (s === undefined) return undefined;
      return pcase(s, c.isEmpty(1) ? undefined : text(c, 1));
    },
  },
  RandomString: {
    params: [
      'Length',
      'MinimumNumbers',
      'MinimumSpecialCharacters',
      'MinimumCapital',
      'MinimumLowerCase',
      'CharactersToAvoid?',
    ],
    min: 5,
    max: 6,
    impl: randomString,
  },
  // The value is unchanged; the compiled expression's `redacted` flag tells the logs to show "[Redact]".
  Redact: { params: unary('attribute or value'), min: 1, max: 1, impl: (c) => c.value(0) },
  RemoveDuplicates: {
    params: unary('attribute'),
    min: 1,
    max: 1,
    impl: (c) => {
      const v = c.value(0);
      return Array.isArray(v) ? [...new Set(v as string[])] : v;
    },
  },
  Replace: {
    params: [
      'source',
      'oldValue?',
      'regexPattern?',
      'regexGroupName?',
      'replacementValue?',
      'replacementAttributeName?',
      'template?',
    ],
    min: 3,
    max: 7,
    check: checkReplace,
    impl: replace,
  },
  SelectUniqueValue: {
    params: [],
    rest: 'uniqueValueRule',
    min: 2,
    max: Infinity,
    check: (_args, pos, topLevel) => {
      if (!topLevel)
        throw compileError('SelectUniqueValue', pos, 'must be the whole expression; it cannot be nested');
    },
    // Uniqueness against the target is the engine's job (CompiledEntraExpression.candidates);
    // on its own the first non-empty candidate is the value.
    impl: (c) => {
      for (let i = 0; i < c.count; i++) {
        const v = c.value(i);
        if (!isNullOrEmpty(v)) return v;
      }
      return undefined;
    },
  },
  SingleAppRoleAssignment: {
    params: ['[appRoleAssignments]'],
    min: 1,
    max: 1,
    impl: (c) => {
      const v = c.value(0);
      return Array.isArray(v) ? (v as string[])[0] : text(c, 0);
    },
  },
  Split: {
    params: ['source', 'delimiter'],
    min: 2,
    max: 2,
    impl: (c) => {
      const s = text(c, 0);
      if (s === undefined) return undefined;
      const d = text(c, 1);
      if (!d) return c.fail('delimiter must not be empty');
      // Microsoft's example turns "PermissionSetOne, PermissionSetTwo" into two clean values, so
      // values are trimmed, and empty values (",,") dropped: a multi-valued attribute has no empty values.
      return s
        .split(d)
        .map((x) => x.trim())
        .filter((x) => x !== '');
    },
  },
  StripSpaces: {
    params: unary('source'),
    min: 1,
    max: 1,
    impl: (c) => text(c, 0)?.split(' ').join(''),
  },
  Switch: {
    params: ['source', 'defaultValue?'],
    rest: 'key, value',
    min: 4,
    max: Infinity,
    check: (args, pos) => {
      if (args.length % 2 !== 0) {
        throw compileError(
          'Switch',
          pos,
          `takes an even number of arguments (source, defaultValue, then key/value pairs), got ${args.length}`,
        );
      }
    },
    impl: switchFn,
  },
  ToLower: { params: ['source', 'culture?'], min: 1, max: 2, impl: (c) => caseConvert(c, false) },
  ToUpper: { params: ['source', 'culture?'], min: 1, max: 2, impl: (c) => caseConvert(c, true) },
  Word: {
    params: ['string', 'wordNumber', 'delimiters'],
    min: 3,
    max: 3,
    impl: (c) => {
      const s = text(c, 0);
      if (s === undefined) return '';
      const n = int(c, 1, 'wordNumber');
      if (n < 1) return '';
      const delimiters = text(c, 2) ?? '';
      const words: string[] = [];
      let current = '';
      for (const ch of s) {
        if (delimiters.includes(ch)) {
          if (current !== '') words.push(current);
          current = '';
        } else current += ch;
      }
      if (current !== '') words.push(current);
      return words[n - 1] ?? '';
    },
  },
};

function checkInterval(fn: string, node: ExpressionNode | null | undefined, pos: number): void {
  const s = constantString(node);
  if (s !== undefined && !isDateInterval(s.toLowerCase())) {
    throw compileError(fn, pos, `interval must be one of yyyy, m, d, ww, h, n, s; got ${JSON.stringify(s)}`);
  }
}

function checkReplace(args: readonly (ExpressionNode | null)[], pos: number): void {
  const has = (i: number): boolean => args[i] !== null && args[i] !== undefined;
  const ok = (has(1) && (has(4) || has(6))) || (!has(1) && has(2) && (has(4) || (has(3) && has(5))));
  if (!ok) {
    throw compileError(
      'Replace',
      pos,
      'give oldValue with replacementValue or template, or regexPattern with replacementValue, or regexPattern with regexGroupName and replacementAttributeName',
    );
  }
  const pattern = constantString(args[2]);
  if (pattern !== undefined) {
    let re: RegExp;
    try {
      re = compileRegex(pattern);
    } catch (e) {
      throw compileError(
        'Replace',
        pos,
        `invalid regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}`,
      );
    }
    const group = constantString(args[3]);
    if (group !== undefined && !groupExists(re, group))
      throw compileError('Replace', pos, `regexGroupName '${group}' is not a group of the pattern`);
  }
}

/** "Append takes 2 arguments (source, suffix)" */
export function describeArity(name: string, def: FunctionDef): string {
  const names = [...def.params.map((p) => p.replace(/\?$/, '')), ...(def.rest ? [`${def.rest}…`] : [])].join(
    ', ',
  );
  let count: string;
  if (def.max === Infinity) count = `at least ${def.min} arguments`;
  else if (def.min === def.max) count = `${def.min} argument${def.min === 1 ? '' : 's'}`;
  else count = `${def.min} to ${def.max} arguments`;
  return `${name} takes ${count}${names ? ` (${names})` : ''}`;
}
