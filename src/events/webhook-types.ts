/**
 * Webhooks: endpoints the directory events are pushed to, one delivery row per (endpoint, event), and one log
 * row per attempt (docs/events.md "Webhooks"). Delivery state lives in rows so that every instance shares the work
 * through the database (DESIGN.md "Events").
 */
import type { EventType } from './types.js';

/** The test event `webhooks ping` sends; never in the Events API. */
export interface WebhookPing {
  id: string;
  type: 'webhook.ping';
  /** The endpoint's tenant, or null for an endpoint of every tenant. */
  tenant: string | null;
  occurredAt: string;
  data: { endpoint: string; description: string };
}

export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string;
  /** null: every tenant. */
  tenantId: string | null;
  /** Empty: every type. */
  types: EventType[];
  enabled: boolean;
  /** Why it is disabled: by an operator, a 410 Gone from the receiver, or failing for the whole retry window. */
  disabledReason: string | null;
  disabledAt: string | null;
  /** First failure of the current failing streak (cleared by a success). */
  failingSince: string | null;
  lastSuccessAt: string | null;
  /** End of the rotation overlap while the previous secret still signs; null when there is none. */
  previousSecretExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed';

export interface WebhookDelivery {
  id: number;
  endpointId: string;
  tenantId: string | null;
  eventId: string;
  eventType: string;
  occurredAt: string;
  /** Why the row exists: the outbox fan-out, a manual redelivery, or a ping. */
  origin: 'event' | 'redelivery' | 'ping';
  state: DeliveryState;
  attempts: number;
  /** null while it waits behind an earlier event of the same resource (per-resource order). */
  nextAttemptAt: string | null;
  firstAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  finishedAt: string | null;
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
}

export interface WebhookAttempt {
  id: number;
  deliveryId: number;
  attempt: number;
  at: string;
  /** The receiver's HTTP status; null when no answer came (connection refused, timeout, refused address). */
  status: number | null;
  durationMs: number;
  /** The first bytes of the answer (at most RESPONSE_HEAD_CHARS characters). */
  responseHead: string | null;
  error: string | null;
  /** What the attempt led to. */
  outcome: 'delivered' | 'retry' | 'given_up' | 'endpoint_disabled';
}

/** How much of an answer the delivery log keeps. */
export const RESPONSE_HEAD_CHARS = 1024;
