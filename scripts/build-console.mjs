#!/usr/bin/env node
// `npm run build` (and `prepare`, run by `npm ci`), after tsc: bundles the operator console's sources
// (src/admin/ui/) with esbuild into dist/admin/ui/, which the compiled server serves. The bundling options live
// in src/admin/assets.ts (compiled to dist/admin/assets.js) so the server and this script build the same thing.
import { mkdirSync, writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const { bundleConsole } = await import(new URL('dist/admin/assets.js', root).href);
const out = new URL('dist/admin/ui/', root);
const assets = await bundleConsole();
mkdirSync(out, { recursive: true });
writeFileSync(new URL('index.html', out), assets.html);
writeFileSync(new URL('console.js', out), assets.js);
writeFileSync(new URL('console.css', out), assets.css);
writeFileSync(new URL('setup.html', out), assets.setup.html);
writeFileSync(new URL('setup.js', out), assets.setup.js);
writeFileSync(new URL('setup.css', out), assets.setup.css);
console.log(
  `console bundled into dist/admin/ui/: console.js ${(assets.js.length / 1024).toFixed(0)} KiB, console.css ${(assets.css.length / 1024).toFixed(0)} KiB`,
);
