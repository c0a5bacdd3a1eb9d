/**
 * `npm run bench -- --only peers --peers-dir <dir>` (issue 13: "ahead of every peer measured on every workload"):
 * other SCIM servers for Node.js under the Entra bench's conditions, beside joyn-scim and the reference in the same
 * run. The same wrk script (bench/wrk/entra.lua) and data: 10,000 users, 100 groups with every user in 3 of them,
 * each server pinned to CPU 0 and wrk to CPU 1, 16 connections, interleaved rounds (the order reversed every other
 * round), server CPU per request from /proc.
 *
 * The peers are not dependencies of joyn-scim: they are installed into a directory of their own, once —
 *   npm install --prefix <dir> @boxyhq/saml-jackson@26.2.0 scimmy@1.3.5 scimmy-routers@1.3.2 express@4
 * — and each runs behind the small server in bench/peers/ (copied into that directory so it finds them there):
 * - boxyhq/jackson's directory sync with each of its stores: `mem` (in memory), `sqlite` (its SQL engine on
 *   better-sqlite3) and `postgres` (its SQL engine on the same PostgreSQL server as joyn-scim, when one is given),
 *   its requests handed to `directorySyncController.requests.handle` as its own Next.js route does;
 * - SCIMMY with scimmy-routers (express), its handlers on an in-memory store (Maps by id and by userName; a list
 *   returns only the page asked for).
 * All servers load the users and groups over HTTP except joyn-scim (its bulk path, as in the Entra section).
 */
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeBlock } from './blocks.js';
import { buildDist, findReference } from './entra.js';
import { cpuMicrosOf } from './proc-stat.js';
import type { BenchSection } from './sections.js';
import { scratchDatabase, type ScratchDatabase } from './stores.js';
import {
  baseEnv,
  freePort,
  loadJoyn,
  pairOf,
  startJoyn,
  startNode,
  startReference,
  stopper,
  waitForHttp,
  writeData,
  type Target,
} from './targets.js';
import { benchUser, userNameOf } from './users.js';
import { ensureWrk, runWrk, wrkVersion } from './wrk.js';

const USERS = 10_000;
const GROUPS = 100;
const GROUPS_PER_USER = 3;
const WORKLOADS = ['L', 'G', 'P', 'MA', 'MR', 'C'] as const;
const LABEL: Record<(typeof WORKLOADS)[number], string> = {
  L: 'L `filter=userName eq`',
  G: 'G list page of 100',
  P: 'P Entra PATCH Replace',
  MA: 'member add',
  MR: 'member remove',
  C: 'C create',
};
const INSTALL =
  'npm install --prefix <dir> @boxyhq/saml-jackson@26.2.0 scimmy@1.3.5 scimmy-routers@1.3.2 express@4';

/** Loads the bench's users and groups over HTTP (16 at a time), memberships as the Entra section's pairs. */
async function loadOverHttp(
  t: Pick<Target, 'name' | 'origin' | 'base' | 'token'>,
  dataDir: string,
): Promise<void> {
  const headers = { authorization: `Bearer ${t.token}`, 'content-type': 'application/scim+json' };
  const post = async (path: string, body: unknown): Promise<string> => {
    const r = await fetch(`${t.origin}${t.base}${path}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    });
    const text = await r.text();
    const id = r.status === 201 ? (JSON.parse(text) as { id?: string }).id : undefined;
    if (!id) throw new Error(`${t.name}: POST ${path} → ${r.status} ${text.slice(0, 300)}`);
    return id;
  };
  const userIds: string[] = new Array(USERS);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < USERS; i = next++) userIds[i] = await post('/Users', benchUser(i));
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  const members = Array.from({ length: GROUPS }, () => [] as string[]);
  for (let p = 0; p < USERS * GROUPS_PER_USER; p++) {
    const { user, group } = pairOf(p, USERS, GROUPS);
    members[group]!.push(userIds[user]!);
  }
  const groupIds: string[] = [];
  for (let g = 0; g < GROUPS; g++)
    groupIds.push(
      await post('/Groups', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
        displayName: `Bench group ${g}`,
        externalId: `bench-group-${g}`,
        members: members[g]!.map((value) => ({ value })),
      }),
    );
  writeData(dataDir, USERS, userIds, groupIds);
}

async function startJackson(
  peersDir: string,
  dir: string,
  engine: string,
  databaseUrl?: string,
): Promise<Target> {
  const name = `jackson-${engine}`;
  const port = await freePort();
  const info = join(dir, `${name}.json`);
  const logFile = join(dir, `${name}.log`);
  const env: Record<string, string> = { PORT: String(port), INFO_FILE: info, ENGINE: engine };
  if (engine === 'sqlite') env.DB_FILE = join(dir, `${name}.db`);
  if (databaseUrl) {
    // TypeORM reads a URL without a password wrongly (it then connects to the default port).
    const u = new URL(databaseUrl);
    if (!u.password) u.password = 'unused';
    env.DB_URL = u.toString();
  }
  const child = startNode([join(peersDir, 'jackson-server.cjs')], { ...baseEnv(), ...env }, '0', logFile);
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttp(`${origin}/`, child, name, logFile);
  const j = JSON.parse(readFileSync(info, 'utf8')) as { id: string; secret: string };
  const t = { name, pid: child.pid!, origin, base: `/api/scim/v2.0/${j.id}`, token: j.secret };
  await loadOverHttp(t, join(dir, name));
  return { ...t, dataDir: join(dir, name), stop: stopper(child) };
}

async function startScimmy(peersDir: string, dir: string): Promise<Target> {
  const port = await freePort();
  const token = 'bench-scimmy-token';
  const logFile = join(dir, 'scimmy.log');
  const child = startNode(
    [join(peersDir, 'scimmy-server.mjs')],
    { ...baseEnv(), PORT: String(port), TOKEN: token },
    '0',
    logFile,
  );
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttp(`${origin}/`, child, 'scimmy', logFile);
  const t = { name: 'scimmy', pid: child.pid!, origin, base: '/scim/v2', token };
  await loadOverHttp(t, join(dir, 'scimmy'));
  return { ...t, dataDir: join(dir, 'scimmy'), stop: stopper(child) };
}

/** A lookup must find exactly its user on every server: a wrong answer fast is not a result. */
async function checkLookup(t: Target): Promise<void> {
  const name = userNameOf(USERS - 1);
  const r = await fetch(`${t.origin}${t.base}/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}`, {
    headers: { authorization: `Bearer ${t.token}` },
  });
  const b = (await r.json()) as { totalResults?: number; Resources?: { userName?: string }[] };
  if (b.totalResults !== 1 || b.Resources?.[0]?.userName !== name)
    throw new Error(`${t.name}: the lookup of ${name} answered ${JSON.stringify(b).slice(0, 300)}`);
}

interface Row {
  workload: (typeof WORKLOADS)[number];
  server: string;
  rps: number[];
  p99: number[];
  cpu: number[];
  errors: number;
}

export const peersSection: BenchSection = {
  id: 'peers',
  title:
    'other SCIM servers (boxyhq/jackson, SCIMMY) beside joyn-scim and the reference (opt-in: --peers-dir)',
  byDefault: false,
  async run(ctx) {
    const dirFlag = ctx.flags.get('peers-dir');
    const peersDir = typeof dirFlag === 'string' ? resolve(dirFlag) : undefined;
    if (!peersDir || !existsSync(join(peersDir, 'node_modules', '@boxyhq', 'saml-jackson'))) {
      ctx.log(`bench peers: SKIPPED: give --peers-dir <dir> with the peers installed there (${INSTALL})`);
      return;
    }
    const reference = findReference(ctx);
    if (!reference.path) {
      ctx.log(`bench peers: SKIPPED: the reference server is not at ${reference.looked}`);
      return;
    }
    for (const f of ['jackson-server.cjs', 'scimmy-server.mjs'])
      copyFileSync(join(ctx.root, 'bench', 'peers', f), join(peersDir, f));
    const seconds = ctx.seconds;
    const rounds = Number(ctx.flags.get('rounds') ?? 2);
    const wrk = ensureWrk(ctx.log);
    buildDist(ctx.root);
    const script = join(ctx.root, 'bench', 'wrk', 'entra.lua');
    const started = new Date();
    const dbs: ScratchDatabase[] = [];
    const targets: Target[] = [];
    const rows: Row[] = [];
    try {
      for (const store of ctx.stores) {
        const db = await scratchDatabase(store);
        dbs.push(db);
        const data = await loadJoyn(db.url, USERS, GROUPS, GROUPS_PER_USER);
        const name = store.kind === 'sqlite' ? 'joyn-scim (SQLite)' : 'joyn-scim (PostgreSQL)';
        const joyn = await startJoyn({
          name,
          root: ctx.root,
          cpu: '0',
          dir: db.dir,
          databaseUrl: db.url,
          data,
          users: USERS,
        });
        targets.push(joyn);
        ctx.log(`bench peers: ${name} loaded in ${data.seconds.toFixed(1)} s`);
        const jacksonEngine = store.kind === 'sqlite' ? ['mem', 'sqlite'] : ['postgres'];
        for (const engine of jacksonEngine) {
          const pgDb = engine === 'postgres' ? await scratchDatabase(store) : undefined;
          if (pgDb) dbs.push(pgDb);
          const t0 = performance.now();
          targets.push(await startJackson(peersDir, db.dir, engine, pgDb?.url));
          ctx.log(
            `bench peers: jackson-${engine} loaded over HTTP in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
          );
        }
        if (store.kind === 'sqlite') {
          const t0 = performance.now();
          targets.push(await startScimmy(peersDir, db.dir));
          ctx.log(
            `bench peers: scimmy loaded over HTTP in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
          );
        }
      }
      const ref = await startReference({ script: reference.path, cpu: '0', dir: dbs[0]!.dir, users: USERS });
      targets.unshift(ref);
      for (const t of targets) await checkLookup(t);

      // Membership pairs 0 … seeded-1 exist on every server: member add continues after them, member remove starts at 0.
      const cursors = new Map(targets.map((t) => [t, { add: USERS * GROUPS_PER_USER, remove: 0 }]));
      let runNo = 0;
      const tag = Date.now().toString(36);
      const once = async (t: Target, w: (typeof WORKLOADS)[number], secs: number) => {
        const c = cursors.get(t)!;
        const before = cpuMicrosOf(t.pid);
        const r = await runWrk({
          wrk,
          cpu: '1',
          url: t.origin,
          script,
          seconds: secs,
          connections: 16,
          threads: 1,
          args: [
            w,
            t.dataDir,
            t.base,
            t.token,
            String(w === 'MA' ? c.add : w === 'MR' ? c.remove : 0),
            `${tag}p${runNo++}`,
            t === ref ? 'users' : 'groups',
            '1',
          ],
        });
        const cpu = cpuMicrosOf(t.pid) - before;
        if (w === 'MA') c.add += r.perThread;
        if (w === 'MR') c.remove += r.perThread;
        return { r, cpu };
      };
      for (const w of WORKLOADS) {
        for (const t of targets) await once(t, w, 2);
        const byServer = new Map<Target, Row>(
          targets.map((t) => [t, { workload: w, server: t.name, rps: [], p99: [], cpu: [], errors: 0 }]),
        );
        for (let round = 0; round < rounds; round++)
          for (const t of round % 2 ? [...targets].reverse() : targets) {
            const { r, cpu } = await once(t, w, seconds);
            const row = byServer.get(t)!;
            row.rps.push(r.rps);
            row.p99.push(r.p99);
            row.cpu.push(cpu / Math.max(1, r.requests));
            row.errors += r.errors;
            ctx.log(
              `  ${w.padEnd(2)} ${t.name.padEnd(24)} ${r.rps.toFixed(0).padStart(6)} req/s  p99 ${r.p99.toFixed(1)} ms  ${(cpu / Math.max(1, r.requests)).toFixed(0)} µs/req CPU${r.errors ? `  ERRORS: ${r.errorDetail}` : ''}`,
            );
          }
        rows.push(...byServer.values());
      }
    } finally {
      for (const t of targets) await t.stop().catch(() => undefined);
      for (const db of dbs) await db.drop().catch(() => undefined);
    }
    writeBlock(ctx.out, 'peers', report(rows, started, new Date(), wrkVersion(wrk), seconds, rounds));
  },
};

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function report(
  rows: Row[],
  started: Date,
  ended: Date,
  wrk: string,
  seconds: number,
  rounds: number,
): string {
  const servers = [...new Set(rows.map((r) => r.server))];
  const cell = (w: string, s: string) => {
    const row = rows.find((r) => r.workload === w && r.server === s)!;
    const ref = rows.find((r) => r.workload === w && r.server === 'reference')!;
    return `${fmt(mean(row.rps))} (${(mean(row.rps) / mean(ref.rps)).toFixed(2)}×, ${fmt(mean(row.cpu))} µs)${row.errors ? ` ⚠ ${row.errors} errors` : ''}`;
  };
  const iso = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');
  return [
    '## Peers under the same load (issue 13)',
    '',
    `Written by \`npm run bench -- --only peers --peers-dir <dir>\` (bench/peers.ts), measured ${iso(started)} to ${iso(ended)}, wrk ${wrk}, ${rounds} interleaved rounds of ${seconds} s per workload. The peers are installed apart (\`${INSTALL}\`) and run behind the servers in bench/peers/. Each cell: req/s, its ratio to the reference in the same run, server CPU µs per request (a PostgreSQL server's own CPU is not in it). joyn-scim runs as in the Entra section (production defaults, events on, SQLite synchronous=FULL); jackson's \`sqlite\` store is its SQL engine on better-sqlite3 with TypeORM's defaults; jackson \`mem\` and SCIMMY keep everything in memory and lose it when they stop. jackson returns a user without its groups and SCIMMY here without them too; joyn-scim's users carry their groups (RFC 7643 §4.1.2).`,
    '',
    `| workload | ${servers.join(' | ')} |`,
    `|---|${servers.map(() => '--:').join('|')}|`,
    ...WORKLOADS.map((w) => `| ${LABEL[w]} | ${servers.map((s) => cell(w, s)).join(' | ')} |`),
  ].join('\n');
}
