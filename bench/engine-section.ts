/**
 * The provisioning engine (bench/engine-cycle.ts, issue 16): the initial cycle of 10,000 users before (the engine of
 * the commit before issue 16, built from git) and after, and the incremental cycle over 100,000 linked users; the
 * server and the engine in separate compiled processes. Writes its own "Engine" block. SQLite only: the engine's
 * figures are about the engine, and the target server runs on its default store.
 */
import { benchEngine } from './engine-cycle.js';
import type { BenchSection } from './sections.js';

export const engineSection: BenchSection = {
  id: 'engine',
  title: 'the provisioning engine: initial cycle before/after and the incremental cycle (issue 16)',
  byDefault: true,
  async run(ctx) {
    await benchEngine({
      out: ctx.out,
      log: ctx.log,
      ...(ctx.quick ? { users: 2000, linkedUsers: 10_000 } : {}),
    });
  },
};
