// Where the `data` member's value sits in the bytes of a structured-mode event (or of each event
// of a batch), so that JSON data can be kept as the exact bytes the sender wrote instead of
// being re-serialized from a parsed value (which drops whitespace, respells numbers such as
// 1.0 or 1e3, and rounds integers beyond 2^53).
//
// The input has already been accepted by JSON.parse, so the scan only has to find boundaries,
// not to check syntax. It works on bytes: every JSON structural character is ASCII and no byte
// of a multi-byte UTF-8 sequence is, so byte offsets come out directly and the value can be
// sliced without copying.

/** Byte range [start, end) of a top-level member value inside one JSON object. */
export interface ValueSpan {
  start: number;
  end: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
// "data" as bytes, with its quotes.
const DATA_KEY = Buffer.from('"data"', 'latin1');

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

function skipSpace(bytes: Uint8Array, at: number): number {
  let i = at;
  while (isSpace(bytes[i])) i++;
  return i;
}

/** Index just past the string starting with the quote at `at`. */
function skipString(bytes: Uint8Array, at: number): number {
  let i = at + 1;
  while (i < bytes.length) {
    const byte = bytes[i];
    if (byte === BACKSLASH) i += 2;
    else if (byte === QUOTE) return i + 1;
    else i++;
  }
  return i;
}

/** Index just past the JSON value starting at `at`. */
function skipValue(bytes: Uint8Array, at: number): number {
  const first = bytes[at];
  if (first === QUOTE) return skipString(bytes, at);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    let i = at;
    while (i < bytes.length) {
      const byte = bytes[i];
      if (byte === QUOTE) {
        i = skipString(bytes, i);
        continue;
      }
      if (byte === OPEN_BRACE || byte === OPEN_BRACKET) depth++;
      else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  let i = at;
  while (i < bytes.length) {
    const byte = bytes[i];
    if (byte === COMMA || byte === CLOSE_BRACE || byte === CLOSE_BRACKET || isSpace(byte)) break;
    i++;
  }
  return i;
}

function isDataKey(bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start === DATA_KEY.length) {
    for (let k = 0; k < DATA_KEY.length; k++) if (bytes[start + k] !== DATA_KEY[k]) return false;
    return true;
  }
  // A key spelled with escapes ("d\u0061ta") still names the member.
  if (!bytes.subarray(start, end).includes(BACKSLASH)) return false;
  return (
    JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8')) === 'data'
  );
}

/**
 * Scans the object starting at `at` (its `{`). Returns the index just past it and the span of
 * its top-level `data` member's value (the last one, as JSON.parse keeps the last duplicate).
 */
function scanObject(bytes: Uint8Array, at: number): { end: number; data: ValueSpan | undefined } {
  let data: ValueSpan | undefined;
  let i = skipSpace(bytes, at + 1);
  if (bytes[i] === CLOSE_BRACE) return { end: i + 1, data };
  while (i < bytes.length) {
    const keyStart = i;
    const keyEnd = skipString(bytes, keyStart);
    i = skipSpace(bytes, keyEnd);
    if (bytes[i] === COLON) i = skipSpace(bytes, i + 1);
    const valueStart = i;
    const valueEnd = skipValue(bytes, valueStart);
    if (isDataKey(bytes, keyStart, keyEnd)) data = { start: valueStart, end: valueEnd };
    i = skipSpace(bytes, valueEnd);
    if (bytes[i] === COMMA) i = skipSpace(bytes, i + 1);
    else return { end: i + 1, data };
  }
  return { end: i, data };
}

function skipBom(bytes: Uint8Array): number {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
}

/** The span of the `data` member of the single JSON object in `bytes` (valid JSON). */
export function structuredDataSpan(bytes: Uint8Array): ValueSpan | undefined {
  const at = skipSpace(bytes, skipBom(bytes));
  return bytes[at] === OPEN_BRACE ? scanObject(bytes, at).data : undefined;
}

/**
 * The span of the `data` member of each element of the JSON array in `bytes` (valid JSON), in
 * order; undefined for an element that is not an object or has no `data`.
 */
export function batchDataSpans(bytes: Uint8Array): (ValueSpan | undefined)[] {
  const spans: (ValueSpan | undefined)[] = [];
  let i = skipSpace(bytes, skipBom(bytes));
  if (bytes[i] !== OPEN_BRACKET) return spans;
  i = skipSpace(bytes, i + 1);
  if (bytes[i] === CLOSE_BRACKET) return spans;
  while (i < bytes.length) {
    if (bytes[i] === OPEN_BRACE) {
      const scanned = scanObject(bytes, i);
      spans.push(scanned.data);
      i = scanned.end;
    } else {
      spans.push(undefined);
      i = skipValue(bytes, i);
    }
    i = skipSpace(bytes, i);
    if (bytes[i] !== COMMA) break;
    i = skipSpace(bytes, i + 1);
  }
  return spans;
}
