/**
 * The operator CLI (`joyn-scim`) as an operator runs it: real child processes over a real store.
 * Output contracts: `--json` prints exactly one JSON value; no command ever prints a stored secret except
 * the one that creates it; errors exit non-zero with a one-line message (stderr).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/stores.js';
import { cliOk, ROOT, runCli, scimClient, startServerProcess, waitForStdout } from './processes.js';

/** Every environment variable src/config.ts (the only reader of process.env) reads, NODE_ENV aside. */
function configVariables(): string[] {
  const src = readFileSync(join(ROOT, 'src/config.ts'), 'utf8');
  const names = new Set<string>();
  for (const m of src.matchAll(/env\.([A-Z][A-Z0-9_]+)|\(env, '([A-Z][A-Z0-9_]+)'/g))
    names.add(m[1] ?? m[2]!);
  names.delete('NODE_ENV');
  return [...names].sort();
}

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
    const helps = new Map<string, string>();
    const visit = async (path: string[]): Promise<void> => {
      const r = await runCli([...path, '--help'], {});
      assert.equal(r.code, 0, `${path.join(' ')} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: joyn-scim${path.length ? ' ' + path.join(' ') : ''}\\b`));
      seen.push(path.join(' '));
      helps.set(path.join(' '), r.stdout);
      // One style: the command's own description and every option's and subcommand's start in lower case.
      // (The root's starts with the product name.)
      const description = path.length ? (r.stdout.split('\n\n')[1] ?? '') : 'root';
      // A capitalised word is the old style; acronyms (ISO, JSON) are fine.
      assert.doesNotMatch(
        description,
        /^[A-Z][a-z]/,
        `${path.join(' ') || 'joyn-scim'}: description '${description.slice(0, 40)}'`,
      );
      for (const section of ['Options', 'Commands', 'Arguments']) {
        const body = r.stdout.split(new RegExp(`^${section}:\\n`, 'm'))[1]?.split('\n\n')[0] ?? '';
        for (const m of body.matchAll(/^ {2}\S.*? {2,}(\S\S)/gm))
          assert.doesNotMatch(
            m[1]!,
            /^[A-Z][a-z]/,
            `${path.join(' ')} --help: '${m[0].trim()}' starts in upper case`,
          );
      }
      const section = r.stdout.split(/^Commands:\n/m)[1];
      // One CLI style (issue 11): every command that runs says which environment variables it reads.
      if (!section && path.length)
        assert.match(
          r.stdout,
          /\nEnvironment:\n {2}\S/,
          `${path.join(' ')} --help has no Environment section`,
        );
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
    // `serve` reads everything src/config.ts reads, and its help lists each variable; so does README's table.
    const serveHelp = helps.get('serve')!;
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const configVars = configVariables();
    assert.ok(configVars.length >= 20, `found only ${configVars.join(', ')} in src/config.ts`);
    // JOYN_SCIM_TOKEN is read by config.ts for `check` alone (the server never uses it): check's help lists it.
    const cliOnly = new Set(['JOYN_SCIM_TOKEN']);
    for (const v of configVars) {
      assert.match(
        cliOnly.has(v) ? helps.get('check')! : serveHelp,
        new RegExp(`^ {2}${v} `, 'm'),
        `${cliOnly.has(v) ? 'check' : 'serve'} --help does not list ${v}`,
      );
      assert.ok(readme.includes(`\`${v}\``), `README's configuration table does not list ${v}`);
    }
  });

  test('--version and -V print the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag], {});
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${version}\n`);
    }
  });

  test('exit codes: 2 for every usage error, 1 for a command that ran and failed (the root help documents both)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'joyn-cli-exit-'));
    try {
      const db = join(dir, 'store.db');
      const env = { DATABASE_URL: db };
      const usage: [string[], RegExp][] = [
        [['activity', 'acme', '-n', 'abc'], /'-n, --limit <n>' argument 'abc' is invalid/],
        [['audit', '--limit', '0'], /argument '0' is invalid/],
        [['activity'], /missing required argument 'tenant'/],
        [['check'], /missing required argument 'tenant-url'/],
        [['check', 'not-a-url', '--token', 't'], /not a URL/],
        [['tokens', 'revoke', 'acme'], /missing required argument 'token-id'/],
        [['tokens', 'issue', 'acme', '--expires-in', 'soon'], /--expires-in/],
        [['tokens', 'rotate', 'acme', '--overlap', '1h'], /--overlap needs --revoke/],
        [['tenants', 'delete', 'acme'], /without --yes/],
        [['events', 'tail', '--type', 'user.nope'], /unknown event type 'user\.nope'/],
        [['copy-store', '--from', db, '--to', db], /same store/],
        [['--no-such-option'], /unknown option '--no-such-option'/],
      ];
      const failures: [string[], RegExp][] = [
        [['tokens', 'issue', 'nobody'], /no tenant with id or name 'nobody'/],
        [['copy-store', '--from', join(dir, 'missing.db'), '--to', join(dir, 'new.db')], /does not exist/],
      ];
      const results = await Promise.all([...usage, ...failures].map(([args]) => runCli(args, env)));
      results.forEach((r, i) => {
        const [args, pattern] = [...usage, ...failures][i]!;
        const want = i < usage.length ? 2 : 1;
        assert.equal(r.code, want, `joyn-scim ${args.join(' ')}: exit ${r.code}, want ${want}\n${r.stderr}`);
        assert.match(r.stderr.split('\n')[0]!, pattern, `joyn-scim ${args.join(' ')}`);
      });
      // copy-store from a missing source leaves no empty destination behind (it used to report success).
      assert.equal(existsSync(join(dir, 'new.db')), false);
      assert.equal(existsSync(join(dir, 'missing.db')), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
  test("prints the default tenant Tenant URL and token once, says what Entra needs; the CLI prints the server's PUBLIC_URL", async () => {
    const db = await fresh('sqlite');
    // As `npm start` on a fresh machine: no PUBLIC_URL.
    const first = await startServerProcess(db.url, { PUBLIC_URL: '' });
    await waitForStdout(first, /The token is shown only this once/);
    await first.stop();
    const out = first.stdout();
    assert.equal(out.match(/Secret Token:/g)?.length, 1, out);
    const url = /Tenant URL: +(\S+)/.exec(out)?.[1];
    const token = /Secret Token: +(\S+)/.exec(out)?.[1];
    assert.ok(url && token, out);
    assert.ok(url.startsWith(`${first.url}/scim/`), url);
    // Entra refuses an http://127.0.0.1 Tenant URL: the banner says so and names PUBLIC_URL (issue 11).
    assert.match(
      out,
      /PUBLIC_URL is not set, so Tenant URLs use http:\/\/127\.0\.0\.1:\d+: Entra ID refuses that/,
    );
    assert.match(out, /restart with PUBLIC_URL=https:\/\/<public host>/);
    // The CLI, run without PUBLIC_URL, prints what the server used and says where it came from.
    const listed = await runCli(['tenants', 'list'], { DATABASE_URL: db.url });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /from the server's listening address: it started without PUBLIC_URL/);
    assert.ok(listed.stdout.includes(url), listed.stdout);
    assert.match(listed.stderr, /PUBLIC_URL is not set: Entra ID accepts only a public HTTPS Tenant URL/);

    const second = await startServerProcess(db.url, { PUBLIC_URL: 'https://scim.example.test' });
    // The server records its PUBLIC_URL for the CLI, then logs each tenant: wait for that line.
    await waitForStdout(second, /"msg":"tenant"/);
    try {
      assert.doesNotMatch(second.stdout(), /Secret Token|jsk_/);
      // The token printed the first time works on the second run (same tenant, new port).
      const r = await scimClient(second.url + new URL(url).pathname, token)('GET', '/Users');
      assert.equal(r.status, 200);
      // tenants list in an environment without PUBLIC_URL prints the server's PUBLIC_URL, and says so.
      const recorded = await runCli(['tenants', 'list', '--json'], { DATABASE_URL: db.url });
      assert.equal(recorded.code, 0, recorded.stderr);
      assert.equal(recorded.stderr, '', 'an https PUBLIC_URL needs no warning');
      const tenants = JSON.parse(recorded.stdout) as { name: string; tenantUrl: string }[];
      assert.deepEqual(
        tenants.map((x) => [x.name, x.tenantUrl]),
        [['default', `https://scim.example.test${new URL(url).pathname}`]],
      );
      assert.match(
        await cliOk(['tenants', 'list'], { DATABASE_URL: db.url }),
        /^Tenant URLs use https:\/\/scim\.example\.test, from the server's PUBLIC_URL \(recorded when it started/,
      );
    } finally {
      await second.stop();
    }
    assert.doesNotMatch(second.stdout(), /Secret Token|jsk_/);
  });
});
