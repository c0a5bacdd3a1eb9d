/**
 * The package's public API as the Joyn FSM application gets it: `import { verifyWebhook } from 'joyn-scim'`
 * resolves through package.json `exports` to the built dist/index.js (with its types beside it), in a fresh Node
 * process, and what it loads is only node:crypto and its own few files (never the server, a database driver or
 * Fastify). dist/ is what `npm ci` builds (`prepare`). And the receiver printed in docs/events.md runs as printed.
 */
import assert from 'node:assert/strict';
import { EVENT_TYPES } from '../../src/events/types.js';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { signatureHeader } from '../../src/index.js';
import { freePort, ROOT } from '../ops/processes.js';

test('the package name resolves to dist/index.js and its types; verifyWebhook works from there', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.equal(pkg.exports['.'].default, './dist/index.js');
  assert.equal(pkg.exports['.'].types, './dist/index.d.ts');
  assert.equal(pkg.types, 'dist/index.d.ts');
  const dts = readFileSync(join(ROOT, 'dist/index.d.ts'), 'utf8');
  assert.match(dts, /verifyWebhook/);
  assert.match(
    readFileSync(join(ROOT, 'dist/events/signature.d.ts'), 'utf8'),
    /export declare function verifyWebhook\(/,
  );
  const script = `
    import { verifyWebhook, signatureHeader, EVENT_TYPES } from 'joyn-scim';
    const body = '{"id":"evt_1"}';
    const h = signatureHeader(body, ['whsec_x'], Date.now());
    const ok = verifyWebhook(body, h, 'whsec_x', { toleranceMs: 300000 }).ok;
    const bad = verifyWebhook(body + ' ', h, 'whsec_x', { toleranceMs: 300000 }).ok;
    console.log(JSON.stringify({ ok, bad, types: EVENT_TYPES.length }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { ok: true, bad: false, types: EVENT_TYPES.length });
});

test('dist/index.js imports nothing but node: built-ins and its own files', () => {
  const seen = new Set<string>();
  const bare: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    assert.ok(existsSync(file), `${file} is missing: run npm run build`);
    // Comments out first: the module's doc comment shows an import of the package itself.
    const src = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    for (const m of src.matchAll(
      /(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(['"]([^'"]+)['"]\)/g,
    )) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:')) bare.push(`${file}: ${spec}`);
    }
  };
  visit(join(ROOT, 'dist/index.js'));
  assert.deepEqual(bare, []);
  assert.ok(seen.size <= 5, [...seen].join(', '));
});

test('the receiver of docs/events.md runs as printed: 204 for a signed event (applied once), 400 otherwise', async () => {
  const doc = readFileSync(join(ROOT, 'docs/events.md'), 'utf8');
  const code = /```js receiver\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(code, 'docs/events.md has the receiver block');
  // Inside the package directory (.tmp/ is ignored), so that 'joyn-scim' resolves to this package through its exports.
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  const file = join(ROOT, '.tmp', `receiver-example-${process.pid}.mjs`);
  writeFileSync(file, code);
  const port = await freePort();
  const child = spawn(process.execPath, [file], {
    cwd: ROOT,
    env: { ...process.env, WEBHOOK_SECRETS: 'whsec_old,whsec_new', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  try {
    const post = async (body: string, header: string) => {
      for (let i = 0; ; i++) {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/`, {
            method: 'POST',
            headers: { 'joyn-signature': header, 'content-type': 'application/json' },
            body,
          });
          return { status: r.status, text: await r.text() };
        } catch (e) {
          if (i > 100) throw e;
          await new Promise((r) => setTimeout(r, 100)); // not listening yet
        }
      }
    };
    const body = JSON.stringify({
      id: 'evt_doc',
      type: 'user.deactivated',
      resource: { id: 'u1', sequence: 3 },
    });
    const signed = signatureHeader(body, ['whsec_new'], Date.now());
    assert.equal((await post(body, signed)).status, 204);
    assert.equal((await post(body, signed)).status, 204, 'a redelivery is acknowledged');
    const tampered = await post(body.replace('u1', 'u2'), signed);
    assert.deepEqual(tampered, { status: 400, text: 'signature_mismatch' });
    const old = signatureHeader(body, ['whsec_old'], Date.now() - 10 * 60_000);
    assert.deepEqual(await post(body, old), { status: 400, text: 'timestamp_too_old' });
    assert.equal(out.trim().split('\n').length, 1, `applied once: ${out}`);
    assert.match(out, /user\.deactivated u1 3/);
  } finally {
    child.kill();
    rmSync(file, { force: true });
  }
});
