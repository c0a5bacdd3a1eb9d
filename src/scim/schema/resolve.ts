/**
 * Attribute paths and filters resolved against the schema.
 *
 * - Names are matched case-insensitively and returned in their canonical spelling (RFC 7643 §2.1,
 *   RFC 7644 §3.4.2.2, entra-scim-client.md §2.2).
 * - A URN prefix selects the schema; the core URN is accepted and dropped (RFC 7644 §3.10).
 * - Without a URN, core and common attributes win; extension attributes are found as a fallback so that
 *   `manager` and `department` work without their URN (entra-scim-client.md §1.7, §1.12, §2.7).
 */
import type { AttrPath, CompareFilter, Filter, Literal } from '../filter/ast.js';
import { and, attrPath, compare, not, or, present, valuePath } from '../filter/build.js';
import { badRequest, type ScimError, type ScimType } from '../errors.js';
import type { ResourceTypeName } from '../types.js';
import {
  coreAttributes,
  coreSchema,
  extensionSchemas,
  findAttribute,
  findExtension,
  isCoreUrn,
} from './registry.js';
import type { AttributeDef, ResolvedPath, SchemaDef } from './types.js';

export type PathPurpose = 'filter' | 'patch' | 'attributes';

const scimTypeFor = (purpose: PathPurpose): ScimType =>
  purpose === 'filter' ? 'invalidFilter' : 'invalidPath';
const fail = (purpose: PathPurpose, detail: string): ScimError =>
  badRequest(scimTypeFor(purpose), `${purpose === 'filter' ? 'filter' : 'path'}: ${detail}`);

/** A synthetic complex definition standing for a whole extension (see ResolvedPath.wholeExtension). */
const wholeExtensionDefs = new Map<string, AttributeDef>();
export function extensionAsAttribute(schema: SchemaDef): AttributeDef {
  let def = wholeExtensionDefs.get(schema.id);
  if (!def) {
    def = Object.freeze({
      name: schema.id,
      type: 'complex',
      multiValued: false,
      description: schema.description,
      required: false,
      caseExact: false,
      mutability: 'readWrite',
      returned: 'default',
      uniqueness: 'none',
      subAttributes: schema.attributes,
    } satisfies AttributeDef);
    wholeExtensionDefs.set(schema.id, def);
  }
  return def;
}

/**
 * Resolve `path` for resource type `rt`. Unknown names throw 400 invalidFilter (purpose 'filter') or
 * invalidPath (otherwise), with a detail naming the attribute.
 */
export function resolvePath(rt: ResourceTypeName, path: AttrPath, purpose: PathPurpose): ResolvedPath {
  let attribute: AttributeDef | undefined;
  let schema: string;
  let extension = false;

  if (path.uri !== undefined) {
    if (isCoreUrn(rt, path.uri)) {
      schema = coreSchema(rt).id;
      attribute = findAttribute(coreAttributes(rt), path.attr);
    } else {
      const ext = findExtension(rt, path.uri);
      if (ext) {
        schema = ext.id;
        extension = true;
        attribute = findAttribute(ext.attributes, path.attr);
      } else {
        // The parser splits a bare URN at its last colon: `urn:…:enterprise:2.0:User` → uri `…:2.0`, attr `User`.
        const whole = findExtension(rt, `${path.uri}:${path.attr}`);
        if (whole && path.sub === undefined && path.filter === undefined) {
          return Object.freeze({
            schema: whole.id,
            attribute: extensionAsAttribute(whole),
            extension: true,
            wholeExtension: true,
          });
        }
        if (whole && path.sub !== undefined && path.filter === undefined) {
          // `urn:…:enterprise:2.0:User.department` (dot instead of colon): read it as the attribute.
          return resolvePath(rt, attrPath({ uri: whole.id, attr: path.sub }), purpose);
        }
        throw fail(purpose, `unknown schema '${path.uri}' on ${rt} (attribute '${path.attr}')`);
      }
    }
    if (!attribute) throw fail(purpose, `unknown attribute '${path.attr}' in schema ${schema} on ${rt}`);
  } else {
    schema = coreSchema(rt).id;
    attribute = findAttribute(coreAttributes(rt), path.attr);
    if (!attribute) {
      for (const ext of extensionSchemas(rt)) {
        const found = findAttribute(ext.attributes, path.attr);
        if (found) {
          attribute = found;
          schema = ext.id;
          extension = true;
          break;
        }
      }
    }
    if (!attribute) throw fail(purpose, `unknown attribute '${path.attr}' on ${rt}`);
  }

  let filter: Filter | undefined;
  if (path.filter !== undefined) {
    if (attribute.type !== 'complex') {
      throw fail(
        purpose,
        `'${attribute.name}' is not a complex attribute and cannot take a value filter [...]`,
      );
    }
    filter = resolveElementFilter(attribute, path.filter, purpose);
  }

  let subAttribute: AttributeDef | undefined;
  if (path.sub !== undefined) {
    if (attribute.type !== 'complex')
      throw fail(purpose, `'${attribute.name}' has no sub-attributes (got '${attribute.name}.${path.sub}')`);
    subAttribute = findAttribute(attribute.subAttributes, path.sub);
    if (!subAttribute)
      throw fail(purpose, `unknown sub-attribute '${path.sub}' of '${attribute.name}' on ${rt}`);
  }

  return Object.freeze({
    schema,
    attribute,
    extension,
    ...(subAttribute ? { subAttribute } : {}),
    ...(filter ? { filter } : {}),
  });
}

/** Resolve a filter whose paths are relative to one element of the complex attribute `parent`. */
export function resolveElementFilter(parent: AttributeDef, f: Filter, purpose: PathPurpose): Filter {
  const subPath = (p: AttrPath): { path: AttrPath; def: AttributeDef } => {
    if (p.uri !== undefined || p.filter !== undefined || p.sub !== undefined) {
      throw fail(purpose, `inside '${parent.name}[...]' only sub-attribute names are allowed`);
    }
    const def = findAttribute(parent.subAttributes, p.attr);
    if (!def) throw fail(purpose, `unknown sub-attribute '${p.attr}' of '${parent.name}'`);
    return { path: attrPath({ attr: def.name }), def };
  };
  switch (f.kind) {
    case 'compare': {
      const { path, def } = subPath(f.path);
      return checkedCompare(f, path, def, purpose);
    }
    case 'present':
      return present(subPath(f.path).path);
    case 'and':
      return and(
        resolveElementFilter(parent, f.left, purpose),
        resolveElementFilter(parent, f.right, purpose),
      );
    case 'or':
      return or(
        resolveElementFilter(parent, f.left, purpose),
        resolveElementFilter(parent, f.right, purpose),
      );
    case 'not':
      return not(resolveElementFilter(parent, f.filter, purpose));
    case 'valuePath':
      throw fail(purpose, `value filters cannot be nested inside '${parent.name}[...]'`);
  }
}

/** The definition a resolved path points at: the sub-attribute when there is one. */
export function targetOf(r: ResolvedPath): AttributeDef {
  return r.subAttribute ?? r.attribute;
}

/** Whether string comparisons on this path are case-sensitive (RFC 7643 §2.1 `caseExact`). */
export function caseExactOf(_rt: ResourceTypeName, r: ResolvedPath): boolean {
  return targetOf(r).caseExact;
}

/** The resolved path as an AST path in canonical spelling (`uri` only for extension attributes). */
export function canonicalPath(r: ResolvedPath): AttrPath {
  if (r.wholeExtension) {
    // Split the URN like the parser does, so that the path prints back to the bare URN.
    const i = r.schema.lastIndexOf(':');
    return attrPath({ uri: r.schema.slice(0, i), attr: r.schema.slice(i + 1) });
  }
  return attrPath({
    uri: r.extension ? r.schema : undefined,
    attr: r.attribute.name,
    filter: r.filter,
    sub: r.subAttribute?.name,
  });
}

/** A stable text key for a resolved path without its filter: `emails.value`, `urn:…:enterprise:2.0:User:manager.value`. */
export function pathKey(r: ResolvedPath): string {
  if (r.wholeExtension) return r.schema;
  const base = r.extension ? `${r.schema}:${r.attribute.name}` : r.attribute.name;
  return r.subAttribute ? `${base}.${r.subAttribute.name}` : base;
}

/**
 * Resolve every path of `filter` and return the same filter in canonical form (see the module comment):
 * canonical names, no core URN, the implied `value` sub-attribute made explicit (`members eq "u"` →
 * `members.value eq "u"`), boolean strings turned into booleans, and type errors rejected (invalidFilter).
 */
export function resolveFilter(rt: ResourceTypeName, filter: Filter): Filter {
  switch (filter.kind) {
    case 'compare': {
      const r = resolvePath(rt, filter.path, 'filter');
      if (r.wholeExtension) throw fail('filter', `'${r.schema}' is a schema, not an attribute`);
      return checkedCompare(filter, canonicalPath(r), targetOf(r), 'filter');
    }
    case 'present': {
      const r = resolvePath(rt, filter.path, 'filter');
      if (r.wholeExtension) throw fail('filter', `'${r.schema}' is a schema, not an attribute`);
      rejectNeverReturned(targetOf(r));
      return present(canonicalPath(r));
    }
    case 'and':
      return and(resolveFilter(rt, filter.left), resolveFilter(rt, filter.right));
    case 'or':
      return or(resolveFilter(rt, filter.left), resolveFilter(rt, filter.right));
    case 'not':
      return not(resolveFilter(rt, filter.filter));
    case 'valuePath': {
      const r = resolvePath(rt, attrPath({ uri: filter.path.uri, attr: filter.path.attr }), 'filter');
      if (r.wholeExtension || r.attribute.type !== 'complex') {
        throw fail(
          'filter',
          `'${pathKey(r)}' is not a complex attribute and cannot take a value filter [...]`,
        );
      }
      return valuePath(canonicalPath(r), resolveElementFilter(r.attribute, filter.filter, 'filter'));
    }
  }
}

function rejectNeverReturned(def: AttributeDef): void {
  // RFC 7643 §7: a `returned: never` attribute (password) is never disclosed, so it must not be probed by filters.
  if (def.returned === 'never') throw fail('filter', `'${def.name}' cannot be used in a filter`);
}

/** Type checks for one comparison (RFC 7644 §3.4.2.2), with the implied `value` sub-attribute made explicit. */
function checkedCompare(
  f: CompareFilter,
  path: AttrPath,
  def: AttributeDef,
  purpose: PathPurpose,
): CompareFilter {
  rejectNeverReturned(def);
  let target = def;
  let outPath = path;
  if (def.type === 'complex') {
    const valueSub = path.sub === undefined ? findAttribute(def.subAttributes, 'value') : undefined;
    if (!valueSub) {
      throw fail(
        purpose,
        `cannot compare the complex attribute '${def.name}'; compare one of its sub-attributes (e.g. '${def.name}.${def.subAttributes?.[0]?.name ?? 'value'}')`,
      );
    }
    target = valueSub;
    outPath = attrPath({ uri: path.uri, attr: path.attr, filter: path.filter, sub: valueSub.name });
  }
  const ordering = f.op === 'gt' || f.op === 'ge' || f.op === 'lt' || f.op === 'le';
  const value = checkedLiteral(target, f.op, f.value, ordering, purpose);
  return compare(outPath, f.op, value, f.unquoted === true);
}

function checkedLiteral(
  def: AttributeDef,
  op: string,
  value: Literal,
  ordering: boolean,
  purpose: PathPurpose,
): Literal {
  if (value === null) {
    if (op !== 'eq' && op !== 'ne') throw fail(purpose, `'${def.name} ${op} null' is not a valid comparison`);
    return null;
  }
  switch (def.type) {
    case 'boolean': {
      if (ordering || op === 'co' || op === 'sw' || op === 'ew') {
        throw fail(purpose, `'${op}' cannot be used on the boolean attribute '${def.name}'; use eq or ne`);
      }
      if (typeof value === 'boolean') return value;
      // entra-scim-client.md §2.3: booleans may arrive as "True"/"False" strings.
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
      throw fail(
        purpose,
        `'${def.name}' is a boolean; compare it with true or false (got ${JSON.stringify(value)})`,
      );
    }
    case 'binary':
      if (ordering) throw fail(purpose, `'${op}' cannot be used on the binary attribute '${def.name}'`);
      return value;
    case 'integer':
    case 'decimal': {
      if (typeof value === 'number') return value;
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
        return Number(value);
      throw fail(purpose, `'${def.name}' is a number; got ${JSON.stringify(value)}`);
    }
    case 'dateTime':
      if (typeof value === 'string' && isDateTime(value)) return value;
      throw fail(
        purpose,
        `'${def.name}' is a dateTime; compare it with a quoted xsd:dateTime such as "2024-01-31T12:00:00Z" (got ${JSON.stringify(value)})`,
      );
    default:
      // string / reference: a number or boolean literal is compared as its string form.
      return value;
  }
}

/** RFC 7643 §2.3.5: xsd:dateTime (a timezone is optional in XSD; Date.parse decides validity). */
export function isDateTime(s: string): boolean {
  return (
    /^\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.test(s) &&
    !Number.isNaN(Date.parse(s))
  );
}
