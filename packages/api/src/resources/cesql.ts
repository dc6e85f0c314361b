/**
 * CESQL expressions (`filters[].cesql`) are parsed by the broker package, which owns the CESQL engine.
 * `api` depends on nothing of ours, so the broker registers its parser here; until then any string is
 * accepted. A validator returns an error message, or undefined when the expression is valid.
 */
export type CesqlValidator = (expression: string) => string | undefined;

let validator: CesqlValidator | undefined;

export function registerCesqlValidator(fn: CesqlValidator | undefined): void {
  validator = fn;
}

export function validateCesql(expression: string): string | undefined {
  return validator?.(expression);
}
