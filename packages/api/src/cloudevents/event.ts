// The CloudEvent as Eddy carries it from ingress through the log to every subscriber: a plain
// object holding exactly the attributes that arrived (none added, none defaulted, values as
// received) and the data.
//
// Not the `cloudevents` SDK's class: its constructor fills in `time` (and `id`, `specversion`) when
// they are absent, computes `data_base64` for every binary payload, and its `toJSON` rewrites
// `time`. On the pass-through path that would change events; the SDK stays at the edges.
//
// Data representation (what `data` holds), chosen so that data bytes are passed on unchanged:
// - a Buffer: the data bytes, never parsed. A binary-mode body (HTTP or Kafka), `data_base64`,
//   and, for an event whose datacontenttype is a JSON media type, the JSON text of the
//   structured-mode `data` member exactly as it was written (whitespace and number spelling
//   kept);
// - a string: a structured-mode `data` string under a non-JSON (or absent) datacontenttype,
//   and the 0.3 `datacontentencoding` text;
// - any other JSON value: a structured-mode `data` member without a JSON datacontenttype, or
//   data an Eddy component made up (a source's payload);
// - absent: no data.
// `dataValue()` gives the decoded value (parsed JSON, text) for code that looks inside.

import { decodeDataBytes, isJsonMedia, mediaType } from './media-type.js';

export interface PlainEvent {
  readonly specversion: string;
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly datacontenttype?: string;
  readonly dataschema?: string;
  readonly subject?: string;
  readonly time?: string;
  /** See the data representation above. */
  readonly data?: unknown;
  /** Extension attributes (string, integer or boolean), and the 0.3 attributes. */
  readonly [attribute: string]: unknown;
}

/** The event with `extensions` set (replacing same-named ones); the original is not changed. */
export function withExtensions(event: PlainEvent, extensions: Readonly<Record<string, unknown>>): PlainEvent {
  return { ...event, ...extensions };
}

/**
 * The event's data as a value: bytes with a JSON media type parsed, with a text media type (in a
 * Unicode charset) as a string, other bytes as a Buffer; non-byte data as it is. For display and
 * for code that reads the payload (adapters, tests), never for passing an event on.
 */
export function dataValue(event: Pick<PlainEvent, 'data' | 'datacontenttype'>): unknown {
  const { data } = event;
  if (!ArrayBuffer.isView(data)) return data;
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return decodeDataBytes(
    bytes,
    typeof event.datacontenttype === 'string' ? event.datacontenttype : undefined,
  );
}

/**
 * A structured-mode `data` member in its in-memory form: the member's JSON text as sent
 * (`rawText`, when known) if datacontenttype is a JSON media type and no 0.3 transfer encoding
 * applies, else the parsed value.
 */
export function dataFromJsonMember(
  value: unknown,
  rawText: Buffer | undefined,
  attributes: Readonly<Record<string, unknown>>,
): unknown {
  const contentType = attributes.datacontenttype;
  if (
    rawText !== undefined &&
    attributes.datacontentencoding === undefined &&
    typeof contentType === 'string' &&
    isJsonMedia(mediaType(contentType))
  ) {
    return rawText;
  }
  return value;
}
