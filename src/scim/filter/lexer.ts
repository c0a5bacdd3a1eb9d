/**
 * Tokenizer for SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (RFC 7644 §3.5.2).
 *
 * The token set is deliberately coarse: a *word* is any run of characters that is not whitespace, a
 * quote, a parenthesis or a bracket. Whether a word is an attribute path, an operator, a keyword or an
 * unquoted value is decided by the parser from its position, because the same characters mean different
 * things in different places (`2.0` inside a schema URN, `-07:00` inside a lenient unquoted date-time).
 *
 * Columns are 1-based offsets in UTF-16 code units, as shown to the Entra admin in error details.
 */
import { ScimError, type ScimType } from '../errors.js';
import { unstorableText } from '../unicode.js';

export type TokenType = 'word' | 'string' | '(' | ')' | '[' | ']' | 'eof';

export interface Token {
  readonly type: TokenType;
  /** The raw text for words; the decoded value for strings; the character for punctuation; '' at eof. */
  readonly text: string;
  /** 1-based column of the first character. */
  readonly col: number;
  /** true when whitespace separates this token from the previous one (or it is the first token). */
  readonly spaceBefore: boolean;
}

/** Who is parsing: decides the detail prefix (`filter:` / `path:`) and the scimType of every error. */
export interface SyntaxContext {
  readonly label: 'filter' | 'path';
  readonly scimType: ScimType;
}

export const FILTER_CONTEXT: SyntaxContext = Object.freeze({ label: 'filter', scimType: 'invalidFilter' });
export const PATH_CONTEXT: SyntaxContext = Object.freeze({ label: 'path', scimType: 'invalidPath' });

export function syntaxError(ctx: SyntaxContext, message: string): ScimError {
  return new ScimError(400, ctx.scimType, `${ctx.label}: ${message}`);
}

/** Space and tab only: the HTTP layer has already turned `+` into spaces (entra-scim-client.md §2.11). */
const isSpace = (c: number): boolean => c === 0x20 || c === 0x09;
const isControl = (c: number): boolean => c < 0x20 || c === 0x7f;
const isDelimiter = (c: number): boolean =>
  c === 0x22 /* " */ || c === 0x28 /* ( */ || c === 0x29 /* ) */ || c === 0x5b /* [ */ || c === 0x5d; /* ] */

export const hex4 = (c: number): string => 'U+' + c.toString(16).toUpperCase().padStart(4, '0');

export function tokenize(text: string, ctx: SyntaxContext): Token[] {
  const tokens: Token[] = [];
  const n = text.length;
  let i = 0;
  let spaceBefore = true;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      spaceBefore = true;
      continue;
    }
    if (isControl(c)) {
      throw syntaxError(ctx, `control character ${hex4(c)} at column ${i + 1}`);
    }
    const col = i + 1;
    if (c === 0x22) {
      const { value, end } = readString(text, i, ctx);
      tokens.push({ type: 'string', text: value, col, spaceBefore });
      i = end;
    } else if (isDelimiter(c)) {
      tokens.push({ type: text[i] as TokenType, text: text[i] as string, col, spaceBefore });
      i++;
    } else {
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (isSpace(d) || isDelimiter(d)) break;
        if (isControl(d)) throw syntaxError(ctx, `control character ${hex4(d)} at column ${j + 1}`);
        j++;
      }
      tokens.push({ type: 'word', text: text.slice(i, j), col, spaceBefore });
      i = j;
    }
    spaceBefore = false;
  }
  tokens.push({ type: 'eof', text: '', col: n + 1, spaceBefore });
  return tokens;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/** A JSON string (RFC 8259 §7), as RFC 7644 §3.4.2.2 requires for compValue strings. `start` is at the quote. */
function readString(text: string, start: number, ctx: SyntaxContext): { value: string; end: number } {
  let out = '';
  let i = start + 1;
  let chunkStart = i;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      out += text.slice(chunkStart, i);
      // `\u0000` and unpaired `\uD800`-style escapes are valid JSON but no attribute can hold them (unicode.ts).
      const bad = unstorableText(out);
      if (bad) throw syntaxError(ctx, `the string starting at column ${start + 1} holds ${bad}`);
      return { value: out, end: i + 1 };
    }
    if (c === 0x5c) {
      out += text.slice(chunkStart, i);
      const e = text[i + 1];
      if (e === undefined) break; // backslash at the very end: reported as unterminated below
      const simple = SIMPLE_ESCAPES[e];
      if (simple !== undefined && Object.hasOwn(SIMPLE_ESCAPES, e)) {
        out += simple;
        i += 2;
      } else if (e === 'u') {
        const digits = text.slice(i + 2, i + 6);
        if (!/^[0-9A-Fa-f]{4}$/.test(digits)) {
          throw syntaxError(ctx, `invalid \\u escape in string at column ${i + 1} (expected 4 hex digits)`);
        }
        out += String.fromCharCode(parseInt(digits, 16));
        i += 6;
      } else {
        const shown = isControl(e.charCodeAt(0)) ? hex4(e.charCodeAt(0)) : `'\\${e}'`;
        throw syntaxError(ctx, `invalid escape ${shown} in string at column ${i + 1}`);
      }
      chunkStart = i;
      continue;
    }
    if (c < 0x20) {
      // JSON forbids raw control characters inside strings; they must be escaped.
      throw syntaxError(ctx, `control character ${hex4(c)} in string at column ${i + 1}`);
    }
    i++;
  }
  throw syntaxError(ctx, `unterminated string starting at column ${start + 1}`);
}
