/**
 * The operator CLI (`joyn-scim`) as an operator runs it: real child processes over a real store.
 * Output contracts: `--json` prints exactly one JSON value; no command ever prints a stored secret except
 * the one that creates it; errors exit non-zero with a one-line message (stderr).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/stores.js';
import { cliOk, runCli, scimClient, startServerProcess } from './processes.js';

const dbs: TestDatabase[] = [];
after(async () => {
  for (const d of dbs) await d.drop();
});
async function fresh(dialect: 'sqlite' | 'postgres'): Promise<TestDatabase> {
  const d = await freshDatabase(dialect);
  dbs.push(d);
  return d;
}

/** The one line a failing command prints. */
function oneLineError(r: { code: number | null; stderr: string; stdout: string }, pattern: RegExp): void {
  assert.notEqual(r.code, 0, `expected failure, got exit 0 with ${r.stdout}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `stderr: ${r.stderr}`);
  assert.match(lines[0]!, pattern);
}

describe('--help works on every command', () => {
  test('every command and subcommand listed by --help answers --help with its usage and exit 0', async () => {
    const seen: string[] = [];
    const visit = async (path: string[]): Promise<void> => {
      const r = await runCli([...path, '--help'], {});
      assert.equal(r.code, 0, `${path.join(' ')} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: joyn-scim${path.length ? ' ' + path.join(' ') : ''}\\b`));
      seen.push(path.join(' '));
      const section = r.stdout.split(/^Commands:\n/m)[1];
      if (!section) return;
      const names = [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)]
        .map((m) => m[1]!)
        .filter((n) => n !== 'help');
      await Promise.all(names.map((n) => visit([...path, n])));
    };
    await visit([]);
    for (const c of [
      'serve',
      'migrate',
      'tenants create',
      'tenants list',
      'tokens issue',
      'tokens list',
      'tokens rotate',
      'tokens revoke',
      'copy-store',
    ])
      assert.ok(seen.includes(c), `--help did not reach '${c}' (saw: ${seen.join(', ')})`);
  });

  test('an unknown command exits non-zero and says what was wrong on the first line', async () => {
    const r = await runCli(['tenant', 'create', 'x'], {});
    assert.notEqual(r.code, 0);
    assert.match(r.stderr.split('\n')[0]!, /unknown command 'tenant'/);
  });
});

for (const dialect of DIALECTS) {
  describe(`tenants and tokens (${dialect})`, () => {
    let server: RunningServer | undefined;
    after(async () => server?.close());

    test('tenants create --json prints exactly one JSON object with id, name, tenantUrl and a working token', async () => {
      const db = await fresh(dialect);
      const env = { DATABASE_URL: db.url, PUBLIC_URL: 'https://scim.example.test' };
      const out = await cliOk(['tenants', 'create', 'Contoso Ltd', '--json'], env);
      assert.equal(out.trim().split('\n').length, 1);
      const t = JSON.parse(out);
      assert.deepEqual(Object.keys(t).sort(), ['expiresAt', 'id', 'name', 'tenantUrl', 'token', 'tokenId']);
      assert.equal(t.expiresAt, null);
      assert.equal(t.name, 'Contoso Ltd');
      assert.equal(t.tenantUrl, `https://scim.example.test/scim/${t.id}/v2`);
      assert.match(t.token, /^jsk_[A-Za-z0-9_-]{43}$/);

      const list = JSON.parse(await cliOk(['tenants', 'list', '--json'], env));
      assert.deepEqual(
        list.map((x: { id: string; name: string; tenantUrl: string }) => [x.id, x.name, x.tenantUrl]),
        [[t.id, 'Contoso Ltd', t.tenantUrl]],
      );
      const human = await cliOk(['tenants', 'list'], env);
      assert.match(human, new RegExp(`${t.id}\\s+Contoso Ltd`));
      assert.ok(!human.includes(t.token));

      // The printed token authenticates against a server on that store. The CLI revocations below must be refused
      // on the next request: on SQLite with the default token cache (another process's commit ends it); on
      // PostgreSQL a cache would let them through for up to TOKEN_CACHE_SECONDS (test/http/token-cache.test.ts),
      // so this server asks the database every time.
      server = await startServer(
        loadConfig({
          NODE_ENV: 'test',
          PORT: '0',
          DATABASE_URL: db.url,
          ...(dialect === 'postgres' ? { TOKEN_CACHE_SECONDS: '0' } : {}),
        }),
        { createDefaultTenant: false },
      );
      const base = `${server.url}/scim/${t.id}/v2`;
      assert.equal((await scimClient(base, t.token)('GET', '/Users')).status, 200);

      // tokens issue / list / rotate / revoke
      const second = JSON.parse(await cliOk(['tokens', 'issue', 'Contoso Ltd', '--json'], env));
      assert.equal(second.id, t.id);
      assert.equal((await scimClient(base, second.token)('GET', '/Users')).status, 200);
      const listed: { id: string; hint: string; revokedAt: string | null }[] = JSON.parse(
        await cliOk(['tokens', 'list', t.id, '--json'], env),
      );
      assert.equal(listed.length, 2);
      const listedHuman = await cliOk(['tokens', 'list', t.id], env);
      for (const secret of [t.token, second.token]) {
        assert.ok(!JSON.stringify(listed).includes(secret.slice(10)), 'tokens list --json shows a secret');
        assert.ok(!listedHuman.includes(secret.slice(10)), 'tokens list shows a secret');
      }
      const [firstRow, secondRow] = listed;
      assert.ok(t.token.startsWith(firstRow!.hint.replace(/…$/, '')));

      const rotated = JSON.parse(
        await cliOk(['tokens', 'rotate', t.id, '--revoke', firstRow!.id, '--json'], env),
      );
      assert.equal((await scimClient(base, rotated.token)('GET', '/Users')).status, 200);
      assert.equal((await scimClient(base, t.token)('GET', '/Users')).status, 401);

      assert.equal(
        (await cliOk(['tokens', 'revoke', t.id, secondRow!.id], env)).trim(),
        `revoked ${secondRow!.id}`,
      );
      assert.equal((await scimClient(base, second.token)('GET', '/Users')).status, 401);
      const after3: { revokedAt: string | null }[] = JSON.parse(
        await cliOk(['tokens', 'list', t.id, '--json'], env),
      );
      assert.deepEqual(
        after3.map((x) => x.revokedAt !== null),
        [true, true, false],
      );

      // Errors: non-zero exit, one line that says what to fix.
      oneLineError(
        await runCli(['tokens', 'revoke', t.id, secondRow!.id], env),
        /token '.+' of tenant 'Contoso Ltd' was already revoked at /,
      );
      oneLineError(await runCli(['tokens', 'issue', 'nobody'], env), /no tenant with id or name 'nobody'/);
      oneLineError(await runCli(['tenants', 'create', 'Contoso Ltd'], env), /already exists/);
      oneLineError(await runCli(['tenants', 'create', 'bad/name'], env), /tenant name 'bad\/name' must be/);
      oneLineError(await runCli(['tenants', 'delete', t.id], env), /without --yes/);
    });

    test('migrate is idempotent and leaves the data alone', async () => {
      const db = await fresh(dialect);
      const env = { DATABASE_URL: db.url };
      assert.match(await cliOk(['migrate'], env), new RegExp(`migrated ${dialect} store`));
      const t = JSON.parse(await cliOk(['tenants', 'create', 'kept', '--json'], env));
      assert.match(await cliOk(['migrate'], env), new RegExp(`migrated ${dialect} store`));
      assert.match(await cliOk(['migrate'], env), new RegExp(`migrated ${dialect} store`));
      const list = JSON.parse(await cliOk(['tenants', 'list', '--json'], env));
      assert.deepEqual(
        list.map((x: { id: string }) => x.id),
        [t.id],
      );
    });
  });
}

describe('errors reaching the database', () => {
  test('an unreachable PostgreSQL server: non-zero exit and one line', async () => {
    oneLineError(
      await runCli(['migrate'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' }),
      /^joyn-scim: .*ECONNREFUSED/,
    );
  });
});

describe('first start (npm start on a new SQLite path)', () => {
  test('prints the default tenant Tenant URL and token once; a second start prints no token', async () => {
    const db = await fresh('sqlite');
    const first = await startServerProcess(db.url);
    await first.stop();
    const out = first.stdout();
    assert.equal(out.match(/Secret Token:/g)?.length, 1, out);
    const url = /Tenant URL: +(\S+)/.exec(out)?.[1];
    const token = /Secret Token: +(\S+)/.exec(out)?.[1];
    assert.ok(url && token, out);
    assert.ok(url.startsWith(`${first.url}/scim/`), url);

    const second = await startServerProcess(db.url);
    try {
      assert.doesNotMatch(second.stdout(), /Secret Token|jsk_/);
      // The token printed the first time works on the second run (same tenant, new port).
      const r = await scimClient(second.url + new URL(url).pathname, token)('GET', '/Users');
      assert.equal(r.status, 200);
      const tenants = JSON.parse(await cliOk(['tenants', 'list', '--json'], { DATABASE_URL: db.url }));
      assert.deepEqual(
        tenants.map((x: { name: string }) => x.name),
        ['default'],
      );
    } finally {
      await second.stop();
    }
    assert.doesNotMatch(second.stdout(), /Secret Token|jsk_/);
  });
});
