// What `eddy get` and `eddy describe` show of a Secret or a ConfigMap: the keys and, for a Secret (as
// stored: redacted) and a ConfigMap's binaryData, each value's size in bytes. A Secret's value is never
// in what the server sends, and nothing here would print one.

import { decodeBase64, redactedSizes } from '@eddy/api';
import type { StoredResource } from '../admin/protocol.js';

const map = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** The number of keys (kubectl's DATA column). */
export function dataKeyCount(r: StoredResource): number {
  return Object.keys(map(r.data)).length + Object.keys(map(r.binaryData)).length;
}

/** `key: N bytes` for each key of a redacted Secret's data. */
export function secretDataLines(r: StoredResource): string[] {
  const sizes = redactedSizes(map(r.data));
  if (sizes.length === 0) return ['<none>'];
  const width = Math.max(...sizes.map(([k]) => k.length)) + 1;
  return sizes.map(([key, size]) => `${`${key}:`.padEnd(width)}  ${size === undefined ? '?' : size} bytes`);
}

/** `key: N bytes` for each key of a ConfigMap's binaryData (its base64 decoded). */
export function binaryDataLines(r: StoredResource): string[] {
  const entries = Object.entries(map(r.binaryData));
  if (entries.length === 0) return ['<none>'];
  const width = Math.max(...entries.map(([k]) => k.length)) + 1;
  return entries.map(
    ([key, value]) =>
      `${`${key}:`.padEnd(width)}  ${typeof value === 'string' ? (decodeBase64(value)?.length ?? '?') : '?'} bytes`,
  );
}
