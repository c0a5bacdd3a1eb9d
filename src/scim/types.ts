/**
 * Core types shared by every layer.
 *
 * Glossary
 * - tenant: one Joyn FSM customer. Owns a Tenant URL (`<PUBLIC_URL>/scim/<tenant-id>/v2`) and its
 *   Secret Tokens; every stored row belongs to exactly one tenant.
 * - resource type: `User` or `Group` (RFC 7643 §6), each served under its endpoint (`/Users`, `/Groups`).
 * - schema URN: the id of a schema (RFC 7643 §3), e.g. `urn:ietf:params:scim:schemas:core:2.0:User`.
 *   Extension attributes live in the resource under their schema URN as a key.
 * - attribute path: `[URN ":"] attr ["." subAttr]`, optionally with a value filter on a multi-valued
 *   attribute: `emails[type eq "work"].value` (RFC 7644 §3.5.2 `path`, §3.4.2.2 `valuePath`).
 * - resource (in memory): a plain JSON object in canonical form: attribute names spelled as in the
 *   schema, booleans as booleans, no nulls, extension data under its URN key.
 */

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const JOYN_USER = 'urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User';
export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SEARCH_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
export const SERVICE_PROVIDER_CONFIG = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
export const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
export const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

export type ResourceTypeName = 'User' | 'Group';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A SCIM resource body in canonical form (see glossary). Excludes `id`, `meta` and `schemas` when stored. */
export type ResourceData = JsonObject;

/** One group member as stored in the membership table. */
export interface Member {
  value: string;
  type?: 'User' | 'Group';
  display?: string;
}

/** RFC 7644 §3.5.2 operation as received, with `op` normalised to lower case. */
export interface PatchOperation {
  op: 'add' | 'replace' | 'remove';
  path?: string;
  value?: JsonValue;
}
