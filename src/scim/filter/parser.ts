/**
 * Recursive-descent parser for SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (RFC 7644 §3.5.2).
 *
 *   FILTER    = orExpr
 *   orExpr    = andExpr *("or" andExpr)                  ; left-associative
 *   andExpr   = unary *("and" unary)                     ; "and" binds tighter than "or"
 *   unary     = "not" "(" orExpr ")" / "(" orExpr ")" / attrExp
 *   attrExp   = target "pr" / target compareOp compValue / attr "[" valFilter "]"
 *   target    = attrPath / attr "[" valFilter "]" "." subAttr   ; the second form is Entra's (§1.3)
 *   attrPath  = [URI ":"] ATTRNAME ["." ATTRNAME]
 *
 * Leniencies, each one asked for by a real client:
 * - operators and `and`/`or`/`not` in any case (RFC 7644 §3.4.2.2 says they are case-insensitive);
 * - any run of spaces/tabs between tokens, and none next to quotes and parentheses;
 * - an unquoted single-token value (`externalId eq jyoung`, `userName sw O`,
 *   `meta.created gt 2015-10-10T14:38:21.8617979-07:00`) is a string marked `unquoted: true`, unless
 *   it is a JSON number or true/false/null (any case), which keep their JSON meaning.
 *   See entra-scim-client.md §1.3 and §2.11 and ../shared/conformance/README.md (Microsoft's Postman suite).
 *
 * Every failure is a ScimError 400 (`invalidFilter` for filters, `invalidPath` for paths) whose detail
 * names the problem and a 1-based column, because Entra shows it to the admin in its provisioning logs.
 */
import type { AttrPath, CompareOp, Filter, Literal, ValuePathFilter } from './ast.js';
import { and, attrPath, compare, not, or, present, valuePath } from './build.js';
import {
  FILTER_CONTEXT,
  PATH_CONTEXT,
  syntaxError,
  tokenize,
  type SyntaxContext,
  type Token,
} from './lexer.js';

export interface ParseOptions {
  /** Longest accepted input, in characters. Default 10000. */
  readonly maxLength?: number;
  /** Deepest accepted nesting of parentheses, `not(...)` and value filters `[...]`. Default 50. */
  readonly maxDepth?: number;
}

export const DEFAULT_MAX_LENGTH = 10000;
export const DEFAULT_MAX_DEPTH = 50;

const COMPARE_OPS: ReadonlySet<string> = new Set<CompareOp>([
  'eq',
  'ne',
  'co',
  'sw',
  'ew',
  'gt',
  'ge',
  'lt',
  'le',
]);

/** RFC 7644 §3.4.2.2 ATTRNAME = ALPHA *(ALPHA / DIGIT / "-" / "_"); RFC 7643 §2.1 adds `$ref`-style names. */
const ATTR_NAME = /^\$?[A-Za-z][A-Za-z0-9_-]*$/;
/** A URI scheme (RFC 3986 §3.1) followed by URI characters; `[`/`]` never get here (they split words). */
const SCHEMA_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]*$/;
/** RFC 8259 §6 number grammar. */
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

const lower = (s: string): string => s.toLowerCase();
const clip = (s: string): string => (s.length > 40 ? `${s.slice(0, 37)}...` : s);

function limit(v: number | undefined, fallback: number): number {
  // Infinity is a valid "no limit"; NaN, negatives and non-numbers fall back to the default.
  return typeof v === 'number' && v >= 0 ? Math.floor(v) : fallback;
}

type Target = { readonly path: AttrPath; readonly text: string } | { readonly valuePath: ValuePathFilter };

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(
    private readonly tokens: readonly Token[],
    private readonly ctx: SyntaxContext,
    private readonly maxDepth: number,
  ) {}

  fail(message: string): never {
    throw syntaxError(this.ctx, message);
  }

  peek(): Token {
    // The token list always ends with 'eof', and `pos` never moves past it.
    return this.tokens[this.pos] ?? (this.tokens[this.tokens.length - 1] as Token);
  }

  advance(): Token {
    const t = this.peek();
    if (t.type !== 'eof') this.pos++;
    return t;
  }

  describe(t: Token): string {
    switch (t.type) {
      case 'word':
        return `'${clip(t.text)}'`;
      case 'string':
        return 'a string';
      case 'eof':
        return `the end of the ${this.ctx.label}`;
      default:
        return `'${t.text}'`;
    }
  }

  /** Opening a '(' / 'not (' / '[' level; the limit keeps recursion (and later visitors) shallow. */
  enter(open: Token): void {
    this.depth++;
    if (this.depth > this.maxDepth) {
      this.fail(`nested more than ${this.maxDepth} levels deep at column ${open.col}`);
    }
  }

  close(open: Token): void {
    const want = open.type === '[' ? ']' : ')';
    const t = this.peek();
    if (t.type === want) {
      this.advance();
      this.depth--;
      return;
    }
    if (t.type === 'eof') {
      this.fail(`missing '${want}' for the '${open.text}' at column ${open.col}`);
    }
    this.fail(
      `expected 'and', 'or' or '${want}' at column ${t.col}, found ${this.describe(t)} ` +
        `(the '${open.text}' at column ${open.col} is still open)`,
    );
  }

  isWord(t: Token, keyword: string): boolean {
    return t.type === 'word' && lower(t.text) === keyword;
  }

  parseOr(inValueFilter: boolean): Filter {
    let left = this.parseAnd(inValueFilter);
    while (this.isWord(this.peek(), 'or')) {
      this.advance();
      left = or(left, this.parseAnd(inValueFilter));
    }
    return left;
  }

  parseAnd(inValueFilter: boolean): Filter {
    let left = this.parseUnary(inValueFilter);
    while (this.isWord(this.peek(), 'and')) {
      this.advance();
      left = and(left, this.parseUnary(inValueFilter));
    }
    return left;
  }

  parseUnary(inValueFilter: boolean): Filter {
    const t = this.peek();
    if (t.type === 'word') {
      const w = lower(t.text);
      if (w === 'not') {
        // `not` is always the keyword here, so `not userName eq "x"` is an error rather than a guess.
        this.advance();
        const open = this.peek();
        if (open.type !== '(')
          this.fail(`expected '(' after 'not' at column ${open.col}, found ${this.describe(open)}`);
        this.advance();
        this.enter(open);
        const inner = this.parseOr(inValueFilter);
        this.close(open);
        return not(inner);
      }
      if (w === 'and' || w === 'or') {
        this.fail(`expected an attribute path before '${t.text}' at column ${t.col}`);
      }
      return this.parseAttrExp(inValueFilter);
    }
    if (t.type === '(') {
      this.advance();
      this.enter(t);
      const inner = this.parseOr(inValueFilter);
      this.close(t);
      return inner;
    }
    if (t.type === '[') this.fail(`'[' must follow an attribute name at column ${t.col}`);
    if (t.type === ')' && this.depth === 0) this.fail(`unbalanced ')' at column ${t.col}`);
    if (t.type === ']' && !inValueFilter) this.fail(`unbalanced ']' at column ${t.col}`);
    return this.fail(
      `expected an attribute path, '(' or 'not' at column ${t.col}, found ${this.describe(t)}`,
    );
  }

  /** attrExp: a target followed by `pr` or an operator and a value, or a bare value path. */
  parseAttrExp(inValueFilter: boolean): Filter {
    const target = this.parseTarget(inValueFilter);
    const opTok = this.peek();
    if ('valuePath' in target) {
      if (opTok.type === 'word' && (COMPARE_OPS.has(lower(opTok.text)) || lower(opTok.text) === 'pr')) {
        this.fail(
          `'${opTok.text}' at column ${opTok.col} cannot follow a value filter; ` +
            `name a sub-attribute first, as in '${clip(target.valuePath.path.attr)}[...].value ${lower(opTok.text)} ...'`,
        );
      }
      return target.valuePath;
    }
    const op = opTok.type === 'word' ? lower(opTok.text) : '';
    if (op !== 'pr' && !COMPARE_OPS.has(op)) {
      const found = opTok.type === 'eof' ? '' : `, found ${this.describe(opTok)}`;
      this.fail(`expected a comparison operator after '${clip(target.text)}' at column ${opTok.col}${found}`);
    }
    this.advance();
    if (op === 'pr') {
      const after = this.peek();
      if (after.type === 'string' || (after.type === 'word' && !['and', 'or'].includes(lower(after.text)))) {
        this.fail(`'pr' takes no value, found ${this.describe(after)} at column ${after.col}`);
      }
      return present(target.path);
    }
    const v = this.peek();
    if (v.type === 'string') {
      this.advance();
      return compare(target.path, op as CompareOp, v.text);
    }
    if (v.type === 'word' && !['and', 'or', 'not'].includes(lower(v.text))) {
      this.advance();
      const lit = this.literal(v);
      return compare(target.path, op as CompareOp, lit, typeof lit === 'string');
    }
    return this.fail(`expected a value after '${opTok.text}' at column ${v.col}, found ${this.describe(v)}`);
  }

  /** A compValue written without quotes: JSON keyword, JSON number, or (leniency) a one-token string. */
  literal(t: Token): Literal {
    const w = lower(t.text);
    if (w === 'true') return true;
    if (w === 'false') return false;
    if (w === 'null') return null;
    if (JSON_NUMBER.test(t.text)) {
      const n = Number(t.text);
      if (!Number.isFinite(n)) this.fail(`number '${clip(t.text)}' is out of range at column ${t.col}`);
      return n;
    }
    return t.text;
  }

  /**
   * `[URI ":"] attr ["." sub]`, or `attr "[" valFilter "]" ["." sub]`. With a sub after the brackets the
   * result is a path with both `filter` and `sub` (Entra's `emails[type eq "work"].value eq "x"`);
   * without one it is a value-path filter.
   */
  parseTarget(inValueFilter: boolean): Target {
    const word = this.advance();
    if (word.type !== 'word')
      this.fail(`expected an attribute name at column ${word.col}, found ${this.describe(word)}`);
    const base = this.pathFromWord(word, inValueFilter);
    const open = this.peek();
    if (open.type !== '[') return { path: base, text: word.text };
    if (open.spaceBefore)
      this.fail(`'[' must directly follow the attribute name (no space) at column ${open.col}`);
    if (inValueFilter)
      this.fail(`a value filter cannot be nested inside another value filter at column ${open.col}`);
    if (base.sub !== undefined) {
      this.fail(
        `'[' must follow the attribute name, not the sub-attribute '${clip(base.sub)}', at column ${open.col}`,
      );
    }
    this.advance();
    this.enter(open);
    if (this.peek().type === ']') this.fail(`empty value filter '[]' at column ${open.col}`);
    const inner = this.parseOr(true);
    this.close(open);
    const after = this.peek();
    if (after.type === 'word' && !after.spaceBefore) {
      if (!after.text.startsWith('.')) {
        this.fail(`expected '.' and a sub-attribute name or a space after ']' at column ${after.col}`);
      }
      this.advance();
      const sub = this.subFromWord(after);
      const p = attrPath({ uri: base.uri, attr: base.attr, filter: inner, sub });
      return { path: p, text: `${word.text}[...]${after.text}` };
    }
    return { valuePath: valuePath(base, inner) };
  }

  /** The URI is everything up to the last ':' (URNs contain ':' and '.', attribute names contain neither). */
  pathFromWord(t: Token, inValueFilter: boolean): AttrPath {
    const text = t.text;
    const colon = text.lastIndexOf(':');
    let uri: string | undefined;
    let rest = text;
    let restCol = t.col;
    if (colon >= 0) {
      uri = text.slice(0, colon);
      if (inValueFilter) {
        this.fail(`a schema URI is not allowed inside a value filter ('${clip(text)}' at column ${t.col})`);
      }
      if (!SCHEMA_URI.test(uri)) this.fail(`invalid schema URI '${clip(uri)}' at column ${t.col}`);
      rest = text.slice(colon + 1);
      restCol = t.col + colon + 1;
      if (rest === '') this.fail(`expected an attribute name after ':' at column ${restCol}`);
    }
    const dot = rest.indexOf('.');
    const attr = dot < 0 ? rest : rest.slice(0, dot);
    if (attr === '') this.fail(`expected an attribute name before '.' at column ${restCol}`);
    if (!ATTR_NAME.test(attr)) this.fail(`invalid attribute name '${clip(attr)}' at column ${restCol}`);
    if (dot < 0) return attrPath({ uri, attr });
    const sub = this.subName(rest.slice(dot + 1), restCol + dot + 1);
    return attrPath({ uri, attr, sub });
  }

  subFromWord(t: Token): string {
    return this.subName(t.text.slice(1), t.col + 1);
  }

  /** `col` is the column just after the '.'. */
  subName(name: string, col: number): string {
    if (name === '') this.fail(`expected a sub-attribute name after '.' at column ${col}`);
    const dot = name.indexOf('.');
    if (dot >= 0) {
      this.fail(`an attribute path has at most one sub-attribute: unexpected '.' at column ${col + dot}`);
    }
    if (!ATTR_NAME.test(name)) this.fail(`invalid sub-attribute name '${clip(name)}' at column ${col}`);
    return name;
  }

  expectEnd(): void {
    const t = this.peek();
    if (t.type === 'eof') return;
    if (t.type === ')') this.fail(`unbalanced ')' at column ${t.col}`);
    if (t.type === ']') this.fail(`unbalanced ']' at column ${t.col}`);
    if (this.ctx.label === 'path') {
      this.fail(
        `unexpected ${this.describe(t)} at column ${t.col}; a path ends after the attribute, its value filter or its sub-attribute`,
      );
    }
    this.fail(`expected 'and', 'or' or the end of the filter at column ${t.col}, found ${this.describe(t)}`);
  }
}

/** Runs a parse; a stack overflow from an extreme `maxDepth` still surfaces as a 400, never a RangeError. */
function guarded<T>(ctx: SyntaxContext, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof RangeError) throw syntaxError(ctx, 'nested too deeply to parse');
    throw e;
  }
}

function checkInput(text: unknown, ctx: SyntaxContext, maxLength: number): asserts text is string {
  if (typeof text !== 'string')
    throw syntaxError(ctx, `expected a string, got ${text === null ? 'null' : typeof text}`);
  if (text.length > maxLength) {
    throw syntaxError(ctx, `too long: ${text.length} characters, the limit is ${maxLength}`);
  }
}

/** Parses a `filter` query parameter / SearchRequest `filter` (RFC 7644 §3.4.2.2) into a frozen AST. */
export function parseFilter(text: string, opts: ParseOptions = {}): Filter {
  const ctx = FILTER_CONTEXT;
  checkInput(text, ctx, limit(opts.maxLength, DEFAULT_MAX_LENGTH));
  return guarded(ctx, () => {
    const parser = new Parser(tokenize(text, ctx), ctx, limit(opts.maxDepth, DEFAULT_MAX_DEPTH));
    if (parser.peek().type === 'eof') parser.fail('the filter is empty');
    const f = parser.parseOr(false);
    parser.expectEnd();
    return f;
  });
}

/**
 * Parses a PATCH operation `path` (RFC 7644 §3.5.2): `attrPath` or `valuePath ["." subAttr]`, with an
 * optional schema URI prefix.
 *
 * A bare schema URN such as `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User` is accepted and
 * comes back split at its last ':' like any other URI-qualified path, i.e.
 * `{ uri: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0', attr: 'User' }`. Syntax alone cannot
 * tell it from an attribute named `User`; the schema layer recognises it (uri + ':' + attr is a known
 * schema id) and treats it as "the whole extension object".
 */
export function parsePath(text: string, opts: ParseOptions = {}): AttrPath {
  const ctx = PATH_CONTEXT;
  checkInput(text, ctx, limit(opts.maxLength, DEFAULT_MAX_LENGTH));
  return guarded(ctx, () => {
    const parser = new Parser(tokenize(text, ctx), ctx, limit(opts.maxDepth, DEFAULT_MAX_DEPTH));
    const first = parser.peek();
    if (first.type === 'eof') parser.fail('the path is empty');
    if (first.type !== 'word') {
      parser.fail(`expected an attribute name at column ${first.col}, found ${parser.describe(first)}`);
    }
    const target = parser.parseTarget(false);
    parser.expectEnd();
    if ('valuePath' in target) {
      const vp = target.valuePath;
      return attrPath({ uri: vp.path.uri, attr: vp.path.attr, filter: vp.filter });
    }
    return target.path;
  });
}
