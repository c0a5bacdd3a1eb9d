/** Security properties: token shape and storage, secrets never logged, passwords never stored. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { createStore } from '../../src/store/index.js';
import { hashToken } from '../../src/service/tokens.js';
import { freshDatabase } from '../helpers/stores.js';
import { startTestServer } from '../helpers/server.js';
import { rawRequest } from './raw.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

describe('tokens and passwords at rest', () => {
  test('a Secret Token is random, short, 256 bits, and stored only as its SHA-256 hash', async () => {
    const db = await freshDatabase('sqlite');
    const s = await startTestServer({ databaseUrl: db.url });
    try {
      const tokens = [s.token, (await s.server.tenants.issueToken(s.tenantId)).token];
      for (const t of tokens) {
        assert.match(t, /^jsk_[A-Za-z0-9_-]{43}$/); // 32 random bytes, base64url
        assert.ok(t.length < 100, "fits Entra's 1 KB credential record with room to spare");
      }
      assert.notEqual(tokens[0], tokens[1]);
      const raw = createStore(db.url);
      try {
        const rows = await raw.db.selectFrom('tokens').selectAll().execute();
        const dump = JSON.stringify(rows);
        for (const t of tokens) {
          assert.ok(!dump.includes(t), 'the secret is not stored');
          assert.ok(!dump.includes(t.slice(8)), 'not even most of it');
          assert.ok(rows.some((r) => r.hash === hashToken(t)));
        }
      } finally {
        await raw.close();
      }
    } finally {
      await s.close();
      await db.drop();
    }
  });

  test('a password sent by a client is never stored nor returned', async () => {
    const db = await freshDatabase('sqlite');
    const s = await startTestServer({ databaseUrl: db.url });
    const h = { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/scim+json' };
    try {
      const r = await fetch(`${s.tenantUrl}/Users`, {
        method: 'POST',
        headers: h,
        body: JSON.stringify({ userName: 'pw@contoso.com', password: 'Hunter2-secret' }),
      });
      assert.equal(r.status, 201);
      const u = (await r.json()) as any;
      assert.equal(u.password, undefined);
      await fetch(`${s.tenantUrl}/Users/${u.id}`, {
        method: 'PATCH',
        headers: h,
        body: JSON.stringify({ Operations: [{ op: 'replace', path: 'password', value: 'Patched-secret' }] }),
      });
      await fetch(`${s.tenantUrl}/Users/${u.id}`, {
        method: 'PUT',
        headers: h,
        body: JSON.stringify({ userName: 'pw@contoso.com', password: 'Put-secret' }),
      });
      const raw = createStore(db.url);
      try {
        const dump = JSON.stringify(await raw.db.selectFrom('users').selectAll().execute());
        for (const secret of ['Hunter2-secret', 'Patched-secret', 'Put-secret'])
          assert.ok(!dump.includes(secret), `${secret} is not stored`);
      } finally {
        await raw.close();
      }
    } finally {
      await s.close();
      await db.drop();
    }
  });
});

describe('no secret in any log', () => {
  test('a server at LOG_LEVEL=trace never writes a token, valid or not, even on errors', async () => {
    const db = await freshDatabase('sqlite');
    const env = { ...process.env, DATABASE_URL: db.url, NODE_ENV: 'production' };
    const created = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/index.ts', 'tenants', 'create', 'logcheck', '--json'],
      { cwd: root, env, encoding: 'utf8' },
    );
    assert.equal(created.status, 0, created.stderr);
    const t = JSON.parse(created.stdout) as { tenantUrl: string; token: string; id: string };
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: { ...env, PORT: String(port), LOG_LEVEL: 'trace', PUBLIC_URL: `http://127.0.0.1:${port}` },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    try {
      const base = `http://127.0.0.1:${port}/scim/${t.id}/v2`;
      for (
        let i = 0;
        i < 100 &&
        !(await fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => r.ok,
          () => false,
        ));
        i++
      )
        await new Promise((r) => setTimeout(r, 100));
      const wrong = 'jsk_' + 'A'.repeat(43);
      const calls: [string, string, string?][] = [
        ['GET', '/Users?filter=userName+eq+%22x%22'],
        ['POST', '/Users', '{"userName":"log@contoso.com","password":"LogSecret-1"}'],
        ['POST', '/Users', '{not json'],
        ['GET', '/Users/does-not-exist'],
        ['PATCH', '/Users/does-not-exist', '{"Operations":[{"op":"replace","path":"active","value":false}]}'],
      ];
      for (const tok of [t.token, wrong]) {
        for (const [method, path, body] of calls) {
          await fetch(base + path, {
            method,
            headers: { Authorization: `Bearer ${tok}`, 'Content-Type': 'application/scim+json' },
            ...(body ? { body } : {}),
          });
        }
      }
      // Requests Node's parser rejects before Fastify sees them: the token is in the bytes of the packet.
      for (const tok of [t.token, wrong]) {
        const head = `GET /scim/${t.id}/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tok}\r\n`;
        for (const raw of [`${head}Bad Header\r\n\r\n`, `${head}X-Big: ${'x'.repeat(100_000)}\r\n\r\n`]) {
          const res = await rawRequest(`http://127.0.0.1:${port}`, raw);
          assert.ok(res.status === 400 || res.status === 431, String(res.status));
        }
      }
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(out.length > 0, 'the server logged something at trace level');
      assert.match(out, /client error/, 'the client errors were logged');
      for (const secret of [t.token, wrong, t.token.slice(4), 'LogSecret-1'])
        assert.ok(!out.includes(secret), `log must not contain ${secret.slice(0, 8)}…`);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.on('close', r));
      await db.drop();
    }
  });
});
