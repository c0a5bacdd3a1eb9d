/**
 * Runtime values of the expression language and the coercions between them.
 * Booleans are the strings "True"/"False" (entra-provisioning-engine.md §4); a raw boolean attribute
 * (accountEnabled = true) becomes "True"/"False" as soon as it is used as text.
 */
import { DateTimeValue } from './dates.js';

export type Value = undefined | string | number | boolean | readonly string[] | DateTimeValue;

export const TRUE = 'True';
export const FALSE = 'False';
export const boolText = (b: boolean): string => (b ? TRUE : FALSE);

/** Null (absent attribute, empty slot, no values) or the empty string. */
export function isNullOrEmpty(v: Value): boolean {
  if (v === undefined || v === '') return true;
  return Array.isArray(v) && v.length === 0;
}

export function scalarText(v: string | number | boolean): string {
  if (typeof v === 'boolean') return boolText(v);
  return String(v);
}

/** True when the value is "True" (any case) or boolean true. */
export function isTrueValue(v: Value): boolean {
  if (v === true) return true;
  return typeof v === 'string' && v.toLowerCase() === 'true';
}

const INTEGER = /^\s*[+-]?\d+\s*$/;
const NUMBER = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** A number, or a string that spells one; otherwise undefined. */
export function asNumber(v: Value): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && NUMBER.test(v)) return Number(v);
  return undefined;
}

/** An integer as a BigInt (for BitAnd, FILETIME and scoping's bit tests); otherwise undefined. */
export function asBigInt(v: Value): bigint | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : undefined;
  if (typeof v === 'string') {
    const t = v.trim();
    if (INTEGER.test(t)) return BigInt(t);
    if (/^&H[0-9A-Fa-f]+$/i.test(t)) return BigInt(`0x${t.slice(2)}`);
  }
  return undefined;
}
