/**
 * The scale bench (issues 3, 4, 6): the real server at 1,000 / 100,000 / 1,000,000 users beside a bare Fastify
 * route, and the engine's initial cycle (bench/scale.ts). Opt-in (`npm run bench -- --only scale`): loading a
 * million users takes minutes per store. It runs bench/scale.ts once per store, which writes its own blocks
 * (`bench:sqlite`, `bench:postgres`).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { BenchSection } from './sections.js';

export const scaleSection: BenchSection = {
  id: 'scale',
  title:
    'lookups, pages, writes and the engine cycle at 1k / 100k / 1M users vs a bare Fastify route (issues 3, 4, 6)',
  byDefault: false,
  async run(ctx) {
    const tsx = join(ctx.root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const pass: string[] = ['--out', ctx.out];
    for (const name of ['sizes', 'concurrency', 'cycle-users', 'scale-seconds']) {
      const v = ctx.flags.get(name);
      if (typeof v === 'string') pass.push(`--${name === 'scale-seconds' ? 'seconds' : name}`, v);
    }
    if (ctx.quick) pass.push('--quick');
    for (const store of ctx.stores) {
      ctx.log(`bench scale: ${store.kind}…`);
      const env = { ...process.env };
      if (store.kind === 'postgres') env.DATABASE_URL = store.serverUrl;
      else delete env.DATABASE_URL;
      const r = spawnSync(process.execPath, [tsx, join(ctx.root, 'bench', 'scale.ts'), ...pass], {
        cwd: ctx.root,
        env,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      if (r.status !== 0) throw new Error(`bench/scale.ts failed on ${store.kind} (exit ${r.status})`);
    }
  },
};
