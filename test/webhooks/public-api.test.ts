/**
 * The package's public API as the Joyn FSM application gets it: `import { verifyWebhook } from 'joyn-scim'`
 * resolves through package.json `exports` to the built dist/index.js (with its types beside it), in a fresh Node
 * process, and what it loads is only node:crypto and its own few files (never the server, a database driver or
 * Fastify). dist/ is what `npm ci` builds (`prepare`).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../ops/processes.js';

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
  assert.deepEqual(JSON.parse(r.stdout), { ok: true, bad: false, types: 12 });
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
