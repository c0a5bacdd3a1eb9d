/**
 * Request logging at the production default (LOG_LEVEL=info) in a real server process: one JSON line per
 * request with what an operator needs (request-log.ts), written asynchronously but none lost to a graceful stop,
 * and never a token.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freshDatabase } from '../helpers/stores.js';
import { childEnv, freePort, ROOT } from '../ops/processes.js';

test('LOG_LEVEL=info: one line per request, all of them out by the end of a graceful stop, no token', async () => {
  const db = await freshDatabase('sqlite');
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: childEnv({ DATABASE_URL: db.url, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise((r) => child.once('exit', r));
  try {
    for (let i = 0; i < 600 && !/Secret Token: (\S+)/.test(out); i++) {
      if (child.exitCode !== null) assert.fail(`server exited: ${out}`);
      await sleep(100);
    }
    const tenantUrl = /Tenant URL: +(\S+)/.exec(out)![1]!;
    const token = /Secret Token: (\S+)/.exec(out)![1]!;
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await fetch(
        `${tenantUrl}/Users?filter=${encodeURIComponent(`userName eq "log${i}@contoso.com"`)}`,
        {
          headers: auth,
        },
      );
      await r.arrayBuffer();
      statuses.push(r.status);
    }
    const created = await fetch(`${tenantUrl}/Users`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ userName: 'logged@contoso.com' }),
    });
    statuses.push(created.status);
    const denied = await fetch(`${tenantUrl}/Users`, { headers: { authorization: 'Bearer jsk_wrong' } });
    statuses.push(denied.status);
    assert.deepEqual([...new Set(statuses)], [200, 201, 401]);
    child.kill('SIGTERM');
    await exited;
    assert.equal(child.exitCode, 0, out);
    const lines = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const scim = lines.filter((l) => l.msg === 'request' && String(l.url).includes('/scim/'));
    assert.equal(scim.length, 22, 'one line per SCIM request, all written before the process ended');
    const tenant = /\/scim\/([^/]+)\/v2/.exec(tenantUrl)![1];
    for (const l of scim) {
      assert.equal(l.level, 30);
      assert.match(String(l.reqId), /\S/);
      assert.ok(['GET', 'POST'].includes(String(l.method)));
      assert.equal(typeof l.ms, 'number');
      assert.equal(l.ip, '127.0.0.1');
    }
    assert.deepEqual(
      scim.map((l) => l.status),
      statuses,
      'in the order the requests were answered',
    );
    assert.equal(scim[0]!.tenant, tenant);
    assert.equal(scim.at(-1)!.tenant, undefined, 'an unauthenticated request names no tenant');
    // (The first start's banner shows the token once, on purpose; the log lines never do.)
    const logText = JSON.stringify(lines);
    assert.ok(!logText.includes(token.slice(4)), 'the token never appears in the log');
    assert.ok(!logText.includes('jsk_wrong'));
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await db.drop();
  }
});
