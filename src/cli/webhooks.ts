/**
 * `joyn-scim webhooks …`: webhook endpoints that the directory events are pushed to (docs/events.md "Webhooks").
 * The secret is printed only by `create` and `rotate-secret`. Deliveries are made by the server processes
 * (WEBHOOKS_ENABLED); `ping` is the one delivery this command makes itself, so it shows the receiver's answer.
 */
import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.js';
import { webhookSender } from '../events/webhook-runtime.js';
import { settingsFrom, WebhookService, type EndpointView } from '../events/webhook-service.js';
import type { WebhookAttempt, WebhookDelivery } from '../events/webhook-types.js';
import { ScimError } from '../scim/errors.js';
import { openStore } from '../store/open.js';
import {
  cliActor,
  durationOption,
  intOption,
  print,
  STORE_ENV,
  UsageError,
  withEnvironment,
} from './common.js';

async function withWebhooks<T>(fn: (svc: WebhookService, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const store = openStore(config);
  try {
    await store.migrate();
    return await fn(new WebhookService(store, settingsFrom(config)), config);
  } catch (e) {
    if (e instanceof ScimError) throw e.status === 400 ? new UsageError(e.detail) : new Error(e.detail);
    throw e;
  } finally {
    await store.close();
  }
}

const WEBHOOK_ENV = [
  ...STORE_ENV,
  'WEBHOOKS_SECRET_KEY',
  'WEBHOOKS_ALLOW_PRIVATE',
  'WEBHOOKS_TIMEOUT_MS',
  'WEBHOOKS_OVERLAP_HOURS',
];

function endpointLines(e: EndpointView): string {
  return [
    `${e.id}  ${e.enabled ? 'enabled ' : 'DISABLED'}  ${e.url}`,
    `  tenant ${e.tenantId ?? 'every tenant'}; types ${e.types.length ? e.types.join(',') : 'every type'}; secret ${e.secretHint}${e.previousSecretExpiresAt ? ` (previous one signs too until ${e.previousSecretExpiresAt})` : ''}`,
    ...(e.description ? [`  ${e.description}`] : []),
    ...(e.enabled ? [] : [`  disabled ${e.disabledAt ?? ''}: ${e.disabledReason ?? ''}`]),
    ...(e.failingSince ? [`  failing since ${e.failingSince}`] : []),
    `  created ${e.createdAt}; last success ${e.lastSuccessAt ?? 'never'}`,
  ].join('\n');
}

function attemptLine(a: Omit<WebhookAttempt, 'id' | 'deliveryId'>): string {
  const head = a.responseHead ? `  "${a.responseHead.slice(0, 120).replace(/\s+/g, ' ')}"` : '';
  return `#${a.attempt} ${a.at}  ${a.status ?? '---'}  ${a.durationMs} ms  ${a.outcome}${a.error ? `  ${a.error}` : ''}${head}`;
}

function deliveryLine(d: WebhookDelivery): string {
  const when =
    d.state === 'pending'
      ? d.nextAttemptAt
        ? `next attempt ${d.nextAttemptAt}`
        : 'waiting behind an earlier event of the same resource'
      : `${d.state} ${d.finishedAt ?? ''}`;
  return `${d.id}  ${d.eventType.padEnd(28)} ${d.eventId}  ${d.origin}  attempts ${d.attempts}  last ${d.lastStatus ?? '---'}  ${when}${d.lastError ? `  (${d.lastError})` : ''}`;
}

const secretNote = (secret: string) =>
  `  Secret: ${secret}\nThe secret is shown only this once: give it to the receiver, which checks the Joyn-Signature header with it.`;

export function registerWebhooks(program: Command): void {
  const wh = program
    .command('webhooks')
    .description('webhook endpoints the directory events are pushed to, signed (docs/events.md)');
  withEnvironment(
    wh
      .command('create <url>')
      .description('add an endpoint; prints its signing secret once')
      .option('--types <list>', 'comma-separated event types it receives (default: every type)')
      .option('--tenant <tenant>', 'only the events of one tenant (id or name); default every tenant')
      .option('--description <text>', 'a note for operators')
      .option('--disabled', 'create it disabled')
      .option('--json', 'print one JSON object, the secret included')
      .action(
        async (
          url: string,
          o: { types?: string; tenant?: string; description?: string; disabled?: boolean; json?: boolean },
        ) => {
          const e = await withWebhooks((s) =>
            s.create({
              url,
              types: o.types,
              tenant: o.tenant,
              description: o.description,
              enabled: !o.disabled,
              actor: cliActor(),
            }),
          );
          if (o.json) return print(JSON.stringify(e));
          print(`Created webhook endpoint\n${endpointLines(e)}\n${secretNote(e.secret)}`);
        },
      ),
    WEBHOOK_ENV,
  );
  withEnvironment(
    wh
      .command('list')
      .description('list endpoints (never a secret, only its first characters)')
      .option('--tenant <tenant>', 'only the endpoints of one tenant (id or name)')
      .option('--json', 'print a JSON array')
      .action(async (o: { tenant?: string; json?: boolean }) => {
        const rows = await withWebhooks((s) => s.list(o.tenant));
        if (o.json) return print(JSON.stringify(rows));
        if (!rows.length) return print('no webhook endpoints yet: joyn-scim webhooks create <url>');
        for (const e of rows) print(endpointLines(e));
      }),
    STORE_ENV,
  );
  withEnvironment(
    wh
      .command('show <endpoint-id>')
      .description('one endpoint and its state')
      .option('--json', 'print one JSON object')
      .action(async (id: string, o: { json?: boolean }) => {
        const e = await withWebhooks((s) => s.get(id));
        print(o.json ? JSON.stringify(e) : endpointLines(e));
      }),
    STORE_ENV,
  );
  withEnvironment(
    wh
      .command('update <endpoint-id>')
      .description('change the URL, types, tenant or description (applies to events fanned out from now on)')
      .option('--url <url>', 'the new URL')
      .option('--types <list>', "comma-separated event types ('*' for every type)")
      .option('--tenant <tenant>', "one tenant (id or name), or 'all'")
      .option('--description <text>', 'a note for operators')
      .option('--json', 'print one JSON object')
      .action(
        async (
          id: string,
          o: { url?: string; types?: string; tenant?: string; description?: string; json?: boolean },
        ) => {
          if ([o.url, o.types, o.tenant, o.description].every((v) => v === undefined))
            throw new UsageError('nothing to change: give --url, --types, --tenant or --description');
          const e = await withWebhooks((s) =>
            s.update(
              id,
              {
                ...(o.url !== undefined ? { url: o.url } : {}),
                ...(o.types !== undefined ? { types: o.types } : {}),
                ...(o.description !== undefined ? { description: o.description } : {}),
                ...(o.tenant !== undefined ? { tenant: o.tenant === 'all' ? null : o.tenant } : {}),
              },
              { actor: cliActor() },
            ),
          );
          print(o.json ? JSON.stringify(e) : endpointLines(e));
        },
      ),
    WEBHOOK_ENV,
  );
  for (const [name, what] of [
    [
      'enable',
      'enable an endpoint: its pending deliveries resume (events that occurred while it was off: redeliver)',
    ],
    [
      'disable',
      'disable an endpoint: nothing is delivered to it and it receives no new events until enabled',
    ],
  ] as const)
    withEnvironment(
      wh
        .command(`${name} <endpoint-id>`)
        .description(what)
        .action(async (id: string) => {
          const e = await withWebhooks((s) =>
            name === 'enable'
              ? s.enable(id, { actor: cliActor() })
              : s.disable(id, undefined, { actor: cliActor() }),
          );
          print(`${name}d ${e.id} (${e.url})`);
        }),
      STORE_ENV,
    );
  withEnvironment(
    wh
      .command('delete <endpoint-id>')
      .description('delete an endpoint with its pending deliveries and delivery log (needs --yes)')
      .option('--yes', 'confirm the deletion')
      .action(async (id: string, o: { yes?: boolean }) => {
        if (!o.yes) throw new UsageError(`refusing to delete webhook endpoint '${id}' without --yes`);
        await withWebhooks((s) => s.delete(id, { actor: cliActor() }));
        print(`deleted ${id}`);
      }),
    STORE_ENV,
  );
  withEnvironment(
    wh
      .command('rotate-secret <endpoint-id>')
      .description(
        'a new signing secret (printed once); the old one keeps signing beside it during --overlap',
      )
      .option(
        '--overlap <duration>',
        'how long both secrets sign (24h, 7d, or 0 to stop the old one at once); default WEBHOOKS_OVERLAP_HOURS',
        (v: string) => (v === '0' ? 0 : durationOption('--overlap')(v)),
      )
      .option('--json', 'print one JSON object, the secret included')
      .action(async (id: string, o: { overlap?: number; json?: boolean }) => {
        const r = await withWebhooks((s) => s.rotateSecret(id, { overlapMs: o.overlap, actor: cliActor() }));
        if (o.json) return print(JSON.stringify(r));
        print(
          `New secret for ${r.id} (${r.url})\n${secretNote(r.secret)}\n${
            r.previousSecretExpiresAt
              ? `Until ${r.previousSecretExpiresAt} every delivery is signed with both secrets (two v1= values).`
              : 'The previous secret no longer signs.'
          }`,
        );
      }),
    WEBHOOK_ENV,
  );
  withEnvironment(
    wh
      .command('deliveries <endpoint-id>')
      .description(
        "an endpoint's deliveries, newest first, with --attempts each attempt (status, time, answer)",
      )
      .option('--state <state>', 'pending, delivered or failed')
      .option('--event <event-id>', 'only the deliveries of one event')
      .option('-n, --limit <n>', 'how many (1-100)', intOption(1, 100), 20)
      .option(
        '--before <delivery-id>',
        'older than this delivery (paging)',
        intOption(1, Number.MAX_SAFE_INTEGER),
      )
      .option('--attempts', 'list every attempt under its delivery')
      .option('--json', 'print a JSON array')
      .action(
        async (
          id: string,
          o: {
            state?: string;
            event?: string;
            limit: number;
            before?: number;
            attempts?: boolean;
            json?: boolean;
          },
        ) => {
          const rows = await withWebhooks((s) =>
            s.deliveries(id, {
              limit: o.limit,
              attempts: Boolean(o.attempts),
              ...(o.state ? { state: o.state } : {}),
              ...(o.event ? { eventId: o.event } : {}),
              ...(o.before !== undefined ? { before: o.before } : {}),
            }),
          );
          if (o.json) return print(JSON.stringify(rows));
          if (!rows.length) return print('no deliveries');
          for (const d of rows) {
            print(deliveryLine(d));
            for (const a of d.attemptLog ?? []) print(`    ${attemptLine(a)}`);
          }
        },
      ),
    STORE_ENV,
  );
  withEnvironment(
    wh
      .command('redeliver <endpoint-id>')
      .description(
        'deliver one event again (--event) or every event of a time range (--since, --until) that the endpoint receives',
      )
      .option('--event <event-id>', 'one event')
      .option('--since <time>', 'ISO-8601: events that occurred at or after it')
      .option('--until <time>', 'ISO-8601: … and before it (default now)')
      .option('--json', 'print {"queued","eventIds"}')
      .action(async (id: string, o: { event?: string; since?: string; until?: string; json?: boolean }) => {
        if ((o.event === undefined) === (o.since === undefined))
          throw new UsageError('give --event <event-id> or --since <time> (with --until optional)');
        if (o.event !== undefined && o.until !== undefined)
          throw new UsageError('--until goes with --since, not with --event');
        const r = await withWebhooks((s) =>
          s.redeliver(id, { eventId: o.event, since: o.since, until: o.until }),
        );
        if (o.json) return print(JSON.stringify(r));
        print(
          `queued ${r.queued} event${r.queued === 1 ? '' : 's'} for ${id}; the running servers deliver them (webhooks deliveries ${id})`,
        );
      }),
    STORE_ENV,
  );
  withEnvironment(
    wh
      .command('ping <endpoint-id>')
      .description('send a signed test event (webhook.ping) now and print what the receiver answered')
      .option('--json', 'print the attempt as JSON')
      .action(async (id: string, o: { json?: boolean }) => {
        const r = await withWebhooks(async (s, config) => {
          const sender = webhookSender(config);
          try {
            return await s.ping(id, sender);
          } finally {
            sender.close();
          }
        });
        if (o.json) print(JSON.stringify(r));
        else print(attemptLine(r));
        if (r.outcome !== 'delivered') process.exitCode = 1;
      }),
    WEBHOOK_ENV,
  );
}
