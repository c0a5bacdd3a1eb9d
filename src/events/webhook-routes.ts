/**
 * /admin/api/webhooks: the operators' management of webhook endpoints, inside the admin API's authentication and
 * error format (src/admin/routes.ts). Each route names the least console role it needs in its `config.role`
 * (docs/console.md "Operator accounts"): managing endpoints (create, change, enable/disable, delete, rotate the
 * secret) is `admin`; redelivering and pinging (they send to the receiver, but change no endpoint) is `operator`;
 * reading endpoints (never a secret) and the delivery log is `viewer`, who reads everything else the console shows.
 *
 *   GET    /webhooks[?tenant=]                         list (never a secret)
 *   POST   /webhooks {url, types?, tenant?, description?, enabled?}   → 201 with the secret, shown once
 *   GET    /webhooks/:id
 *   PATCH  /webhooks/:id {url?, types?, tenant?, description?, enabled?}
 *   DELETE /webhooks/:id                               → 204 (its deliveries and log go with it)
 *   POST   /webhooks/:id/enable | /disable
 *   POST   /webhooks/:id/rotate-secret {overlap?: "24h"}   → the new secret, shown once
 *   GET    /webhooks/:id/deliveries[?state=&event=&limit=&before=&attempts=true]
 *   GET    /webhooks/:id/deliveries/:deliveryId       with its payload and every attempt
 *   POST   /webhooks/:id/redeliver {eventId} | {since, until?}   → 202 {queued}
 *   POST   /webhooks/:id/ping                          → the attempt (status, duration, first bytes of the answer)
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { actorOf } from '../admin/admin-http.js';
import { ScimError } from '../scim/errors.js';
import { parseDuration } from '../service/tokens.js';
import type { SqlStore } from '../store/sql/sql-store.js';
import type { Store } from '../store/types.js';
import { webhookSender } from './webhook-runtime.js';
import type { WebhookSender } from './webhook-sender.js';
import { settingsFrom, WebhookService } from './webhook-service.js';

/** The operator role a route needs (the console's roles read it from the route's config). */
export type WebhookRole = 'admin' | 'operator' | 'viewer';
const role = (r: WebhookRole) => ({ config: { role: r } });

const bad = (detail: string) => new ScimError(400, 'invalidValue', detail);

function body(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw bad('the request body must be a JSON object');
  return b as Record<string, unknown>;
}

function optString(b: Record<string, unknown>, name: string): string | undefined {
  const v = b[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad(`"${name}" must be a string`);
  return v;
}

function optBool(b: Record<string, unknown>, name: string): boolean | undefined {
  const v = b[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw bad(`"${name}" must be true or false`);
  return v;
}

const first = (v: unknown): string | undefined =>
  Array.isArray(v) ? first(v[0]) : typeof v === 'string' ? v : undefined;

export function registerWebhookAdminRoutes(
  api: FastifyInstance,
  deps: { store: Store; config: Config },
): void {
  // The admin API is handed the Store interface; its one implementation is the SqlStore the webhook tables live in.
  const service = new WebhookService(deps.store as SqlStore, settingsFrom(deps.config));
  let sender: WebhookSender | undefined;
  api.addHook('onClose', async () => sender?.close());
  const id = (req: FastifyRequest) => (req.params as { id: string }).id;

  api.get('/webhooks', role('viewer'), async (req) => ({
    webhooks: await service.list(first((req.query as Record<string, unknown>).tenant)),
  }));
  api.post('/webhooks', role('admin'), async (req, reply) => {
    const b = body(req);
    const created = await service.create({
      url: b.url,
      types: b.types,
      tenant: optString(b, 'tenant'),
      description: b.description,
      enabled: optBool(b, 'enabled'),
      actor: actorOf(req),
    });
    return reply.code(201).send(created);
  });
  api.get('/webhooks/:id', role('viewer'), async (req) => service.get(id(req)));
  api.patch('/webhooks/:id', role('admin'), async (req) => {
    const b = body(req);
    const tenant = b.tenant === null ? null : optString(b, 'tenant');
    const enabled = optBool(b, 'enabled');
    const actor = { actor: actorOf(req) };
    let out = await service.update(
      id(req),
      {
        ...(b.url !== undefined ? { url: b.url } : {}),
        ...(b.types !== undefined ? { types: b.types } : {}),
        ...(b.description !== undefined ? { description: b.description } : {}),
        ...(tenant !== undefined ? { tenant } : {}),
      },
      actor,
    );
    if (enabled !== undefined && enabled !== out.enabled)
      out = enabled ? await service.enable(id(req), actor) : await service.disable(id(req), undefined, actor);
    return out;
  });
  api.delete('/webhooks/:id', role('admin'), async (req, reply) => {
    await service.delete(id(req), { actor: actorOf(req) });
    return reply.code(204).send();
  });
  api.post('/webhooks/:id/enable', role('admin'), async (req) =>
    service.enable(id(req), { actor: actorOf(req) }),
  );
  api.post('/webhooks/:id/disable', role('admin'), async (req) =>
    service.disable(id(req), undefined, { actor: actorOf(req) }),
  );
  api.post('/webhooks/:id/rotate-secret', role('admin'), async (req) => {
    const overlap = optString(body(req), 'overlap');
    let overlapMs: number | undefined;
    if (overlap !== undefined)
      try {
        overlapMs = overlap === '0' ? 0 : parseDuration(overlap, '"overlap"');
      } catch (e) {
        throw bad((e as Error).message);
      }
    return service.rotateSecret(id(req), { overlapMs, actor: actorOf(req) });
  });
  api.get('/webhooks/:id/deliveries', role('viewer'), async (req) => {
    const q = req.query as Record<string, unknown>;
    const num = (name: string) => {
      const v = first(q[name]);
      if (v === undefined || v === '') return undefined;
      const n = Number(v);
      if (!Number.isSafeInteger(n)) throw bad(`${name} must be an integer, got '${v}'`);
      return n;
    };
    const state = first(q.state);
    const eventId = first(q.event);
    const limit = num('limit');
    const before = num('before');
    return {
      deliveries: await service.deliveries(id(req), {
        ...(state ? { state } : {}),
        ...(eventId ? { eventId } : {}),
        ...(limit !== undefined ? { limit } : {}),
        ...(before !== undefined ? { before } : {}),
        attempts: first(q.attempts) === 'true',
      }),
    };
  });
  api.get('/webhooks/:id/deliveries/:deliveryId', role('viewer'), async (req) =>
    service.delivery(id(req), Number((req.params as { deliveryId: string }).deliveryId)),
  );
  api.post('/webhooks/:id/redeliver', role('operator'), async (req, reply) => {
    const b = body(req);
    const r = await service.redeliver(id(req), {
      eventId: optString(b, 'eventId'),
      since: optString(b, 'since'),
      until: optString(b, 'until'),
    });
    return reply.code(202).send(r);
  });
  api.post('/webhooks/:id/ping', role('operator'), async (req) =>
    service.ping(id(req), (sender ??= webhookSender(deps.config))),
  );
}
