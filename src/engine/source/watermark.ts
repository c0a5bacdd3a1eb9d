/**
 * Helpers shared by the source connectors: canonical hashing of source objects and the opaque watermark
 * encoding (entra-provisioning-engine.md §1.2: "save a new watermark" after each cycle; the engine stores
 * it as an opaque string and hands it back on the next incremental cycle).
 */
import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
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
 */
export function objectHash(obj: SourceObject, assigned: boolean): string {
  const members = obj.members ? [...obj.members].sort() : undefined;
  const text = canonicalJson({
    kind: obj.kind,
    attributes: obj.attributes,
    members,
    softDeleted: obj.softDeleted === true,
    assigned,
  });
  // 96 bits is plenty to tell versions of one object apart and keeps a 10,000-user watermark small.
  return createHash('sha256').update(text).digest('base64url').slice(0, 16);
}

const PLAIN = 'j1.';
const DEFLATED = 'z1.';
const COMPRESS_ABOVE = 2048;

export function encodeWatermark(payload: unknown): string {
  const json = Buffer.from(JSON.stringify(payload), 'utf8');
  if (json.length <= COMPRESS_ABOVE) return PLAIN + json.toString('base64url');
  return DEFLATED + deflateRawSync(json, { level: 9 }).toString('base64url');
}

/** Decodes a watermark written by encodeWatermark; throws a clear Error for anything else. */
export function decodeWatermark(watermark: string, what: string): unknown {
  try {
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
  const lower = name.toLowerCase();
  return Object.keys(attrs).some((k) => k.toLowerCase() === lower);
}
