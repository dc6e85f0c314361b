/**
 * LIKE patterns without regular expressions. A pattern is compiled once into a matcher; the general case is the
 * two-pointer wildcard walk that remembers only the last '%', so a match costs at most O(value × pattern) steps
 * and never backtracks exponentially (no regex DoS). Common shapes (exact, prefix%, %suffix, %infix%) use
 * native string operations.
 */

const LITERAL = 0;
const ONE = 1; // '_': exactly one character (a Unicode code point)
const ANY = 2; // '%': any run of characters, possibly empty

export type LikeMatcher = (value: string) => boolean;

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** UTF-16 units taken by the code point at `i` (1, or 2 for a surrogate pair). */
function unitsAt(value: string, i: number): number {
  return isHighSurrogate(value.charCodeAt(i)) && isLowSurrogate(value.charCodeAt(i + 1)) ? 2 : 1;
}

interface CompiledPattern {
  kinds: Uint8Array;
  units: Uint16Array;
}

/**
 * Resolves escapes: a backslash makes the following '%' or '_' literal; before anything else it is itself a
 * literal character (so `'ab\c'` matches the value `ab\c`). Consecutive '%' collapse into one.
 */
function compilePattern(pattern: string): CompiledPattern {
  const kinds: number[] = [];
  const units: number[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    const following = pattern.charCodeAt(i + 1);
    if (c === 92 && (following === 37 || following === 95)) {
      kinds.push(LITERAL);
      units.push(following);
      i++;
    } else if (c === 37) {
      if (kinds[kinds.length - 1] !== ANY) {
        kinds.push(ANY);
        units.push(0);
      }
    } else if (c === 95) {
      kinds.push(ONE);
      units.push(0);
    } else {
      kinds.push(LITERAL);
      units.push(c);
    }
  }
  return { kinds: Uint8Array.from(kinds), units: Uint16Array.from(units) };
}

function generalMatcher({ kinds, units }: CompiledPattern): LikeMatcher {
  const m = kinds.length;
  return (value) => {
    const n = value.length;
    let p = 0;
    let s = 0;
    let starP = -1; // pattern index just after the last '%' seen
    let starS = 0; // value index that last '%' currently stops before
    while (s < n) {
      const kind = p < m ? kinds[p] : -1;
      if (kind === LITERAL && units[p] === value.charCodeAt(s)) {
        p++;
        s++;
      } else if (kind === ONE) {
        p++;
        s += unitsAt(value, s);
      } else if (kind === ANY) {
        p++;
        starP = p;
        starS = s;
      } else if (starP >= 0) {
        // Let the last '%' swallow one more character and retry the rest of the pattern from there. Earlier
        // '%'s never need revisiting: any match they would allow, the last one allows too.
        starS += unitsAt(value, starS);
        s = starS;
        p = starP;
      } else {
        return false;
      }
    }
    while (p < m && kinds[p] === ANY) p++;
    return p === m;
  };
}

/** Compiles a LIKE pattern (as written in the string literal, escapes included) into a matcher. */
export function compileLike(pattern: string): LikeMatcher {
  const compiled = compilePattern(pattern);
  const { kinds } = compiled;
  const literalRun = (from: number, to: number) => {
    let text = '';
    for (let i = from; i < to; i++) {
      if (kinds[i] !== LITERAL) return undefined;
      text += String.fromCharCode(compiled.units[i]!);
    }
    return text;
  };
  const m = kinds.length;
  const exact = literalRun(0, m);
  if (exact !== undefined) return (value) => value === exact;
  if (m >= 1 && kinds[m - 1] === ANY) {
    const prefix = literalRun(0, m - 1);
    if (prefix !== undefined) return (value) => value.startsWith(prefix);
  }
  if (m >= 1 && kinds[0] === ANY) {
    const suffix = literalRun(1, m);
    if (suffix !== undefined) return (value) => value.endsWith(suffix);
  }
  if (m >= 2 && kinds[0] === ANY && kinds[m - 1] === ANY) {
    const infix = literalRun(1, m - 1);
    if (infix !== undefined) return (value) => value.includes(infix);
  }
  return generalMatcher(compiled);
}
