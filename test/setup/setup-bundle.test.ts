/**
 * The IT admin's setup page is bundled by the console's build step (its own entry): one script and one stylesheet,
 * nothing inline for the strict CSP to refuse, nothing from another origin.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bundleConsole } from '../../src/admin/assets.js';

test('the setup page bundle is self-contained and CSP-clean', async () => {
  const { setup } = await bundleConsole();
  assert.match(setup.html, /<script src="\/setup\/setup\.js" defer><\/script>/);
  assert.match(setup.html, /<link rel="stylesheet" href="\/setup\/setup\.css"/);
  assert.doesNotMatch(setup.html, /<script>|<style>|style="/);
  assert.doesNotMatch(setup.html, /https?:\/\//);
  assert.doesNotMatch(setup.js, /\bimport\s*\(|\brequire\s*\(/);
  assert.ok(setup.js.includes('/setup/api'));
  // The console's look is bundled in; no @import is left for the browser to fetch.
  assert.doesNotMatch(setup.css, /@import/);
  assert.match(setup.css, /\.checklist/);
});
