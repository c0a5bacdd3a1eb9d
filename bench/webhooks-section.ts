/**
 * Webhook delivery (bench/webhooks.ts, issue 12): throughput with a same-run baseline and SCIM-2xx-to-webhook
 * latency at a steady load, once per store in a scratch database; writes its own "Webhooks" blocks.
 */
import { benchWebhooks } from './webhooks.js';
import type { BenchSection } from './sections.js';
import { scratchDatabase } from './stores.js';

export const webhooksSection: BenchSection = {
  id: 'webhooks',
  title: 'webhook delivery throughput and SCIM-to-webhook latency (issue 12)',
  byDefault: true,
  async run(ctx) {
    let compile = true;
    for (const store of ctx.stores) {
      ctx.log(`bench webhooks: ${store.kind}…`);
      const db = await scratchDatabase(store);
      try {
        await benchWebhooks({
          databaseUrl: db.url,
          store: store.kind,
          storeDetail: db.describe,
          out: ctx.out,
          log: ctx.log,
          compile,
        });
        compile = false;
      } finally {
        await db.drop();
      }
    }
  },
};
