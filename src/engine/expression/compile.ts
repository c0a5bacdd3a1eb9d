/**
 * compileExpression: text → a reusable evaluator (entra-provisioning-engine.md §4).
 * Parsing, function-name and argument-count checks happen once, here; evaluation is a tree of closures.
 */
import type { CompiledExpression, ExpressionContext, ExpressionValue, SourceValue } from '../types.js';
import { collectAttributes, type ExpressionNode } from './ast.js';
import { DateTimeValue } from './dates.js';
import { ExpressionError } from './errors.js';
import { FUNCTIONS, describeArity, type Call, type Env, type FunctionDef } from './functions.js';
import { parseExpression } from './parser.js';
import { asNumber, boolText, isNullOrEmpty, scalarText, type Value } from './values.js';

/** Bare names allowed as arguments: the VBA compare constants of InStr (`InStr("a","b",1,vbTextCompare)`). */
const CONSTANTS: Readonly<Record<string, string>> = {
  vbTextCompare: 'vbTextCompare',
  vbBinaryCompare: 'vbBinaryCompare',
};

/** What compileExpression returns: the engine contract plus what Entra's special functions need. */
export interface CompiledEntraExpression extends CompiledExpression {
  /** Function names used, each once (e.g. for the provisioning log). */
  readonly functions: readonly string[];
  /** Redact() appears: log the value as "[Redact]". */
  readonly redacted: boolean;
  /** The whole expression is IgnoreFlowIfNullOrEmpty(…): a null result means "drop the attribute", no default value. */
  readonly ignoreFlowIfNullOrEmpty: boolean;
  /**
   * Present when the whole expression is SelectUniqueValue(…): every rule's value, in order, null/empty
   * ones left out. The engine picks the first one not already taken in the target; `evaluate` alone
   * returns the first candidate.
   */
  candidates?(ctx: ExpressionContext): string[];
}

type Evaluator = (env: Env) => Value;

export function compileExpression(text: string): CompiledEntraExpression {
  const root = parseExpression(text);
  const functions = new Set<string>();
  const evaluate = build(root, true, functions);
  const attributes = Object.freeze(collectAttributes(root));
  const isTop = (name: string): boolean => root.kind === 'call' && root.name === name;
  const compiled: CompiledEntraExpression = {
    source: text,
    attributes,
    functions: Object.freeze([...functions]),
    redacted: functions.has('Redact'),
    ignoreFlowIfNullOrEmpty: isTop('IgnoreFlowIfNullOrEmpty'),
    evaluate: (ctx) => toOutput(evaluate(makeEnv(ctx))),
  };
  if (root.kind === 'call' && root.name === 'SelectUniqueValue') {
    const rules = root.args.map((a) => (a ? build(a, false, functions) : () => undefined));
    compiled.candidates = (ctx) => {
      const env = makeEnv(ctx);
      const out: string[] = [];
      for (const rule of rules) {
        const v = toOutput(rule(env));
        if (typeof v === 'string' && v !== '') out.push(v);
        else if (typeof v === 'number' || typeof v === 'boolean') out.push(scalarText(v));
      }
      return out;
    };
  }
  return Object.freeze(compiled);
}

function toOutput(v: Value): ExpressionValue {
  if (v instanceof DateTimeValue) return v.toString();
  if (Array.isArray(v)) return v.length === 0 ? undefined : Object.freeze([...(v as string[])]);
  return v as ExpressionValue;
}

function sourceToValue(v: SourceValue | undefined): Value {
  if (v === null || v === undefined) return undefined;
  if (Array.isArray(v)) return (v as readonly (string | number | boolean)[]).map(scalarText);
  return v as string | number | boolean;
}

/** Attribute names are case-insensitive (§4 / types.ts ExpressionContext). */
function makeEnv(ctx: ExpressionContext): Env {
  const attrs = ctx.attributes;
  let lower: Map<string, SourceValue> | undefined;
  return {
    attr(name) {
      if (Object.prototype.hasOwnProperty.call(attrs, name)) return sourceToValue(attrs[name]);
      if (!lower) {
        lower = new Map();
        for (const [k, v] of Object.entries(attrs))
          if (!lower.has(k.toLowerCase())) lower.set(k.toLowerCase(), v);
      }
      return sourceToValue(lower.get(name.toLowerCase()));
    },
    now: () => (ctx.now ? ctx.now() : new Date()).getTime(),
  };
}

function build(node: ExpressionNode, topLevel: boolean, functions: Set<string>): Evaluator {
  switch (node.kind) {
    case 'string': {
      const v = node.value;
      return () => v;
    }
    case 'number': {
      const v = node.value;
      return () => v;
    }
    case 'attribute': {
      const name = node.name;
      return (env) => env.attr(name);
    }
    case 'constant': {
      const v = CONSTANTS[node.name];
      if (v === undefined) throw unknownName(node.name, node.pos);
      return () => v;
    }
    case 'compare':
      return buildCompare(node, functions);
    case 'call':
      return buildCall(node, topLevel, functions);
  }
}

function buildCompare(node: Extract<ExpressionNode, { kind: 'compare' }>, functions: Set<string>): Evaluator {
  const left = build(node.left, false, functions);
  const right = build(node.right, false, functions);
  const { op, pos } = node;
  return (env) => {
    const a = left(env);
    const b = right(env);
    if (a === undefined || b === undefined) {
      throw new ExpressionError(`comparison '${op}' at column ${pos}: one side is null`, pos);
    }
    if (Array.isArray(a) || Array.isArray(b)) {
      throw new ExpressionError(
        `comparison '${op}' at column ${pos}: cannot compare a multi-valued attribute`,
        pos,
      );
    }
    let cmp: number;
    const na = asNumber(a as string | number);
    const nb = asNumber(b as string | number);
    if (a instanceof DateTimeValue && b instanceof DateTimeValue) cmp = Math.sign(a.ms - b.ms);
    else if (na !== undefined && nb !== undefined) cmp = Math.sign(na - nb);
    else {
      // Ordinal, case-sensitive comparison, as in Switch ("syntax is case-sensitive").
      const sa = a instanceof DateTimeValue ? a.toString() : scalarText(a as string | number | boolean);
      const sb = b instanceof DateTimeValue ? b.toString() : scalarText(b as string | number | boolean);
      cmp = sa === sb ? 0 : sa < sb ? -1 : 1;
    }
    switch (op) {
      case '=':
        return boolText(cmp === 0);
      case '<>':
        return boolText(cmp !== 0);
      case '>':
        return boolText(cmp > 0);
      case '>=':
        return boolText(cmp >= 0);
      case '<':
        return boolText(cmp < 0);
      case '<=':
        return boolText(cmp <= 0);
    }
  };
}

function buildCall(
  node: Extract<ExpressionNode, { kind: 'call' }>,
  topLevel: boolean,
  functions: Set<string>,
): Evaluator {
  const { name, pos } = node;
  const def = Object.prototype.hasOwnProperty.call(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
  if (!def) throw unknownFunction(name, pos);
  functions.add(name);
  let nodes = node.args;
  if (nodes.length < def.min || nodes.length > def.max) {
    throw new ExpressionError(`${describeArity(name, def)}, but got ${nodes.length} at column ${pos}`, pos);
  }
  // FormatDateTime(source, inputFormat, outputFormat): the older three-argument form has no dateTimeStyles.
  if (name === 'FormatDateTime' && nodes.length === 3)
    nodes = [nodes[0] ?? null, null, nodes[1] ?? null, nodes[2] ?? null];
  checkRequired(name, def, nodes, pos);
  def.check?.(nodes, pos, topLevel);
  const args = nodes.map((a) => (a ? build(a, false, functions) : undefined));
  const count = nodes.length;
  const fail = (reason: string): never => {
    throw new ExpressionError(`${name} at column ${pos}: ${reason}`, pos);
  };
  return (env) => {
    const call: Call = {
      fn: name,
      pos,
      count,
      env,
      nodes,
      isEmpty: (i) => args[i] === undefined,
      value: (i) => args[i]?.(env),
      fail,
    };
    return def.impl(call);
  };
}

function checkRequired(
  name: string,
  def: FunctionDef,
  nodes: readonly (ExpressionNode | null)[],
  pos: number,
): void {
  nodes.forEach((n, i) => {
    const param = def.params[i];
    if (n === null && param !== undefined && !param.endsWith('?')) {
      throw new ExpressionError(
        `${name} at column ${pos}: argument ${i + 1} (${param}) cannot be left empty`,
        pos,
      );
    }
  });
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number;
      row[j] = Math.min(
        (row[j] as number) + 1,
        (row[j - 1] as number) + 1,
        prev + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      prev = tmp;
    }
  }
  return row[b.length] as number;
}

/** The right spelling for a mistyped function name: exact case first, then the closest name. */
export function suggestFunction(name: string): string | undefined {
  const names = Object.keys(FUNCTIONS);
  const sameLetters = names.find((n) => n.toLowerCase() === name.toLowerCase());
  if (sameLetters) return sameLetters;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const n of names) {
    const d = levenshtein(n.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) {
      best = n;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

function unknownFunction(name: string, pos: number): ExpressionError {
  const hint = suggestFunction(name);
  let msg = `unknown function '${name}' at column ${pos}`;
  if (hint && hint.toLowerCase() === name.toLowerCase())
    msg += `; function names are case-sensitive: did you mean '${hint}'?`;
  else if (hint) msg += `; did you mean '${hint}'?`;
  return new ExpressionError(msg, pos);
}

function unknownName(name: string, pos: number): ExpressionError {
  const fn = suggestFunction(name);
  if (fn === name)
    return new ExpressionError(`'${name}' at column ${pos} is a function: write ${name}(…)`, pos);
  const known = Object.keys(CONSTANTS).find((c) => c.toLowerCase() === name.toLowerCase());
  if (known)
    return new ExpressionError(`unknown name '${name}' at column ${pos}; did you mean '${known}'?`, pos);
  return new ExpressionError(
    `unknown name '${name}' at column ${pos}; write attributes in brackets ([${name}]) and text in quotes ("${name}")`,
    pos,
  );
}

/** Convenience for callers that want "null or empty" with the expression's own rules. */
export const isEmptyResult = (v: ExpressionValue): boolean => isNullOrEmpty(v as Value);
