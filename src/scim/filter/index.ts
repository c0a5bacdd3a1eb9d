/** SCIM filter and attribute-path parsing, printing and in-memory matching (RFC 7644 §3.4.2.2, §3.5.2). */
export type {
  AttrPath,
  CompareFilter,
  CompareOp,
  Filter,
  Literal,
  LogicalFilter,
  NotFilter,
  PresentFilter,
  ValuePathFilter,
} from './ast.js';
export {
  parseFilter,
  parsePath,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_LENGTH,
  type ParseOptions,
} from './parser.js';
export { printFilter, printPath, canPrintUnquoted } from './printer.js';
export { matchesFilter, parseInstant, type MatchOptions } from './evaluate.js';
export { and, attrPath, compare, not, or, path, present, valuePath, type AttrPathParts } from './build.js';
