/**
 * The console's front-end sources (src/admin/ui/) and their bundle: what `npm run build` writes to dist/admin/ui/
 * and what the server serves from source in development.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { bundleConsole, UI_SOURCE_DIR } from '../../src/admin/assets.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? sources(p) : [p];
  });
}

test('the console sources never build markup from strings', () => {
  const files = sources(UI_SOURCE_DIR).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length >= 5, `found the sources in ${UI_SOURCE_DIR}`);
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    // Data reaches the page through textContent / value only (dom.ts): no parser, no script from data.
    for (const sink of [
      'innerHTML',
      'outerHTML',
      'insertAdjacentHTML',
      'document.write',
      'eval(',
      'new Function',
    ])
      assert.ok(!text.includes(sink), `${f} uses ${sink}`);
  }
});

test('the bundle is one script and one stylesheet, self-contained, the charting library (uPlot) in it', async () => {
  const a = await bundleConsole();
  assert.match(a.html, /<script src="\/admin\/console\.js" defer><\/script>/);
  assert.match(a.html, /<link rel="stylesheet" href="\/admin\/console\.css"/);
  assert.doesNotMatch(a.html, /<script>|<style>|style="/, 'no inline script or style for the CSP to refuse');
  assert.doesNotMatch(a.html, /https?:\/\//, 'nothing loaded from another origin');
  // An IIFE: no module loader, no import() of anything at run time.
  assert.doesNotMatch(a.js, /\bimport\s*\(|\brequire\s*\(/);
  assert.ok(a.js.length > 10_000);
  // uPlot, the charting library, is in the bundle (its own element classes, u-over and u-legend, with it).
  assert.match(a.js, /u-over/);
  assert.match(a.js, /u-legend/);
  // uPlot's stylesheet is bundled into the console's.
  assert.match(a.css, /\.uplot\b/);
  assert.doesNotMatch(a.css, /@import/);
});
