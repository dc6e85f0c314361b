import type { BinaryOperator, CesqlWarning, LogicalOperator, Node } from './ast.js';
import { CesqlCompileError, describePosition } from './errors.js';
import { type Token, tokenize } from './lexer.js';

const KEYWORDS = new Set(['AND', 'OR', 'XOR', 'NOT', 'LIKE', 'IN', 'EXISTS', 'TRUE', 'FALSE']);

/**
 * Binding powers, loosest first, as CESQL v1.0 section 3.6 orders them: AND/OR/XOR share one level (left to
 * right, unlike SQL where AND binds tighter), then comparisons, + -, * / %, IN, LIKE, and the unary NOT and -
 * bind tightest of all (`NOT a = b` is `(NOT a) = b`).
 */
const BP_LOGICAL = 1;
const BP_COMPARISON = 2;
const BP_ADDITIVE = 3;
const BP_MULTIPLICATIVE = 4;
const BP_IN = 5;
const BP_LIKE = 6;
const BP_UNARY = 7;

const INT32_MAX = 2147483647;

/**
 * Deepest tree accepted. Parsing, compiling and evaluating recurse once per level, so this keeps all three far
 * from the JavaScript stack limit (a 100,000-clause chain is rejected instead of overflowing at evaluation).
 */
export const MAX_NESTING = 1000;

/** Longest expression accepted: bounds the lexer's work and the memory one filter holds (nesting is bounded above). */
export const MAX_EXPRESSION_LENGTH = 1024 * 1024;

const ATTRIBUTE_NAME = /^[A-Za-z0-9]+$/;
const FUNCTION_NAME = /^[A-Za-z][A-Za-z_]*$/;

function binaryPower(token: Token): { operator: BinaryOperator; bp: number } | undefined {
  if (token.type === 'punct') {
    switch (token.text) {
      case '*':
      case '/':
      case '%':
        return { operator: token.text, bp: BP_MULTIPLICATIVE };
      case '+':
      case '-':
        return { operator: token.text, bp: BP_ADDITIVE };
      case '=':
      case '!=':
      case '<>':
      case '<':
      case '<=':
      case '>':
      case '>=':
        return { operator: token.text, bp: BP_COMPARISON };
      default:
        return undefined;
    }
  }
  if (token.type === 'word' && (token.upper === 'AND' || token.upper === 'OR' || token.upper === 'XOR'))
    return { operator: token.upper, bp: BP_LOGICAL };
  return undefined;
}

function describe(token: Token): string {
  switch (token.type) {
    case 'eof':
      return 'end of input';
    case 'integer':
      return `integer ${token.text}`;
    case 'string':
      return `string ${JSON.stringify(token.value)}`;
    case 'word':
      return KEYWORDS.has(token.upper) ? `keyword ${token.upper}` : `identifier '${token.text}'`;
    case 'punct':
      return `'${token.text}'`;
  }
}

export interface ParseResult {
  readonly ast: Node;
  readonly warnings: readonly CesqlWarning[];
}

class Parser {
  #index = 0;
  #depth = 0;
  readonly #heights = new WeakMap<Node, number>();
  readonly warnings: CesqlWarning[] = [];

  readonly #source: string;
  readonly #tokens: readonly Token[];

  constructor(source: string, tokens: readonly Token[]) {
    this.#source = source;
    this.#tokens = tokens;
  }

  #peek(ahead = 0): Token {
    // The eof token is last, so clamping keeps every lookahead defined.
    return this.#tokens[Math.min(this.#index + ahead, this.#tokens.length - 1)]!;
  }

  #next(): Token {
    const token = this.#peek();
    if (this.#index < this.#tokens.length - 1) this.#index++;
    return token;
  }

  #fail(reason: string, token: Token, note?: string): never {
    throw new CesqlCompileError('parse', reason, this.#source, token.start, describe(token), note);
  }

  #at(token: Token): string {
    return describePosition(this.#source, token.start);
  }

  #isWord(token: Token, upper: string): boolean {
    return token.type === 'word' && token.upper === upper;
  }

  #expectPunct(text: string, reason: string, note?: string): Token {
    const token = this.#peek();
    if (token.type !== 'punct' || token.text !== text) this.#fail(reason, token, note);
    return this.#next();
  }

  parseRoot(): Node {
    if (this.#peek().type === 'eof') this.#fail('expected an expression', this.#peek());
    const ast = this.#parseExpression(BP_LOGICAL);
    const rest = this.#peek();
    if (rest.type !== 'eof') {
      if (rest.type === 'punct' && rest.text === ')')
        throw new CesqlCompileError('parse', "unmatched ')'", this.#source, rest.start);
      this.#fail('expected an operator or end of input', rest);
    }
    return ast;
  }

  /** Records a node's height (1 + its tallest child) and rejects trees deeper than MAX_NESTING. */
  #grown<T extends Node>(node: T, children: readonly Node[]): T {
    let height = 1;
    for (const child of children) height = Math.max(height, (this.#heights.get(child) ?? 1) + 1);
    if (height > MAX_NESTING) this.#tooDeep(node.start);
    this.#heights.set(node, height);
    return node;
  }

  #tooDeep(offset: number): never {
    throw new CesqlCompileError(
      'parse',
      `expression nested too deeply (more than ${MAX_NESTING} levels of operators, parentheses or calls)`,
      this.#source,
      offset,
    );
  }

  #parseExpression(minBp: number): Node {
    if (++this.#depth > MAX_NESTING) this.#tooDeep(this.#peek().start);
    try {
      return this.#parseExpressionLoop(minBp);
    } finally {
      this.#depth--;
    }
  }

  #parseExpressionLoop(minBp: number): Node {
    let left = this.#parseOperand();
    for (;;) {
      const token = this.#peek();
      if (this.#isWord(token, 'NOT')) {
        const after = this.#peek(1);
        const bp = this.#isWord(after, 'LIKE') ? BP_LIKE : this.#isWord(after, 'IN') ? BP_IN : 0;
        if (bp === 0) this.#fail('expected LIKE or IN after NOT', after);
        if (bp < minBp) return left;
        this.#next();
        left = bp === BP_LIKE ? this.#parseLike(left, token, true) : this.#parseIn(left, token, true);
        continue;
      }
      if (this.#isWord(token, 'LIKE')) {
        if (BP_LIKE < minBp) return left;
        left = this.#parseLike(left, token, false);
        continue;
      }
      if (this.#isWord(token, 'IN')) {
        if (BP_IN < minBp) return left;
        left = this.#parseIn(left, token, false);
        continue;
      }
      const binary = binaryPower(token);
      if (!binary || binary.bp < minBp) return left;
      this.#next();
      this.#checkNotOperand(left, binary.operator);
      if (binary.bp === BP_LOGICAL) this.#checkMixedLogic(left, binary.operator as LogicalOperator, token);
      const right = this.#parseExpression(binary.bp + 1);
      left = this.#grown(
        {
          type: 'binary',
          operator: binary.operator,
          operatorStart: token.start,
          left,
          right,
          start: left.start,
          end: right.end,
        },
        [left, right],
      );
    }
  }

  #parseLike(operand: Node, operatorToken: Token, negated: boolean): Node {
    this.#next(); // LIKE
    this.#checkNotOperand(operand, negated ? 'NOT LIKE' : 'LIKE');
    const pattern = this.#next();
    if (pattern.type !== 'string')
      throw new CesqlCompileError(
        'parse',
        'expected a string literal pattern after LIKE (the pattern cannot be computed)',
        this.#source,
        pattern.start,
        describe(pattern),
      );
    return this.#grown(
      {
        type: 'like',
        negated,
        operatorStart: operatorToken.start,
        operand,
        pattern: pattern.value,
        start: operand.start,
        end: pattern.end,
      },
      [operand],
    );
  }

  #parseIn(operand: Node, operatorToken: Token, negated: boolean): Node {
    this.#next(); // IN
    this.#checkNotOperand(operand, negated ? 'NOT IN' : 'IN');
    const open = this.#peek();
    this.#expectPunct('(', `expected '(' after ${negated ? 'NOT IN' : 'IN'}`);
    const set: Node[] = [];
    if (this.#peek().type === 'punct' && (this.#peek() as { text: string }).text === ')')
      this.#fail(`expected at least one value in the set after ${negated ? 'NOT IN' : 'IN'}`, this.#peek());
    for (;;) {
      set.push(this.#parseExpression(BP_LOGICAL));
      const token = this.#peek();
      if (token.type === 'punct' && token.text === ',') {
        this.#next();
        continue;
      }
      if (token.type === 'punct' && token.text === ')') break;
      this.#fail("expected ',' or ')'", token, `in the set opened at ${this.#at(open)}`);
    }
    const close = this.#next();
    return this.#grown(
      {
        type: 'in',
        negated,
        operatorStart: operatorToken.start,
        operand,
        set,
        start: operand.start,
        end: close.end,
      },
      [operand, ...set],
    );
  }

  #parseOperand(): Node {
    const token = this.#peek();
    switch (token.type) {
      case 'integer':
        this.#next();
        return this.#integerLiteral(token.text, false, token.start, token.end);
      case 'string':
        this.#next();
        return { type: 'literal', value: token.value, start: token.start, end: token.end };
      case 'punct':
        return this.#parsePunctOperand(token);
      case 'word':
        return this.#parseWordOperand(token);
      case 'eof':
        return this.#fail('expected an expression', token);
    }
  }

  #integerLiteral(digits: string, negative: boolean, start: number, end: number): Node {
    // Digits are compared as a number only after the range check on length, so huge literals do not lose
    // precision into a false "in range".
    const magnitude = digits.replace(/^0+(?=\d)/, '');
    const limit = negative ? INT32_MAX + 1 : INT32_MAX;
    if (magnitude.length > 10 || Number(magnitude) > limit)
      throw new CesqlCompileError(
        'parse',
        `integer literal ${negative ? '-' : ''}${digits} is outside the 32-bit signed range (-2147483648 to 2147483647)`,
        this.#source,
        start,
      );
    const value = negative ? -Number(magnitude) | 0 : Number(magnitude);
    return { type: 'literal', value, start, end };
  }

  #parsePunctOperand(token: Token & { type: 'punct' }): Node {
    if (token.text === '(') {
      this.#next();
      if (this.#peek().type === 'punct' && (this.#peek() as { text: string }).text === ')')
        this.#fail("expected an expression inside '()'", this.#peek());
      const inner = this.#parseExpression(BP_LOGICAL);
      this.#expectPunct(')', "expected ')'", `to close the '(' at ${this.#at(token)}`);
      inner.parenthesized = true;
      return inner;
    }
    if (token.text === '-' || token.text === '+') {
      this.#next();
      const after = this.#peek();
      // A sign directly on digits is part of the literal (the grammar's `('+'|'-')? digit+`), which is what
      // makes -2147483648 expressible.
      if (after.type === 'integer') {
        this.#next();
        return this.#integerLiteral(after.text, token.text === '-', token.start, after.end);
      }
      if (token.text === '+')
        this.#fail("expected digits after '+' (CESQL has no unary plus operator)", after);
      const operand = this.#parseExpression(BP_UNARY);
      return this.#grown({ type: 'negate', operand, start: token.start, end: operand.end }, [operand]);
    }
    return this.#fail('expected an expression', token);
  }

  #parseWordOperand(token: Token & { type: 'word' }): Node {
    const after = this.#peek(1);
    const isCall = after.type === 'punct' && after.text === '(';
    switch (token.upper) {
      case 'TRUE':
      case 'FALSE':
        this.#next();
        return { type: 'literal', value: token.upper === 'TRUE', start: token.start, end: token.end };
      case 'NOT': {
        this.#next();
        const operand = this.#parseExpression(BP_UNARY);
        return this.#grown({ type: 'not', operand, start: token.start, end: operand.end }, [operand]);
      }
      case 'EXISTS': {
        this.#next();
        const name = this.#next();
        if (
          !(name.type === 'word' || name.type === 'integer') ||
          (name.type === 'word' && KEYWORDS.has(name.upper))
        )
          this.#fail('expected an attribute name after EXISTS', name);
        this.#checkAttributeName(name.text, name.start);
        return { type: 'exists', name: name.text.toLowerCase(), start: token.start, end: name.end };
      }
      default:
        break;
    }
    if (KEYWORDS.has(token.upper)) this.#fail('expected an expression', token);
    this.#next();
    if (isCall) return this.#parseCall(token);
    this.#checkAttributeName(token.text, token.start);
    return { type: 'attribute', name: token.text.toLowerCase(), start: token.start, end: token.end };
  }

  #checkAttributeName(text: string, start: number): void {
    if (!ATTRIBUTE_NAME.test(text))
      throw new CesqlCompileError(
        'parse',
        `invalid attribute name '${text}' (CloudEvents attribute names contain only letters and digits; a function call needs '(')`,
        this.#source,
        start,
      );
  }

  #parseCall(nameToken: Token & { type: 'word' }): Node {
    if (!FUNCTION_NAME.test(nameToken.text))
      throw new CesqlCompileError(
        'parse',
        `invalid function name '${nameToken.text}' (letters and '_' only, starting with a letter)`,
        this.#source,
        nameToken.start,
      );
    const open = this.#next(); // (
    const args: Node[] = [];
    const name = nameToken.upper;
    const first = this.#peek();
    if (!(first.type === 'punct' && first.text === ')')) {
      for (;;) {
        const argStart = this.#peek();
        if (argStart.type === 'eof')
          this.#fail("expected an argument or ')'", argStart, `to close ${name}( at ${this.#at(open)}`);
        args.push(this.#parseExpression(BP_LOGICAL));
        const token = this.#peek();
        if (token.type === 'punct' && token.text === ',') {
          this.#next();
          continue;
        }
        if (token.type === 'punct' && token.text === ')') break;
        this.#fail("expected ',' or ')'", token, `in the arguments of ${name}( at ${this.#at(open)}`);
      }
    }
    const close = this.#next();
    return this.#grown({ type: 'call', name, args, start: nameToken.start, end: close.end }, args);
  }

  /** `NOT x = y` is legal but means `(NOT x) = y`; the author almost always meant `NOT (x = y)`. */
  #checkNotOperand(left: Node, operator: string): void {
    if (
      left.type === 'not' &&
      !left.parenthesized &&
      operator !== 'AND' &&
      operator !== 'OR' &&
      operator !== 'XOR'
    )
      this.warnings.push({
        offset: left.start,
        message: `NOT binds tighter than ${operator} in CESQL, so 'NOT x ${operator} y' means '(NOT x) ${operator} y'; write 'NOT (x ${operator} y)'${operator === '=' ? " or 'x != y'" : operator === 'LIKE' || operator === 'IN' ? ` or 'x NOT ${operator} y'` : ''} if that is what you meant`,
      });
  }

  /** AND, OR and XOR share one precedence level in CESQL (evaluated left to right), unlike SQL. */
  #checkMixedLogic(left: Node, operator: LogicalOperator, token: Token): void {
    if (
      left.type === 'binary' &&
      !left.parenthesized &&
      isLogical(left.operator) &&
      left.operator !== operator
    )
      this.warnings.push({
        offset: token.start,
        message: `${left.operator} and ${operator} have the same precedence in CESQL and are evaluated left to right, so 'a ${left.operator} b ${operator} c' means '(a ${left.operator} b) ${operator} c'; SQL and other CESQL engines may group it differently, so add parentheses to make the intent explicit`,
      });
  }
}

function isLogical(operator: BinaryOperator): operator is LogicalOperator {
  return operator === 'AND' || operator === 'OR' || operator === 'XOR';
}

/** Parses an expression into its syntax tree; throws CesqlCompileError (kind `parse`) on a syntax error. */
export function parse(source: string): ParseResult {
  if (source.length > MAX_EXPRESSION_LENGTH) {
    throw new CesqlCompileError(
      'parse',
      `expression longer than the limit of ${MAX_EXPRESSION_LENGTH} characters (has ${source.length})`,
      source,
      MAX_EXPRESSION_LENGTH,
    );
  }
  const parser = new Parser(source, tokenize(source));
  const ast = parser.parseRoot();
  return { ast, warnings: parser.warnings };
}
