/**
 * The console's files as the server serves them: the HTML page, one script and one stylesheet, bundled by esbuild
 * from the sources in src/admin/ui/ (TypeScript, CSS, and the uPlot charting library: no CDN, nothing fetched
 * from the Internet at run time).
 *
 * - Built (`npm run build`, also run by `npm ci` through `prepare`): scripts/build-console.mjs calls bundleConsole()
 *   and writes dist/admin/ui/{index.html,console.js,console.css}; the compiled server reads them from there.
 * - From source (`npm run dev`, the tests, which run the TypeScript through tsx): there is no dist next to this
 *   file, so the sources are bundled in memory on first use. esbuild is a devDependency, present exactly there.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface ConsoleAssets {
  html: string;
  js: string;
  css: string;
  /** The IT admin's setup page (/setup, src/admin/ui/setup/): its own entry in the same bundle step. */
  setup: { html: string; js: string; css: string };
}

/** The sources, from either src/admin/assets.ts or dist/admin/assets.js: both are two levels below the root. */
export const UI_SOURCE_DIR = fileURLToPath(new URL('../../src/admin/ui/', import.meta.url));
/** Where `npm run build` puts the bundle: dist/admin/ui/ (next to the compiled dist/admin/assets.js). */
const BUILT_DIR = fileURLToPath(new URL('./ui/', import.meta.url));

/** Browsers the console supports: current evergreen ones (no transpiling to ES5, no polyfills). */
const TARGETS = ['chrome110', 'edge110', 'firefox110', 'safari16'];

/** Bundles the console from its sources (esbuild, loaded only here). */
export async function bundleConsole(): Promise<ConsoleAssets> {
  const esbuild = await import('esbuild');
  const common = {
    bundle: true,
    write: false,
    minify: true,
    target: TARGETS,
    absWorkingDir: UI_SOURCE_DIR,
    logLevel: 'silent' as const,
    // Licence comments of bundled libraries (uPlot is MIT) stay at the end of the files.
    legalComments: 'eof' as const,
  };
  const [script, style, setupScript, setupStyle] = await Promise.all([
    esbuild.build({ ...common, entryPoints: ['main.ts'], format: 'iife', outfile: 'console.js' }),
    esbuild.build({ ...common, entryPoints: ['styles.css'], outfile: 'console.css' }),
    esbuild.build({ ...common, entryPoints: ['setup/main.ts'], format: 'iife', outfile: 'setup.js' }),
    esbuild.build({ ...common, entryPoints: ['setup/setup.css'], outfile: 'setup.css' }),
  ]);
  const text = (r: { outputFiles?: { text: string }[] }) => r.outputFiles?.[0]?.text ?? '';
  return {
    html: readFileSync(`${UI_SOURCE_DIR}index.html`, 'utf8'),
    js: text(script),
    css: text(style),
    setup: {
      html: readFileSync(`${UI_SOURCE_DIR}setup/index.html`, 'utf8'),
      js: text(setupScript),
      css: text(setupStyle),
    },
  };
}

let loading: Promise<ConsoleAssets> | undefined;

/** The files to serve: the built bundle when there is one, otherwise bundled from source once per process. */
export function consoleAssets(): Promise<ConsoleAssets> {
  return (loading ??= (async () => {
    if (existsSync(`${BUILT_DIR}console.js`))
      return {
        html: readFileSync(`${BUILT_DIR}index.html`, 'utf8'),
        js: readFileSync(`${BUILT_DIR}console.js`, 'utf8'),
        css: readFileSync(`${BUILT_DIR}console.css`, 'utf8'),
        setup: {
          html: readFileSync(`${BUILT_DIR}setup.html`, 'utf8'),
          js: readFileSync(`${BUILT_DIR}setup.js`, 'utf8'),
          css: readFileSync(`${BUILT_DIR}setup.css`, 'utf8'),
        },
      };
    try {
      return await bundleConsole();
    } catch (e) {
      loading = undefined;
      throw new Error(
        `the console is not built (no ${BUILT_DIR}console.js) and cannot be bundled here: run npm run build (${(e as Error).message})`,
      );
    }
  })());
}
