/**
 * Limits a request meets before it can cost the server much (docs/security.md "Limits"). Each check throws a
 * ScimError whose detail names the limit and what to do instead, so an Entra admin reading the provisioning
 * log can fix the input. Pure functions: the HTTP layer calls checkJsonLimits on every parsed body, the
 * service calls checkResourceLimits on every resource it is about to store and checkMemberLimits on the
 * membership changes of one request.
 */
import { ScimError } from './errors.js';
import { unstorableText } from './unicode.js';
import { ENTERPRISE_USER, JOYN_USER, type ResourceData, type ResourceTypeName } from './types.js';

export interface ResourceLimits {
  /** Deepest nesting of objects and arrays in a body (the body itself is depth 1). */
  maxJsonDepth: number;
  /** Longest string anywhere in a body, keys included, in UTF-16 code units (JavaScript's `length`). */
  maxStringLength: number;
  /** Longest identifier value (see IDENTIFIERS). */
  maxIdentifierLength: number;
  /** Most values of one multi-valued attribute (emails, phoneNumbers, addresses, roles, …). */
  maxValues: number;
  /** Most group members one request may add, remove or set. */
  maxMembersPerRequest: number;
}

export const DEFAULT_RESOURCE_LIMITS: ResourceLimits = Object.freeze({
  // A PatchOp adding an address is 5 levels deep; 32 leaves room for any sane client and stops a body
  // of 1,000,000 nested arrays long before recursive code could exhaust the stack.
  maxJsonDepth: 32,
  // 64 Ki characters: far above any directory attribute (an X.509 certificate in base64 is a few KiB).
  maxStringLength: 64 * 1024,
  // Identifiers are indexed for equality lookups. 512 characters is at most 1,536 bytes of UTF-8, which
  // keeps every index entry below PostgreSQL's B-tree ceiling (2,704 bytes). Entra's longest (a UPN or an
  // email address, RFC 5321: 254) is well below.
  maxIdentifierLength: 512,
  // A person has a handful of emails or phone numbers; 1,000 also bounds the rows one user writes.
  maxValues: 1000,
  // Entra sends a few members per PATCH; 10,000 member rows commit in a fraction of a second on either
  // store, so one request cannot hold the (SQLite: the only) write transaction for long. A 2 MiB body
  // could otherwise carry ~40,000. Larger groups are built with several PATCH requests.
  maxMembersPerRequest: 10_000,
});

/**
 * Attributes used as identifiers (looked up with `eq`, indexed, unique or referenced), by resource type:
 * `attr` or `attr.sub` of the core schema, or `<extension URN>:attr[.sub]`.
 */
const IDENTIFIERS: Record<ResourceTypeName, readonly string[]> = {
  User: [
    'userName',
    'externalId',
    'displayName',
    'emails.value',
    `${ENTERPRISE_USER}:manager.value`,
    `${JOYN_USER}:xid`,
  ],
  Group: ['displayName', 'externalId'],
};

const tooLong = (label: string, length: number, max: number, what: string) =>
  new ScimError(400, 'invalidValue', `${label} is ${length} characters long; ${what} may be at most ${max}`);

const unstorable = (owner: string, what: string, s: string) =>
  new ScimError(
    400,
    'invalidValue',
    `${owner} holds a string with ${what} (${JSON.stringify(s.slice(0, 40))}); SCIM strings are Unicode text (RFC 7643 §2.3.1) and this one cannot be stored: remove that character`,
  );

/**
 * In JSON.stringify's output (which escapes exactly the lone surrogates and control characters): an escaped NUL or
 * surrogate that is not itself an escaped backslash followed by "u…".
 */
const ESCAPED_UNSTORABLE = /(?:^|[^\\])(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

/** The first string (or key) in `value` that unicode.ts says cannot be stored, with the reason. */
function findUnstorable(value: unknown): [string, string] | undefined {
  const stack = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') {
      const why = unstorableText(v);
      if (why) return [why, v];
    } else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        const why = unstorableText(k);
        if (why) return [why, k];
        stack.push(x);
      }
  }
  return undefined;
}

/**
 * Walks a parsed JSON body without recursion (a hostile body may nest a million levels): nesting depth and
 * the length of every string and key. Bodies are parsed before anything else looks at them.
 */
export function checkJsonLimits(body: unknown, limits: ResourceLimits): void {
  const stack: { value: unknown; depth: number }[] = [{ value: body, depth: 1 }];
  while (stack.length) {
    const { value, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (value.length > limits.maxStringLength)
        throw new ScimError(
          400,
          'invalidValue',
          `the body holds a string of ${value.length} characters; strings may be at most ${limits.maxStringLength}`,
        );
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth > limits.maxJsonDepth)
      throw new ScimError(
        400,
        'invalidSyntax',
        `the body nests objects and arrays more than ${limits.maxJsonDepth} levels deep; SCIM resources need far fewer`,
      );
    if (Array.isArray(value)) {
      for (const item of value) stack.push({ value: item, depth: depth + 1 });
      continue;
    }
    for (const key of Object.keys(value)) {
      if (key.length > limits.maxStringLength)
        throw new ScimError(
          400,
          'invalidSyntax',
          `the body holds a key of ${key.length} characters; keys may be at most ${limits.maxStringLength}`,
        );
      // An own `__proto__` key (JSON.parse creates one) is read through its descriptor, never the prototype.
      stack.push({ value: Object.getOwnPropertyDescriptor(value, key)?.value, depth: depth + 1 });
    }
  }
}

/** The values at `path` (`attr`, `attr.sub`, optionally URN-prefixed) of canonical resource data. */
function valuesAt(data: ResourceData, path: string): unknown[] {
  let container: unknown = data;
  let rest = path;
  if (path.startsWith('urn:')) {
    const colon = path.lastIndexOf(':');
    container = data[path.slice(0, colon)];
    rest = path.slice(colon + 1);
  }
  let values: unknown[] = [container];
  for (const name of rest.split('.')) {
    values = values.flatMap((v) => {
      const x =
        v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[name] : undefined;
      return Array.isArray(x) ? x : x === undefined ? [] : [x];
    });
  }
  return values;
}

/**
 * A resource about to be stored (after normalisation, or after a PATCH applied to the stored one): values
 * per multi-valued attribute, identifier lengths, storable text (no NUL, no lone surrogate: unicode.ts), and its
 * size, which may not exceed what one request body may carry, so every stored resource can be read and PUT back
 * whole.
 */
export function checkResourceLimits(
  rt: ResourceTypeName,
  data: ResourceData,
  limits: ResourceLimits,
  maxBytes: number,
): void {
  const counted = (owner: string, o: ResourceData) => {
    for (const [name, v] of Object.entries(o)) {
      if (Array.isArray(v) && v.length > limits.maxValues)
        throw new ScimError(
          400,
          'invalidValue',
          `${owner}${name} has ${v.length} values; a multi-valued attribute may hold at most ${limits.maxValues}`,
        );
    }
  };
  counted('', data);
  for (const [key, v] of Object.entries(data))
    if (key.startsWith('urn:') && v && typeof v === 'object' && !Array.isArray(v)) counted(`${key}:`, v);
  for (const path of IDENTIFIERS[rt]) {
    for (const v of valuesAt(data, path)) {
      if (typeof v === 'string' && v.length > limits.maxIdentifierLength)
        throw tooLong(path, v.length, limits.maxIdentifierLength, 'an identifier attribute');
    }
  }
  const json = JSON.stringify(data);
  // NUL and lone surrogates (unicode.ts): PostgreSQL cannot store the one, no store the other. Found cheaply in the
  // JSON text, then located for the message.
  if (ESCAPED_UNSTORABLE.test(json)) {
    const found = findUnstorable(data);
    if (found) throw unstorable(`the ${rt}`, found[0], found[1]);
  }
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes)
    throw new ScimError(
      400,
      'invalidValue',
      `the ${rt} would be ${bytes} bytes of JSON; a resource may be at most ${maxBytes} (the request body limit)`,
    );
}

/** The membership changes of one request: how many, and the length of each member id. */
export function checkMemberLimits(count: number, ids: Iterable<string>, limits: ResourceLimits): void {
  if (count > limits.maxMembersPerRequest)
    throw new ScimError(
      413,
      undefined,
      `this request changes ${count} group members; at most ${limits.maxMembersPerRequest} per request: split it into several PATCH requests`,
    );
  for (const id of ids) {
    if (id.length > limits.maxIdentifierLength)
      throw tooLong('members.value', id.length, limits.maxIdentifierLength, 'a member id');
    const why = unstorableText(id);
    if (why) throw unstorable('members.value', why, id);
  }
}
