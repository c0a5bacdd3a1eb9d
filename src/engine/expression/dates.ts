/**
 * Date handling for CDate, Now, DateAdd, DateDiff, DateFromNum, NumFromDate and FormatDateTime
 * (entra-provisioning-engine.md §4). Entra runs .NET in UTC: every DateTime here is a UTC instant,
 * printed by default as `M/d/yyyy h:mm:ss tt`.
 */
import { ExpressionError } from './errors.js';

/** A DateTime value inside an expression (not a native attribute type; Microsoft's CDate remarks). */
export class DateTimeValue {
  constructor(readonly ms: number) {}
  toString(): string {
    return formatDate(this.ms, DEFAULT_DATE_FORMAT);
  }
}

export const DEFAULT_DATE_FORMAT = 'M/d/yyyy h:mm:ss tt';

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const daysInMonth = (y: number, m: number): number => (m === 2 && isLeap(y) ? 29 : (MONTH_DAYS[m - 1] ?? 0));

interface Parts {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
  /** minutes east of UTC; undefined = no zone in the text (taken as UTC). */
  offset?: number;
}

/** Builds a UTC instant from calendar parts; undefined when a part is out of range. */
function toMs(p: Parts): number | undefined {
  if (p.month < 1 || p.month > 12 || p.day < 1 || p.day > daysInMonth(p.year, p.month)) return undefined;
  if (p.hour > 23 || p.minute > 59 || p.second > 59 || p.year < 1 || p.year > 9999) return undefined;
  const d = new Date(0);
  d.setUTCFullYear(p.year, p.month - 1, p.day); // setUTCFullYear keeps years < 100 literal
  d.setUTCHours(p.hour, p.minute, p.second, p.ms);
  return d.getTime() - (p.offset ?? 0) * 60_000;
}

function parseOffset(z: string | undefined): number | undefined {
  if (z === undefined || z === '') return undefined;
  if (z === 'Z' || z === 'z') return 0;
  const m = /^([+-])(\d{1,2}):?(\d{2})?$/.exec(z);
  if (!m) return undefined;
  const mins = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return m[1] === '-' ? -mins : mins;
}

const fraction = (f: string | undefined): number => (f ? Math.floor(Number(`0.${f}`) * 1000) : 0);

/**
 * The date/time shapes Entra sources produce and Microsoft's examples use:
 * ISO 8601 (`2009-06-15T01:45:30-07:00`, Workday's `2012-03-16-07:00`), the default output
 * (`8/25/2021 5:41:18 PM`) and AD generalized time (`20150123105347.1Z`). No zone = UTC.
 */
export function parseDateTime(text: string): number | undefined {
  const s = text.trim();
  let m =
    /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,7}))?)?)?\s*(Z|[+-]\d{1,2}(?::?\d{2})?)?$/i.exec(
      s,
    );
  if (m) {
    return toMs({
      year: Number(m[1]),
      month: Number(m[2]),
      day: Number(m[3]),
      hour: Number(m[4] ?? 0),
      minute: Number(m[5] ?? 0),
      second: Number(m[6] ?? 0),
      ms: fraction(m[7]),
      offset: parseOffset(m[8]?.toUpperCase()),
    });
  }
  m =
    /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(AM|PM)?)?\s*(Z|[+-]\d{1,2}(?::?\d{2})?)?$/i.exec(
      s,
    );
  if (m) {
    let hour = Number(m[4] ?? 0);
    const tt = m[7]?.toUpperCase();
    if (tt) {
      if (hour < 1 || hour > 12) return undefined;
      hour = (hour % 12) + (tt === 'PM' ? 12 : 0);
    }
    return toMs({
      year: Number(m[3]),
      month: Number(m[1]),
      day: Number(m[2]),
      hour,
      minute: Number(m[5] ?? 0),
      second: Number(m[6] ?? 0),
      ms: 0,
      offset: parseOffset(m[8]?.toUpperCase()),
    });
  }
  m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,7}))?(Z|[+-]\d{4})?$/i.exec(s);
  if (m) {
    return toMs({
      year: Number(m[1]),
      month: Number(m[2]),
      day: Number(m[3]),
      hour: Number(m[4]),
      minute: Number(m[5]),
      second: Number(m[6]),
      ms: fraction(m[7]),
      offset: parseOffset(m[8]?.toUpperCase()),
    });
  }
  return undefined;
}

// ---- .NET custom date and time format strings --------------------------------------------------

type FormatToken = { readonly spec: string } | { readonly literal: string };

const SPECIFIER_CHARS = new Set(['d', 'f', 'F', 'g', 'h', 'H', 'K', 'm', 'M', 's', 't', 'y', 'z']);

/** Splits a .NET custom format into specifier runs (`yyyy`, `MM`, `tt` …) and literal text. */
export function tokenizeFormat(format: string): FormatToken[] {
  const out: FormatToken[] = [];
  const lit = (s: string): void => {
    const last = out[out.length - 1];
    if (last && 'literal' in last) out[out.length - 1] = { literal: last.literal + s };
    else out.push({ literal: s });
  };
  for (let i = 0; i < format.length;) {
    const c = format[i] as string;
    if (c === "'" || c === '"') {
      const end = format.indexOf(c, i + 1);
      if (end < 0) throw new ExpressionError(`unterminated quoted text in date format "${format}"`);
      lit(format.slice(i + 1, end));
      i = end + 1;
    } else if (c === '\\') {
      if (i + 1 >= format.length)
        throw new ExpressionError(`date format "${format}" ends with a lone backslash`);
      lit(format[i + 1] as string);
      i += 2;
    } else if (c === '%' && i + 1 < format.length && SPECIFIER_CHARS.has(format[i + 1] as string)) {
      out.push({ spec: format[i + 1] as string });
      i += 2;
    } else if (SPECIFIER_CHARS.has(c)) {
      let j = i;
      while (format[j] === c) j++;
      out.push({ spec: format.slice(i, j) });
      i = j;
    } else {
      lit(c);
      i++;
    }
  }
  return out;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** Formats a UTC instant with a .NET custom format string (invariant culture). */
export function formatDate(ms: number, format: string): string {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth() + 1;
  const hour = d.getUTCHours();
  let out = '';
  for (const t of tokenizeFormat(format)) {
    if ('literal' in t) {
      out += t.literal;
      continue;
    }
    const s = t.spec;
    const n = s.length;
    switch (s[0]) {
      case 'y':
        out += n <= 2 ? pad(year % 100, n) : pad(year, n);
        break;
      case 'M':
        out +=
          n <= 2 ? pad(month, n) : n === 3 ? (MONTHS[month - 1] as string).slice(0, 3) : MONTHS[month - 1];
        break;
      case 'd':
        out +=
          n <= 2
            ? pad(d.getUTCDate(), n)
            : n === 3
              ? (DAYS[d.getUTCDay()] as string).slice(0, 3)
              : DAYS[d.getUTCDay()];
        break;
      case 'H':
        out += pad(hour, Math.min(n, 2));
        break;
      case 'h':
        out += pad(hour % 12 === 0 ? 12 : hour % 12, Math.min(n, 2));
        break;
      case 'm':
        out += pad(d.getUTCMinutes(), Math.min(n, 2));
        break;
      case 's':
        out += pad(d.getUTCSeconds(), Math.min(n, 2));
        break;
      case 't':
        out += (hour < 12 ? 'AM' : 'PM').slice(0, n === 1 ? 1 : 2);
        break;
      case 'f':
      case 'F': {
        if (n > 7) throw new ExpressionError(`date format "${format}" has more than 7 '${s[0]}' characters`);
        let digits = pad(d.getUTCMilliseconds(), 3).padEnd(7, '0').slice(0, n);
        if (s[0] === 'F') {
          digits = digits.replace(/0+$/, '');
          // .NET drops the decimal point in front of an all-zero F field.
          if (digits === '' && out.endsWith('.')) out = out.slice(0, -1);
        }
        out += digits;
        break;
      }
      case 'z':
        out += n === 1 ? '+0' : n === 2 ? '+00' : '+00:00';
        break;
      case 'K':
        out += 'Z';
        break;
      case 'g':
        out += 'A.D.';
        break;
      default:
        out += s;
    }
  }
  return out;
}

/**
 * Parses `text` with a .NET custom format (ParseExact semantics for the common specifiers:
 * yyyy yy y MM M MMM MMMM dd d ddd dddd HH H hh h mm m ss s tt t f… F… zzz zz z K, literal text,
 * a literal `Z` meaning UTC). Leading/trailing white space is allowed (Entra's default DateTimeStyles).
 * Returns the UTC instant or undefined if the text does not match.
 */
export function parseDateExact(text: string, format: string, defaultDateMs: number): number | undefined {
  const tokens = tokenizeFormat(format);
  const s = text.trim();
  let i = 0;
  const base = new Date(defaultDateMs);
  const p: Parts = {
    year: base.getUTCFullYear(),
    month: base.getUTCMonth() + 1,
    day: base.getUTCDate(),
    hour: 0,
    minute: 0,
    second: 0,
    ms: 0,
  };
  let pm: boolean | undefined;
  let hour12: number | undefined;
  const digits = (min: number, max: number): number | undefined => {
    let j = i;
    while (j < s.length && j - i < max && s[j] !== undefined && /\d/.test(s[j] as string)) j++;
    if (j - i < min) return undefined;
    const v = Number(s.slice(i, j));
    i = j;
    return v;
  };
  const word = (names: readonly string[]): number | undefined => {
    const rest = s.slice(i).toLowerCase();
    // Longest first so "June" is not taken as "Jun" + "e".
    const order = names
      .map((name, idx) => ({ name: name.toLowerCase(), idx }))
      .sort((a, b) => b.name.length - a.name.length);
    for (const { name, idx } of order) {
      if (rest.startsWith(name)) {
        i += name.length;
        return idx;
      }
    }
    return undefined;
  };
  for (const t of tokens) {
    if ('literal' in t) {
      for (const ch of t.literal) {
        if (ch === 'Z' && s[i] === 'Z') {
          // .NET ParseExact treats a literal Z as the UTC designator.
          p.offset = 0;
          i++;
        } else if (/\s/.test(ch)) {
          while (i < s.length && /\s/.test(s[i] as string)) i++;
        } else if (s[i] === ch) i++;
        else return undefined;
      }
      continue;
    }
    const n = t.spec.length;
    let v: number | undefined;
    switch (t.spec[0]) {
      case 'y':
        if (n <= 2) {
          v = digits(n, 2);
          if (v !== undefined) p.year = v < 50 ? 2000 + v : 1900 + v; // .NET TwoDigitYearMax 2049
        } else {
          v = digits(n, Math.max(n, 4));
          if (v !== undefined) p.year = v;
        }
        break;
      case 'M':
        if (n <= 2) v = digits(n, 2);
        else {
          const idx = word(n === 3 ? MONTHS.map((x) => x.slice(0, 3)) : MONTHS);
          v = idx === undefined ? undefined : idx + 1;
        }
        if (v !== undefined) p.month = v;
        break;
      case 'd':
        if (n <= 2) {
          v = digits(n, 2);
          if (v !== undefined) p.day = v;
        } else v = word(n === 3 ? DAYS.map((x) => x.slice(0, 3)) : DAYS); // day name: checked loosely, not cross-validated
        break;
      case 'H':
        v = digits(Math.min(n, 2), 2);
        if (v !== undefined) p.hour = v;
        break;
      case 'h':
        v = digits(Math.min(n, 2), 2);
        if (v !== undefined) {
          if (v < 1 || v > 12) return undefined;
          hour12 = v;
        }
        break;
      case 'm':
        v = digits(Math.min(n, 2), 2);
        if (v !== undefined) p.minute = v;
        break;
      case 's':
        v = digits(Math.min(n, 2), 2);
        if (v !== undefined) p.second = v;
        break;
      case 't': {
        const rest = s.slice(i, i + (n === 1 ? 1 : 2)).toUpperCase();
        if (rest === 'AM' || rest === 'A') pm = false;
        else if (rest === 'PM' || rest === 'P') pm = true;
        else return undefined;
        i += rest.length;
        v = 0;
        break;
      }
      case 'f':
      case 'F': {
        const start = i;
        v = digits(t.spec[0] === 'f' ? n : 0, n);
        if (v !== undefined && i > start) p.ms = fraction(s.slice(start, i));
        break;
      }
      case 'z': {
        const m = (
          n === 1 ? /^([+-])(\d{1,2})/ : n === 2 ? /^([+-])(\d{2})/ : /^([+-])(\d{2}):?(\d{2})/
        ).exec(s.slice(i));
        if (!m) return undefined;
        i += m[0].length;
        const mins = Number(m[2]) * 60 + Number(m[3] ?? 0);
        p.offset = m[1] === '-' ? -mins : mins;
        v = 0;
        break;
      }
      case 'K': {
        const m = /^(Z|[+-]\d{2}:?\d{2})?/i.exec(s.slice(i));
        if (m?.[1]) p.offset = parseOffset(m[1].toUpperCase());
        i += m?.[0].length ?? 0;
        v = 0;
        break;
      }
      default:
        return undefined;
    }
    if (v === undefined) return undefined;
  }
  if (i !== s.length) return undefined;
  if (hour12 !== undefined) p.hour = (hour12 % 12) + (pm ? 12 : 0);
  else if (pm !== undefined && p.hour < 12 && pm) p.hour += 12;
  return toMs(p);
}

// ---- DateAdd / DateDiff (VBA intervals) -------------------------------------------------------

export const DATE_INTERVALS = ['yyyy', 'm', 'd', 'ww', 'h', 'n', 's'] as const;
export type DateInterval = (typeof DATE_INTERVALS)[number];
export const isDateInterval = (s: string): s is DateInterval =>
  (DATE_INTERVALS as readonly string[]).includes(s);

function addMonths(ms: number, months: number): number {
  const d = new Date(ms);
  const total = d.getUTCFullYear() * 12 + d.getUTCMonth() + months;
  const year = Math.floor(total / 12);
  const month = total - year * 12 + 1;
  // .NET AddMonths clamps the day to the end of the target month (Jan 31 + 1 month = Feb 28/29).
  const day = Math.min(d.getUTCDate(), daysInMonth(year, month));
  const r = new Date(ms);
  r.setUTCFullYear(year, month - 1, day);
  return r.getTime();
}

export function dateAdd(interval: DateInterval, value: number, ms: number): number {
  switch (interval) {
    case 'yyyy':
      return addMonths(ms, value * 12);
    case 'm':
      return addMonths(ms, value);
    case 'd':
      return ms + value * 86_400_000;
    case 'ww':
      return ms + value * 7 * 86_400_000;
    case 'h':
      return ms + value * 3_600_000;
    case 'n':
      return ms + value * 60_000;
    case 's':
      return ms + value * 1000;
  }
}

/**
 * Microsoft.VisualBasic DateDiff semantics, which reproduce Microsoft's table
 * (e.g. d: 8/25/2021 5:41:18 PM → 2012-03-16-07:00 = -3449, ww = -493, m = -113, yyyy = -9):
 * yyyy/m count calendar boundaries; d/h/n/s truncate the elapsed time; ww moves both dates back to
 * their Sunday first, then truncates days / 7.
 */
export function dateDiff(interval: DateInterval, ms1: number, ms2: number): number {
  const a = new Date(ms1);
  const b = new Date(ms2);
  const trunc = (x: number): number => Math.trunc(x) + 0; // + 0 turns -0 into 0
  switch (interval) {
    case 'yyyy':
      return b.getUTCFullYear() - a.getUTCFullYear();
    case 'm':
      return (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + (b.getUTCMonth() - a.getUTCMonth());
    case 'd':
      return trunc((ms2 - ms1) / 86_400_000);
    case 'ww': {
      const s1 = ms1 - a.getUTCDay() * 86_400_000;
      const s2 = ms2 - b.getUTCDay() * 86_400_000;
      return trunc(trunc((s2 - s1) / 86_400_000) / 7);
    }
    case 'h':
      return trunc((ms2 - ms1) / 3_600_000);
    case 'n':
      return trunc((ms2 - ms1) / 60_000);
    case 's':
      return trunc((ms2 - ms1) / 1000);
  }
}

// ---- AD FILETIME (100-ns ticks since 1601-01-01 UTC) -----------------------------------------

const EPOCH_DIFF_MS = 11_644_473_600_000n;

export function fileTimeToMs(ticks: bigint): number {
  return Number(ticks / 10_000n - EPOCH_DIFF_MS);
}

export function msToFileTime(ms: number): bigint {
  return (BigInt(Math.trunc(ms)) + EPOCH_DIFF_MS) * 10_000n;
}
