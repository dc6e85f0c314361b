// Hostile input for CESQL: any text compiles or gives a located CesqlCompileError (nothing else, no
// stack overflow, no hang), and a well-formed expression evaluates on any event without throwing:
// CESQL's evaluation errors are values.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkFuzz, oddString } from '../../../../test/harness/fuzz.js';
import { compileCesql } from './compile.js';
import { CesqlCompileError } from './errors.js';

function compileOrReject(text: string): ReturnType<typeof compileCesql> | undefined {
  try {
    return compileCesql(text);
  } catch (error) {
    if (!(error instanceof CesqlCompileError)) throw error;
    expect(error.message).toMatch(/(line \d+, )?column \d+/);
    expect(error.column).toBeGreaterThanOrEqual(1);
    return undefined;
  }
}

const name = fc.constantFrom('id', 'source', 'type', 'subject', 'missing', 'ext1', 'Time', 'specversion');
const literal = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map(String),
  fc.constantFrom('TRUE', 'FALSE', '2147483648', '0', '-0'),
  fc.string({ maxLength: 8 }).map((s) => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`),
  fc.string({ maxLength: 8 }).map((s) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`),
);

/** Well-formed expressions, printed as text (any type mix: type errors are evaluation errors). */
const { expression } = fc.letrec<{ expression: string }>((tie) => ({
  expression: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    literal,
    name,
    name.map((n) => `EXISTS ${n}`),
    fc.tuple(fc.constantFrom('NOT ', '-'), tie('expression')).map(([op, e]) => `${op}(${e})`),
    fc
      .tuple(
        tie('expression'),
        fc.constantFrom('+', '-', '*', '/', '%', '=', '!=', '<>', '<', '<=', '>', '>=', 'AND', 'OR', 'XOR'),
        tie('expression'),
      )
      .map(([a, op, b]) => `(${a}) ${op} (${b})`),
    fc
      .tuple(
        tie('expression'),
        fc.boolean(),
        fc.string({ maxLength: 6, unit: fc.constantFrom('a', '%', '_', '\\\\%', 'b') }),
      )
      .map(([e, not, pattern]) => `(${e}) ${not ? 'NOT ' : ''}LIKE '${pattern}'`),
    fc
      .tuple(tie('expression'), fc.boolean(), fc.array(literal, { minLength: 1, maxLength: 4 }))
      .map(([e, not, set]) => `(${e}) ${not ? 'NOT ' : ''}IN (${set.join(', ')})`),
    fc
      .tuple(
        fc.constantFrom(
          ['LENGTH', 1],
          ['UPPER', 1],
          ['LOWER', 1],
          ['TRIM', 1],
          ['ABS', 1],
          ['INT', 1],
          ['BOOL', 1],
          ['STRING', 1],
          ['IS_INT', 1],
          ['IS_BOOL', 1],
          ['LEFT', 2],
          ['RIGHT', 2],
          ['SUBSTRING', 2],
          ['SUBSTRING', 3],
          ['CONCAT', 3],
          ['CONCAT_WS', 3],
        ) as fc.Arbitrary<[string, number]>,
        fc.array(tie('expression'), { minLength: 3, maxLength: 3 }),
      )
      .map(([[fn, arity], args]) => `${fn}(${args.slice(0, arity).join(', ')})`),
  ),
}));

const event = fc.record(
  {
    specversion: fc.constant('1.0'),
    id: oddString(),
    source: oddString(),
    type: oddString(),
    subject: oddString(),
    time: fc.constantFrom('2024-01-01T00:00:00Z', 'yesterday'),
    ext1: fc.oneof(oddString(), fc.integer(), fc.boolean(), fc.double()),
    data: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: ['specversion', 'id', 'source', 'type'] },
);

describe('CESQL under hostile input', () => {
  it('any text compiles or gives a located CesqlCompileError', () => {
    const tokens = fc.constantFrom(
      '(',
      ')',
      "'",
      '"',
      'AND',
      'NOT',
      'LIKE',
      'IN',
      'EXISTS',
      ',',
      '-',
      '%',
      'a',
      '1',
      ' ',
    );
    const text = fc.oneof(
      oddString(60),
      fc.array(tokens, { maxLength: 40 }).map((t) => t.join(' ')),
      fc.array(tokens, { maxLength: 40 }).map((t) => t.join('')),
    );
    checkFuzz('cesql: arbitrary text', 0.5, text, (t) => {
      compileOrReject(t);
    });
  });

  it('deep nesting is refused with a located error, never a stack overflow', () => {
    const deep = fc.tuple(
      fc.integer({ min: 1, max: 20_000 }),
      fc.constantFrom(['(', ')'], ['NOT ', ''], ['-', ''], ['ABS(', ')'], ['a = (', ')']),
    );
    checkFuzz('cesql: deep nesting', 0.05, deep, ([depth, [open, close]]) => {
      compileOrReject(`${open.repeat(depth)}1${close.repeat(depth)}`);
    });
  });

  it('a well-formed expression evaluates on any event without throwing', () => {
    checkFuzz('cesql: evaluate well-formed', 0.5, fc.tuple(expression, event), ([text, e]) => {
      const compiled = compileOrReject(text);
      if (compiled === undefined) return;
      const result = compiled.evaluate(e);
      expect(['boolean', 'number', 'string']).toContain(typeof result.value);
      for (const error of result.errors) expect(error.message).not.toBe('');
      expect(typeof compiled.matches(e)).toBe('boolean');
    });
  });
});
