import { describePosition } from '../cesql/errors.js';
import { checkCesql } from '../cesql/index.js';

export interface CesqlFindings {
  /** Why the expression cannot be compiled, with the position inside the expression; undefined when valid. */
  readonly error?: string;
  /** Legal but probably unintended constructs (precedence surprises), each with its position. */
  readonly warnings: readonly string[];
}

/** Checks a `filters[].cesql` expression with the CESQL engine (the same compiler the broker runs). */
export function validateCesql(expression: string): CesqlFindings {
  const check = checkCesql(expression);
  if (!check.ok) return { error: check.error.message, warnings: [] };
  return {
    warnings: check.warnings.map((w) => `${w.message} (at ${describePosition(expression, w.offset)})`),
  };
}
