/**
 * File source: a directory export as one JSON file or as a folder of CSV files.
 *
 * JSON: { "users": [ { "id", …attributes, "softDeleted"? } ], "groups": [ { "id", "displayName", "members": [ids] } ],
 *         "assignments": [ids] }
 * CSV folder: users.csv (header = attribute names, `id` required, `name[]` columns hold `a;b;c` lists),
 *             groups.csv, memberships.csv (groupId,memberId), assignments.csv (id). Only users.csv is required.
 *
 * Change detection (entra-provisioning-engine.md §1.2): an export has no change log, so the watermark holds a
 * content hash per object; an incremental read reports objects whose hash changed or that are new, and ids that
 * are gone as hard deletions (§1.2 step 8). The assignment flag is part of each hash, so a user who is assigned
 * or unassigned shows up in `changed` (§2.1).
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type { Source, SourceDelta, SourceObject, SourceSnapshot, SourceValue } from '../types.js';
import { findJsonError } from './json-position.js';
import { SnapshotBuilder } from './snapshot-builder.js';
import { decodeWatermark, encodeWatermark, isRecord, objectHash } from './watermark.js';

export interface FileSourceConfig {
  readonly type: 'file';
  /** A JSON file or a folder of CSV files; relative paths are resolved against `baseDir`. */
  readonly path: string;
}

/** The JSON export format (also what generateDirectory produces). */
export interface DirectoryExportUser {
  id: string;
  softDeleted?: boolean;
  [attribute: string]: SourceValue | undefined;
}
export interface DirectoryExportGroup {
  id: string;
  displayName?: string;
  members?: string[];
  [attribute: string]: SourceValue | string[] | undefined;
}
export interface DirectoryExport {
  users: DirectoryExportUser[];
  groups?: DirectoryExportGroup[];
  assignments?: string[];
}

// ---------------------------------------------------------------------------------------------------------
// JSON

/** `where` and `key` name the value in an error; the message is built only then (an export holds millions of values). */
function checkValue(value: unknown, where: string, key: string): SourceValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${where}.${key}: numbers must be finite`);
    return value;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
        throw new Error(
          `${where}.${key}[${i}]: a multi-valued attribute may hold only strings, numbers and booleans`,
        );
      }
    });
    return value as (string | number | boolean)[];
  }
  throw new Error(`${where}.${key}: nested objects are not supported (use a flat attribute name)`);
}

/** Reads `softDeleted: true` or, as types.ts allows, `deleted: "soft"`. */
function softDeletedFlag(raw: Record<string, unknown>, where: string): boolean {
  const flag = raw.softDeleted;
  if (flag !== undefined && flag !== null && typeof flag !== 'boolean') {
    throw new Error(`${where}.softDeleted: must be true or false`);
  }
  return flag === true || raw.deleted === 'soft';
}

/** Turns a parsed JSON export into a snapshot; `file` names the source in error messages. */
export function parseDirectoryJson(value: unknown, file: string): SourceSnapshot {
  if (!isRecord(value))
    throw new Error(`${file}: the top level must be an object with "users", "groups", "assignments"`);
  const b = new SnapshotBuilder();
  const list = (key: string): unknown[] => {
    const v = value[key];
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw new Error(`${file}: "${key}" must be an array`);
    return v;
  };
  if (value.users === undefined) throw new Error(`${file}: "users" is missing`);
  list('users').forEach((raw, i) => {
    const where = `${file}: users[${i}]`;
    if (!isRecord(raw)) throw new Error(`${where}: each user must be an object`);
    // for…in over the parsed object: no [key, value] array per attribute (an export holds millions of them).
    const attributes: Record<string, SourceValue> = {};
    for (const k in raw) {
      const v = raw[k];
      if (k === 'id' || k === 'softDeleted' || k === 'deleted' || v === undefined) continue;
      attributes[k] = checkValue(v, where, k);
    }
    b.add('user', raw.id, attributes, softDeletedFlag(raw, where), where);
  });
  list('groups').forEach((raw, i) => {
    const where = `${file}: groups[${i}]`;
    if (!isRecord(raw)) throw new Error(`${where}: each group must be an object`);
    const attributes: Record<string, SourceValue> = {};
    for (const k in raw) {
      const v = raw[k];
      if (k === 'id' || k === 'members' || k === 'softDeleted' || k === 'deleted' || v === undefined)
        continue;
      attributes[k] = checkValue(v, where, k);
    }
    b.add('group', raw.id, attributes, softDeletedFlag(raw, where), where);
    const members = raw.members ?? [];
    if (!Array.isArray(members)) throw new Error(`${where}.members: must be an array of ids`);
    members.forEach((m, j) => b.addMember(raw.id as string, m, `${where}.members[${j}]`));
  });
  list('assignments').forEach((id, i) => b.addAssignment(id, `${file}: assignments[${i}]`));
  return b.build();
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new Error(`${path}: cannot read the file (${code})`);
  }
}

async function readJsonExport(path: string): Promise<SourceSnapshot> {
  const text = await readText(path);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const pos = findJsonError(text);
    const detail = pos ? `line ${pos.line}, column ${pos.column}: ${pos.reason}` : (e as Error).message;
    throw new Error(`${path}: invalid JSON at ${detail}`);
  }
  return parseDirectoryJson(value, basename(path));
}

// ---------------------------------------------------------------------------------------------------------
// CSV

interface CsvRow {
  line: number;
  cells: string[];
}

interface CsvTable {
  file: string;
  header: string[];
  rows: CsvRow[];
}

async function readCsv(folder: string, name: string, required: boolean): Promise<CsvTable | undefined> {
  const path = join(folder, name);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return undefined;
    throw new Error(`${path}: cannot read the file (${code ?? String(e)})`);
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    // RFC 4180: quoted fields may hold commas, quotes ("") and line breaks.
    records = parseCsv(text, { bom: true, info: true, skip_empty_lines: true }) as unknown as typeof records;
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message}`);
  }
  const [head, ...body] = records;
  if (!head) throw new Error(`${name}: the file is empty (a header row is required)`);
  const header = head.record.map((h) => h.trim());
  const seen = new Set<string>();
  header.forEach((h, i) => {
    if (h === '') throw new Error(`${name} line ${head.info.lines}: column ${i + 1} has an empty header`);
    const key = h.toLowerCase();
    if (seen.has(key)) throw new Error(`${name} line ${head.info.lines}: duplicate column '${h}'`);
    seen.add(key);
  });
  return { file: name, header, rows: body.map((r) => ({ line: r.info.lines, cells: r.record })) };
}

function column(table: CsvTable, name: string): number {
  const i = table.header.findIndex((h) => h.toLowerCase() === name.toLowerCase());
  if (i < 0) throw new Error(`${table.file}: the header has no '${name}' column`);
  return i;
}

/** Cell → value: "" is absent, true/false (any case) are booleans, `name[]` columns split on ';'. */
function cellValue(header: string, cell: string): { name: string; value: SourceValue } | undefined {
  if (cell === '') return undefined;
  if (header.endsWith('[]')) {
    const parts = cell.split(';').filter((p) => p !== '');
    return parts.length ? { name: header.slice(0, -2), value: parts } : undefined;
  }
  if (/^(true|false)$/i.test(cell)) return { name: header, value: cell.toLowerCase() === 'true' };
  return { name: header, value: cell };
}

function addCsvObjects(b: SnapshotBuilder, table: CsvTable, kind: 'user' | 'group'): void {
  const idCol = column(table, 'id');
  for (const row of table.rows) {
    const where = `${table.file} line ${row.line}`;
    const attributes: Record<string, SourceValue> = {};
    let softDeleted = false;
    table.header.forEach((h, i) => {
      if (i === idCol) return;
      const cell = row.cells[i] ?? '';
      if (h.toLowerCase() === 'softdeleted') {
        if (cell !== '' && !/^(true|false)$/i.test(cell))
          throw new Error(`${where}: softDeleted must be true or false`);
        softDeleted = cell.toLowerCase() === 'true';
        return;
      }
      const v = cellValue(h, cell);
      if (v) attributes[v.name] = v.value;
    });
    b.add(kind, (row.cells[idCol] ?? '').trim(), attributes, softDeleted, where);
  }
}

async function readCsvExport(folder: string): Promise<SourceSnapshot> {
  const b = new SnapshotBuilder();
  const users = await readCsv(folder, 'users.csv', true);
  if (users) addCsvObjects(b, users, 'user');
  const groups = await readCsv(folder, 'groups.csv', false);
  if (groups) addCsvObjects(b, groups, 'group');
  const memberships = await readCsv(folder, 'memberships.csv', false);
  if (memberships) {
    const g = column(memberships, 'groupId');
    const m = column(memberships, 'memberId');
    for (const row of memberships.rows) {
      b.addMember(
        (row.cells[g] ?? '').trim(),
        (row.cells[m] ?? '').trim(),
        `${memberships.file} line ${row.line}`,
      );
    }
  }
  const assignments = await readCsv(folder, 'assignments.csv', false);
  if (assignments) {
    const c = column(assignments, 'id');
    for (const row of assignments.rows) {
      b.addAssignment((row.cells[c] ?? '').trim(), `${assignments.file} line ${row.line}`);
    }
  }
  return b.build();
}

/** Reads a JSON export file or a CSV export folder. */
export async function readDirectoryExport(path: string): Promise<SourceSnapshot> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    throw new Error(`${path}: cannot read the export (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (isDir) return readCsvExport(path);
  if (path.toLowerCase().endsWith('.csv')) {
    throw new Error(`${path}: a CSV export is a folder (users.csv, groups.csv, …); set "path" to the folder`);
  }
  return readJsonExport(path);
}

// ---------------------------------------------------------------------------------------------------------
// Change detection

interface FileWatermark {
  v: 1;
  src: 'file';
  /** id → content hash, users and groups apart so a deletion reports the right kind. */
  u: Record<string, string>;
  g: Record<string, string>;
}

function hashes(snapshot: SourceSnapshot): FileWatermark {
  const assigned = new Set(snapshot.assignments);
  const u: Record<string, string> = {};
  const g: Record<string, string> = {};
  for (const o of snapshot.users) u[o.id] = objectHash(o, assigned.has(o.id));
  for (const o of snapshot.groups) g[o.id] = objectHash(o, assigned.has(o.id));
  return { v: 1, src: 'file', u, g };
}

function parseFileWatermark(watermark: string, what: string): FileWatermark {
  const wm = decodeWatermark(watermark, what);
  if (!isRecord(wm) || wm.src !== 'file' || wm.v !== 1 || !isRecord(wm.u) || !isRecord(wm.g)) {
    throw new Error(
      `${what}: the watermark is not one this source wrote (restart provisioning to run a full cycle)`,
    );
  }
  return wm as unknown as FileWatermark;
}

/** Compares a snapshot with the hashes of an earlier one. Exported for other hash-based sources. */
export function diffSnapshot(
  previous: { u: Record<string, string>; g: Record<string, string> },
  snapshot: SourceSnapshot,
): { changed: SourceObject[]; deleted: { id: string; kind: 'user' | 'group' }[]; current: FileWatermark } {
  // One pass per kind: hash, record, compare (an incremental cycle does this for every object of the export).
  const assigned = new Set(snapshot.assignments);
  const current: FileWatermark = { v: 1, src: 'file', u: {}, g: {} };
  const changed: SourceObject[] = [];
  const deleted: { id: string; kind: 'user' | 'group' }[] = [];
  for (const [list, prev, cur] of [
    [snapshot.users, previous.u, current.u],
    [snapshot.groups, previous.g, current.g],
  ] as const) {
    for (const o of list) {
      const h = objectHash(o, assigned.has(o.id));
      cur[o.id] = h;
      if (!Object.hasOwn(prev, o.id) || prev[o.id] !== h) changed.push(o);
    }
  }
  for (const id in previous.u) if (!Object.hasOwn(current.u, id)) deleted.push({ id, kind: 'user' });
  for (const id in previous.g) if (!Object.hasOwn(current.g, id)) deleted.push({ id, kind: 'group' });
  return { changed, deleted, current };
}

export class FileSource implements Source {
  readonly description: string;
  private readonly path: string;

  constructor(config: FileSourceConfig, opts: { baseDir?: string } = {}) {
    this.path = resolve(opts.baseDir ?? process.cwd(), config.path);
    this.description = `file ${this.path}`;
  }

  async readAll(): Promise<{ snapshot: SourceSnapshot; watermark: string }> {
    const snapshot = await readDirectoryExport(this.path);
    return { snapshot, watermark: encodeWatermark(hashes(snapshot)) };
  }

  async readChanges(watermark: string): Promise<SourceDelta> {
    const previous = parseFileWatermark(watermark, this.description);
    const snapshot = await readDirectoryExport(this.path);
    const { changed, deleted, current } = diffSnapshot(previous, snapshot);
    return { changed, deleted, snapshot, watermark: encodeWatermark(current) };
  }

  async close(): Promise<void> {
    // Nothing held open between reads.
  }
}
