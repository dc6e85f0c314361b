import { lineAndColumn } from '../text/line-and-column.js';

/** The error kinds of CESQL v1.0 (section 3.3), spelled as the TCK spells them. */
export type CesqlErrorKind =
  | 'parse'
  | 'math'
  | 'cast'
  | 'missingAttribute'
  | 'missingFunction'
  | 'functionEvaluation'
  | 'generic';

/** An error raised while evaluating an expression; collected, never thrown. */
export interface CesqlEvaluationError {
  readonly kind: CesqlErrorKind;
  readonly message: string;
  /** 0-based offset in the expression of the operator, function call or attribute that raised it. */
  readonly offset: number;
}

/** "column 14", or "line 2, column 3" when the expression spans several lines. */
export function describePosition(source: string, offset: number): string {
  const { line, column } = lineAndColumn(source, offset);
  return source.includes('\n') ? `line ${line}, column ${column}` : `column ${column}`;
}

/**
 * A compile-time error: a syntax error (`parse`) or a call that cannot be dispatched (`missingFunction`: unknown
 * name or wrong number of arguments). Positions: `offset` is 0-based; `line` and `column` are 1-based.
 */
export class CesqlCompileError extends Error {
  override readonly name = 'CesqlCompileError';
  readonly line: number;
  readonly column: number;

  constructor(
    readonly kind: 'parse' | 'missingFunction',
    /** What went wrong, without the position ("expected ')'", "unknown function FOO"). */
    readonly reason: string,
    readonly source: string,
    readonly offset: number,
    /** What was there instead ("end of input", "identifier 'abc'"), when it helps. */
    readonly found?: string,
    /** Context after the position ("to close the '(' at column 3"). */
    readonly note?: string,
  ) {
    super(
      `${reason} at ${describePosition(source, offset)}${found === undefined ? '' : `, found ${found}`}${note === undefined ? '' : ` (${note})`}`,
    );
    const { line, column } = lineAndColumn(source, offset);
    this.line = line;
    this.column = column;
  }
}
