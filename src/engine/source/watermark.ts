/**
 * Helpers shared by the source connectors: canonical hashing of source objects and the opaque watermark
 * encoding (entra-provisioning-engine.md §1.2: "save a new watermark" after each cycle; the engine stores
 * it as an opaque string and hands it back on the next incremental cycle).
 */
import { hash } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import type { SourceObject, SourceValue } from '../types.js';

/** JSON with object keys sorted at every level, so equal content always gives equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/**
 * Content hash of one object as the engine sees it. `assigned` is part of the hash so an assignment
 * change (§2.1: unassigned → out of scope) surfaces the object in `changed` without a separate set.
 * Members are a set: order in the export does not matter.
 *
 * The text hashed is canonical (attribute names sorted, names and values JSON-encoded, so no value can pass for a
 * separator) and built by one native JSON.stringify: an incremental cycle hashes every object of the source (issue 16:
 * 100,000 users), where a generic canonical-JSON walk allocated arrays and strings per object and per value (3×).
 */
export function objectHash(obj: SourceObject, assigned: boolean): string {
  let text = `${obj.kind}|${assigned ? 1 : 0}|${obj.softDeleted === true ? 1 : 0}|${sortedJson(obj.attributes)}`;
  if (obj.members) text += `|${JSON.stringify([...obj.members].sort())}`;
  // Change detection, not security: SHA-1's one-shot form costs half of a SHA-256 hasher object per call. 96 bits
  // is plenty to tell versions of one object apart and keeps the watermark small.
  return hash('sha1', text, 'base64url').slice(0, 16);
}

/** The last attribute-name order seen and its sorted form: the objects of one export mostly share their names. */
let lastNames: string[] = [];
let lastSorted: string[] = [];

/**
 * JSON of a flat attribute bag with its names sorted: a copy built in sorted order, then the native fast path (a
 * replacer array would leave it). Values are flat (types.ts), so no nested object's key order can differ.
 */
function sortedJson(attrs: Readonly<Record<string, SourceValue>>): string {
  const names = Object.keys(attrs);
  // A copy cannot hold an own "__proto__"; the (slower) replacer form can.
  if (Object.hasOwn(attrs, '__proto__')) return JSON.stringify(attrs, [...names].sort());
  let same = names.length === lastNames.length;
  for (let i = 0; same && i < names.length; i++) same = names[i] === lastNames[i];
  if (!same) {
    lastNames = names;
    lastSorted = [...names].sort();
  }
  const copy: Record<string, SourceValue> = {};
  for (const n of lastSorted) copy[n] = attrs[n]!;
  return JSON.stringify(copy);
}

const PLAIN = 'j1.';
/** Written by earlier versions (deflate level 9, slow on 100,000 objects); still read. */
const DEFLATED = 'z1.';
/** Raw JSON, for large watermarks: no base64 or deflate pass (hashes and ids compress by a third at best). */
const RAW = 'r1.';
const COMPRESS_ABOVE = 2048;

export function encodeWatermark(payload: unknown): string {
  const json = JSON.stringify(payload);
  if (json.length <= COMPRESS_ABOVE) return PLAIN + Buffer.from(json, 'utf8').toString('base64url');
  return RAW + json;
}

/** Decodes a watermark written by encodeWatermark; throws a clear Error for anything else. */
export function decodeWatermark(watermark: string, what: string): unknown {
  try {
    if (watermark.startsWith(RAW)) return JSON.parse(watermark.slice(RAW.length));
    if (watermark.startsWith(PLAIN)) {
      return JSON.parse(Buffer.from(watermark.slice(PLAIN.length), 'base64url').toString('utf8'));
    }
    if (watermark.startsWith(DEFLATED)) {
      return JSON.parse(
        inflateRawSync(Buffer.from(watermark.slice(DEFLATED.length), 'base64url')).toString('utf8'),
      );
    }
  } catch {
    // fall through to the common message
  }
  throw new Error(
    `${what}: the watermark is not one this source wrote (restart provisioning to run a full cycle)`,
  );
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Case-insensitive "has attribute" (SourceObject attribute names are case-insensitive, types.ts). */
export function hasAttribute(attrs: Readonly<Record<string, SourceValue>>, name: string): boolean {
  if (Object.hasOwn(attrs, name)) return true;
  const lower = name.toLowerCase();
  for (const k in attrs) if (k.length === name.length && k.toLowerCase() === lower) return true;
  return false;
}
