/**
 * Directory events: what the Joyn FSM application learns of every provisioned change (docs/events.md).
 * An event is written in the same database transaction as the change it describes (the outbox), so there is
 * no change without its event and no event without its change.
 */
import type { JsonObject } from '../scim/types.js';

export const EVENT_TYPES = [
  'user.created',
  'user.updated',
  'user.deactivated',
  'user.reactivated',
  'user.deleted',
  'group.created',
  'group.updated',
  'group.deleted',
  'group.member_added',
  'group.member_removed',
  'tenant.connected',
  'tenant.credentials_rejected',
  'tenant.connection_state_changed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const isEventType = (s: string): s is EventType => (EVENT_TYPES as readonly string[]).includes(s);

export type EventResourceType = 'User' | 'Group' | 'Tenant';

/** What a write hands to the outbox; the store adds id, time, tenant and the per-resource sequence. */
export interface EventDraft {
  type: EventType;
  resourceType: EventResourceType;
  resourceId: string;
  /** The resource as SCIM renders it after the change (before it, for a deletion), members excluded. */
  data: JsonObject;
  /** For updates: the previous value of every changed attribute (null where it was absent). */
  previous?: JsonObject;
  /** For group.member_added / group.member_removed: the member. */
  member?: { value: string; type?: string };
}

/** The envelope, exactly as the Events API returns it and webhooks deliver it. */
export interface DirectoryEvent {
  id: string;
  type: EventType;
  tenant: string;
  occurredAt: string;
  resource: { type: EventResourceType; id: string; sequence: number };
  data: JsonObject;
  previous?: JsonObject;
  member?: { value: string; type?: string };
}

export interface EventQuery {
  /** Opaque position from a previous page ('' or undefined: from the oldest retained event). */
  after?: string | undefined;
  /** Only these tenants (an API key scoped to one tenant always sets this). */
  tenant?: string | undefined;
  types?: readonly EventType[] | undefined;
  /** occurredAt ≥ since, < until (ISO-8601). */
  since?: string | undefined;
  until?: string | undefined;
  limit: number;
}

export interface EventPage {
  events: DirectoryEvent[];
  /** Position after the last returned event (the request's own when none): pass as `after` next time. */
  cursor: string;
  /** More events are already readable after `cursor`. */
  hasMore: boolean;
}
