/**
 * Entra's attribute-mapping expression language (entra-provisioning-engine.md §4).
 *
 *   const e = compileExpression('Join(" ", [givenName], [surname])');
 *   e.attributes            // ['givenName', 'surname']
 *   e.evaluate({ attributes: { givenName: 'Ada', surname: 'Lovelace' } })  // 'Ada Lovelace'
 *
 * evaluate() returns undefined for null (the attribute is not provisioned) and throws ExpressionError
 * for a runtime failure, which fails that one object.
 */
export {
  compileExpression,
  suggestFunction,
  isEmptyResult,
  type CompiledEntraExpression,
} from './compile.js';
export { ExpressionError, isExpressionError } from './errors.js';
export { parseExpression, MAX_EXPRESSION_LENGTH, MAX_NESTING_DEPTH } from './parser.js';
export { FUNCTIONS } from './functions.js';
export type { ExpressionNode, ComparisonOperator } from './ast.js';
