/**
 * Canonical text for a filter or path: lower-case operators, JSON-quoted strings, single spaces, and
 * parentheses only where precedence (not > and > or, left-associative) needs them to keep the tree shape.
 * `parseFilter(printFilter(f))` is deep-equal to `f` (checked by a property test).
 *
 * One exception to "strings JSON-quoted": a node marked `unquoted: true` (the client wrote
 * `externalId eq jyoung`) is printed unquoted again when that token reads back as the same string, so
 * the flag survives a round trip. A hand-built node whose value cannot be written unquoted is quoted.
 */
import type { AttrPath, CompareFilter, Filter } from './ast.js';

/** Same shape test as the parser's, kept here so the printer depends on nothing but the AST. */
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
/** Characters that end a word in the lexer, plus control characters. */
const WORD_BREAK = /[\u0000-\u0020\u007f"()[\]]/;
const KEYWORDS = new Set(['true', 'false', 'null', 'and', 'or', 'not']);

/** Whether `s` written bare after an operator parses back as this very string. */
export function canPrintUnquoted(s: string): boolean {
  return s !== '' && !WORD_BREAK.test(s) && !JSON_NUMBER.test(s) && !KEYWORDS.has(s.toLowerCase());
}

export function printPath(p: AttrPath): string {
  let s = p.uri !== undefined ? `${p.uri}:${p.attr}` : p.attr;
  if (p.filter !== undefined) s += `[${printFilter(p.filter)}]`;
  if (p.sub !== undefined) s += `.${p.sub}`;
  return s;
}

function printValue(f: CompareFilter): string {
  const v = f.value;
  if (typeof v === 'string') return f.unquoted === true && canPrintUnquoted(v) ? v : JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`printFilter: ${v} has no SCIM filter representation`);
    return String(v);
  }
  return String(v); // true / false / null
}

/** Binding strength: or = 1, and = 2, everything else = 3 (atoms and `not (...)`). */
const strength = (f: Filter): number => (f.kind === 'or' ? 1 : f.kind === 'and' ? 2 : 3);

export function printFilter(f: Filter): string {
  switch (f.kind) {
    case 'compare':
      return `${printPath(f.path)} ${f.op} ${printValue(f)}`;
    case 'present':
      return `${printPath(f.path)} pr`;
    case 'not':
      return `not (${printFilter(f.filter)})`;
    case 'valuePath':
      return `${printPath(f.path)}[${printFilter(f.filter)}]`;
    case 'and':
    case 'or': {
      // Walk the left spine iteratively: long `a and b and c ...` chains are left-nested and can be
      // thousands deep, which recursion on both sides would turn into a stack overflow.
      const level = strength(f);
      const rights: Filter[] = [];
      let node: Filter = f;
      while ((node.kind === 'and' || node.kind === 'or') && node.kind === f.kind) {
        rights.push(node.right);
        node = node.left;
      }
      let out = wrap(node, strength(node) < level);
      for (let i = rights.length - 1; i >= 0; i--) {
        const r = rights[i] as Filter;
        // A right operand of the same strength needs parentheses, or it would re-associate to the left.
        out += ` ${f.kind} ${wrap(r, strength(r) <= level)}`;
      }
      return out;
    }
  }
}

function wrap(f: Filter, parens: boolean): string {
  const s = printFilter(f);
  return parens ? `(${s})` : s;
}
