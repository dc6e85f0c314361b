// The extensions a dead-lettered event carries (knativeerrordest / code / data and `kne-*` response
// headers), as the Kafka broker's dispatcher sets them, so whoever reads the dead-letter sink sees why
// delivery failed. The rules: README "Dead-letter sink".

import { CONTEXT_ATTRIBUTE_NAMES, isExtensionName, type PlainEvent, withExtensions } from '@eddy/api';
import type { HttpHeaderValues } from './http-codec.js';

export const ERROR_DEST_EXTENSION = 'knativeerrordest';
export const ERROR_CODE_EXTENSION = 'knativeerrorcode';
export const ERROR_DATA_EXTENSION = 'knativeerrordata';
export const ERROR_DATA_MAX_BYTES = 1024;
const ERROR_HEADER_PREFIX = 'kne-';

/** Context attributes an error header must never overwrite. */
const PROTECTED = new Set([
  ...CONTEXT_ATTRIBUTE_NAMES,
  ERROR_DEST_EXTENSION,
  ERROR_CODE_EXTENSION,
  ERROR_DATA_EXTENSION,
]);

export interface LastFailure {
  status?: number;
  headers?: HttpHeaderValues;
  /** The start of the response body (only the first 1024 bytes are used). */
  body?: Buffer;
}

/** The extensions to add, in the order they are applied (later ones win). */
export function errorExtensions(
  destination: string,
  failure: LastFailure | undefined,
): Record<string, string> {
  const extensions: Record<string, string> = {};
  for (const [name, value] of Object.entries(failure?.headers ?? {})) {
    const lower = name.toLowerCase();
    if (!lower.startsWith(ERROR_HEADER_PREFIX) || value === undefined) continue;
    const extension = lower.slice(ERROR_HEADER_PREFIX.length);
    if (!isExtensionName(extension) || PROTECTED.has(extension)) continue;
    extensions[extension] = Array.isArray(value) ? value.join(', ') : value;
  }
  extensions[ERROR_DEST_EXTENSION] = destination;
  if (failure?.status !== undefined) extensions[ERROR_CODE_EXTENSION] = String(failure.status);
  if (failure?.body !== undefined && failure.body.length > 0) {
    extensions[ERROR_DATA_EXTENSION] = failure.body.subarray(0, ERROR_DATA_MAX_BYTES).toString('base64');
  }
  return extensions;
}

/** The event for the dead-letter sink: the original, unchanged, plus the error extensions. */
export function withErrorExtensions(
  event: PlainEvent,
  destination: string,
  failure: LastFailure | undefined,
): PlainEvent {
  return withExtensions(event, errorExtensions(destination, failure));
}
