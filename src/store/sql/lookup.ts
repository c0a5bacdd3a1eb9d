/** Attribute definitions for canonical (already resolved) paths, used by the SQL compiler and sorting. */
import { ScimError } from '../../scim/errors.js';
import { coreAttributes, findAttribute, findExtension } from '../../scim/schema/registry.js';
import type { AttributeDef } from '../../scim/schema/types.js';
import type { AttributeLookup } from './compile-filter.js';

export function lookupFor(rt: 'User' | 'Group'): AttributeLookup {
  return ({ uri, attr, sub }) => {
    const defs = uri ? findExtension(rt, uri)?.attributes : coreAttributes(rt);
    const a: AttributeDef | undefined = findAttribute(defs, attr);
    if (!a)
      throw new ScimError(
        400,
        'invalidFilter',
        `filter: unknown attribute '${uri ? uri + ':' : ''}${attr}' on ${rt}`,
      );
    if (sub === undefined) return { attr: a };
    const s = findAttribute(a.subAttributes, sub);
    if (!s)
      throw new ScimError(400, 'invalidFilter', `filter: unknown sub-attribute '${attr}.${sub}' on ${rt}`);
    return { attr: a, sub: s };
  };
}
