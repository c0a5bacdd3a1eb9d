/**
 * The one error type of the expression language (entra-provisioning-engine.md §4).
 *
 * Compile errors (syntax, unknown function, wrong argument count) carry the 1-based column where the
 * problem was found. Runtime errors (IIF over a null attribute, invalid regex, unparseable date) carry
 * the column of the function call that failed; the engine fails that one object, never the cycle.
 */
export class ExpressionError extends Error {
  /** 1-based column in the expression text (offset + 1; newlines count as one character). */
  readonly position: number | undefined;

  constructor(message: string, position?: number) {
    super(message);
    this.name = 'ExpressionError';
    this.position = position;
  }
}

export const isExpressionError = (e: unknown): e is ExpressionError => e instanceof ExpressionError;
