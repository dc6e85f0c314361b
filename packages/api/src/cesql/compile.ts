import type { BinaryOperator, CesqlValue, CesqlWarning, Node } from './ast.js';
import { CesqlCompileError, type CesqlEvaluationError } from './errors.js';
import { type FunctionDefinition, parameterType, resolveFunction } from './functions.js';
import { compileLike } from './like.js';
import { parse } from './parser.js';
import {
  castTo,
  type Errors,
  fromAttribute,
  INT32_MAX,
  INT32_MIN,
  toBoolean,
  toInteger,
  typeOf,
  zeroOf,
} from './values.js';

/** The event as the engine sees it: context attributes and extensions by (lower-case) name. */
export type CesqlAttributes = Readonly<Record<string, unknown>>;

export interface CesqlResult {
  readonly value: CesqlValue;
  /** Empty when the evaluation raised no error. */
  readonly errors: readonly CesqlEvaluationError[];
}

export interface CompiledCesql {
  readonly expression: string;
  /** Legal constructs that probably do not mean what they look like (precedence surprises). */
  readonly warnings: readonly CesqlWarning[];
  /** Evaluates against one event; never throws: problems come back in `errors`. */
  evaluate(event: CesqlAttributes): CesqlResult;
  /** Filter semantics (section 1.2): passes only on a Boolean true with no error. */
  matches(event: CesqlAttributes): boolean;
}

/**
 * A node compiled to a closure. Evaluation errors are appended to `errors`; an operator whose operand raised
 * any error returns the zero value of its own type (section 3.2 and the TCK: `missing / 0` is 0 with only a
 * missingAttribute error), while a failed cast inside the operator yields the zero value of the cast and the
 * operator goes on (`NOT 10` is true with a cast error).
 */
type Evaluator = (event: CesqlAttributes, errors: Errors) => CesqlValue;

interface Compiled {
  readonly run: Evaluator;
  /** True when the value does not depend on the event (no attribute, no EXISTS): folded at compile time. */
  readonly constant: boolean;
}

const NO_EVENT: CesqlAttributes = Object.freeze({});

function overflow(errors: Errors, offset: number, operator: string, x: number, y: number | undefined): void {
  errors.push({
    kind: 'math',
    offset,
    message: `integer overflow: ${y === undefined ? `${operator}${x}` : `${x} ${operator} ${y}`} is outside the 32-bit signed range (the result wraps around)`,
  });
}

type IntegerOperation = (x: number, y: number, errors: Errors, offset: number) => number;

function checked(
  operator: string,
  exact: (x: number, y: number) => number,
  wrapped: (x: number, y: number) => number,
) {
  return (x: number, y: number, errors: Errors, offset: number) => {
    const r = exact(x, y);
    if (r > INT32_MAX || r < INT32_MIN) {
      overflow(errors, offset, operator, x, y);
      return wrapped(x, y);
    }
    return r | 0; // | 0 also turns -0 into 0
  };
}

const ARITHMETIC: Record<'+' | '-' | '*' | '/' | '%', IntegerOperation> = {
  '+': checked(
    '+',
    (x, y) => x + y,
    (x, y) => (x + y) | 0,
  ),
  '-': checked(
    '-',
    (x, y) => x - y,
    (x, y) => (x - y) | 0,
  ),
  '*': checked('*', (x, y) => x * y, Math.imul),
  '/': (x, y, errors, offset) => {
    if (y === 0) {
      errors.push({ kind: 'math', offset, message: `division by zero: ${x} / 0` });
      return 0;
    }
    const q = Math.trunc(x / y); // exact for 32-bit operands
    if (q > INT32_MAX) overflow(errors, offset, '/', x, y);
    return q | 0;
  },
  '%': (x, y, errors, offset) => {
    if (y === 0) {
      errors.push({ kind: 'math', offset, message: `division by zero: ${x} % 0` });
      return 0;
    }
    return (x % y) | 0; // JavaScript's % already truncates: the remainder has the dividend's sign
  },
};

const ORDERING: Record<'<' | '<=' | '>' | '>=', (x: number, y: number) => boolean> = {
  '<': (x, y) => x < y,
  '<=': (x, y) => x <= y,
  '>': (x, y) => x > y,
  '>=': (x, y) => x >= y,
};

const asInteger = (v: CesqlValue, errors: Errors, offset: number) =>
  typeof v === 'number' ? v : toInteger(v, errors, offset);
const asBoolean = (v: CesqlValue, errors: Errors, offset: number) =>
  typeof v === 'boolean' ? v : toBoolean(v, errors, offset);

class Compiler {
  compile(node: Node): Compiled {
    const compiled = this.#compileNode(node);
    if (!compiled.constant || node.type === 'literal') return compiled;
    // Fold: evaluate once now and replay the value (and any errors, which are immutable) on every call.
    const errors: Errors = [];
    const value = compiled.run(NO_EVENT, errors);
    if (errors.length === 0) return { constant: true, run: () => value };
    return {
      constant: true,
      run: (_event, sink) => {
        for (const e of errors) sink.push(e);
        return value;
      },
    };
  }

  #compileNode(node: Node): Compiled {
    switch (node.type) {
      case 'literal': {
        const value = node.value;
        return { constant: true, run: () => value };
      }
      case 'attribute':
        return { constant: false, run: attributeReader(node.name, node.start) };
      case 'exists': {
        const name = node.name;
        if (name === NOT_AN_ATTRIBUTE) return { constant: false, run: () => false };
        return { constant: false, run: (event) => fromAttributePresent(event[name]) };
      }
      case 'not':
        return this.#unary(node.operand, false, (v, errors) => !asBoolean(v, errors, node.start));
      case 'negate':
        return this.#unary(node.operand, 0, (v, errors) => {
          const x = asInteger(v, errors, node.start);
          if (x === INT32_MIN) {
            overflow(errors, node.start, '-', x, undefined);
            return x;
          }
          return -x | 0;
        });
      case 'binary':
        return this.#binary(node.operator, node.left, node.right, node.operatorStart);
      case 'like':
        return this.#like(node.operand, node.pattern, node.negated);
      case 'in':
        return this.#in(node.operand, node.set, node.negated, node.operatorStart);
      case 'call':
        return this.#call(node.name, node.args, node.start);
    }
  }

  #unary(operand: Node, zero: CesqlValue, apply: (v: CesqlValue, errors: Errors) => CesqlValue): Compiled {
    const compiled = this.compile(operand);
    const inner = compiled.run;
    return {
      constant: compiled.constant,
      run: (event, errors) => {
        const before = errors.length;
        const v = inner(event, errors);
        return errors.length === before ? apply(v, errors) : zero;
      },
    };
  }

  #binary(operator: BinaryOperator, leftNode: Node, rightNode: Node, offset: number): Compiled {
    const l = this.compile(leftNode);
    const r = this.compile(rightNode);
    const left = l.run;
    const right = r.run;
    const constant = l.constant && r.constant;
    // Operators without a short circuit evaluate both sides; an error in either gives `failed`.
    const bothOperands = (
      failed: CesqlValue,
      apply: (x: CesqlValue, y: CesqlValue, errors: Errors) => CesqlValue,
    ) => ({
      constant,
      run: (event: CesqlAttributes, errors: Errors) => {
        const before = errors.length;
        const x = left(event, errors);
        const y = right(event, errors);
        if (errors.length !== before) return failed;
        return apply(x, y, errors);
      },
    });
    switch (operator) {
      case 'AND':
        return {
          constant,
          run: (event, errors) => {
            const before = errors.length;
            const x = left(event, errors);
            if (errors.length !== before || !asBoolean(x, errors, offset)) return false; // short circuit
            const y = right(event, errors);
            if (errors.length !== before) return false;
            return asBoolean(y, errors, offset);
          },
        };
      case 'OR':
        return {
          constant,
          run: (event, errors) => {
            const before = errors.length;
            const x = left(event, errors);
            if (errors.length !== before) return false;
            if (asBoolean(x, errors, offset)) return true; // short circuit
            const mid = errors.length;
            const y = right(event, errors);
            if (errors.length !== mid) return false;
            return asBoolean(y, errors, offset);
          },
        };
      case 'XOR':
        return bothOperands(
          false,
          (x, y, errors) => asBoolean(x, errors, offset) !== asBoolean(y, errors, offset),
        );
      case '=':
      case '!=':
      case '<>': {
        const negate = operator !== '=';
        return bothOperands(false, (x, y, errors) => {
          // '=' is ambiguous (Boolean, Integer and String overloads): the right operand's type picks the
          // overload and the left operand is cast to it (section 3.7).
          const equal = typeof x === typeof y ? x === y : castTo(typeOf(y), x, errors, offset) === y;
          return equal !== negate;
        });
      }
      case '<':
      case '<=':
      case '>':
      case '>=': {
        const compare = ORDERING[operator];
        return bothOperands(false, (x, y, errors) =>
          compare(asInteger(x, errors, offset), asInteger(y, errors, offset)),
        );
      }
      default: {
        const apply = ARITHMETIC[operator];
        return bothOperands(0, (x, y, errors) =>
          apply(asInteger(x, errors, offset), asInteger(y, errors, offset), errors, offset),
        );
      }
    }
  }

  #like(operandNode: Node, pattern: string, negated: boolean): Compiled {
    const compiled = this.compile(operandNode);
    const operand = compiled.run;
    const match = compileLike(pattern);
    return {
      constant: compiled.constant,
      run: (event, errors) => {
        const before = errors.length;
        const v = operand(event, errors);
        if (errors.length !== before) return false;
        return match(typeof v === 'string' ? v : String(v)) !== negated;
      },
    };
  }

  #in(operandNode: Node, setNodes: readonly Node[], negated: boolean, offset: number): Compiled {
    const compiledOperand = this.compile(operandNode);
    const operand = compiledOperand.run;
    const compiledSet = setNodes.map((n) => this.compile(n));
    const set = compiledSet.map((c) => c.run);
    const setConstant = compiledSet.every((c) => c.constant);
    const constant = compiledOperand.constant && setConstant;
    // Elements in order, stopping at the first equal one.
    const scan = (x: CesqlValue, event: CesqlAttributes, errors: Errors): boolean => {
      for (const element of set) {
        const mark = errors.length;
        const y = element(event, errors);
        if (errors.length !== mark) return false;
        // The left operand's type is the target type of the set elements (section 3.7).
        if ((typeof y === typeof x ? y : castTo(typeOf(x), y, errors, offset)) === x) return !negated;
      }
      return negated;
    };
    const lookup = setConstant ? literalSetLookup(set, offset) : undefined;
    return {
      constant,
      run: (event, errors) => {
        const before = errors.length;
        const x = operand(event, errors);
        if (errors.length !== before) return false;
        const found = lookup?.(x);
        // undefined: no lookup table, or some element fails to cast to x's type (that error is raised by scan).
        return found === undefined ? scan(x, event, errors) : found !== negated;
      },
    };
  }

  #call(name: string, argNodes: readonly Node[], offset: number): Compiled {
    const resolved = resolveFunction(name, argNodes.length);
    if ('problem' in resolved) {
      const { reason, found, note } = resolved.problem;
      throw new CesqlCompileError('missingFunction', reason, this.#source, offset, found, note);
    }
    const definition: FunctionDefinition = resolved.definition;
    const compiledArgs = argNodes.map((n) => this.compile(n));
    const args = compiledArgs.map((c) => c.run);
    const types = argNodes.map((_, i) => parameterType(definition, i));
    const zero = zeroOf(definition.returns);
    return {
      constant: compiledArgs.every((c) => c.constant),
      run: (event, errors) => {
        const before = errors.length;
        const values = args.map((arg) => arg(event, errors));
        if (errors.length !== before) return zero;
        for (let i = 0; i < values.length; i++) {
          const type = types[i]!;
          if (type !== 'Any') values[i] = castTo(type, values[i]!, errors, offset);
        }
        return definition.invoke(values, errors, offset);
      },
    };
  }

  readonly #source: string;

  constructor(source: string) {
    this.#source = source;
  }
}

function fromAttributePresent(raw: unknown): boolean {
  return raw !== undefined && raw !== null && typeof raw !== 'function' && typeof raw !== 'symbol';
}

/**
 * CESQL does not address the event's data (section 1), and `data` cannot be an extension name; excluding it
 * keeps an expression from reading the payload when the caller passes a whole CloudEvent object.
 */
const NOT_AN_ATTRIBUTE = 'data';

function attributeReader(name: string, offset: number): Evaluator {
  if (name === NOT_AN_ATTRIBUTE)
    return (_event, errors) => {
      errors.push({
        kind: 'missingAttribute',
        offset,
        message: "'data' is not an attribute: CESQL cannot read event data",
      });
      return false;
    };
  return (event, errors) => {
    const raw = event[name];
    if (typeof raw === 'string') return raw;
    const value = fromAttribute(raw);
    if (value !== undefined) return value;
    errors.push({ kind: 'missingAttribute', offset, message: `missing attribute '${name}'` });
    // The type of an absent attribute is unknown, so its zero value is the Boolean one (section 3.2).
    return false;
  };
}

/**
 * For an IN whose set is all constants: the set cast once to each possible left-operand type. Returns
 * undefined for a type some element cannot be cast to (that cast error must be raised at evaluation time).
 */
function literalSetLookup(
  set: readonly Evaluator[],
  offset: number,
): ((x: CesqlValue) => boolean | undefined) | undefined {
  const values = set.map((run) => {
    const errors: Errors = [];
    const v = run(NO_EVENT, errors);
    return errors.length === 0 ? v : undefined;
  });
  if (values.some((v) => v === undefined)) return undefined;
  const byType = (type: 'String' | 'Integer' | 'Boolean') => {
    const errors: Errors = [];
    const cast = new Set(values.map((v) => castTo(type, v!, errors, offset)));
    return errors.length === 0 ? cast : undefined;
  };
  const strings = byType('String');
  const integers = byType('Integer');
  const booleans = byType('Boolean');
  return (x) => {
    const table = typeof x === 'string' ? strings : typeof x === 'number' ? integers : booleans;
    return table ? table.has(x) : undefined;
  };
}

/**
 * Parses and compiles an expression once; the result evaluates events without re-parsing or walking a tree.
 * Throws CesqlCompileError (kind `parse`, or `missingFunction` for an unknown function or a wrong argument count).
 */
export function compileCesql(expression: string): CompiledCesql {
  const { ast, warnings } = parse(expression);
  const run = new Compiler(expression).compile(ast).run;
  const scratch: Errors = [];
  return {
    expression,
    warnings,
    evaluate(event) {
      const errors: Errors = [];
      const value = run(event, errors);
      return { value, errors };
    },
    matches(event) {
      const value = run(event, scratch);
      if (scratch.length === 0) return value === true;
      scratch.length = 0;
      return false;
    },
  };
}

export type CesqlCheck =
  | { readonly ok: true; readonly warnings: readonly CesqlWarning[] }
  | { readonly ok: false; readonly error: CesqlCompileError };

/** Compiles without throwing, for validation: the first compile error, or the warnings. */
export function checkCesql(expression: string): CesqlCheck {
  try {
    return { ok: true, warnings: compileCesql(expression).warnings };
  } catch (e) {
    if (e instanceof CesqlCompileError) return { ok: false, error: e };
    throw e;
  }
}
