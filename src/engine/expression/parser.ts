/**
 * Recursive-descent parser for Entra's attribute-mapping expressions (entra-provisioning-engine.md §4).
 *
 *   expression := argument EOF
 *   argument   := operand [ ("=" | "<>" | ">" | ">=" | "<" | "<=") operand ]   (comparisons: IIF/CBool conditions)
 *   operand    := Name "(" [ slot { "," slot } ] ")"   function call; a slot may be left empty
 *               | "[" attributeName "]" | "\"…\"" (\ escapes \ and ") | number | &Hhex | Name (vbTextCompare …)
 *
 * Every failure is an ExpressionError with the 1-based column where parsing stopped.
 */
import type { ComparisonOperator, ExpressionNode } from './ast.js';
import { ExpressionError } from './errors.js';

/** Entra's documented limit (known-issues page; entra-provisioning-engine.md §3.2). */
export const MAX_EXPRESSION_LENGTH = 10_000;
/** Guards the call stack; no real mapping nests anywhere near this deep. */
export const MAX_NESTING_DEPTH = 100;

const isIdentStart = (c: string): boolean => /[A-Za-z_]/.test(c);
const isIdentPart = (c: string): boolean => /[A-Za-z0-9_]/.test(c);
const isDigit = (c: string): boolean => c >= '0' && c <= '9';

function describe(c: string | undefined): string {
  if (c === undefined) return 'end of expression';
  if (c === '\n') return 'a line break';
  return `'${c}'`;
}

class Parser {
  private i = 0;
  private depth = 0;

  constructor(private readonly text: string) {}

  parse(): ExpressionNode {
    this.skipWs();
    if (this.i >= this.text.length) throw new ExpressionError('expression is empty at column 1', 1);
    const node = this.argument();
    this.skipWs();
    if (this.i < this.text.length) {
      throw this.error(`unexpected ${describe(this.peek())} after the end of the expression`);
    }
    return node;
  }

  private peek(offset = 0): string | undefined {
    return this.text[this.i + offset];
  }

  private error(what: string, at = this.i): ExpressionError {
    return new ExpressionError(`${what} at column ${at + 1}`, at + 1);
  }

  private skipWs(): void {
    while (this.i < this.text.length && /\s/.test(this.text[this.i] ?? '')) this.i++;
  }

  private argument(): ExpressionNode {
    const left = this.operand();
    this.skipWs();
    const opPos = this.i;
    const op = this.comparison();
    if (!op) return left;
    this.skipWs();
    if (this.atSlotEnd()) throw this.error(`expected a value after '${op}'`);
    const right = this.operand();
    return { kind: 'compare', op, left, right, pos: opPos + 1 };
  }

  private comparison(): ComparisonOperator | undefined {
    const two = this.text.slice(this.i, this.i + 2);
    if (two === '<>' || two === '>=' || two === '<=') {
      this.i += 2;
      return two;
    }
    const one = this.peek();
    if (one === '=' || one === '<' || one === '>') {
      this.i += 1;
      return one;
    }
    return undefined;
  }

  private atSlotEnd(): boolean {
    const c = this.peek();
    return c === undefined || c === ',' || c === ')';
  }

  private operand(): ExpressionNode {
    const c = this.peek();
    const start = this.i;
    if (c === undefined)
      throw this.error('expected a function, [attribute] or "string" but found end of expression');
    if (c === '[') return this.attribute();
    if (c === '"') return this.string();
    if (c === '&' && (this.peek(1) === 'H' || this.peek(1) === 'h')) return this.hex();
    if (isDigit(c) || ((c === '-' || c === '+' || c === '.') && this.isNumberAhead())) return this.number();
    if (isIdentStart(c)) {
      while (this.i < this.text.length && isIdentPart(this.text[this.i] ?? '')) this.i++;
      const name = this.text.slice(start, this.i);
      const afterName = this.i;
      this.skipWs();
      if (this.peek() === '(') return this.call(name, start);
      this.i = afterName;
      return { kind: 'constant', name, pos: start + 1 };
    }
    throw this.error(`expected a function, [attribute] or "string" but found ${describe(c)}`);
  }

  private isNumberAhead(): boolean {
    const next = this.peek(1);
    if (next === undefined) return false;
    if (isDigit(next)) return true;
    return this.peek() !== '.' && next === '.' && isDigit(this.peek(2) ?? '');
  }

  private call(name: string, start: number): ExpressionNode {
    if (++this.depth > MAX_NESTING_DEPTH) {
      throw this.error(`functions are nested more than ${MAX_NESTING_DEPTH} levels deep`, start);
    }
    this.i++; // '('
    const args: (ExpressionNode | null)[] = [];
    this.skipWs();
    if (this.peek() === ')') {
      this.i++;
      this.depth--;
      return { kind: 'call', name, args, pos: start + 1 };
    }
    for (;;) {
      this.skipWs();
      // An empty slot between commas is an omitted optional argument: Replace([mail], "@x", , , "", , ).
      args.push(this.atSlotEnd() ? null : this.argument());
      this.skipWs();
      const c = this.peek();
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === ')') {
        this.i++;
        break;
      }
      if (c === undefined)
        throw this.error(`expected ',' or ')' to close '${name}(' but found end of expression`);
      throw this.error(`expected ',' or ')'`);
    }
    this.depth--;
    return { kind: 'call', name, args, pos: start + 1 };
  }

  private attribute(): ExpressionNode {
    const start = this.i;
    const close = this.text.indexOf(']', start + 1);
    if (close < 0) throw this.error("unterminated attribute name: missing ']'", start);
    const name = this.text.slice(start + 1, close).trim();
    if (name === '') throw this.error('empty attribute name []', start);
    if (name.includes('[')) throw this.error("'[' inside an attribute name", start);
    this.i = close + 1;
    return { kind: 'attribute', name, pos: start + 1 };
  }

  private string(): ExpressionNode {
    const start = this.i;
    this.i++;
    let value = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw this.error("unterminated string constant: missing closing '\"'", start);
      if (c === '\\') {
        const next = this.peek(1);
        // Only \ and " are escapes (Microsoft: "must be escaped with the backslash"); any other
        // backslash is kept so regex patterns such as "\d" written unescaped still work.
        if (next === '\\' || next === '"') {
          value += next;
          this.i += 2;
          continue;
        }
        value += c;
        this.i++;
        continue;
      }
      if (c === '"') {
        this.i++;
        return { kind: 'string', value, pos: start + 1 };
      }
      value += c;
      this.i++;
    }
  }

  private number(): ExpressionNode {
    const start = this.i;
    const m = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(this.text.slice(this.i));
    if (!m) throw this.error('invalid number');
    this.i += m[0].length;
    if (this.peek() !== undefined && isIdentPart(this.peek() ?? ''))
      throw this.error(`invalid number '${m[0]}${this.peek()}'`, start);
    return { kind: 'number', value: Number(m[0]), raw: m[0], pos: start + 1 };
  }

  private hex(): ExpressionNode {
    const start = this.i;
    this.i += 2;
    const digitsStart = this.i;
    while (this.i < this.text.length && /[0-9A-Fa-f]/.test(this.text[this.i] ?? '')) this.i++;
    if (this.i === digitsStart) throw this.error('expected hexadecimal digits after &H', start);
    const raw = this.text.slice(start, this.i);
    // VBA hex literal (&HF7), used by BitAnd's documented example.
    return { kind: 'number', value: Number.parseInt(raw.slice(2), 16), raw, pos: start + 1 };
  }
}

/** Parses expression text into a tree; throws ExpressionError (never anything else). */
export function parseExpression(text: string): ExpressionNode {
  if (typeof text !== 'string') throw new ExpressionError('expression must be a string', 1);
  if (text.length > MAX_EXPRESSION_LENGTH) {
    throw new ExpressionError(
      `expression is ${text.length} characters long; Entra allows at most ${MAX_EXPRESSION_LENGTH} at column ${MAX_EXPRESSION_LENGTH + 1}`,
      MAX_EXPRESSION_LENGTH + 1,
    );
  }
  return new Parser(text).parse();
}
