/**
 * Everything that writes one SQLite file at once, as a single-machine deployment runs it: two server processes
 * (started together, so they also migrate the fresh file together), the provisioning engine syncing into one of
 * them, CLI commands, and a process that keeps taking short write transactions — while Entra-shaped requests
 * create users, PATCH them and add them to a group through both servers.
 * Before writes began IMMEDIATE, the servers answered some PATCHes with 500 "database is locked" here.
 * Asserted: no 5xx but 503 (with Retry-After and a SCIM body), every acknowledged write present and intact,
 * every CLI and engine run succeeded, and the file passes SQLite's integrity check.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { stringify } from 'yaml';
import { writeDirectoryJson } from '../../src/engine/source/index.js';
import {
  ROOT,
  cliOk,
  memberPatch,
  onInstance,
  runCli,
  scimClient,
  spawnServer,
  waitReady,
  type ScimResponse,
  type ServerProcess,
} from '../ops/processes.js';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const USERS = 160;
const WORKERS = 8;

/** A process that holds SQLite's write lock for a few milliseconds, again and again, until killed. */
const HAMMER = `
const Database = require(${JSON.stringify(join(ROOT, 'node_modules/better-sqlite3'))});
const db = new Database(process.argv[1]);
db.pragma('busy_timeout = 5000');
db.exec('CREATE TABLE IF NOT EXISTS hammer (n INTEGER)');
const spin = (ms) => { const end = Date.now() + ms; while (Date.now() < end); };
let n = 0;
setInterval(() => {
  db.exec('BEGIN IMMEDIATE');
  db.prepare('INSERT INTO hammer VALUES (?)').run(++n);
  spin(8);
  db.exec('COMMIT');
  if (n % 50 === 0) process.stdout.write(n + '\\n');
}, 12);
`;

describe('one SQLite file, many writers: two servers, the engine, the CLI and a lock-holding process', () => {
  let dir: string;
  let file: string;
  let a: ServerProcess;
  let b: ServerProcess;
  const env = () => ({ DATABASE_URL: file });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'joyn-one-file-'));
    file = join(dir, 'joyn.db');
    // Both start on a file that does not exist yet: they create and migrate it at the same moment.
    [a, b] = await Promise.all([spawnServer(file), spawnServer(file)]);
    await Promise.all([waitReady(a), waitReady(b)]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('zero 5xx other than 503, every acknowledged write present, every run succeeded', async () => {
    const t = JSON.parse(await cliOk(['tenants', 'create', 'acme', '--json'], env())) as {
      id: string;
      tenantUrl: string;
      token: string;
    };
    const eng = JSON.parse(await cliOk(['tenants', 'create', 'engine-target', '--json'], env())) as {
      tenantUrl: string;
      token: string;
    };
    const onA = scimClient(onInstance(t.tenantUrl, a.url), t.token);
    const onB = scimClient(onInstance(t.tenantUrl, b.url), t.token);
    const statuses: number[] = [];
    const bad: string[] = [];
    const record = (what: string, r: ScimResponse) => {
      statuses.push(r.status);
      if (r.status >= 500 && r.status !== 503) bad.push(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
      if (r.status === 503) {
        if (!r.headers.get('retry-after')) bad.push(`${what}: 503 without Retry-After`);
        if (!String(r.body?.schemas).includes('Error')) bad.push(`${what}: 503 without a SCIM body`);
      }
      return r;
    };
    /** Retries a 503 as Entra does (after Retry-After; shortened here), so every write is finally acknowledged. */
    const send = async (c: typeof onA, what: string, m: string, p: string, body?: unknown) => {
      for (let i = 0; ; i++) {
        const r = record(what, await c(m, p, body));
        if (r.status !== 503 || i > 20) return r;
        await new Promise((res) => setTimeout(res, 200));
      }
    };
    const group = await send(onA, 'create group', 'POST', '/Groups', {
      schemas: [CORE_GROUP],
      displayName: 'Dispatch',
    });
    assert.equal(group.status, 201);
    const groupId = group.body.id as string;

    // The lock-holding process and the engine run beside the SCIM load.
    const hammer = spawn(process.execPath, ['-e', HAMMER, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let hammerErr = '';
    hammer.stderr.setEncoding('utf8').on('data', (d: string) => (hammerErr += d));
    await writeDirectoryJson(join(dir, 'directory.json'), {
      users: Array.from({ length: 60 }, (_, i) => ({
        id: `s${i}`,
        userPrincipalName: `src${i}@contoso.com`,
        mail: `src${i}@contoso.com`,
        displayName: `Source ${i}`,
        accountEnabled: true,
      })),
      groups: [],
      assignments: [],
    });
    writeFileSync(
      join(dir, 'job.yaml'),
      stringify({
        name: 'one-file-job',
        scope: 'all',
        source: { type: 'file', path: 'directory.json' },
        target: { tenantUrl: onInstance(eng.tenantUrl, b.url), tokenEnv: 'JOB_TOKEN' },
      }),
    );
    const engineRuns = (async () => {
      const out = [];
      for (let i = 0; i < 2; i++)
        out.push(
          await runCli(['sync', 'run', '--once', '--config', join(dir, 'job.yaml')], {
            ...env(),
            JOB_TOKEN: eng.token,
          }),
        );
      return out;
    })();
    const cliRuns = (async () => {
      const out = [];
      for (let i = 0; i < 3; i++) {
        out.push(await runCli(['tokens', 'issue', 'acme', '--json'], env()));
        out.push(await runCli(['tenants', 'create', `other-${i}`, '--json'], env()));
      }
      return out;
    })();

    // Entra-shaped load through both servers: create, PATCH Replace (new dialect), add to the group.
    const acknowledged = new Map<string, { userName: string; displayName: string }>();
    const added = new Set<string>();
    let next = 0;
    const worker = async (w: number) => {
      for (let i = next++; i < USERS; i = next++) {
        const c = (i + w) % 2 ? onA : onB;
        const userName = `tech${i}@contoso.com`;
        const cr = await send(c, `create ${userName}`, 'POST', '/Users', {
          schemas: [CORE_USER],
          userName,
          active: true,
        });
        if (cr.status !== 201) {
          bad.push(`create ${userName}: ${cr.status} ${JSON.stringify(cr.body)}`);
          continue;
        }
        const id = cr.body.id as string;
        acknowledged.set(id, { userName, displayName: '' });
        const displayName = `Technician ${i}`;
        const p = await send(c === onA ? onB : onA, `patch ${userName}`, 'PATCH', `/Users/${id}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'replace', value: { displayName } }],
        });
        if (p.status === 200 || p.status === 204) acknowledged.set(id, { userName, displayName });
        else bad.push(`patch ${userName}: ${p.status} ${JSON.stringify(p.body)}`);
        const m = await send(
          c,
          `member ${userName}`,
          'PATCH',
          `/Groups/${groupId}`,
          memberPatch('Add', [id]),
        );
        if (m.status === 200 || m.status === 204) added.add(id);
        else bad.push(`member ${userName}: ${m.status} ${JSON.stringify(m.body)}`);
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    const [engines, clis] = await Promise.all([engineRuns, cliRuns]);
    hammer.kill('SIGKILL');

    assert.deepEqual(bad, [], bad.slice(0, 5).join('\n'));
    for (const r of [...engines, ...clis])
      assert.equal(r.code, 0, `a CLI or engine run failed:\n${r.stdout}\n${r.stderr}`);
    assert.equal(hammerErr, '', 'the lock-holding process failed');

    // Every acknowledged write is there, read back through either server.
    for (const [id, want] of acknowledged) {
      const r = await onB('GET', `/Users/${id}`);
      assert.equal(r.status, 200, `acknowledged user ${want.userName} missing`);
      assert.equal(r.body.userName, want.userName);
      assert.equal(r.body.displayName, want.displayName, `acknowledged PATCH of ${want.userName} lost`);
    }
    assert.equal(acknowledged.size, USERS);
    const g = await onA('GET', `/Groups/${groupId}`);
    const members = new Set((g.body.members ?? []).map((m: { value: string }) => m.value));
    for (const id of added) assert.ok(members.has(id), `acknowledged member ${id} lost`);
    assert.equal(members.size, USERS);
    const engineTarget = scimClient(onInstance(eng.tenantUrl, a.url), eng.token);
    const synced = await engineTarget('GET', '/Users?count=0');
    assert.equal(synced.body.totalResults, 60, 'the engine provisioned every source user');

    const check = new SQLite(file, { readonly: true });
    try {
      assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
      // default (created at the first start), acme, engine-target and the three the CLI created during the load
      assert.equal(check.prepare('SELECT count(*) FROM tenants').pluck().get(), 6);
    } finally {
      check.close();
    }
    const unavailable = statuses.filter((s) => s === 503).length;
    console.log(
      `one SQLite file: ${statuses.length} SCIM requests through two servers, ${unavailable} answered 503 (retried), 0 other 5xx`,
    );
  });
});
