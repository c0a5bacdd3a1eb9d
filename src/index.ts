/**
 * The package's public API: what the Joyn FSM application imports to receive directory events
 * (docs/events.md). Only types and node:crypto: importing it never loads the server, a database driver or Fastify.
 *
 *   import { verifyWebhook, type DirectoryEvent } from 'joyn-scim';
 */
export {
  EVENT_ID_HEADER,
  SIGNATURE_HEADER,
  signatureHeader,
  verifyWebhook,
  type RawBody,
  type VerifyOptions,
  type WebhookVerification,
} from './events/signature.js';
export { EVENT_TYPES, type DirectoryEvent, type EventResourceType, type EventType } from './events/types.js';
export type { WebhookPing } from './events/webhook-types.js';
