/**
 * The attribute table of the setup page, generated from the published schema (src/scim/schema): every attribute a
 * client may write, named the way Entra's attribute mappings name a target attribute (`name.givenName`,
 * `emails[type eq "work"].value`, `urn:…:enterprise:2.0:User:department`), with its type and whether Joyn FSM
 * requires it. Where Entra's default mapping for a custom SCIM app (customappsso) fills it, the source is named,
 * so the admin can compare with what Entra shows under Mappings. Attributes Entra's list lacks (the Joyn FSM
 * extension) come with the exact name and type to add under "Edit attribute list for customappsso".
 */
import { CORE_GROUP, CORE_USER, JOYN_USER, type ResourceTypeName } from '../scim/types.js';
import { COMMON_ATTRIBUTES } from '../scim/schema/definitions.js';
import { extensionSchemas, getSchema, resourceType } from '../scim/schema/registry.js';
import type { AttributeDef } from '../scim/schema/types.js';

export interface AttributeRow {
  resource: ResourceTypeName;
  /** The target attribute as Entra's mapping editor spells it. */
  target: string;
  /** SCIM type; Entra's "Edit attribute list" calls string "String", boolean "Boolean", reference "Reference". */
  type: string;
  required: boolean;
  description: string;
  /** Entra's default source for a custom SCIM app, when it maps this attribute (its expression, verbatim). */
  entraSource: string | null;
  /** true: Entra's default attribute list lacks it; add it under "Edit attribute list for customappsso". */
  addToEntraList: boolean;
  /** The schema the attribute belongs to. */
  schema: string;
}

/**
 * Entra's default attribute mappings for a non-gallery SCIM app (Microsoft's "Develop and plan provisioning for a
 * SCIM endpoint", default user and group attribute mappings), keyed by target attribute.
 */
const ENTRA_DEFAULTS: Readonly<Record<string, string>> = {
  'User:userName': 'userPrincipalName',
  'User:active': 'Switch([IsSoftDeleted], , "False", "True", "True", "False")',
  'User:displayName': 'displayName',
  'User:title': 'jobTitle',
  'User:emails[type eq "work"].value': 'mail',
  'User:preferredLanguage': 'preferredLanguage',
  'User:name.givenName': 'givenName',
  'User:name.familyName': 'surname',
  'User:name.formatted': 'Join(" ", [givenName], [surname])',
  'User:addresses[type eq "work"].formatted': 'physicalDeliveryOfficeName',
  'User:addresses[type eq "work"].streetAddress': 'streetAddress',
  'User:addresses[type eq "work"].locality': 'city',
  'User:addresses[type eq "work"].region': 'state',
  'User:addresses[type eq "work"].postalCode': 'postalCode',
  'User:addresses[type eq "work"].country': 'country',
  'User:phoneNumbers[type eq "work"].value': 'telephoneNumber',
  'User:phoneNumbers[type eq "mobile"].value': 'mobile',
  'User:phoneNumbers[type eq "fax"].value': 'facsimileTelephoneNumber',
  'User:externalId': 'mailNickname',
  'User:urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber': 'employeeId',
  'User:urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department': 'department',
  'User:urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager': 'manager',
  'Group:displayName': 'displayName',
  'Group:externalId': 'objectId',
  'Group:members': 'members',
};

/** Attributes a client writes: not readOnly, and not `password` (Joyn FSM signs users in through the directory). */
const writable = (a: AttributeDef): boolean => a.mutability !== 'readOnly' && a.name !== 'password';

function rowsOf(
  rt: ResourceTypeName,
  schema: string,
  prefix: string,
  attrs: readonly AttributeDef[],
): AttributeRow[] {
  const out: AttributeRow[] = [];
  const push = (target: string, a: AttributeDef, required: boolean) => {
    const key = `${rt}:${target}`;
    out.push({
      resource: rt,
      target,
      type: a.type,
      required,
      description: a.description,
      entraSource: ENTRA_DEFAULTS[key] ?? null,
      addToEntraList: schema === JOYN_USER,
      schema,
    });
  };
  for (const a of attrs) {
    if (!writable(a)) continue;
    const name = prefix + a.name;
    const subs = (a.subAttributes ?? []).filter(writable);
    if (a.type !== 'complex' || (rt === 'Group' && a.name === 'members') || a.name === 'manager') {
      push(name, a, a.required);
      continue;
    }
    if (!a.multiValued) {
      for (const s of subs) push(`${name}.${s.name}`, s, s.required);
      continue;
    }
    // A multi-valued complex attribute: Entra targets one element by its type (`emails[type eq "work"].value`).
    const types = subs.find((s) => s.name === 'type')?.canonicalValues ?? [];
    const fields = subs.filter((s) => !['type', 'primary', 'display'].includes(s.name));
    for (const t of types.length ? types : [null])
      for (const s of fields) push(t ? `${name}[type eq "${t}"].${s.name}` : `${name}.${s.name}`, s, false);
  }
  return out;
}

/** The table: users (core, then each extension) and groups, in schema order. */
export function attributeTable(): AttributeRow[] {
  const rows: AttributeRow[] = [];
  for (const rt of ['User', 'Group'] as const) {
    const core = getSchema(resourceType(rt).schema)!;
    const common = COMMON_ATTRIBUTES.filter((a) => a.name === 'externalId');
    rows.push(...rowsOf(rt, core.id, '', [...core.attributes, ...common]));
    for (const ext of extensionSchemas(rt)) rows.push(...rowsOf(rt, ext.id, `${ext.id}:`, ext.attributes));
  }
  // Entra's mapped attributes first (what the admin sees under Mappings), then the rest in schema order.
  const rank = (r: AttributeRow) => (r.required ? 0 : r.entraSource ? 1 : r.addToEntraList ? 2 : 3);
  return rows
    .map((r, i) => ({ r, i }))
    .sort(
      (a, b) =>
        Number(a.r.resource === 'Group') - Number(b.r.resource === 'Group') ||
        rank(a.r) - rank(b.r) ||
        a.i - b.i,
    )
    .map(({ r }) => r);
}

export const SCHEMA_URNS = { user: CORE_USER, group: CORE_GROUP, joyn: JOYN_USER };
