import { describe, expect, it } from 'vitest';
import type { Node } from './ast.js';
import { CesqlCompileError } from './errors.js';
import { compileCesql } from './index.js';
import { MAX_EXPRESSION_LENGTH, MAX_NESTING, parse } from './parser.js';

/** Fully parenthesized rendering of a syntax tree, to assert grouping. */
function show(node: Node): string {
  switch (node.type) {
    case 'literal':
      return typeof node.value === 'string' ? `'${node.value}'` : String(node.value).toUpperCase();
    case 'attribute':
      return node.name;
    case 'exists':
      return `(EXISTS ${node.name})`;
    case 'not':
      return `(NOT ${show(node.operand)})`;
    case 'negate':
      return `(-${show(node.operand)})`;
    case 'binary':
      return `(${show(node.left)} ${node.operator} ${show(node.right)})`;
    case 'like':
      return `(${show(node.operand)} ${node.negated ? 'NOT LIKE' : 'LIKE'} '${node.pattern}')`;
    case 'in':
      return `(${show(node.operand)} ${node.negated ? 'NOT IN' : 'IN'} (${node.set.map(show).join(', ')}))`;
    case 'call':
      return `${node.name}(${node.args.map(show).join(', ')})`;
  }
}

const grouping = (expression: string) => show(parse(expression).ast);

function compileError(expression: string): CesqlCompileError {
  try {
    compileCesql(expression);
  } catch (e) {
    if (e instanceof CesqlCompileError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(expression)} not to compile`);
}

describe('precedence and associativity (CESQL v1.0 section 3.6)', () => {
  it.each([
    ['4 * 2 + 4 / 2', '((4 * 2) + (4 / 2))'],
    ['1 + 2 * 3 = 7', '((1 + (2 * 3)) = 7)'],
    ['10 - 4 - 3', '((10 - 4) - 3)'],
    ['8 / 4 / 2', '((8 / 4) / 2)'],
    ['1 = 2 = FALSE', '((1 = 2) = FALSE)'],
    ['a = 1 AND b = 2', '((a = 1) AND (b = 2))'],
    ['a < 1 OR b >= 2', '((a < 1) OR (b >= 2))'],
    // AND, OR and XOR share one level and group left to right.
    ['a OR b AND c', '((a OR b) AND c)'],
    ['a AND b OR c', '((a AND b) OR c)'],
    ['a XOR b AND c OR d', '(((a XOR b) AND c) OR d)'],
    ['a OR (b AND c)', '(a OR (b AND c))'],
    // Unary operators bind tightest, even tighter than LIKE and IN.
    ['NOT a = b', '((NOT a) = b)'],
    ['NOT a AND b', '((NOT a) AND b)'],
    ['NOT (a = b)', '(NOT (a = b))'],
    ['NOT NOT a', '(NOT (NOT a))'],
    ['-a * b', '((-a) * b)'],
    ['- a + 1', '((-a) + 1)'],
    ['--10', '(--10)'],
    ['1 - -1', '(1 - -1)'],
    ['4 + +1', '(4 + 1)'],
    // LIKE binds tighter than IN, which binds tighter than the binary operators.
    ["a + b LIKE 'x%'", "(a + (b LIKE 'x%'))"],
    ["a LIKE 'x' IN (TRUE)", "((a LIKE 'x') IN (TRUE))"],
    ['a + b IN (1, 2)', '(a + (b IN (1, 2)))'],
    ["NOT a LIKE 'x'", "((NOT a) LIKE 'x')"],
    ["a NOT LIKE 'x' AND b NOT IN (1)", "((a NOT LIKE 'x') AND (b NOT IN (1)))"],
    ['EXISTS a AND NOT EXISTS b', '((EXISTS a) AND (NOT (EXISTS b)))'],
    ['LENGTH(a) + 1 > 2', '((LENGTH(a) + 1) > 2)'],
    ["CONCAT(a, 'b' , c = 1)", "CONCAT(a, 'b', (c = 1))"],
    ['(1 + 2) * 3', '((1 + 2) * 3)'],
  ])('%s  ->  %s', (expression, expected) => {
    expect(grouping(expression)).toBe(expected);
  });

  it('keywords, attribute names and function names are case-insensitive; string literals are not', () => {
    expect(grouping("a aNd B oR c nOt LiKe 'X%'")).toBe("((a AND b) OR (c NOT LIKE 'X%'))");
    expect(grouping('exists SOURCE')).toBe('(EXISTS source)');
    expect(grouping('lower(Id) = "AbC"')).toBe("(LOWER(id) = 'AbC')");
    expect(grouping('tRuE xor FaLsE')).toBe('(TRUE XOR FALSE)');
  });

  it('integer literals: a sign on the digits belongs to the literal, so the full 32-bit range is writable', () => {
    expect(parse('-2147483648').ast).toMatchObject({ type: 'literal', value: -2147483648 });
    expect(parse('+2147483647').ast).toMatchObject({ type: 'literal', value: 2147483647 });
    expect(parse('007').ast).toMatchObject({ type: 'literal', value: 7 });
    expect(parse('-0').ast).toMatchObject({ type: 'literal', value: 0 });
  });

  it('string literals: both quote styles, only the delimiting quote is escaped, other backslashes stay', () => {
    expect(parse(`'a"b\\'c'`).ast).toMatchObject({ type: 'literal', value: `a"b'c` });
    expect(parse(`"a'b\\"c"`).ast).toMatchObject({ type: 'literal', value: `a'b"c` });
    expect(parse(`'ab\\c'`).ast).toMatchObject({ type: 'literal', value: 'ab\\c' });
    expect(parse(`''`).ast).toMatchObject({ type: 'literal', value: '' });
  });

  it('node spans are 0-based offsets into the expression', () => {
    const { ast } = parse("  type LIKE 'a%'");
    expect(ast).toMatchObject({ type: 'like', start: 2, end: 16, operatorStart: 7 });
  });
});

describe('parse errors: kind, 1-based line/column, 0-based offset, what was expected and found', () => {
  it('the position fields', () => {
    const e = compileError("(type = 'a.b'");
    expect(e.kind).toBe('parse');
    expect(e.offset).toBe(13);
    expect([e.line, e.column]).toEqual([1, 14]);
    expect(e.reason).toBe("expected ')'");
    expect(e.found).toBe('end of input');
    expect(e.message).toBe("expected ')' at column 14, found end of input (to close the '(' at column 1)");
  });

  it.each([
    ['ABC(', "expected an argument or ')' at column 5, found end of input (to close ABC( at column 4)"],
    ['a IN (1, 2', "expected ',' or ')' at column 11, found end of input (in the set opened at column 6)"],
    ['LEFT(a 1)', "expected ',' or ')' at column 8, found integer 1 (in the arguments of LEFT( at column 5)"],
    [
      "'abc",
      "unterminated string literal at column 1 (no closing ' found; a ' inside the string is written \\')",
    ],
    [
      "x = 'it\\'s",
      "unterminated string literal at column 5 (no closing ' found; a ' inside the string is written \\')",
    ],
    [
      'x LIKE 123',
      'expected a string literal pattern after LIKE (the pattern cannot be computed) at column 8, found integer 123',
    ],
    [
      'x LIKE y',
      "expected a string literal pattern after LIKE (the pattern cannot be computed) at column 8, found identifier 'y'",
    ],
    ['a NOT b', "expected LIKE or IN after NOT at column 7, found identifier 'b'"],
    ['a = ', 'expected an expression at column 5, found end of input'],
    ['', 'expected an expression at column 1, found end of input'],
    ['a b', "expected an operator or end of input at column 3, found identifier 'b'"],
    ['1 + )', "expected an expression at column 5, found ')'"],
    ['a = 1)', "unmatched ')' at column 6"],
    ['()', "expected an expression inside '()' at column 2, found ')'"],
    ['a AND AND b', 'expected an expression at column 7, found keyword AND'],
    ['a IN ()', "expected at least one value in the set after IN at column 7, found ')'"],
    ['a IN 1', "expected '(' after IN at column 6, found integer 1"],
    ["EXISTS 'x'", 'expected an attribute name after EXISTS at column 8, found string "x"'],
    ['EXISTS', 'expected an attribute name after EXISTS at column 7, found end of input'],
    ['+ x', "expected digits after '+' (CESQL has no unary plus operator) at column 3, found identifier 'x'"],
    ['a ! b', "unexpected character \"!\" ('!' is only valid in '!='; use NOT for negation) at column 3"],
    ['a == b', "expected an expression at column 4, found '='"],
    ['a = 1 # comment', 'unexpected character "#" at column 7'],
    [
      '2147483648',
      'integer literal 2147483648 is outside the 32-bit signed range (-2147483648 to 2147483647) at column 1',
    ],
    [
      'x = -2147483649',
      'integer literal -2147483649 is outside the 32-bit signed range (-2147483648 to 2147483647) at column 5',
    ],
    [
      'my_ext = 1',
      "invalid attribute name 'my_ext' (CloudEvents attribute names contain only letters and digits; a function call needs '(') at column 1",
    ],
    ['f1(2)', "invalid function name 'f1' (letters and '_' only, starting with a letter) at column 1"],
    [
      'a = 1\n AND (b',
      "expected ')' at line 2, column 8, found end of input (to close the '(' at line 2, column 6)",
    ],
  ])('%j', (expression, message) => {
    const e = compileError(expression);
    expect(e.kind).toBe('parse');
    expect(e.message).toBe(message);
  });

  it('calls that cannot be dispatched are missingFunction compile errors', () => {
    const unknown = compileError('x = FOO(1)');
    expect([unknown.kind, unknown.column]).toEqual(['missingFunction', 5]);
    expect(unknown.message).toMatch(
      /^unknown function FOO at column 5 \(built-in functions: ABS, BOOL, CONCAT, /,
    );
    expect(compileError("LEFT('a')").message).toBe(
      'wrong number of arguments for LEFT at column 1, found 1 argument (LEFT takes 2 arguments)',
    );
    expect(compileError('CONCAT_WS()').message).toBe(
      'wrong number of arguments for CONCAT_WS at column 1, found 0 arguments (CONCAT_WS takes at least 1 argument)',
    );
    expect(compileError("substring('a')").message).toBe(
      'wrong number of arguments for SUBSTRING at column 1, found 1 argument (SUBSTRING takes 2 or 3 arguments)',
    );
    expect(compileError('ABS(1, 2)').kind).toBe('missingFunction');
  });
});

describe('warnings: legal but probably unintended grouping', () => {
  const warnings = (expression: string) =>
    compileCesql(expression).warnings.map((w) => [w.offset, w.message]);

  it('mixing AND/OR/XOR without parentheses', () => {
    expect(warnings('a = 1 OR b = 2 AND c = 3')).toEqual([
      [
        15,
        "OR and AND have the same precedence in CESQL and are evaluated left to right, so 'a OR b AND c' means '(a OR b) AND c'; SQL and other CESQL engines may group it differently, so add parentheses to make the intent explicit",
      ],
    ]);
    expect(warnings('a = 1 OR (b = 2 AND c = 3)')).toEqual([]);
    expect(warnings('a AND b AND c')).toEqual([]);
  });

  it('NOT applied to the left operand of a comparison, LIKE or IN', () => {
    expect(warnings("NOT type LIKE 'a%'")).toEqual([
      [
        0,
        "NOT binds tighter than LIKE in CESQL, so 'NOT x LIKE y' means '(NOT x) LIKE y'; write 'NOT (x LIKE y)' or 'x NOT LIKE y' if that is what you meant",
      ],
    ]);
    expect(warnings('NOT a = b')[0]?.[1]).toContain("or 'x != y'");
    expect(warnings('NOT (a = b)')).toEqual([]);
    expect(warnings('NOT a AND b')).toEqual([]);
    expect(warnings('(NOT a) = b')).toEqual([]);
  });
});

describe('nesting limit: deep trees are a parse error, not a stack overflow', () => {
  it(`accepts trees up to ${MAX_NESTING} levels`, () => {
    const chain = Array.from({ length: MAX_NESTING - 1 }, () => 'a').join(' OR ');
    expect(compileCesql(chain).evaluate({ a: false })).toEqual({ value: false, errors: [] });
    const parens = `${'('.repeat(MAX_NESTING - 1)}1${')'.repeat(MAX_NESTING - 1)}`;
    expect(compileCesql(parens).evaluate({})).toEqual({ value: 1, errors: [] });
  });

  it.each([
    ['a 100,000-clause chain', Array.from({ length: 100_000 }, () => 'a').join(' OR ')],
    ['100,000 parentheses', `${'('.repeat(100_000)}1${')'.repeat(100_000)}`],
    ['100,000 NOTs', `${'NOT '.repeat(100_000)}TRUE`],
    ['100,000 minus signs', `${'-'.repeat(100_000)}1`],
    ['100,000 nested calls', `${'ABS('.repeat(100_000)}1${')'.repeat(100_000)}`],
  ])('%s', (_, expression) => {
    const e = compileError(expression);
    expect(e.kind).toBe('parse');
    expect(e.reason).toBe(
      `expression nested too deeply (more than ${MAX_NESTING} levels of operators, parentheses or calls)`,
    );
  });
});

describe('length limit', () => {
  it('refuses an expression over MAX_EXPRESSION_LENGTH with the column where the limit is', () => {
    const long = `a = '${'x'.repeat(MAX_EXPRESSION_LENGTH)}'`;
    const e = compileError(long);
    expect(e.kind).toBe('parse');
    expect(e.column).toBe(MAX_EXPRESSION_LENGTH + 1);
    expect(e.message).toBe(
      `expression longer than the limit of ${MAX_EXPRESSION_LENGTH} characters (has ${long.length}) at column ${MAX_EXPRESSION_LENGTH + 1}`,
    );
    expect(() => parse(`a = '${'x'.repeat(MAX_EXPRESSION_LENGTH - 6)}'`)).not.toThrow();
  });
});
