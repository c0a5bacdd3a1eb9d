/**
 * The default Joyn FSM attribute mapping: the table of entra-provisioning-engine.md §3.3, written the way an
 * Entra admin configures it for a non-gallery SCIM app. Used when a job has no `mappings`.
 */
import { ENTERPRISE_USER, JOYN_USER } from '../scim/types.js';
import type { AttributeMappingConfig } from './config.js';

const d = (
  source: string,
  target: string,
  extra: Partial<AttributeMappingConfig> = {},
): AttributeMappingConfig => ({
  type: 'Direct',
  source,
  target,
  apply: 'Always',
  ...extra,
});
const x = (expression: string, target: string): AttributeMappingConfig => ({
  type: 'Expression',
  expression,
  target,
  apply: 'Always',
});

export const DEFAULT_USER_MAPPINGS: readonly AttributeMappingConfig[] = Object.freeze([
  d('userPrincipalName', 'userName', { matching: 1 }),
  d('mail', 'emails[type eq "work"].value'),
  // §3.2: IsSoftDeleted drives `active`; the Switch form is what non-gallery SCIM apps show by default.
  x('Switch([IsSoftDeleted], , "False", "True", "True", "False")', 'active'),
  x('Join(" ", [givenName], [surname])', 'name.formatted'),
  d('displayName', 'displayName'),
  d('mailNickname', 'externalId'),
  d('givenName', 'name.givenName'),
  d('surname', 'name.familyName'),
  x(
    'Join(", ", [streetAddress], [city], [state], [postalCode], [country])',
    'addresses[type eq "work"].formatted',
  ),
  d('streetAddress', 'addresses[type eq "work"].streetAddress'),
  d('city', 'addresses[type eq "work"].locality'),
  d('state', 'addresses[type eq "work"].region'),
  d('postalCode', 'addresses[type eq "work"].postalCode'),
  d('country', 'addresses[type eq "work"].country'),
  d('mobile', 'phoneNumbers[type eq "mobile"].value'),
  d('department', `${ENTERPRISE_USER}:department`),
  // "admin choice" rows of §3.3: the directory's employee id and a Joyn field id attribute.
  d('employeeId', `${JOYN_USER}:xid`),
  d('joynFieldId', `${JOYN_USER}:joynFieldId`),
]);

export const DEFAULT_GROUP_MAPPINGS: readonly AttributeMappingConfig[] = Object.freeze([
  d('displayName', 'displayName', { matching: 1 }),
  // `objectId` is the source object's id when the source has no attribute of that name (see mapping.ts).
  d('objectId', 'externalId'),
  d('members', 'members'),
]);
