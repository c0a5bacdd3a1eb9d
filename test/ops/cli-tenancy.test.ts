/**
 * Tenancy on the CLI path (issue 10 "Tenancy on every path, not only HTTP"): every `joyn-scim` command that takes
 * an id is driven with the id of ANOTHER tenant and must refuse it (exit 1, one line) and change nothing; the
 * read commands given one tenant show nothing of the other. Real CLI processes over a real store, with a server on
 * the same store so the tokens are checked where they matter: on SCIM requests.
 *
 * The reported defect: `tokens rotate <A> --revoke <B's token id>` exited 0 and revoked B's token; `rotate` with an
 * unknown or revoked id issued a new token before failing.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { tokenState } from '../../src/service/tokens.js';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/stores.js';
import { cliOk, runCli, scimClient, type CliResult } from './processes.js';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

interface Issued {
  id: string;
  name: string;
  tenantUrl: string;
  tokenId: string;
  token: string;
}
interface TokenListRow {
  id: string;
  revokedAt: string | null;
  state: string;
}

/** A refusal: exit 1 (the command ran and failed), one line on stderr that matches, nothing on stdout. */
function refused(r: CliResult, pattern: RegExp, what: string): void {
  assert.equal(
    r.code,
    1,
    `${what}: expected exit 1, got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
  );
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${what}: ${r.stderr}`);
  assert.match(lines[0]!, pattern, what);
  assert.doesNotMatch(r.stdout, /jsk_/, `${what}: a refused command printed a token`);
}

for (const dialect of DIALECTS) {
  describe(`CLI commands refuse another tenant's ids (${dialect})`, () => {
    let db: TestDatabase;
    let server: RunningServer;
    after(async () => {
      await server?.close();
      await db?.drop();
    });

    test("tokens, tenants, activity, audit and events: B's ids through A change nothing and A's reads show nothing of B", async () => {
      db = await freshDatabase(dialect);
      const env = { DATABASE_URL: db.url, PUBLIC_URL: 'https://scim.example.test' };
      const [a, b] = (await Promise.all([
        cliOk(['tenants', 'create', 'alpha', '--json'], env),
        cliOk(['tenants', 'create', 'bravo', '--json'], env),
      ]).then((outs) => outs.map((o) => JSON.parse(o)))) as [Issued, Issued];
      // Every SCIM request asks the database (no token cache), so a wrongly revoked token shows at once.
      server = await startServer(
        loadConfig({ NODE_ENV: 'test', PORT: '0', DATABASE_URL: db.url, TOKEN_CACHE_SECONDS: '0' }),
        { createDefaultTenant: false },
      );
      const on = (t: Issued, token = t.token) => scimClient(`${server.url}/scim/${t.id}/v2`, token);
      // Each tenant gets a user, so activity and events have something to leak.
      for (const t of [a, b]) {
        const r = await on(t)('POST', '/Users', { schemas: [CORE_USER], userName: `only-${t.name}@x.test` });
        assert.equal(r.status, 201);
      }
      // State is read back through the service in this process (cheaper than another CLI process per look).
      const tokensOf = async (t: Issued): Promise<TokenListRow[]> =>
        (await server.tenants.listTokens(t.id)).map((x) => ({
          id: x.id,
          revokedAt: x.revokedAt,
          state: tokenState(x, new Date()),
        }));
      const bBefore = await tokensOf(b);
      const aBefore = await tokensOf(a);
      assert.deepEqual(
        bBefore.map((x) => x.id),
        [b.tokenId],
      );

      // Writes with B's token id through tenant A, run concurrently: all refused as unknown in A.
      const notA = new RegExp(`tenant 'alpha' has no token with id '${b.tokenId}'`);
      const [rotateRevoke, rotateOverlap, revokeCross, revokeByName] = await Promise.all([
        runCli(['tokens', 'rotate', a.id, '--revoke', b.tokenId, '--json'], env),
        runCli(['tokens', 'rotate', 'alpha', '--revoke', b.tokenId, '--overlap', '1h'], env),
        runCli(['tokens', 'revoke', a.id, b.tokenId], env),
        runCli(['tokens', 'revoke', 'alpha', b.tokenId], env),
      ]);
      refused(rotateRevoke, notA, 'tokens rotate A --revoke <B token>');
      refused(rotateOverlap, notA, 'tokens rotate A --revoke <B token> --overlap');
      refused(revokeCross, notA, 'tokens revoke A <B token>');
      refused(revokeByName, notA, 'tokens revoke alpha <B token>');

      // Nothing changed: B's token is still active and works; A got no new token from the refused rotations.
      assert.deepEqual(await tokensOf(b), bBefore);
      assert.deepEqual(await tokensOf(a), aBefore);
      assert.equal((await on(b)('GET', '/Users')).status, 200);

      // rotate validates before it issues: an unknown id and an already revoked id issue nothing either.
      const [unknownRotation, issued] = await Promise.all([
        runCli(['tokens', 'rotate', a.id, '--revoke', 'no-such-token'], env),
        cliOk(['tokens', 'issue', a.id, '--json'], env),
      ]);
      refused(
        unknownRotation,
        /tenant 'alpha' has no token with id 'no-such-token'/,
        'tokens rotate A --revoke <unknown>',
      );
      const second = JSON.parse(issued) as Issued;
      assert.equal((await tokensOf(a)).length, aBefore.length + 1, 'only tokens issue added a token');
      assert.equal(second.id, a.id);
      assert.match(second.tokenId, /\S/, 'tokens issue --json returns the token id');
      await cliOk(['tokens', 'revoke', a.id, second.tokenId], env);
      const aAfterRevoke = await tokensOf(a);
      refused(
        await runCli(['tokens', 'rotate', a.id, '--revoke', second.tokenId], env),
        /already revoked/,
        'tokens rotate A --revoke <revoked>',
      );
      assert.deepEqual(await tokensOf(a), aAfterRevoke, 'a refused rotation issued a token');

      // The legitimate rotation works and says which token it issued and revoked (--json has the token id).
      const rotated = JSON.parse(
        await cliOk(['tokens', 'rotate', a.id, '--revoke', a.tokenId, '--json'], env),
      ) as Issued & { revokedTokenId: string };
      assert.equal(rotated.revokedTokenId, a.tokenId);
      assert.ok((await tokensOf(a)).some((x) => x.id === rotated.tokenId && x.state === 'active'));
      assert.equal((await on(a, a.token)('GET', '/Users')).status, 401);
      assert.equal((await on(a, rotated.token)('GET', '/Users')).status, 200);
      assert.equal((await on(b)('GET', '/Users')).status, 200, "A's rotation touched B's token");

      // Reads given tenant A show A's and nothing of B's.
      const [tokensA, activityA, auditA, eventsA] = await Promise.all([
        cliOk(['tokens', 'list', a.id], env),
        cliOk(['activity', a.id, '--json'], env),
        cliOk(['audit', a.id, '--json'], env),
        cliOk(['events', 'tail', '--tenant', a.id, '--json'], env),
      ]);
      assert.ok(!tokensA.includes(b.tokenId), 'tokens list A shows a token of B');
      assert.match(activityA, /only-alpha@x\.test/);
      assert.doesNotMatch(activityA, /only-bravo|bravo/);
      const audit = JSON.parse(auditA) as { tenantId: string }[];
      assert.ok(audit.length >= 4, auditA);
      assert.deepEqual([...new Set(audit.map((e) => e.tenantId))], [a.id]);
      const events = eventsA
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { tenant?: string; cursor?: string });
      const eventRows = events.filter((e) => e.cursor === undefined);
      assert.ok(eventRows.length >= 1, eventsA);
      assert.deepEqual([...new Set(eventRows.map((e) => e.tenant))], [a.id]);
      assert.doesNotMatch(eventsA, /only-bravo/);

      // Deleting A leaves B whole: its token, its user.
      await cliOk(['tenants', 'delete', a.id, '--yes'], env);
      assert.equal((await on(a, rotated.token)('GET', '/Users')).status, 401);
      const bUsers = await on(b)('GET', '/Users');
      assert.equal(bUsers.status, 200);
      assert.deepEqual(
        bUsers.body.Resources.map((u: { userName: string }) => u.userName),
        ['only-bravo@x.test'],
      );
      assert.deepEqual(await tokensOf(b), bBefore);
      // And A's ids are now unknown everywhere, B's token id still not A's to touch.
      refused(
        await runCli(['tokens', 'revoke', a.id, b.tokenId], env),
        new RegExp(`no tenant with id or name '${a.id}'`),
        'tokens revoke <deleted A> <B token>',
      );
      assert.deepEqual(await tokensOf(b), bBefore);
    });
  });
}
