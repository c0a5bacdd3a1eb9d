/**
 * Compiles a resolved SCIM filter (RFC 7644 §3.4.2.2) into one SQL condition with bound parameters.
 * One visitor serves both dialects; JSON access and collation go through DialectHooks.
 *
 * Semantics (identical to the in-memory reference evaluator in the differential test):
 * - every leaf is null-safe (absent attribute → false), so `not (x eq "a")` includes rows without x;
 * - `caseExact: false` string attributes compare case-insensitively for eq ne co sw ew gt ge lt le;
 * - a multi-valued attribute matches when any element matches; value paths are element-correlated
 *   (`emails[type eq "work" and value co "x"]`: one and the same element satisfies both);
 * - `eq null` means "not present" and `ne null` means "present".
 */
import { sql } from 'kysely';
import type { AttrPath, CompareFilter, Filter, Literal } from '../../scim/filter/ast.js';
import { ScimError } from '../../scim/errors.js';
import type { AttributeDef } from '../../scim/schema/types.js';
import type { DialectHooks, Sql } from './dialect.js';
import { columnFor, type ColumnSpec } from './columns.js';

export interface AttributeLookup {
  /** Definition of a top-level attribute (`uri` for extensions) and, when given, of its sub-attribute. */
  (path: { uri?: string | undefined; attr: string; sub?: string | undefined }): {
    attr: AttributeDef;
    sub?: AttributeDef;
  };
}

export interface FilterContext {
  readonly rt: 'User' | 'Group';
  readonly hooks: DialectHooks;
  readonly lookup: AttributeLookup;
  /** The resource table alias in the surrounding query. */
  readonly alias: string;
  /** The tenant of the query, bound into the seek subqueries so they are not correlated with each row. */
  readonly tenantId: string;
}

const invalid = (detail: string) => new ScimError(400, 'invalidFilter', `filter: ${detail}`);

type TextKind = ColumnSpec['kind'] | 'json';

/** A place attribute values can be read from: the resource row, a JSON array element, a membership row. */
interface Scope {
  /** Text expression for a (sub-)attribute and whether it is already lower-cased on write. */
  text(name: string): { expr: Sql; preLowered: boolean; kind: TextKind } | undefined;
}

export function compileFilter(filter: Filter, ctx: FilterContext): Sql {
  let n = 0;
  const nextAlias = () => `e${++n}`;
  const r = sql.ref(ctx.alias);
  const doc = sql`${r}.data`;

  const falseIfNull = (cond: Sql): Sql => sql`COALESCE((${cond}), FALSE)`;

  function leafText(
    expr: Sql,
    def: AttributeDef,
    op: CompareFilter['op'],
    value: Literal,
    preLowered: boolean,
    kind: TextKind,
  ): Sql {
    if (value === null) {
      if (op === 'eq') return notPresentText(expr, kind);
      if (op === 'ne') return presentText(expr, kind);
      throw invalid(`'${op} null' is not meaningful; use 'pr' or 'not (… pr)'`);
    }
    if (def.type === 'boolean') {
      const b = toBoolean(value, def.name);
      if (op === 'eq')
        return kind === 'bool-column' ? ctx.hooks.booleanColumnIs(expr, b) : ctx.hooks.jsonBooleanIs(expr, b);
      if (op === 'ne')
        return sql`NOT ${falseIfNull(kind === 'bool-column' ? ctx.hooks.booleanColumnIs(expr, b) : ctx.hooks.jsonBooleanIs(expr, b))}`;
      throw invalid(`'${op}' cannot compare the boolean attribute '${def.name}'; use eq or ne`);
    }
    if (typeof value === 'boolean')
      throw invalid(`'${def.name}' is a ${def.type}, not a boolean; compare it with a quoted value`);
    let v = typeof value === 'number' ? String(value) : value;
    if (def.type === 'dateTime') {
      const t = Date.parse(v);
      if (Number.isNaN(t))
        throw invalid(`'${v}' is not a date-time (RFC 3339, e.g. "2024-01-31T12:00:00Z") for '${def.name}'`);
      if (op !== 'co' && op !== 'sw' && op !== 'ew') v = new Date(t).toISOString();
    }
    const ci = !def.caseExact && def.type !== 'dateTime';
    let x: Sql = expr;
    if (ci) {
      v = v.toLowerCase();
      if (!preLowered) x = ctx.hooks.lower(expr);
    }
    switch (op) {
      case 'eq':
        return sql`(${x} = ${v})`;
      case 'ne':
        return sql`NOT ${falseIfNull(sql`(${x} = ${v})`)}`;
      case 'co':
        return sql`(${x} LIKE ${'%' + escapeLike(v) + '%'} ESCAPE '\\')`;
      case 'sw':
        return sql`(${x} LIKE ${escapeLike(v) + '%'} ESCAPE '\\')`;
      case 'ew':
        return sql`(${x} LIKE ${'%' + escapeLike(v)} ESCAPE '\\')`;
      case 'gt':
        return sql`(${ctx.hooks.binary(x)} > ${v})`;
      case 'ge':
        return sql`(${ctx.hooks.binary(x)} >= ${v})`;
      case 'lt':
        return sql`(${ctx.hooks.binary(x)} < ${v})`;
      case 'le':
        return sql`(${ctx.hooks.binary(x)} <= ${v})`;
    }
  }

  function presentText(expr: Sql, kind: TextKind): Sql {
    if (kind === 'bool-column') return sql`(${expr} IS NOT NULL)`;
    return sql`(${expr} IS NOT NULL AND ${expr} <> '')`;
  }
  function notPresentText(expr: Sql, kind: TextKind): Sql {
    return sql`NOT ${falseIfNull(presentText(expr, kind))}`;
  }

  /** Element scope for a JSON array element of a multi-valued complex attribute. */
  function jsonElementScope(parent: AttributeDef, elem: { text(key: string | null): Sql }): Scope {
    return {
      text(name) {
        const sub = parent.subAttributes?.find((s) => s.name === name);
        if (!sub) return undefined;
        return { expr: elem.text(name), preLowered: false, kind: 'json' };
      },
    };
  }

  function subDef(parent: AttributeDef, name: string): AttributeDef {
    const d = parent.subAttributes?.find((s) => s.name === name);
    if (!d) throw invalid(`unknown sub-attribute '${name}' of '${parent.name}'`);
    return d;
  }

  /** Compiles a filter whose paths are relative to an element (inside a value path). */
  function compileInElement(f: Filter, parent: AttributeDef, scope: Scope): Sql {
    switch (f.kind) {
      case 'and':
        return sql`(${compileInElement(f.left, parent, scope)} AND ${compileInElement(f.right, parent, scope)})`;
      case 'or':
        return sql`(${compileInElement(f.left, parent, scope)} OR ${compileInElement(f.right, parent, scope)})`;
      case 'not':
        return sql`NOT ${falseIfNull(compileInElement(f.filter, parent, scope))}`;
      case 'valuePath':
        throw invalid(`a value path cannot be nested inside '${parent.name}[…]'`);
      case 'present':
      case 'compare': {
        const name = f.path.sub ? `${f.path.attr}.${f.path.sub}` : f.path.attr;
        const def = subDef(parent, f.path.attr);
        if (f.path.sub || f.path.filter)
          throw invalid(`'${name}' is not a sub-attribute of '${parent.name}'`);
        const t = scope.text(def.name);
        if (!t) throw invalid(`'${def.name}' of '${parent.name}' cannot be filtered`);
        if (f.kind === 'present') return presentText(t.expr, t.kind);
        return leafText(t.expr, def, f.op, f.value, t.preLowered, t.kind);
      }
    }
  }

  /** EXISTS over the elements of a multi-valued attribute, with a condition built in the element's scope. */
  function existsElement(path: AttrPath, def: AttributeDef, cond: (scope: Scope) => Sql): Sql {
    // Group membership lives in its own table (one row per member), not in the JSON document.
    if (ctx.rt === 'Group' && !path.uri && def.name === 'members') {
      const m = sql.raw(nextAlias());
      const scope: Scope = {
        text: (name) =>
          name === 'value'
            ? { expr: sql`${m}.member_id`, preLowered: false, kind: 'column' }
            : name === 'type'
              ? { expr: sql`${m}.member_type`, preLowered: false, kind: 'column' }
              : name === 'display'
                ? { expr: sql`${m}.display`, preLowered: false, kind: 'column' }
                : undefined,
      };
      return sql`EXISTS (SELECT 1 FROM group_members AS ${m} WHERE ${m}.tenant_id = ${r}.tenant_id AND ${m}.group_id = ${r}.id AND ${cond(scope)})`;
    }
    // The groups a user belongs to (readOnly `groups`), from the same membership table.
    if (ctx.rt === 'User' && !path.uri && def.name === 'groups') {
      const m = sql.raw(nextAlias());
      const scope: Scope = {
        text: (name) =>
          name === 'value' ? { expr: sql`${m}.group_id`, preLowered: false, kind: 'column' } : undefined,
      };
      return sql`EXISTS (SELECT 1 FROM group_members AS ${m} WHERE ${m}.tenant_id = ${r}.tenant_id AND ${m}.member_id = ${r}.id AND ${cond(scope)})`;
    }
    const alias = nextAlias();
    const jsonPath = path.uri ? [path.uri, def.name] : [def.name];
    return ctx.hooks.jsonArrayExists(doc, jsonPath, alias, (elem) => cond(jsonElementScope(def, elem)));
  }

  /** Email lookups served by the user_values side table (an index seek), when the shape allows it. */
  function emailSeek(f: CompareFilter, def: AttributeDef): Sql | undefined {
    if (
      ctx.rt !== 'User' ||
      f.path.uri ||
      def.name !== 'emails' ||
      f.op !== 'eq' ||
      typeof f.value !== 'string'
    )
      return undefined;
    if (f.path.sub !== 'value') return undefined;
    let typeCond: Sql | undefined;
    if (f.path.filter) {
      const inner = f.path.filter;
      if (
        inner.kind !== 'compare' ||
        inner.op !== 'eq' ||
        inner.path.attr !== 'type' ||
        inner.path.sub ||
        typeof inner.value !== 'string'
      )
        return undefined;
      typeCond = sql`AND v.type_lc = ${inner.value.toLowerCase()}`;
    }
    return sql`${r}.id IN (SELECT v.user_id FROM user_values AS v WHERE v.tenant_id = ${ctx.tenantId} AND v.attr = 'emails' AND v.value_lc = ${f.value.toLowerCase()} ${typeCond ?? sql``})`;
  }

  /**
   * `members eq "u"` on Groups ("which groups hold u"), served by the group_members_member index: as an
   * EXISTS per group it would walk every group of the tenant (a scan on SQLite).
   */
  function memberSeek(f: CompareFilter, def: AttributeDef): Sql | undefined {
    if (
      ctx.rt !== 'Group' ||
      f.path.uri ||
      def.name !== 'members' ||
      f.path.sub !== 'value' ||
      f.path.filter ||
      f.op !== 'eq' ||
      typeof f.value !== 'string'
    )
      return undefined;
    return sql`${r}.id IN (SELECT m.group_id FROM group_members AS m WHERE m.tenant_id = ${ctx.tenantId} AND m.member_id = ${f.value})`;
  }

  function compileTop(f: Filter): Sql {
    switch (f.kind) {
      case 'and':
        return sql`(${compileTop(f.left)} AND ${compileTop(f.right)})`;
      case 'or':
        return sql`(${compileTop(f.left)} OR ${compileTop(f.right)})`;
      case 'not':
        return sql`NOT ${falseIfNull(compileTop(f.filter))}`;
      case 'valuePath': {
        const { attr } = ctx.lookup({ uri: f.path.uri, attr: f.path.attr });
        if (!attr.multiValued || attr.type !== 'complex')
          throw invalid(`'${attr.name}[…]' needs a multi-valued complex attribute`);
        return existsElement(f.path, attr, (scope) => compileInElement(f.filter, attr, scope));
      }
      case 'present':
      case 'compare':
        return compileLeaf(f);
    }
  }

  function compileLeaf(f: CompareFilter | { kind: 'present'; path: AttrPath }): Sql {
    const p = f.path;
    const { attr, sub } = ctx.lookup({ uri: p.uri, attr: p.attr, sub: p.sub });
    if (attr.multiValued) {
      // `ne` is the negation of `eq` over all the values, `eq null` is "no value present" and `ne null`
      // "some value present" (as in scim/filter/evaluate.ts), not "some element differs": a user with
      // emails a and b is not `emails.value ne "a"`, and one without emails is `emails.value eq null`.
      if (f.kind === 'compare' && (f.op === 'ne' || f.value === null)) {
        const positive = compileLeaf(f.value === null ? { kind: 'present', path: p } : { ...f, op: 'eq' });
        return f.value === null && f.op === 'ne' ? positive : sql`NOT ${falseIfNull(positive)}`;
      }
      if (f.kind === 'compare') {
        const seek = emailSeek(f, attr) ?? memberSeek(f, attr);
        if (seek) return seek;
      }
      const leafName = sub?.name ?? (attr.type === 'complex' ? undefined : null);
      if (leafName === undefined) {
        if (f.kind === 'present' && !p.filter) {
          if (ctx.rt === 'Group' && attr.name === 'members') return existsElement(p, attr, () => sql`1 = 1`);
          if (ctx.rt === 'User' && attr.name === 'groups') return existsElement(p, attr, () => sql`1 = 1`);
          return ctx.hooks.jsonPresent(doc, p.uri ? [p.uri, attr.name] : [attr.name]);
        }
        throw invalid(`'${attr.name}' is complex; name a sub-attribute such as '${attr.name}.value'`);
      }
      return existsElement(p, attr, (scope) => {
        const conds: Sql[] = [];
        if (p.filter) conds.push(compileInElement(p.filter, attr, scope));
        const t = leafName === null ? undefined : scope.text(leafName);
        if (!t || !sub) throw invalid(`'${attr.name}.${leafName}' cannot be filtered`);
        conds.push(
          f.kind === 'present'
            ? presentText(t.expr, t.kind)
            : leafText(t.expr, sub, f.op, f.value, t.preLowered, t.kind),
        );
        return sql.join(conds, sql` AND `);
      });
    }
    if (p.filter)
      throw invalid(`'${attr.name}' is not multi-valued; '[…]' applies only to multi-valued attributes`);
    if (attr.type === 'complex' && !sub) {
      if (f.kind === 'present') return ctx.hooks.jsonPresent(doc, p.uri ? [p.uri, attr.name] : [attr.name]);
      throw invalid(
        `'${attr.name}' is complex; name a sub-attribute such as '${attr.name}.${attr.subAttributes?.[0]?.name ?? 'value'}'`,
      );
    }
    const def = sub ?? attr;
    const col = columnFor(ctx.rt, p.uri, attr.name, sub?.name);
    let expr: Sql;
    let preLowered = false;
    let kind: TextKind = 'json';
    if (col?.kind === 'const') {
      // meta.resourceType is implied by the endpoint.
      // Typed, because PostgreSQL cannot infer the type of a bare parameter in `$1 IS NOT NULL` (`meta.resourceType pr`).
      expr = sql`CAST(${col.value} AS TEXT)`;
      kind = 'column';
    } else if (col) {
      expr = sql`${r}.${sql.ref(col.column)}`;
      preLowered = col.kind === 'lower-column';
      kind = col.kind;
    } else {
      const path = [...(p.uri ? [p.uri] : []), attr.name, ...(sub ? [sub.name] : [])];
      expr = ctx.hooks.jsonText(doc, path);
    }
    if (f.kind === 'present') return presentText(expr, kind);
    const leaf = leafText(expr, def, f.op, f.value, preLowered, kind);
    // Substring filters on an indexed lower-cased column: narrow with the dialect's text index first.
    if (
      col?.kind === 'lower-column' &&
      (f.op === 'co' || f.op === 'ew') &&
      typeof f.value === 'string' &&
      ctx.hooks.substringSeek
    ) {
      const seek = ctx.hooks.substringSeek(
        ctx.rt,
        col.column,
        f.value.toLowerCase(),
        ctx.tenantId,
        ctx.alias,
      );
      if (seek) return sql`(${seek} AND ${leaf})`;
    }
    return leaf;
  }

  return compileTop(filter);
}

function toBoolean(v: Literal, name: string): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  throw invalid(`'${name}' is a boolean; compare it with true or false`);
}

/** Escapes LIKE wildcards; the compiled pattern uses ESCAPE '\'. */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c);
}
