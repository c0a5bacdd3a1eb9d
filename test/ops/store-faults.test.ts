/**
 * The store goes away under a running server and comes back: PostgreSQL stopped and started again (a cluster of
 * the test's own, so no other suite loses its database), and an SQLite file that can no longer grow (the server
 * process's file-size limit lowered with prlimit, which fails writes as a full disk does). Every request meanwhile
 * gets 503 + Retry-After with a SCIM body (never a 500, never a hang), /readyz says 503, /healthz stays 200, and
 * the same process serves again once the store is back, without a restart. Nothing written during the outage
 * appears afterwards; everything acknowledged before it is still there.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ROOT,
  cliOk,
  onInstance,
  scimClient,
  startServerProcess,
  type ScimClient,
  type ServerProcess,
} from './processes.js';
import { describeIfAvailable } from '../helpers/services.js';
import { postgresMissing } from '../helpers/stores.js';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const user = (userName: string) => ({ schemas: [CORE_USER], userName, active: true });

async function readyz(p: ServerProcess): Promise<number> {
  const r = await fetch(`${p.url}/readyz`);
  await r.arrayBuffer();
  return r.status;
}

async function waitForReady(p: ServerProcess, want: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await readyz(p)) === want) return;
    await sleep(200);
  }
  assert.fail(`/readyz did not answer ${want} within ${timeoutMs} ms`);
}

/** The answers while the store is away: each a 503 with Retry-After and a SCIM error body that says so. */
async function assertUnavailable(c: ScimClient, label: string): Promise<void> {
  for (const [m, p, body] of [
    ['GET', '/Users?filter=userName%20eq%20%22a%40contoso.com%22', undefined],
    ['POST', '/Users', user(`${label}-outage@contoso.com`)],
  ] as const) {
    const r = await c(m, p, body);
    assert.equal(r.status, 503, `${m} ${p} during the outage: ${r.status} ${JSON.stringify(r.body)}`);
    assert.equal(r.headers.get('retry-after'), '5');
    assert.deepEqual(r.body.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
    assert.match(r.body.detail, /unavailable|busy/);
  }
}

const pgBin = (() => {
  const r = spawnSync('sh', ['-c', 'ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1']);
  return r.stdout.toString().trim();
})();
const asPg = (args: string[]) =>
  process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...args] : args;
const run = (args: string[]) => execFileSync(args[0]!, args.slice(1), { stdio: 'pipe' }).toString();

// A counted stand-in when PostgreSQL is not tested here (a failure with CI=true): services.ts.
describeIfAvailable(
  'PostgreSQL stopped under a running server, then started again',
  { unavailable: postgresMissing() },
  () => {
    let dir: string;
    let port: string;
    let server: ServerProcess;
    let c: ScimClient;
    const pgCtl = (...a: string[]) => run(asPg([join(pgBin, 'pg_ctl'), '-D', join(dir, 'data'), ...a]));
    const startCluster = () =>
      pgCtl(
        '-l',
        join(dir, 'server.log'),
        '-w',
        '-t',
        '60',
        '-o',
        `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir}`,
        'start',
      );
    before(async () => {
      const out = run([join(ROOT, 'scripts/pg-throwaway.sh'), 'start']);
      dir = /PG_THROWAWAY_DIR=(\S+)/.exec(out)![1]!;
      const url = /JOYN_TEST_PG_URL=(\S+)/.exec(out)![1]!;
      port = new URL(url).port;
      const env = { DATABASE_CONNECT_TIMEOUT_MS: '1000', TOKEN_CACHE_SECONDS: '0' };
      server = await startServerProcess(url, env);
      const t = JSON.parse(await cliOk(['tenants', 'create', 'outage', '--json'], { DATABASE_URL: url }));
      c = scimClient(onInstance(t.tenantUrl, server.url), t.token);
    });
    after(async () => {
      await server?.stop();
      if (dir) run([join(ROOT, 'scripts/pg-throwaway.sh'), 'stop', dir]);
    });

    test('503 + Retry-After while it is down, /readyz 503, and the same process recovers', async () => {
      const before = await c('POST', '/Users', user('before@contoso.com'));
      assert.equal(before.status, 201);
      pgCtl('-m', 'fast', '-w', 'stop');
      try {
        await sleep(300);
        if (server.child.exitCode !== null) assert.fail(`server exited: ${server.stderr()}`);
        await assertUnavailable(c, 'pg');
        assert.equal(await readyz(server), 503);
        const live = await fetch(`${server.url}/healthz`);
        assert.equal(live.status, 200, 'liveness does not depend on the store: no restart loop');
      } finally {
        startCluster();
      }
      await waitForReady(server, 200);
      const again = await c('POST', '/Users', user('after@contoso.com'));
      assert.equal(again.status, 201, JSON.stringify(again.body));
      const all = await c('GET', '/Users?count=100');
      assert.deepEqual(all.body.Resources.map((u: { userName: string }) => u.userName).sort(), [
        'after@contoso.com',
        'before@contoso.com',
      ]);
      assert.doesNotMatch(server.stderr(), /unhandled error/);
    });
  },
);

describe('SQLite file that can no longer grow (as on a full disk), then can again', () => {
  let dir: string;
  let server: ServerProcess;
  let c: ScimClient;
  const prlimit = (limit: string) => run(['prlimit', `--pid=${server.child.pid}`, `--fsize=${limit}`]);
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'joyn-full-'));
    const file = join(dir, 'joyn.db');
    server = await startServerProcess(file, { TOKEN_CACHE_SECONDS: '0' });
    const t = JSON.parse(await cliOk(['tenants', 'create', 'full', '--json'], { DATABASE_URL: file }));
    c = scimClient(onInstance(t.tenantUrl, server.url), t.token);
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('writes answer 503 + Retry-After, /readyz 503, and both recover once the file may grow', async () => {
    assert.equal((await c('POST', '/Users', user('before@contoso.com'))).status, 201);
    // A write at any offset past 4 KiB now fails with EFBIG (Node ignores SIGXFSZ), as writes do on a full disk.
    prlimit('4096:unlimited');
    try {
      const r = await c('POST', '/Users', user('during@contoso.com'));
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.headers.get('retry-after'), '5');
      assert.match(r.body.detail, /unavailable/);
      const read = await c('GET', '/Users?count=10');
      assert.equal(read.status, 200, 'reads need no write and still work');
      assert.equal(read.body.totalResults, 1);
      assert.equal(await readyz(server), 503, 'after a failed write, ready means writable');
    } finally {
      prlimit('unlimited:unlimited');
    }
    await waitForReady(server, 200);
    const again = await c('POST', '/Users', user('after@contoso.com'));
    assert.equal(again.status, 201, JSON.stringify(again.body));
    const all = await c('GET', '/Users?count=100');
    assert.deepEqual(all.body.Resources.map((u: { userName: string }) => u.userName).sort(), [
      'after@contoso.com',
      'before@contoso.com',
    ]);
    assert.doesNotMatch(server.stderr(), /unhandled error/);
  });
});
