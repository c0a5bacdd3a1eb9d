/**
 * Webhooks in a server process: the delivery worker and the hourly pruning of the delivery log, built from the
 * configuration. server.ts starts it (unless WEBHOOKS_ENABLED=false or EVENTS_ENABLED=false) and stops it on
 * shutdown, before the store closes.
 */
import type { Config } from '../config.js';
import { smtpNotifier, type Notifier } from '../engine/notify.js';
import type { SqlStore } from '../store/sql/sql-store.js';
import { webhooksOf } from '../store/sql/webhooks-store.js';
import type { AttemptObserver } from './webhook-metrics.js';
import { SecretBox } from './webhook-secrets.js';
import { WebhookSender } from './webhook-sender.js';
import { WebhookWorker, type WorkerLog } from './webhook-worker.js';

export interface WebhookRuntime {
  worker: WebhookWorker;
  stop(): Promise<void>;
}

/** The operator's e-mail, when SMTP_HOST and NOTIFY_EMAIL_TO are set. */
export function operatorNotifier(config: Config): Notifier | undefined {
  const m = config.mail;
  return m?.to.length ? smtpNotifier(m, m.to) : undefined;
}

export function webhookSender(config: Config): WebhookSender {
  return new WebhookSender(
    {
      timeoutMs: config.webhooks.timeoutMs,
      policy: { allowPrivateNetworks: config.webhooks.allowPrivateNetworks },
    },
    config.webhooks.concurrency,
  );
}

export function startWebhooks(deps: {
  store: SqlStore;
  config: Config;
  log: WorkerLog;
  clock?: () => Date;
  /** The attempts counter of /metrics (src/events/webhook-metrics.ts). */
  metrics?: AttemptObserver | undefined;
}): WebhookRuntime | undefined {
  const { store, config, log } = deps;
  if (!config.events.enabled || !config.webhooks.enabled) return undefined;
  const w = config.webhooks;
  const worker = new WebhookWorker({
    store,
    secrets: new SecretBox(w.secretKey),
    sender: webhookSender(config),
    options: {
      pollMs: w.pollMs,
      concurrency: w.concurrency,
      leaseMs: w.leaseMs,
      retryWindowMs: w.retryWindowMs,
    },
    notifier: operatorNotifier(config),
    log,
    metrics: deps.metrics,
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  worker.start();
  // Finished deliveries and their attempt log are kept as long as the events themselves.
  const prune = () => {
    const before = new Date(Date.now() - config.events.retentionDays * 86_400_000).toISOString();
    void webhooksOf(store)
      .prune(before)
      .then((n) => n && log.info({ pruned: n, before }, 'webhooks: pruned finished deliveries'))
      .catch((err) => log.warn({ err }, 'webhooks: could not prune the delivery log'));
  };
  const timer = setInterval(prune, 60 * 60_000).unref();
  const first = setTimeout(prune, 15_000).unref();
  return {
    worker,
    stop: async () => {
      clearInterval(timer);
      clearTimeout(first);
      await worker.stop();
    },
  };
}
