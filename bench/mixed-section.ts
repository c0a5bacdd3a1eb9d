/**
 * The mixed Entra load (bench/mixed.ts, issues 10/11): 10 tenants at a fixed request rate with the provisioning
 * engine cycling into one of them, once per store; writes its own "Mixed Entra load" blocks.
 */
import { mixedFromRun } from './mixed.js';
import type { BenchSection } from './sections.js';

export const mixedSection: BenchSection = {
  id: 'mixed',
  title: 'mixed Entra load over 10 tenants at a fixed rate with the engine cycling into one (issues 10, 11)',
  byDefault: true,
  async run(ctx) {
    for (const store of ctx.stores) {
      ctx.log(`bench mixed: ${store.kind}…`);
      // mixed.ts creates and drops its own scratch database on the PostgreSQL server it is given.
      await mixedFromRun({ store: store.kind, databaseUrl: store.serverUrl, out: ctx.out, log: ctx.log });
    }
  },
};
