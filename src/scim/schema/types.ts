/** RFC 7643 §7 attribute definitions, as published by /Schemas and used for validation and filtering. */

export type AttributeType =
  'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex' | 'binary';
export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
export type Returned = 'always' | 'never' | 'default' | 'request';
export type Uniqueness = 'none' | 'server' | 'global';

export interface AttributeDef {
  readonly name: string;
  readonly type: AttributeType;
  readonly multiValued: boolean;
  readonly description: string;
  readonly required: boolean;
  readonly caseExact: boolean;
  readonly mutability: Mutability;
  readonly returned: Returned;
  readonly uniqueness: Uniqueness;
  readonly canonicalValues?: readonly string[];
  readonly referenceTypes?: readonly string[];
  readonly subAttributes?: readonly AttributeDef[];
}

export interface SchemaDef {
  readonly id: string; // the URN
  readonly name: string;
  readonly description: string;
  readonly attributes: readonly AttributeDef[];
}

export interface ResourceTypeDef {
  readonly name: 'User' | 'Group';
  readonly endpoint: '/Users' | '/Groups';
  readonly description: string;
  readonly schema: string; // core schema URN
  readonly schemaExtensions: readonly { schema: string; required: boolean }[];
}

/**
 * An attribute path resolved against the schema, with names in their canonical spelling.
 * `emails[type eq "work"].value` → { schema: CORE_USER, attribute: <emails>, subAttribute: <value>, filter: <resolved> }
 * `meta.lastModified` → { schema: CORE_USER, attribute: <meta>, subAttribute: <lastModified> } (common attribute)
 */
export interface ResolvedPath {
  /** The schema URN the attribute belongs to (core URN for core and common attributes). */
  readonly schema: string;
  readonly attribute: AttributeDef;
  readonly subAttribute?: AttributeDef;
  /** Value filter on a multi-valued attribute, resolved with paths relative to the element. */
  readonly filter?: import('../filter/ast.js').Filter;
  /** true when the schema is an extension (the data lives under `resource[schema]`). */
  readonly extension: boolean;
  /**
   * true when the path names a whole extension (`urn:…:enterprise:2.0:User`, which the parser returns as
   * `{uri:'urn:…:enterprise:2.0', attr:'User'}`). `attribute` is then a synthetic complex definition named by
   * the URN whose subAttributes are the extension's attributes. (Added by the schema/patch area.)
   */
  readonly wholeExtension?: boolean;
}
