/**
 * Managing webhook endpoints (docs/events.md "Webhooks"): the use cases behind `joyn-scim webhooks …` and
 * /admin/api/webhooks. Input is validated here and refused with a ScimError whose detail says what to fix; a secret
 * appears only in the answer that created it (create, rotate-secret).
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import { ScimError } from '../scim/errors.js';
import type { SqlStore } from '../store/sql/sql-store.js';
import type { Actor, AuditInput } from '../store/types.js';
import {
  queueOf,
  webhooksOf,
  type EndpointRecord,
  type QueuedItem,
  type SqlWebhooks,
} from '../store/sql/webhooks-store.js';
import { EVENT_TYPES, isEventType, type EventType } from './types.js';
import { checkEndpointUrl, type AddressPolicy } from './webhook-address.js';
import { newWebhookSecret, secretHint, SecretBox } from './webhook-secrets.js';
import type { WebhookSender } from './webhook-sender.js';
import type {
  DeliveryState,
  WebhookAttempt,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookPing,
} from './webhook-types.js';
import { attemptDelivery, instanceName } from './webhook-worker.js';

/** An endpoint as listed and shown: never a secret, only the hint of the current one. */
export type EndpointView = WebhookEndpoint & { secretHint: string };

export interface CreatedEndpoint extends EndpointView {
  /** Shown only in this answer: the receiver verifies signatures with it. */
  secret: string;
}

export interface WebhookSettings {
  secrets: SecretBox;
  policy: AddressPolicy;
  retryWindowMs: number;
  rotationOverlapMs: number;
  leaseMs: number;
}

export const settingsFrom = (config: Config): WebhookSettings => ({
  secrets: new SecretBox(config.webhooks.secretKey),
  policy: { allowPrivateNetworks: config.webhooks.allowPrivateNetworks },
  retryWindowMs: config.webhooks.retryWindowMs,
  rotationOverlapMs: config.webhooks.rotationOverlapMs,
  leaseMs: config.webhooks.leaseMs,
});

/** The most events one redelivery request queues (narrow the time range for more). */
export const MAX_REDELIVERY = 10_000;
export const MAX_DESCRIPTION = 500;

const view = (e: EndpointRecord): EndpointView => {
  const { sealedSecret: _s, sealedPreviousSecret: _p, ...rest } = e;
  return rest;
};

const bad = (detail: string) => new ScimError(400, 'invalidValue', detail);

export function parseTypes(v: unknown): EventType[] {
  if (v === undefined || v === null || v === '' || v === '*') return [];
  const list = (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(',') : [null])
    .map((s) => (typeof s === 'string' ? s.trim() : s))
    .filter((s) => s !== '');
  const unknown = list.filter((t) => typeof t !== 'string' || !isEventType(t));
  if (unknown.length)
    throw bad(
      `unknown event type '${unknown.join(',')}': types is a comma-separated list of ${EVENT_TYPES.join(', ')} (empty: every type)`,
    );
  return [...new Set(list as EventType[])];
}

function isoTime(name: string, v: string | undefined): string | undefined {
  if (v === undefined || v === '') return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw bad(`${name} must be an ISO-8601 time such as 2026-12-03T08:00:00Z, got '${v}'`);
  return new Date(t).toISOString();
}

/**
 * An endpoint's URL as the audit log shows it: without its query string, which some receivers use for a key
 * (e.g. `?code=` of an Azure Function): the audit log never holds a secret.
 */
export function auditUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(unparseable URL)';
  }
}

const typesText = (types: readonly string[]) => (types.length ? types.join(',') : 'every type');

export class WebhookService {
  private readonly wh: SqlWebhooks;

  constructor(
    private readonly store: SqlStore,
    private readonly settings: WebhookSettings,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.wh = webhooksOf(store);
  }

  private now(): string {
    return this.clock().toISOString();
  }

  private async tenantId(tenant: string | null | undefined): Promise<string | null> {
    if (tenant === undefined || tenant === null || tenant === '') return null;
    const t = await this.store.getTenant(tenant);
    if (!t) throw new ScimError(404, undefined, `no tenant '${tenant}'`);
    return t.id;
  }

  private url(raw: unknown): string {
    if (typeof raw !== 'string' || !raw.trim()) throw bad('an endpoint needs a url: https://…');
    try {
      return checkEndpointUrl(raw.trim(), this.settings.policy);
    } catch (e) {
      throw bad((e as Error).message);
    }
  }

  private description(v: unknown): string {
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string' || v.length > MAX_DESCRIPTION)
      throw bad(`description must be a string of at most ${MAX_DESCRIPTION} characters`);
    return v.trim();
  }

  /**
   * The audit record of a change to an endpoint by an operator (with the CLI or the admin API). It is filed under
   * the endpoint's tenant when it has one; an endpoint of every tenant is deployment-level, filed with an empty
   * tenant as the console's account and engine actions are (src/admin/operators.ts).
   */
  private async audit(
    actor: Actor | undefined,
    action: string,
    endpoint: { id: string; tenantId: string | null },
    detail: string,
  ): Promise<AuditInput | undefined> {
    if (!actor) return undefined;
    const t = endpoint.tenantId ? await this.store.getTenant(endpoint.tenantId) : undefined;
    return {
      actor,
      action,
      tenantId: endpoint.tenantId ?? '',
      tenantName: t?.name ?? '',
      target: endpoint.id,
      detail: detail.slice(0, 500),
    };
  }

  private async record(id: string): Promise<EndpointRecord> {
    const e = await this.wh.getEndpoint(id);
    if (!e) throw new ScimError(404, undefined, `no webhook endpoint '${id}'`);
    return e;
  }

  async create(input: {
    url: unknown;
    types?: unknown;
    tenant?: string | null | undefined;
    description?: unknown;
    enabled?: boolean | undefined;
    actor?: Actor | undefined;
  }): Promise<CreatedEndpoint> {
    const url = this.url(input.url);
    const types = parseTypes(input.types);
    const description = this.description(input.description);
    const tenantId = await this.tenantId(input.tenant);
    const id = `whe_${randomUUID().replace(/-/g, '')}`;
    const secret = newWebhookSecret();
    const enabled = input.enabled !== false;
    const audit = await this.audit(
      input.actor,
      'webhook.create',
      { id, tenantId },
      `${auditUrl(url)}; ${tenantId ? 'its tenant' : 'every tenant'}; ${typesText(types)}${enabled ? '' : '; created disabled'}; secret ${secretHint(secret)}`,
    );
    const row = await this.wh.insertEndpoint(
      {
        id,
        url,
        description,
        tenantId,
        types,
        enabled,
        sealedSecret: this.settings.secrets.seal(secret, id),
        secretHint: secretHint(secret),
      },
      this.now(),
      audit,
    );
    return { ...view(row), secret };
  }

  /** Every endpoint, or those of one tenant (id or name). */
  async list(tenant?: string): Promise<EndpointView[]> {
    const tenantId = tenant === undefined ? undefined : await this.tenantId(tenant);
    return (await this.wh.listEndpoints(tenantId ?? undefined)).map(view);
  }

  async get(id: string): Promise<EndpointView> {
    return view(await this.record(id));
  }

  async update(
    id: string,
    changes: { url?: unknown; types?: unknown; tenant?: string | null; description?: unknown },
    opts: { actor?: Actor | undefined } = {},
  ): Promise<EndpointView> {
    const before = await this.record(id);
    const c: Parameters<SqlWebhooks['updateEndpoint']>[1] = {};
    if (changes.url !== undefined) c.url = this.url(changes.url);
    if (changes.types !== undefined) c.types = parseTypes(changes.types);
    if (changes.description !== undefined) c.description = this.description(changes.description);
    if (changes.tenant !== undefined) c.tenantId = await this.tenantId(changes.tenant);
    const said = [
      c.url !== undefined && c.url !== before.url ? `url ${auditUrl(c.url)}` : '',
      c.types !== undefined && typesText(c.types) !== typesText(before.types)
        ? `types ${typesText(c.types)}`
        : '',
      c.tenantId !== undefined && c.tenantId !== before.tenantId
        ? `tenant ${c.tenantId ?? 'every tenant'} (was ${before.tenantId ?? 'every tenant'})`
        : '',
      c.description !== undefined && c.description !== before.description ? 'description' : '',
    ].filter(Boolean);
    const audit = said.length
      ? await this.audit(
          opts.actor,
          'webhook.update',
          { id, tenantId: c.tenantId !== undefined ? c.tenantId : before.tenantId },
          `changed ${said.join('; ')}`,
        )
      : undefined;
    await this.wh.updateEndpoint(id, c, this.now(), audit);
    return this.get(id);
  }

  async enable(id: string, opts: { actor?: Actor | undefined } = {}): Promise<EndpointView> {
    const e = await this.record(id);
    const audit = await this.audit(opts.actor, 'webhook.enable', e, 'enabled: its pending deliveries resume');
    await this.wh.setEnabled(id, true, '', this.now(), audit);
    return this.get(id);
  }

  async disable(
    id: string,
    reason = 'disabled by an operator',
    opts: { actor?: Actor | undefined } = {},
  ): Promise<EndpointView> {
    const e = await this.record(id);
    const audit = await this.audit(opts.actor, 'webhook.disable', e, reason);
    await this.wh.setEnabled(id, false, reason, this.now(), audit);
    return this.get(id);
  }

  async delete(id: string, opts: { actor?: Actor | undefined } = {}): Promise<void> {
    const e = await this.wh.getEndpoint(id);
    const audit = e
      ? await this.audit(opts.actor, 'webhook.delete', e, `${auditUrl(e.url)} and its delivery log`)
      : undefined;
    if (!e || !(await this.wh.deleteEndpoint(id, this.now(), audit)))
      throw new ScimError(404, undefined, `no webhook endpoint '${id}'`);
  }

  /**
   * A new secret (shown once). The previous one keeps signing beside it for `overlapMs` (default
   * WEBHOOKS_OVERLAP_HOURS), so receivers can be given the new secret before the old one stops: during the
   * overlap every delivery carries two v1 signatures. 0 = the old secret stops at once.
   */
  async rotateSecret(
    id: string,
    opts: { overlapMs?: number | undefined; actor?: Actor | undefined } = {},
  ): Promise<CreatedEndpoint & { previousSecretExpiresAt: string | null }> {
    const e = await this.record(id);
    const overlap = opts.overlapMs ?? this.settings.rotationOverlapMs;
    if (!Number.isFinite(overlap) || overlap < 0) throw bad('overlap must be a duration ≥ 0');
    const secret = newWebhookSecret();
    const now = this.clock();
    let previous: { sealed: string; expiresAt: string } | null = null;
    if (overlap > 0) {
      let old: string;
      try {
        old = this.settings.secrets.open(e.sealedSecret, id);
      } catch (err) {
        throw new ScimError(
          409,
          undefined,
          `${(err as Error).message}; or rotate with an overlap of 0 (the current secret then stops at once)`,
        );
      }
      previous = {
        sealed: this.settings.secrets.seal(old, id),
        expiresAt: new Date(now.getTime() + overlap).toISOString(),
      };
    }
    const audit = await this.audit(
      opts.actor,
      'webhook.rotate_secret',
      e,
      `new secret ${secretHint(secret)}; ${previous ? `the previous one signs too until ${previous.expiresAt}` : 'the previous one stopped at once'}`,
    );
    await this.wh.setSecrets(
      id,
      { sealed: this.settings.secrets.seal(secret, id), hint: secretHint(secret) },
      previous,
      now.toISOString(),
      audit,
    );
    const row = await this.get(id);
    return { ...row, secret, previousSecretExpiresAt: previous?.expiresAt ?? null };
  }

  async deliveries(
    id: string,
    q: { state?: string; eventId?: string; limit?: number; before?: number; attempts?: boolean } = {},
  ): Promise<(WebhookDelivery & { attemptLog?: WebhookAttempt[] })[]> {
    await this.record(id);
    if (q.state !== undefined && !['pending', 'delivered', 'failed'].includes(q.state))
      throw bad(`state must be pending, delivered or failed, got '${q.state}'`);
    const limit = q.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      throw bad('limit must be an integer from 1 to 100');
    const rows = await this.wh.listDeliveries(id, {
      limit,
      ...(q.state ? { state: q.state as DeliveryState } : {}),
      ...(q.eventId ? { eventId: q.eventId } : {}),
      ...(q.before !== undefined ? { beforeId: q.before } : {}),
    });
    if (!q.attempts) return rows;
    const log = await this.wh.listAttempts(rows.map((r) => r.id));
    return rows.map((r) => ({ ...r, attemptLog: log.filter((a) => a.deliveryId === r.id) }));
  }

  async delivery(
    id: string,
    deliveryId: number,
  ): Promise<WebhookDelivery & { payload: unknown; attemptLog: WebhookAttempt[] }> {
    await this.record(id);
    const d = Number.isSafeInteger(deliveryId) ? await this.wh.getDelivery(id, deliveryId) : undefined;
    if (!d) throw new ScimError(404, undefined, `no delivery '${deliveryId}' of webhook endpoint '${id}'`);
    const { payload, ...rest } = d;
    return { ...rest, payload: JSON.parse(payload), attemptLog: await this.wh.listAttempts([d.id]) };
  }

  /**
   * Queues one event again, or every event of a time range, that this endpoint would receive (its tenant and types):
   * the receiver gets them again, each in its resource's order, with the same event ids (its idempotency key).
   */
  async redeliver(
    id: string,
    what: { eventId?: string | undefined; since?: string | undefined; until?: string | undefined },
  ): Promise<{ queued: number; eventIds: string[] }> {
    const e = await this.record(id);
    if (!e.enabled)
      throw new ScimError(
        409,
        undefined,
        `webhook endpoint '${id}' is disabled: enable it first (webhooks enable)`,
      );
    const since = isoTime('since', what.since);
    const until = isoTime('until', what.until);
    if ((what.eventId === undefined) === (since === undefined))
      throw bad('name one event (eventId) or a time range (since, until optional)');
    if (since !== undefined && until !== undefined && since >= until)
      throw bad('since must be earlier than until');
    const found = await this.wh.findEvents({
      tenantId: e.tenantId,
      types: e.types,
      limit: MAX_REDELIVERY + 1,
      ...(what.eventId !== undefined ? { eventId: what.eventId } : {}),
      ...(since !== undefined ? { since } : {}),
      ...(until !== undefined ? { until } : {}),
    });
    if (what.eventId !== undefined && !found.length)
      throw new ScimError(
        404,
        undefined,
        `no event '${what.eventId}' for this endpoint: it is not retained, or not of its tenant or types`,
      );
    if (found.length > MAX_REDELIVERY)
      throw bad(
        `the range holds more than ${MAX_REDELIVERY} events for this endpoint: redeliver shorter ranges`,
      );
    const items: QueuedItem[] = found.map((ev) => ({
      eventId: ev.id,
      eventType: ev.type,
      tenantId: ev.tenantId,
      occurredAt: ev.occurredAt,
      queue: queueOf(ev.tenantId, ev.resourceId),
      queueSeq: Number(
        (JSON.parse(ev.payload) as { resource?: { sequence?: number } }).resource?.sequence ?? 0,
      ),
      payload: ev.payload,
    }));
    await this.wh.enqueue(id, items, 'redelivery', this.now());
    return { queued: items.length, eventIds: items.map((i) => i.eventId) };
  }

  /**
   * Sends a test event (`webhook.ping`) now, from this process, signed like any delivery, and returns the
   * attempt (status, duration, the first bytes of the answer). Works on a disabled endpoint too; never retried.
   */
  async ping(
    id: string,
    sender: WebhookSender,
  ): Promise<{ deliveryId: number } & Omit<WebhookAttempt, 'id' | 'deliveryId'>> {
    const e = await this.record(id);
    const now = this.clock();
    const ping: WebhookPing = {
      id: `evt_ping_${randomUUID().replace(/-/g, '')}`,
      type: 'webhook.ping',
      tenant: e.tenantId,
      occurredAt: now.toISOString(),
      data: { endpoint: e.id, description: e.description },
    };
    const body = JSON.stringify(ping);
    const owner = `ping:${instanceName()}`;
    const [deliveryId] = await this.wh.enqueue(
      id,
      [
        {
          eventId: ping.id,
          eventType: ping.type,
          tenantId: e.tenantId,
          occurredAt: ping.occurredAt,
          queue: `ping/${ping.id}`,
          queueSeq: 0,
          payload: body,
        },
      ],
      'ping',
      now.toISOString(),
      { owner, until: new Date(now.getTime() + this.settings.leaseMs).toISOString() },
    );
    const outcome = await attemptDelivery(
      {
        id: deliveryId!,
        endpointId: id,
        eventId: ping.id,
        eventType: ping.type,
        origin: 'ping',
        queue: `ping/${ping.id}`,
        payload: body,
        attempts: 0,
        firstAttemptAt: null,
      },
      e,
      {
        secrets: this.settings.secrets,
        sender,
        clock: this.clock,
        retryWindowMs: this.settings.retryWindowMs,
        instance: owner,
      },
    );
    await this.wh.complete([outcome], owner, this.settings.retryWindowMs);
    return {
      deliveryId: deliveryId!,
      attempt: outcome.attempt,
      at: outcome.at,
      status: outcome.status,
      durationMs: outcome.durationMs,
      responseHead: outcome.responseHead,
      error: outcome.error,
      outcome: outcome.outcome,
    };
  }
}
