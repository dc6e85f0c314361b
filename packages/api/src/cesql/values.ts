import type { CesqlType, CesqlValue } from './ast.js';
import type { CesqlEvaluationError } from './errors.js';

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

export type Errors = CesqlEvaluationError[];

export function typeOf(value: CesqlValue): CesqlType {
  return typeof value === 'string' ? 'String' : typeof value === 'number' ? 'Integer' : 'Boolean';
}

export function zeroOf(type: CesqlType): CesqlValue {
  return type === 'String' ? '' : type === 'Integer' ? 0 : false;
}

function castError(errors: Errors, offset: number, value: CesqlValue, target: CesqlType, why: string): void {
  errors.push({
    kind: 'cast',
    offset,
    message: `cannot cast ${typeOf(value)} ${JSON.stringify(value)} to ${target}: ${why}`,
  });
}

const INTEGER_TEXT = /^[+-]?[0-9]+$/;

/** String -> Integer (section 3.7): optional sign, base-10 digits, 32-bit range; else 0 and a cast error. */
export function parseInteger(text: string): number | undefined {
  if (!INTEGER_TEXT.test(text)) return undefined;
  const n = Number(text);
  return n >= INT32_MIN && n <= INT32_MAX ? n | 0 : undefined;
}

export function toInteger(value: CesqlValue, errors: Errors, offset: number): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  const n = parseInteger(value);
  if (n !== undefined) return n;
  castError(errors, offset, value, 'Integer', 'not a base-10 32-bit integer');
  return 0;
}

/** String -> Boolean (section 3.7): "true"/"false" in any case; else false and a cast error. */
export function parseBoolean(text: string): boolean | undefined {
  if (text.length !== 4 && text.length !== 5) return undefined;
  const lower = text.toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : undefined;
}

/**
 * Implicit cast to Boolean, as operators (NOT, AND, OR, XOR, = against a Boolean) apply it. The TCK requires
 * `NOT 10` to raise a cast error, so unlike the explicit BOOL() an Integer is not implicitly a Boolean.
 */
export function toBoolean(value: CesqlValue, errors: Errors, offset: number): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const b = parseBoolean(value);
    if (b !== undefined) return b;
    castError(errors, offset, value, 'Boolean', 'expected "true" or "false"');
    return false;
  }
  castError(
    errors,
    offset,
    value,
    'Boolean',
    'an Integer is not implicitly a Boolean (use BOOL(x) or x != 0)',
  );
  return false;
}

/** Explicit BOOL(x): like the implicit cast, plus Integer -> Boolean (0 is false, anything else true). */
export function toBooleanExplicit(value: CesqlValue, errors: Errors, offset: number): boolean {
  return typeof value === 'number' ? value !== 0 : toBoolean(value, errors, offset);
}

export function toStringValue(value: CesqlValue): string {
  return typeof value === 'string' ? value : String(value);
}

export function castTo(type: CesqlType, value: CesqlValue, errors: Errors, offset: number): CesqlValue {
  if (type === 'String') return toStringValue(value);
  if (type === 'Integer') return toInteger(value, errors, offset);
  return toBoolean(value, errors, offset);
}

const BASE64_CHUNK = 0x8000;

function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += BASE64_CHUNK)
    binary += String.fromCharCode(...bytes.subarray(i, i + BASE64_CHUNK));
  return btoa(binary);
}

/**
 * Converts an attribute value of the event map to a CESQL value. Strings, booleans and 32-bit integers are kept;
 * every other CloudEvents type is represented as its canonical String (section 3.2): timestamps as RFC 3339,
 * binary as base64, URLs and other numbers via their string form. undefined/null/functions mean "absent".
 */
export function fromAttribute(raw: unknown): CesqlValue | undefined {
  switch (typeof raw) {
    case 'string':
    case 'boolean':
      return raw;
    case 'number':
      return Number.isInteger(raw) && raw >= INT32_MIN && raw <= INT32_MAX ? raw | 0 : String(raw);
    case 'bigint':
      return raw >= INT32_MIN && raw <= INT32_MAX ? Number(raw) : raw.toString();
    case 'object':
      if (raw === null) return undefined;
      if (raw instanceof Date) return Number.isNaN(raw.getTime()) ? String(raw) : raw.toISOString();
      if (raw instanceof Uint8Array) return bytesToBase64(raw);
      return String(raw);
    default:
      return undefined;
  }
}
