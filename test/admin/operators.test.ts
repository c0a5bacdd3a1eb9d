/**
 * Operator accounts on every store: sign-in backoff and lockout, idle and absolute session expiry (the service
 * over a real store, with a clock the test moves), and the `joyn-scim operators` commands as real processes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { BACKOFF_AFTER, LOCK_AFTER, OperatorService, SignInRefused } from '../../src/admin/operators.js';
import { createStore } from '../../src/store/index.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { childEnv, ROOT } from '../ops/processes.js';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/stores.js';
import { request, startAdminServer } from './helpers.js';

const PW = 'correct horse battery staple';

/** `joyn-scim <args>` with `stdin` piped in. */
function cli(args: string[], env: Record<string, string>, stdin = '') {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `${ROOT}src/cli/index.ts`, ...args], {
      cwd: ROOT,
      env: childEnv(env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

async function refusal(p: Promise<unknown>): Promise<SignInRefused> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SignInRefused) return e;
    throw e;
  }
  throw new Error('the sign-in was not refused');
}

for (const dialect of DIALECTS) {
  describe(`operator accounts (${dialect})`, () => {
    let db: TestDatabase;
    let store: SqlStore;
    let now = Date.parse('2026-03-01T09:00:00.000Z');
    const clock = () => new Date(now);
    let svc: OperatorService;
    const actor = { via: 'cli' as const, name: 'test@host' };
    before(async () => {
      db = await freshDatabase(dialect);
      store = createStore(db.url);
      await store.migrate();
      svc = new OperatorService(store, { sessionIdleMs: 30 * 60_000, sessionMaxMs: 12 * 3_600_000 }, clock);
    });
    after(async () => {
      await store?.close();
      await db?.drop();
    });

    test('failed sign-ins: the first four cost nothing, then each try waits (429 + Retry-After), the 20th locks', async () => {
      await svc.create('dave', 'operator', PW, actor);
      for (let i = 1; i < BACKOFF_AFTER; i++) {
        const r = await refusal(svc.signIn('dave', 'wrong password!', { ip: '192.0.2.1' }));
        assert.equal(r.status, 401, `failure ${i}`);
      }
      assert.equal((await refusal(svc.signIn('dave', 'wrong password!', { ip: '192.0.2.1' }))).status, 401);
      // The 5th failure set a wait: even the right password is not checked until it is over.
      const wait = await refusal(svc.signIn('dave', PW, { ip: '192.0.2.1' }));
      assert.equal(wait.status, 429);
      assert.equal(wait.retryAfterSeconds, 30);
      assert.match(wait.message, /wait 30 s/);
      now += 31_000;
      // The wait over, the right password works and clears the count.
      const ok = await svc.signIn('dave', PW, { ip: '192.0.2.1' });
      assert.equal(ok.operator.failedAttempts, 0);
      assert.equal(ok.operator.lockedUntil, null);

      // The waits double: 5th → 30 s, 6th → 60 s (checked on the stored lock time).
      for (let i = 0; i < BACKOFF_AFTER; i++)
        await refusal(svc.signIn('dave', 'wrong password!', { ip: '192.0.2.1' }));
      now += 31_000;
      await refusal(svc.signIn('dave', 'wrong password!', { ip: '192.0.2.1' }));
      const afterSix = await svc.get('dave');
      assert.equal(afterSix.failedAttempts, BACKOFF_AFTER + 1);
      assert.equal(Date.parse(afterSix.lockedUntil!) - Date.parse(afterSix.lastFailedAt!), 60_000);

      // At the 20th failure in a row the account is locked (disabled) until an admin acts.
      await store.operators.update(
        afterSix.id,
        { failedAttempts: LOCK_AFTER - 1, lockedUntil: null },
        clock().toISOString(),
      );
      const locked = await refusal(svc.signIn('dave', 'wrong password!', { ip: '192.0.2.1' }));
      assert.equal(locked.status, 401);
      assert.match(locked.message, /disabled or locked/);
      const row = await svc.get('dave');
      assert.ok(row.disabledAt);
      now += 3_600_000;
      const still = await refusal(svc.signIn('dave', PW, { ip: '192.0.2.1' }));
      assert.match(still.message, /disabled \(locked after failed sign-ins\)/);
      await svc.enable('dave', actor);
      await svc.signIn('dave', PW, { ip: '192.0.2.1' });

      const audit = (await store.listAudit({ limit: 100 }))
        .filter((a) => a.target === row.id)
        .map((a) => a.action);
      for (const action of [
        'operator.create',
        'operator.backoff',
        'operator.locked',
        'operator.enable',
        'operator.sign_in',
      ])
        assert.ok(audit.includes(action), `${action} in ${audit.join(', ')}`);
    });

    test('a session ends when unused for the idle time, and at its absolute expiry even when used', async () => {
      await svc.create('erin', 'viewer', PW, actor);
      const s = await svc.signIn('erin', PW, { ip: '192.0.2.2', userAgent: 'test' });
      assert.ok(await svc.session(s.sessionToken));
      now += 29 * 60_000;
      assert.ok(await svc.session(s.sessionToken), 'used within the idle time: still valid, and refreshed');
      now += 29 * 60_000;
      assert.ok(await svc.session(s.sessionToken), 'the last use counts, not the sign-in');
      now += 31 * 60_000;
      assert.equal(await svc.session(s.sessionToken), undefined, 'idle for 31 minutes: ended');
      assert.equal(await store.operators.getSession(sessionHash(s.sessionToken)), undefined, 'and deleted');

      const t = await svc.signIn('erin', PW, { ip: '192.0.2.2' });
      for (let h = 0; h < 40; h++) {
        now += 25 * 60_000;
        const alive = await svc.session(t.sessionToken);
        if (Date.parse(t.expiresAt) > now)
          assert.ok(alive, `used every 25 min: valid at +${(h + 1) * 25} min`);
        else {
          assert.equal(alive, undefined, 'past the absolute expiry (12 h) it ends however it is used');
          return;
        }
      }
      assert.fail('the session never expired');
    });

    test('session tokens are stored only as hashes; pruning removes ended sessions', async () => {
      await svc.create('frank', 'viewer', PW, actor);
      const s = await svc.signIn('frank', PW, { ip: '192.0.2.3' });
      const rows = await store.db.selectFrom('operator_sessions').selectAll().execute();
      assert.ok(rows.length >= 1);
      assert.ok(rows.every((r) => !JSON.stringify(r).includes(s.sessionToken)));
      const pw = await store.db
        .selectFrom('operators')
        .select('password_hash')
        .where('name', '=', 'frank')
        .executeTakeFirstOrThrow();
      assert.match(pw.password_hash, /^scrypt\$32768\$8\$3\$/);
      assert.ok(!pw.password_hash.includes(PW));
      now += 13 * 3_600_000;
      assert.ok((await svc.prune()) >= 1);
      assert.equal((await store.db.selectFrom('operator_sessions').selectAll().execute()).length, 0);
    });
  });
}

// The CLI is a thin layer over OperatorService, which the tests above run on every store: its commands run once,
// as real processes, on SQLite (each process start costs seconds).
describe('joyn-scim operators (sqlite)', () => {
  test('joyn-scim operators: create (password shown once), list, disable, enable, reset-password, set-role', async () => {
    const cdb = await freshDatabase('sqlite');
    const env = { DATABASE_URL: cdb.url };
    try {
      const made = await cli(
        ['operators', 'create', 'grace@contoso.example', '--role', 'admin', '--json'],
        env,
      );
      assert.equal(made.code, 0, made.stderr);
      const j = JSON.parse(made.stdout);
      assert.equal(j.operator.role, 'admin');
      assert.match(j.password, /^[A-Za-z0-9_-]{24}$/);
      const piped = await cli(
        ['operators', 'create', 'heidi', '--role', 'viewer', '--password-stdin'],
        env,
        `${PW}\n`,
      );
      assert.equal(piped.code, 0, piped.stderr);
      assert.doesNotMatch(piped.stdout, /Password:/, 'a password the operator chose is not printed');
      const badRole = await cli(['operators', 'create', 'ivan', '--role', 'root'], env);
      assert.equal(badRole.code, 2);
      assert.match(badRole.stderr, /--role must be one of viewer, operator, admin/);

      const server = await startAdminServer('sqlite', undefined, { store: createStore(cdb.url) });
      try {
        // No ADMIN_TOKEN: the console is served because an operator account exists.
        const signInAs = (name: string, password: string) =>
          request(`${server.base}/admin/api/session`, 'POST', { body: { name, password } });
        assert.equal((await signInAs('grace@contoso.example', j.password)).status, 201);
        assert.equal((await signInAs('heidi', PW)).status, 201);

        assert.equal((await cli(['operators', 'disable', 'heidi'], env)).code, 0);
        assert.equal((await signInAs('heidi', PW)).status, 401);
        const list = await cli(['operators', 'list', '--json'], env);
        const rows = JSON.parse(list.stdout) as { name: string; state: string; role: string }[];
        assert.deepEqual(
          rows.map((r) => [r.name, r.role, r.state]),
          [
            ['grace@contoso.example', 'admin', 'active'],
            ['heidi', 'viewer', 'disabled'],
          ],
        );
        assert.doesNotMatch(list.stdout, /scrypt|"password"/i);
        assert.equal((await cli(['operators', 'enable', 'heidi'], env)).code, 0);
        assert.equal((await cli(['operators', 'set-role', 'heidi', 'operator'], env)).code, 0);
        const reset = await cli(['operators', 'reset-password', 'heidi', '--json'], env);
        const fresh = JSON.parse(reset.stdout).password as string;
        assert.equal((await signInAs('heidi', PW)).status, 401, 'the old password is gone');
        const signed = await signInAs('heidi', fresh);
        assert.equal(signed.status, 201);
        assert.equal(signed.body.operator.role, 'operator');

        const audit = await server.store.listAudit({ limit: 50 });
        const cliActions = audit.filter((a) => a.actor.via === 'cli').map((a) => a.action);
        for (const action of [
          'operator.create',
          'operator.disable',
          'operator.enable',
          'operator.role',
          'operator.reset_password',
        ])
          assert.ok(cliActions.includes(action), `${action} audited`);
      } finally {
        await server.close();
        await server.store.close();
      }
    } finally {
      await cdb.drop();
    }
  });
});

function sessionHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
