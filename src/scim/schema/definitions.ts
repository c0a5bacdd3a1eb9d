/**
 * Schema definitions: RFC 7643 §3.1 (common attributes), §4.1 / §8.7.1 (core User), §4.2 (Group),
 * §4.3 (enterprise extension) and the Joyn FSM extension (entra-scim-client.md §0 "Joyn FSM attribute notes").
 *
 * The characteristics follow the RFC 7643 §8.7.1 schema representation; where this service deliberately
 * differs it says so next to the attribute.
 */
import { CORE_GROUP, CORE_USER, ENTERPRISE_USER, JOYN_USER } from '../types.js';
import type { AttributeDef, AttributeType, Mutability, Returned, SchemaDef, Uniqueness } from './types.js';

export interface AttrOptions {
  multiValued?: boolean;
  required?: boolean;
  caseExact?: boolean;
  mutability?: Mutability;
  returned?: Returned;
  uniqueness?: Uniqueness;
  canonicalValues?: readonly string[];
  referenceTypes?: readonly string[];
  subAttributes?: readonly AttributeDef[];
}

export function attr(
  name: string,
  type: AttributeType,
  description: string,
  o: AttrOptions = {},
): AttributeDef {
  const def: AttributeDef = {
    name,
    type,
    multiValued: o.multiValued ?? false,
    description,
    required: o.required ?? false,
    caseExact: o.caseExact ?? false,
    mutability: o.mutability ?? 'readWrite',
    returned: o.returned ?? 'default',
    uniqueness: o.uniqueness ?? 'none',
    ...(o.canonicalValues ? { canonicalValues: Object.freeze([...o.canonicalValues]) } : {}),
    ...(o.referenceTypes ? { referenceTypes: Object.freeze([...o.referenceTypes]) } : {}),
    ...(o.subAttributes ? { subAttributes: Object.freeze([...o.subAttributes]) } : {}),
  };
  return Object.freeze(def);
}

export const str = (name: string, description: string, o: AttrOptions = {}): AttributeDef =>
  attr(name, 'string', description, o);

/** `type`, `primary`, `display`, `value` as used by the RFC 7643 §2.4 multi-valued attributes. */
function multiValuedSubs(
  valueDescription: string,
  types: readonly string[],
  valueType: AttributeType = 'string',
  referenceTypes?: readonly string[],
): AttributeDef[] {
  return [
    attr('value', valueType, valueDescription, referenceTypes ? { referenceTypes } : {}),
    str('display', 'A human-readable name, primarily used for display purposes.'),
    str(
      'type',
      "A label indicating the attribute's function.",
      types.length ? { canonicalValues: types } : {},
    ),
    attr(
      'primary',
      'boolean',
      "A Boolean value indicating the 'primary' or preferred attribute value for this attribute.",
    ),
  ];
}

// ---------------------------------------------------------------------------------------------------
// Common attributes (RFC 7643 §3.1): part of every resource, but of no schema (they are not published
// in /Schemas). Resolved as if they belonged to the resource's core schema.
// ---------------------------------------------------------------------------------------------------
export const COMMON_ATTRIBUTES: readonly AttributeDef[] = Object.freeze([
  str('id', 'A unique identifier for a SCIM resource as defined by the service provider.', {
    caseExact: true,
    mutability: 'readOnly',
    returned: 'always',
    uniqueness: 'server',
  }),
  str(
    'externalId',
    'A String that is an identifier for the resource as defined by the provisioning client.',
    {
      caseExact: true,
    },
  ),
  attr('meta', 'complex', 'A complex attribute containing resource metadata.', {
    mutability: 'readOnly',
    subAttributes: [
      str('resourceType', 'The name of the resource type of the resource.', {
        caseExact: true,
        mutability: 'readOnly',
      }),
      attr('created', 'dateTime', 'The DateTime that the resource was added to the service provider.', {
        mutability: 'readOnly',
      }),
      attr(
        'lastModified',
        'dateTime',
        'The most recent DateTime that the details of this resource were updated at the service provider.',
        {
          mutability: 'readOnly',
        },
      ),
      attr('location', 'reference', 'The URI of the resource being returned.', {
        caseExact: true,
        mutability: 'readOnly',
        referenceTypes: ['uri'],
      }),
      str('version', 'The version of the resource being returned.', {
        caseExact: true,
        mutability: 'readOnly',
      }),
    ],
  }),
]);

// ---------------------------------------------------------------------------------------------------
// Core User (RFC 7643 §4.1, §8.7.1)
// ---------------------------------------------------------------------------------------------------
const userAttributes: AttributeDef[] = [
  // RFC 7643 §4.1.1: REQUIRED, case-insensitive, unique. entra-scim-client.md §2.11: compare case-insensitively.
  str(
    'userName',
    'Unique identifier for the User, typically used by the user to directly authenticate to the service provider.',
    {
      required: true,
      uniqueness: 'server',
    },
  ),
  attr('name', 'complex', "The components of the user's real name.", {
    subAttributes: [
      str(
        'formatted',
        'The full name, including all middle names, titles, and suffixes as appropriate, formatted for display.',
      ),
      str('familyName', 'The family name of the User, or last name in most Western languages.'),
      str('givenName', 'The given name of the User, or first name in most Western languages.'),
      str('middleName', 'The middle name(s) of the User.'),
      str('honorificPrefix', 'The honorific prefix(es) of the User, or title in most Western languages.'),
      str('honorificSuffix', 'The honorific suffix(es) of the User, or suffix in most Western languages.'),
    ],
  }),
  str('displayName', 'The name of the User, suitable for display to end-users.'),
  str('nickName', 'The casual way to address the user in real life.'),
  attr(
    'profileUrl',
    'reference',
    "A fully qualified URL pointing to a page representing the User's online profile.",
    {
      referenceTypes: ['external'],
    },
  ),
  str('title', 'The user\'s title, such as "Vice President".'),
  str('userType', 'Used to identify the relationship between the organization and the user.'),
  str('preferredLanguage', "Indicates the User's preferred written or spoken language."),
  str(
    'locale',
    "Used to indicate the User's default location for purposes of localizing items such as currency, date time format, or numerical representations.",
  ),
  str('timezone', "The User's time zone in the 'Olson' time zone database format."),
  attr('active', 'boolean', "A Boolean value indicating the User's administrative status."),
  // RFC 7643 §4.1.1: never returned; writeOnly.
  str('password', "The User's cleartext password.", { mutability: 'writeOnly', returned: 'never' }),
  attr('emails', 'complex', 'Email addresses for the user.', {
    multiValued: true,
    subAttributes: multiValuedSubs('Email addresses for the user.', ['work', 'home', 'other']),
  }),
  attr('phoneNumbers', 'complex', 'Phone numbers for the User.', {
    multiValued: true,
    subAttributes: multiValuedSubs('Phone number of the User.', [
      'work',
      'home',
      'mobile',
      'fax',
      'pager',
      'other',
    ]),
  }),
  attr('ims', 'complex', 'Instant messaging addresses for the User.', {
    multiValued: true,
    subAttributes: multiValuedSubs('Instant messaging address for the User.', [
      'aim',
      'gtalk',
      'icq',
      'xmpp',
      'msn',
      'skype',
      'qq',
      'yahoo',
    ]),
  }),
  attr('photos', 'complex', 'URLs of photos of the User.', {
    multiValued: true,
    subAttributes: multiValuedSubs('URL of a photo of the User.', ['photo', 'thumbnail'], 'reference', [
      'external',
    ]),
  }),
  attr('addresses', 'complex', 'A physical mailing address for this User.', {
    multiValued: true,
    subAttributes: [
      str('formatted', 'The full mailing address, formatted for display or use with a mailing label.'),
      str('streetAddress', 'The full street address component.'),
      str('locality', 'The city or locality component.'),
      str('region', 'The state or region component.'),
      str('postalCode', 'The zip code or postal code component.'),
      str('country', 'The country name component.'),
      str('type', "A label indicating the attribute's function.", {
        canonicalValues: ['work', 'home', 'other'],
      }),
      attr(
        'primary',
        'boolean',
        "A Boolean value indicating the 'primary' or preferred attribute value for this attribute.",
      ),
    ],
  }),
  // RFC 7643 §4.1.2: readOnly; derived from group membership, never accepted from the client.
  attr('groups', 'complex', 'A list of groups to which the user belongs.', {
    multiValued: true,
    mutability: 'readOnly',
    subAttributes: [
      str('value', "The identifier of the User's group.", { mutability: 'readOnly' }),
      attr('$ref', 'reference', "The URI of the corresponding 'Group' resource to which the user belongs.", {
        mutability: 'readOnly',
        referenceTypes: ['User', 'Group'],
      }),
      str('display', 'A human-readable name, primarily used for display purposes.', {
        mutability: 'readOnly',
      }),
      str('type', "A label indicating the attribute's function.", {
        mutability: 'readOnly',
        canonicalValues: ['direct', 'indirect'],
      }),
    ],
  }),
  attr('entitlements', 'complex', 'A list of entitlements for the User.', {
    multiValued: true,
    subAttributes: multiValuedSubs('The value of an entitlement.', []),
  }),
  attr('roles', 'complex', 'A list of roles for the User.', {
    multiValued: true,
    subAttributes: multiValuedSubs('The value of a role.', []),
  }),
  attr('x509Certificates', 'complex', 'A list of certificates issued to the User.', {
    multiValued: true,
    subAttributes: multiValuedSubs('The value of an X.509 certificate.', [], 'binary'),
  }),
];

export const USER_SCHEMA: SchemaDef = Object.freeze({
  id: CORE_USER,
  name: 'User',
  description: 'User Account',
  attributes: Object.freeze(userAttributes),
});

// ---------------------------------------------------------------------------------------------------
// Group (RFC 7643 §4.2, §8.7.1)
// ---------------------------------------------------------------------------------------------------
export const GROUP_SCHEMA: SchemaDef = Object.freeze({
  id: CORE_GROUP,
  name: 'Group',
  description: 'Group',
  attributes: Object.freeze([
    // RFC 7643 marks it optional; this service requires it because Entra matches groups on it
    // and requires it to be unique per tenant (entra-scim-client.md §1.18).
    str('displayName', 'A human-readable name for the Group.', { required: true, uniqueness: 'server' }),
    attr('members', 'complex', 'A list of members of the Group.', {
      multiValued: true,
      subAttributes: [
        str('value', 'Identifier of the member of this Group.', { caseExact: true, mutability: 'immutable' }),
        attr(
          '$ref',
          'reference',
          'The URI corresponding to a SCIM resource that is a member of this Group.',
          {
            mutability: 'immutable',
            referenceTypes: ['User', 'Group'],
          },
        ),
        str('type', "A label indicating the type of resource, e.g., 'User' or 'Group'.", {
          mutability: 'immutable',
          canonicalValues: ['User', 'Group'],
        }),
        str('display', 'A human-readable name, primarily used for display purposes.', {
          mutability: 'immutable',
        }),
      ],
    }),
  ]),
});

// ---------------------------------------------------------------------------------------------------
// Enterprise User extension (RFC 7643 §4.3)
// ---------------------------------------------------------------------------------------------------
export const ENTERPRISE_USER_SCHEMA: SchemaDef = Object.freeze({
  id: ENTERPRISE_USER,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: Object.freeze([
    str(
      'employeeNumber',
      'Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization.',
    ),
    str('costCenter', 'Identifies the name of a cost center.'),
    str('organization', 'Identifies the name of an organization.'),
    str('division', 'Identifies the name of a division.'),
    str('department', 'Identifies the name of a department.'),
    attr('manager', 'complex', "The User's manager.", {
      subAttributes: [
        str('value', "The id of the SCIM resource representing the User's manager.", { caseExact: true }),
        attr('$ref', 'reference', "The URI of the SCIM resource representing the User's manager.", {
          referenceTypes: ['User'],
        }),
        str('displayName', "The displayName of the User's manager.", { mutability: 'readOnly' }),
      ],
    }),
  ]),
});

// ---------------------------------------------------------------------------------------------------
// Joyn FSM extension (entra-scim-client.md §0): two case-exact strings Entra maps from custom attributes.
// ---------------------------------------------------------------------------------------------------
export const JOYN_USER_SCHEMA: SchemaDef = Object.freeze({
  id: JOYN_USER,
  name: 'JoynFsmUser',
  description: 'Joyn FSM User extension',
  attributes: Object.freeze([
    str('xid', 'The Joyn FSM external identifier of the user.', { caseExact: true }),
    str('joynFieldId', 'The Joyn FSM field identifier of the user.', { caseExact: true }),
  ]),
});
