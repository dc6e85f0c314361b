/** A CESQL runtime value: Boolean, Integer (always a 32-bit signed integer) or String. */
export type CesqlValue = boolean | number | string;

export type CesqlType = 'Boolean' | 'Integer' | 'String';

export type ArithmeticOperator = '+' | '-' | '*' | '/' | '%';
export type ComparisonOperator = '=' | '!=' | '<>' | '<' | '<=' | '>' | '>=';
export type LogicalOperator = 'AND' | 'OR' | 'XOR';
export type BinaryOperator = ArithmeticOperator | ComparisonOperator | LogicalOperator;

interface Span {
  /** 0-based offset of the node's first character in the expression. */
  readonly start: number;
  /** 0-based offset just past the node's last character. */
  readonly end: number;
  /** Set when the node was written inside parentheses (used for precedence warnings). */
  parenthesized?: boolean;
}

export type Node =
  | (Span & { readonly type: 'literal'; readonly value: CesqlValue })
  /** `name` is lower-cased: CloudEvents attribute names are lower case and CESQL is case-insensitive. */
  | (Span & { readonly type: 'attribute'; readonly name: string })
  | (Span & { readonly type: 'exists'; readonly name: string })
  | (Span & { readonly type: 'not' | 'negate'; readonly operand: Node })
  | (Span & {
      readonly type: 'binary';
      readonly operator: BinaryOperator;
      readonly operatorStart: number;
      readonly left: Node;
      readonly right: Node;
    })
  | (Span & {
      readonly type: 'like';
      readonly negated: boolean;
      readonly operatorStart: number;
      readonly operand: Node;
      /** The pattern exactly as the string literal holds it (escapes `\%` and `\_` unresolved). */
      readonly pattern: string;
    })
  | (Span & {
      readonly type: 'in';
      readonly negated: boolean;
      readonly operatorStart: number;
      readonly operand: Node;
      readonly set: readonly Node[];
    })
  /** `name` is upper-cased: function names are case-insensitive. */
  | (Span & { readonly type: 'call'; readonly name: string; readonly args: readonly Node[] });

/** Something legal but probably not what the author meant, found while parsing. */
export interface CesqlWarning {
  readonly message: string;
  /** 0-based offset in the expression. */
  readonly offset: number;
}
