import { CesqlCompileError } from './errors.js';

export type Punctuator =
  | '('
  | ')'
  | ','
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '='
  | '!='
  | '<>'
  | '<'
  | '<='
  | '>'
  | '>=';

export type Token =
  /** A run of digits; its value is checked by the parser, which knows whether a sign precedes it. */
  | { readonly type: 'integer'; readonly text: string; readonly start: number; readonly end: number }
  /** A quoted string literal; `value` has its escapes resolved. */
  | { readonly type: 'string'; readonly value: string; readonly start: number; readonly end: number }
  /** Letters, digits and '_' (not only digits): a keyword, an attribute name or a function name. */
  | {
      readonly type: 'word';
      readonly text: string;
      readonly upper: string;
      readonly start: number;
      readonly end: number;
    }
  | { readonly type: 'punct'; readonly text: Punctuator; readonly start: number; readonly end: number }
  | { readonly type: 'eof'; readonly start: number; readonly end: number };

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11;
}

/**
 * Reads a string literal opening at `start`. Per the grammar, the only escape is a backslash before the
 * delimiting quote; any other backslash is kept as is (so LIKE patterns receive their `\%` and `\_`).
 */
function readString(source: string, start: number): Token {
  const quote = source.charCodeAt(start);
  let value = '';
  let chunk = start + 1;
  let i = start + 1;
  while (i < source.length) {
    const c = source.charCodeAt(i);
    if (c === 92 && source.charCodeAt(i + 1) === quote) {
      value += `${source.slice(chunk, i)}${String.fromCharCode(quote)}`;
      i += 2;
      chunk = i;
    } else if (c === quote) {
      value += source.slice(chunk, i);
      return { type: 'string', value, start, end: i + 1 };
    } else {
      i++;
    }
  }
  throw new CesqlCompileError(
    'parse',
    'unterminated string literal',
    source,
    start,
    undefined,
    `no closing ${String.fromCharCode(quote)} found; a ${String.fromCharCode(quote)} inside the string is written \\${String.fromCharCode(quote)}`,
  );
}

const TWO_CHAR: Record<string, Punctuator> = { '!=': '!=', '<>': '<>', '<=': '<=', '>=': '>=' };
const ONE_CHAR: Record<string, Punctuator> = {
  '(': '(',
  ')': ')',
  ',': ',',
  '+': '+',
  '-': '-',
  '*': '*',
  '/': '/',
  '%': '%',
  '=': '=',
  '<': '<',
  '>': '>',
};

/** Splits an expression into tokens; the last one is always `eof`. */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (isWordChar(c)) {
      const start = i;
      let digitsOnly = true;
      while (i < source.length && isWordChar(source.charCodeAt(i))) {
        if (!isDigit(source.charCodeAt(i))) digitsOnly = false;
        i++;
      }
      const text = source.slice(start, i);
      tokens.push(
        digitsOnly
          ? { type: 'integer', text, start, end: i }
          : { type: 'word', text, upper: text.toUpperCase(), start, end: i },
      );
      continue;
    }
    if (c === 39 || c === 34) {
      const token = readString(source, i);
      tokens.push(token);
      i = token.end;
      continue;
    }
    const two = TWO_CHAR[source.slice(i, i + 2)];
    if (two) {
      tokens.push({ type: 'punct', text: two, start: i, end: i + 2 });
      i += 2;
      continue;
    }
    const one = ONE_CHAR[source.charAt(i)];
    if (one) {
      tokens.push({ type: 'punct', text: one, start: i, end: i + 1 });
      i++;
      continue;
    }
    const ch = String.fromCodePoint(source.codePointAt(i) ?? c);
    const hint = ch === '!' ? " ('!' is only valid in '!='; use NOT for negation)" : '';
    throw new CesqlCompileError('parse', `unexpected character ${JSON.stringify(ch)}${hint}`, source, i);
  }
  tokens.push({ type: 'eof', start: source.length, end: source.length });
  return tokens;
}
