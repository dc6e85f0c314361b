import type { CesqlType, CesqlValue } from './ast.js';
import {
  type Errors,
  INT32_MAX,
  INT32_MIN,
  parseBoolean,
  parseInteger,
  toBooleanExplicit,
  toInteger,
  toStringValue,
} from './values.js';

/** 'Any' parameters receive the argument uncast (the explicit casting functions). */
export type ParameterType = CesqlType | 'Any';

export interface FunctionDefinition {
  readonly name: string;
  readonly parameters: readonly ParameterType[];
  /** Type of every argument after the fixed parameters, for variadic functions. */
  readonly variadic?: ParameterType;
  readonly returns: CesqlType;
  /**
   * Arguments arrive cast to their parameter types. A function reports its own failures into `errors` and
   * still returns a value of its return type (section 3.5.3).
   */
  readonly invoke: (args: readonly CesqlValue[], errors: Errors, offset: number) => CesqlValue;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** Strings are sequences of Unicode characters: lengths and positions count code points, not UTF-16 units. */
function codePoints(s: string): string[] | undefined {
  return SURROGATE.test(s) ? Array.from(s) : undefined;
}

function length(s: string): number {
  return codePoints(s)?.length ?? s.length;
}

/** Characters [from, to) by code point index. */
function slice(s: string, from: number, to: number): string {
  const cps = codePoints(s);
  return cps ? cps.slice(from, to).join('') : s.slice(from, to);
}

function functionError(errors: Errors, offset: number, message: string): void {
  errors.push({ kind: 'functionEvaluation', offset, message });
}

const str = (v: CesqlValue | undefined) => v as string;
const int = (v: CesqlValue | undefined) => v as number;

/** Unicode White_Space, as section 3.5.1 defines TRIM (String.prototype.trim also strips U+FEFF, which is not). */
const LEADING_SPACE = /^\p{White_Space}+/u;
const TRAILING_SPACE = /\p{White_Space}+$/u;

function substring(x: string, pos: number, len: number | undefined, errors: Errors, offset: number): string {
  const n = length(x);
  if (pos > n || pos < -n) {
    functionError(errors, offset, `SUBSTRING position ${pos} is outside the string of length ${n}`);
    return '';
  }
  if (len !== undefined && len < 0) {
    functionError(errors, offset, `SUBSTRING length ${len} is negative`);
    return '';
  }
  if (pos === 0) return '';
  const from = pos > 0 ? pos - 1 : n + pos;
  return slice(x, from, len === undefined ? n : Math.min(n, from + len));
}

const DEFINITIONS: readonly FunctionDefinition[] = [
  { name: 'LENGTH', parameters: ['String'], returns: 'Integer', invoke: ([x]) => length(str(x)) },
  { name: 'CONCAT', parameters: [], variadic: 'String', returns: 'String', invoke: (args) => args.join('') },
  {
    name: 'CONCAT_WS',
    parameters: ['String'],
    variadic: 'String',
    returns: 'String',
    invoke: ([delimiter, ...rest]) => rest.join(str(delimiter)),
  },
  { name: 'LOWER', parameters: ['String'], returns: 'String', invoke: ([x]) => str(x).toLowerCase() },
  { name: 'UPPER', parameters: ['String'], returns: 'String', invoke: ([x]) => str(x).toUpperCase() },
  {
    name: 'TRIM',
    parameters: ['String'],
    returns: 'String',
    invoke: ([x]) => str(x).replace(LEADING_SPACE, '').replace(TRAILING_SPACE, ''),
  },
  {
    name: 'LEFT',
    parameters: ['String', 'Integer'],
    returns: 'String',
    invoke: ([x, y], errors, offset) => {
      if (int(y) < 0) {
        functionError(errors, offset, `LEFT length ${int(y)} is negative`);
        return str(x);
      }
      return slice(str(x), 0, int(y));
    },
  },
  {
    name: 'RIGHT',
    parameters: ['String', 'Integer'],
    returns: 'String',
    invoke: ([x, y], errors, offset) => {
      if (int(y) < 0) {
        functionError(errors, offset, `RIGHT length ${int(y)} is negative`);
        return str(x);
      }
      const n = length(str(x));
      return int(y) >= n ? str(x) : slice(str(x), n - int(y), n);
    },
  },
  {
    name: 'SUBSTRING',
    parameters: ['String', 'Integer'],
    returns: 'String',
    invoke: ([x, pos], errors, offset) => substring(str(x), int(pos), undefined, errors, offset),
  },
  {
    name: 'SUBSTRING',
    parameters: ['String', 'Integer', 'Integer'],
    returns: 'String',
    invoke: ([x, pos, len], errors, offset) => substring(str(x), int(pos), int(len), errors, offset),
  },
  {
    name: 'ABS',
    parameters: ['Integer'],
    returns: 'Integer',
    invoke: ([x], errors, offset) => {
      if (int(x) === INT32_MIN) {
        errors.push({ kind: 'math', offset, message: 'ABS(-2147483648) overflows a 32-bit integer' });
        return INT32_MAX;
      }
      return Math.abs(int(x));
    },
  },
  {
    name: 'INT',
    parameters: ['Any'],
    returns: 'Integer',
    invoke: ([x], errors, offset) => toInteger(x!, errors, offset),
  },
  {
    name: 'BOOL',
    parameters: ['Any'],
    returns: 'Boolean',
    invoke: ([x], errors, offset) => toBooleanExplicit(x!, errors, offset),
  },
  { name: 'STRING', parameters: ['Any'], returns: 'String', invoke: ([x]) => toStringValue(x!) },
  // Not in the v1.0 tables, but offered by the reference SDKs: whether a cast would succeed.
  {
    name: 'IS_BOOL',
    parameters: ['String'],
    returns: 'Boolean',
    invoke: ([x]) => parseBoolean(str(x)) !== undefined,
  },
  {
    name: 'IS_INT',
    parameters: ['String'],
    returns: 'Boolean',
    invoke: ([x]) => parseInteger(str(x)) !== undefined,
  },
];

const BY_NAME = new Map<string, FunctionDefinition[]>();
for (const def of DEFINITIONS) {
  const overloads = BY_NAME.get(def.name) ?? [];
  overloads.push(def);
  BY_NAME.set(def.name, overloads);
}

export function builtinFunctionNames(): string[] {
  return [...BY_NAME.keys()].sort();
}

function arityText(overloads: readonly FunctionDefinition[]): string {
  const counts = overloads.map((d) =>
    d.variadic ? `at least ${d.parameters.length}` : `${d.parameters.length}`,
  );
  const last = counts.pop();
  const text = counts.length ? `${counts.join(', ')} or ${last}` : `${last}`;
  const plural = !(text === '1' || text === 'at least 1');
  return `${text} argument${plural ? 's' : ''}`;
}

export interface DispatchProblem {
  readonly reason: string;
  readonly found?: string;
  readonly note: string;
}

/** Resolves a call by upper-cased name and arity, or says why it cannot be dispatched. */
export function resolveFunction(
  name: string,
  arity: number,
): { definition: FunctionDefinition } | { problem: DispatchProblem } {
  const overloads = BY_NAME.get(name);
  if (!overloads)
    return {
      problem: {
        reason: `unknown function ${name}`,
        note: `built-in functions: ${builtinFunctionNames().join(', ')}`,
      },
    };
  const exact = overloads.find((d) => !d.variadic && d.parameters.length === arity);
  const variadic = overloads.find((d) => d.variadic && arity >= d.parameters.length);
  const definition = exact ?? variadic;
  if (definition) return { definition };
  return {
    problem: {
      reason: `wrong number of arguments for ${name}`,
      found: `${arity} argument${arity === 1 ? '' : 's'}`,
      note: `${name} takes ${arityText(overloads)}`,
    },
  };
}

/** The declared type of argument `index`. */
export function parameterType(definition: FunctionDefinition, index: number): ParameterType {
  return definition.parameters[index] ?? definition.variadic ?? 'Any';
}
