/**
 * Parsed form of an attribute-mapping expression. Graph stores the same tree as
 * `attributeMappingSource { type: Function | Attribute | Constant }` (entra-provisioning-engine.md §4);
 * numbers, bare constants (vbTextCompare) and comparisons are the extra shapes Microsoft's examples use
 * (`Left("John Doe", 3)`, `InStr(…, vbBinaryCompare)`, `IIF([country]="USA", …)`).
 */
export type ComparisonOperator = '=' | '<>' | '>' | '>=' | '<' | '<=';

export type ExpressionNode =
  | {
      readonly kind: 'call';
      readonly name: string;
      readonly args: readonly (ExpressionNode | null)[];
      readonly pos: number;
    }
  | { readonly kind: 'attribute'; readonly name: string; readonly pos: number }
  | { readonly kind: 'string'; readonly value: string; readonly pos: number }
  | { readonly kind: 'number'; readonly value: number; readonly raw: string; readonly pos: number }
  | { readonly kind: 'constant'; readonly name: string; readonly pos: number }
  | {
      readonly kind: 'compare';
      readonly op: ComparisonOperator;
      readonly left: ExpressionNode;
      readonly right: ExpressionNode;
      readonly pos: number;
    };

/** Every attribute name read anywhere in the tree, first spelling wins, case-insensitively de-duplicated. */
export function collectAttributes(
  node: ExpressionNode | null,
  out: string[] = [],
  seen = new Set<string>(),
): string[] {
  if (!node) return out;
  switch (node.kind) {
    case 'attribute': {
      const key = node.name.toLowerCase();
      if (!seen.has(key)) {
        seen.add(key);
        out.push(node.name);
      }
      break;
    }
    case 'call':
      for (const a of node.args) collectAttributes(a, out, seen);
      break;
    case 'compare':
      collectAttributes(node.left, out, seen);
      collectAttributes(node.right, out, seen);
      break;
    default:
      break;
  }
  return out;
}
