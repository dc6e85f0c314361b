import { CloudEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { type CesqlAttributes, compileCesql } from './index.js';

const EVENT = { specversion: '1.0', id: 'e-1', source: '/orders', type: 'com.example.order.created' };

function run(expression: string, event: CesqlAttributes = EVENT) {
  const { value, errors } = compileCesql(expression).evaluate(event);
  return { value, errors: errors.map((e) => e.kind) };
}

describe('32-bit integer arithmetic', () => {
  it.each([
    ['7 / 2', 3],
    ['-7 / 2', -3],
    ['7 / -2', -3],
    ['7 % 3', 1],
    ['-7 % 3', -1],
    ['7 % -3', 1],
    ['-2147483648 % -1', 0],
    ['0 * -5', 0],
    ['-0', 0],
    ['2147483647 - 2147483647', 0],
  ])('%s = %d', (expression, value) => {
    expect(run(expression)).toEqual({ value, errors: [] });
    expect(Object.is(run(expression).value, -0)).toBe(false);
  });

  it.each([
    ['2147483647 + 1', -2147483648],
    ['-2147483648 - 1', 2147483647],
    ['65536 * 65536', 0],
    ['-2147483648 / -1', -2147483648],
    ['- -2147483648', -2147483648],
    ['ABS(-2147483648)', 2147483647],
    ["INT('2147483647') + 1", -2147483648],
  ])('overflow: %s wraps to %d and raises a math error', (expression, value) => {
    expect(run(expression)).toEqual({ value, errors: ['math'] });
  });

  it('a math error under a comparison makes the comparison false', () => {
    expect(run('2147483647 + 1 < 0')).toEqual({ value: false, errors: ['math'] });
  });

  it('String -> Integer casts: optional sign, digits only, 32-bit range', () => {
    expect(run("'+42' + 0")).toEqual({ value: 42, errors: [] });
    expect(run("'-0042' + 0")).toEqual({ value: -42, errors: [] });
    expect(run("' 42' + 0")).toEqual({ value: 0 + 0, errors: ['cast'] });
    expect(run("'4.2' + 1")).toEqual({ value: 1, errors: ['cast'] });
    expect(run("'2147483648' + 0")).toEqual({ value: 0, errors: ['cast'] });
    expect(run("INT('-2147483648')")).toEqual({ value: -2147483648, errors: [] });
  });
});

describe('attribute values from the event map', () => {
  it('strings, booleans and 32-bit integers keep their type; other values are their String form', () => {
    const event = {
      ...EVENT,
      count: 10,
      flag: false,
      ratio: 1.5,
      big: 2 ** 40,
      huge: 10n,
      when: new Date('2024-01-02T03:04:05.000Z'),
      bytes: new Uint8Array([1, 2, 3, 250]),
      url: new URL('https://example.com/a'),
    };
    expect(run('count + 1', event)).toEqual({ value: 11, errors: [] });
    expect(run('NOT flag', event)).toEqual({ value: true, errors: [] });
    expect(run('ratio', event)).toEqual({ value: '1.5', errors: [] });
    expect(run('big', event)).toEqual({ value: '1099511627776', errors: [] });
    expect(run('huge * 2', event)).toEqual({ value: 20, errors: [] });
    expect(run('when', event)).toEqual({ value: '2024-01-02T03:04:05.000Z', errors: [] });
    expect(run('bytes', event)).toEqual({ value: 'AQID+g==', errors: [] });
    expect(run("url LIKE 'https://%'", event)).toEqual({ value: true, errors: [] });
  });

  it('null, undefined, functions and inherited Object members are absent', () => {
    const event = { ...EVENT, nothing: null, undef: undefined, fn: () => 'x' };
    for (const name of ['nothing', 'undef', 'fn', 'constructor', 'missing']) {
      expect(run(name, event)).toEqual({ value: false, errors: ['missingAttribute'] });
      expect(run(`EXISTS ${name}`, event)).toEqual({ value: false, errors: [] });
    }
  });

  it('data is never an attribute, even when the caller passes a whole CloudEvent with its payload', () => {
    const event = { ...EVENT, data: 'payload' };
    expect(compileCesql("data = 'payload'").evaluate(event).errors).toEqual([
      {
        kind: 'missingAttribute',
        offset: 0,
        message: "'data' is not an attribute: CESQL cannot read event data",
      },
    ]);
    expect(run('EXISTS data', event)).toEqual({ value: false, errors: [] });
  });

  it('a CloudEvent of the cloudevents SDK can be passed as the attribute map', () => {
    const event = new CloudEvent({
      type: 'com.example.order.created',
      source: '/orders',
      subject: 'o-1',
      time: '2024-05-06T07:08:09Z',
      priority: 3,
      urgent: true,
      data: { total: 10 },
    });
    const filter = compileCesql(
      "type LIKE 'com.example.%' AND specversion = '1.0' AND priority > 2 AND urgent AND time LIKE '2024-%' AND NOT EXISTS data",
    );
    expect(filter.evaluate(event as unknown as CesqlAttributes)).toEqual({ value: true, errors: [] });
  });

  it('attribute names are case-insensitive in the expression and looked up in lower case', () => {
    expect(run("ID = 'e-1' AND Source = '/orders'")).toEqual({ value: true, errors: [] });
  });

  it('a missing attribute makes the enclosing operator return its zero value, once', () => {
    expect(run('missing + 1')).toEqual({ value: 0, errors: ['missingAttribute'] });
    expect(run("CONCAT('a', missing)")).toEqual({ value: '', errors: ['missingAttribute'] });
    expect(run('LENGTH(missing)')).toEqual({ value: 0, errors: ['missingAttribute'] });
    expect(run('missing NOT LIKE "x"')).toEqual({ value: false, errors: ['missingAttribute'] });
    expect(run("missing NOT IN ('x')")).toEqual({ value: false, errors: ['missingAttribute'] });
    expect(run("type IN ('x', missing, 'com.example.order.created')")).toEqual({
      value: false,
      errors: ['missingAttribute'],
    });
    expect(run('missing XOR TRUE')).toEqual({ value: false, errors: ['missingAttribute'] });
    expect(run('a = 1 OR b = 2')).toEqual({ value: false, errors: ['missingAttribute'] });
  });
});

describe('operators and casts', () => {
  it('= takes the type of its right operand; ordering operators compare as integers', () => {
    expect(run("'10' = 10")).toEqual({ value: true, errors: [] });
    expect(run("10 = '10'")).toEqual({ value: true, errors: [] });
    expect(run("'abc' = 1")).toEqual({ value: false, errors: ['cast'] });
    expect(run("'9' < '10'")).toEqual({ value: true, errors: [] });
    expect(run("TRUE = 'true'")).toEqual({ value: true, errors: [] });
    expect(run('1 = TRUE')).toEqual({ value: false, errors: ['cast'] });
  });

  it('IN casts the set to the left operand type and stops at the first match', () => {
    expect(run("1 IN (1, 'x')")).toEqual({ value: true, errors: [] });
    expect(run("2 IN (1, 'x')")).toEqual({ value: false, errors: ['cast'] });
    expect(run("'2' IN (1, 2)")).toEqual({ value: true, errors: [] });
    expect(run("type IN ('a', 'com.example.order.created')")).toEqual({ value: true, errors: [] });
    expect(run("type NOT IN ('a', 'b')")).toEqual({ value: true, errors: [] });
    expect(run('TRUE IN (FALSE, 1)')).toEqual({ value: false, errors: ['cast'] });
    expect(run("id IN (source, 'e-1')")).toEqual({ value: true, errors: [] });
  });

  it('AND and OR short-circuit; XOR evaluates both sides', () => {
    expect(run('FALSE AND missing')).toEqual({ value: false, errors: [] });
    expect(run('TRUE OR missing')).toEqual({ value: true, errors: [] });
    expect(run('TRUE XOR missing')).toEqual({ value: false, errors: ['missingAttribute'] });
    expect(run("'true' AND 'TRUE'")).toEqual({ value: true, errors: [] });
    expect(run('1 AND TRUE')).toEqual({ value: false, errors: ['cast'] });
  });

  it('string functions count Unicode characters (code points)', () => {
    expect(run("LENGTH('a😀b')")).toEqual({ value: 3, errors: [] });
    expect(run("LEFT('😀😀x', 2)")).toEqual({ value: '😀😀', errors: [] });
    expect(run("RIGHT('x😀😀', 1)")).toEqual({ value: '😀', errors: [] });
    expect(run("SUBSTRING('a😀bc', 2, 2)")).toEqual({ value: '😀b', errors: [] });
    expect(run("SUBSTRING('a😀bc', -2)")).toEqual({ value: 'bc', errors: [] });
    expect(run("TRIM('\u00a0\u2003 x y \n\t')")).toEqual({ value: 'x y', errors: [] });
    expect(run("UPPER('straße')")).toEqual({ value: 'STRASSE', errors: [] });
    expect(run("CONCAT_WS('-', 1, TRUE, 'x')")).toEqual({ value: '1-true-x', errors: [] });
    expect(run("LEFT('abc', 'x')")).toEqual({ value: '', errors: ['cast'] });
  });

  it('IS_BOOL and IS_INT tell whether a cast would succeed', () => {
    expect(run("IS_BOOL('False') AND IS_INT('-12') AND NOT IS_INT('1x') AND NOT IS_BOOL('yes')")).toEqual({
      value: true,
      errors: [],
    });
  });
});

describe('compiled expressions', () => {
  it('constant subexpressions are folded but their errors are still reported on every evaluation', () => {
    const compiled = compileCesql('id = STRING(5 / 0)');
    for (let i = 0; i < 3; i++) expect(compiled.evaluate(EVENT).errors.map((e) => e.kind)).toEqual(['math']);
  });

  it('errors carry the 0-based offset of what raised them and a readable message', () => {
    const { errors } = compileCesql('id = 1 OR 10 / (2 - 2) = 1').evaluate(EVENT);
    expect(errors).toEqual([
      {
        kind: 'cast',
        offset: 3,
        message: 'cannot cast String "e-1" to Integer: not a base-10 32-bit integer',
      },
    ]);
    expect(compileCesql('TRUE AND 10 / (2 - 2) = 1').evaluate(EVENT).errors).toEqual([
      { kind: 'math', offset: 12, message: 'division by zero: 10 / 0' },
    ]);
    expect(compileCesql('x').evaluate(EVENT).errors).toEqual([
      { kind: 'missingAttribute', offset: 0, message: "missing attribute 'x'" },
    ]);
  });

  it('matches(): only a Boolean true without errors passes, and an error does not leak into the next call', () => {
    const filter = compileCesql("type LIKE 'com.example.%' AND INT(seq) > 0");
    expect(filter.matches({ ...EVENT, seq: '5' })).toBe(true);
    expect(filter.matches({ ...EVENT, seq: 'five' })).toBe(false); // cast error
    expect(filter.matches(EVENT)).toBe(false); // missing attribute
    expect(filter.matches({ ...EVENT, seq: '5' })).toBe(true);
    expect(compileCesql('1').matches(EVENT)).toBe(false);
    expect(compileCesql("'true'").matches(EVENT)).toBe(false);
    expect(compileCesql('NOT 10').matches(EVENT)).toBe(false); // true, but with a cast error
  });

  it('evaluation never throws, whatever the event holds', () => {
    const compiled = compileCesql("LENGTH(a) + INT(b) > 0 AND c LIKE '%' AND d IN (1, 'x', TRUE)");
    const odd = [
      {},
      { a: {}, b: [], c: Symbol('s'), d: null },
      { a: Number.NaN, b: Number.POSITIVE_INFINITY, c: -0, d: 2 ** 53 },
      { a: new Date(Number.NaN), b: '99999999999', c: '', d: 'x' },
    ];
    for (const event of odd) expect(() => compiled.evaluate(event as CesqlAttributes)).not.toThrow();
  });
});
