// CloudEvents Kafka protocol binding (spec: cloudevents/bindings/kafka-protocol-binding.md, v1.0.x).
//
// Eddy writes every event in BINARY content mode and reads both binary and structured (JSON)
// records, because a KafkaSource has to accept whatever other producers put on a topic.
//
// Why this module does not just call the SDK's `Kafka.binary` / `Kafka.toEvent` (cloudevents 10):
// - binary encoding puts `datacontenttype` into a `ce_datacontenttype` header as well as
//   `content-type`, writes JS objects as the record value without serialising them, and leaves
//   non-string extension values (booleans, integers, binary) unencoded;
// - decoding rejects a record with no value, although a valueless binary-mode record is exactly
//   how the spec encodes an event without data;
// - decoding reads header values as given, so the Buffers kafkajs hands out are not understood;
// - decoding rewrites `time` through `Date#toISOString` (so "2018-04-05T03:56:24Z" comes back as
//   "2018-04-05T03:56:24.000Z") and, in structured mode, throws on events without `time`;
// - decoding copies the record key into a `partitionkey` attribute, which the spec forbids
//   ("a mapping function MUST NOT modify the CloudEvent"): the key stays the record's business.
// The in-memory event is a PlainEvent (event.ts), the same objects the HTTP binding produces.
//
// Encoding rules (see toKafkaBinary):
// - every attribute except `data`, `data_base64` and `datacontenttype` becomes a `ce_<name>`
//   header; `specversion` is written as given (1.0 and 0.3 alike, never upgraded);
// - `datacontenttype` <-> the `content-type` header;
// - the `partitionkey` extension becomes the record key AND stays a `ce_partitionkey` header
//   (the spec requires the attribute to travel with the event);
// - attribute values are strings in the CloudEvents canonical string encoding: booleans as
//   `true`/`false`, integers in decimal, timestamps as RFC 3339, binary as base64;
// - data: bytes as-is; for a JSON media type (application/json, text/json, */*+json) any other
//   value as JSON text, so a JSON string value stays a JSON string on the wire (the SDK's HTTP
//   binding writes it unquoted, which is no longer JSON); for other media types a string as its
//   UTF-8 bytes and anything else as JSON text;
// - an event with NO data (`data` undefined or null) is a record with a null value, i.e. a
//   tombstone in compacted-topic terms; an event whose data is an empty string or empty bytes
//   is a record with an empty (non-null) value, so the two stay distinguishable. Eddy's topics
//   use the `delete` cleanup policy, so such records are never compacted away.
//
// Decoding rules (see fromKafkaMessage): `content-type` starting with `application/cloudevents`
// (case-insensitive) = structured mode, anything else = binary mode. Binary-mode data is the
// record value's bytes, never parsed (event.ts: data bytes pass through unchanged); a structured
// event's JSON data keeps its JSON text when datacontenttype is a JSON media type. Extension
// values read from headers are strings (headers carry no type). Nothing is added: a record
// without a `time` attribute gives an event without `time`.

import { CONTEXT_ATTRIBUTE_NAMES, isExtensionValue, NON_HEADER_MEMBERS } from './attribute-names.js';
import { dataFromJsonMember, type PlainEvent } from './event.js';
import { structuredDataSpan } from './json-data-span.js';
import { encodeDataBytes, mediaType, viewToBuffer } from './media-type.js';

/** A header value as kafkajs produces and accepts it. */
export type KafkaHeaderValue = Buffer | string | (Buffer | string)[] | undefined;

/** The parts of a Kafka record this binding reads. Matches kafkajs' KafkaMessage shape. */
export interface KafkaBindingMessage {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, KafkaHeaderValue>;
  /** Record timestamp, epoch milliseconds (kafkajs gives it as a decimal string). */
  timestamp?: string | number;
}

/** A record produced by toKafkaBinary, ready for a kafkajs producer. */
export interface KafkaBinaryRecord {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

export type KafkaContentMode = 'binary' | 'structured';

/** A record that is not a valid CloudEvent, or an event that cannot be put on a record. */
export class KafkaBindingError extends Error {
  override readonly name = 'KafkaBindingError';
}

export const CE_HEADER_PREFIX = 'ce_';
export const CONTENT_TYPE_HEADER = 'content-type';
const STRUCTURED_MEDIA_PREFIX = 'application/cloudevents';
const STRUCTURED_JSON_MEDIA = 'application/cloudevents+json';
const SUPPORTED_SPEC_VERSIONS = new Set(['1.0', '0.3']);
const REQUIRED_ATTRIBUTES = ['id', 'source', 'type'] as const;
const ATTRIBUTE_NAME = /^[a-z0-9]+$/;

// ---------------------------------------------------------------------------------------------
// Encoding

/** Encodes an event as a binary-mode Kafka record. */
export function toKafkaBinary(event: PlainEvent): KafkaBinaryRecord {
  const attributes = event as unknown as Record<string, unknown>;
  const specversion = attributes.specversion;
  if (typeof specversion !== 'string' || !SUPPORTED_SPEC_VERSIONS.has(specversion)) {
    throw new KafkaBindingError(
      `cannot encode event ${describeId(attributes)}: specversion must be "1.0" or "0.3", got ${JSON.stringify(specversion)}`,
    );
  }
  for (const name of REQUIRED_ATTRIBUTES) {
    const value = attributes[name];
    if (typeof value !== 'string' || value === '') {
      throw new KafkaBindingError(
        `cannot encode event ${describeId(attributes)}: required attribute "${name}" is missing or empty`,
      );
    }
  }

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (NON_HEADER_MEMBERS.has(name) || value === undefined || value === null) continue;
    if (!ATTRIBUTE_NAME.test(name)) {
      throw new KafkaBindingError(
        `cannot encode event ${describeId(attributes)}: attribute name "${name}" must consist of lower-case letters and digits`,
      );
    }
    headers[CE_HEADER_PREFIX + name] = attributeToString(value);
  }
  const contentType = attributes.datacontenttype;
  if (contentType !== undefined && contentType !== null) {
    headers[CONTENT_TYPE_HEADER] = attributeToString(contentType);
  }

  const partitionKey = attributes.partitionkey;
  const key = partitionKey === undefined || partitionKey === null ? null : attributeToString(partitionKey);
  // A 0.3 event with datacontentencoding carries its data as the encoded text: written as is
  // (as toHttpBinary does), never JSON-quoted under a JSON datacontenttype.
  const value =
    specversion === '0.3' && attributes.datacontentencoding && typeof event.data === 'string'
      ? Buffer.from(event.data, 'utf8')
      : encodeData(event.data, headers[CONTENT_TYPE_HEADER]);
  return { key, value, headers };
}

/** The CloudEvents canonical string form of an attribute value. */
export function attributeToString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' || typeof value === 'number' || typeof value === 'bigint') {
    return String(value);
  }
  if (value instanceof Date) return value.toISOString();
  if (ArrayBuffer.isView(value)) return viewToBuffer(value).toString('base64');
  return JSON.stringify(value);
}

/** A record without data has a null value (not an empty one). */
function encodeData(data: unknown, contentType: string | undefined): Buffer | null {
  return data === undefined || data === null ? null : encodeDataBytes(data, contentType);
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Which content mode a record is in, from its `content-type` header. */
export function kafkaContentMode(headers: Record<string, KafkaHeaderValue> | undefined): KafkaContentMode {
  return modeOf(normalizeHeaders(headers));
}

function modeOf(headers: Map<string, string>): KafkaContentMode {
  const contentType = headers.get(CONTENT_TYPE_HEADER);
  return contentType?.toLowerCase().startsWith(STRUCTURED_MEDIA_PREFIX) ? 'structured' : 'binary';
}

/**
 * Whether a record looks like a CloudEvent: structured mode, or binary mode carrying the
 * mandatory `ce_specversion`, `ce_id`, `ce_source` and `ce_type` headers.
 */
export function isKafkaCloudEvent(message: Pick<KafkaBindingMessage, 'headers'>): boolean {
  let headers: Map<string, string>;
  try {
    headers = normalizeHeaders(message.headers);
  } catch {
    return false;
  }
  if (modeOf(headers) === 'structured') return true;
  return ['specversion', ...REQUIRED_ATTRIBUTES].every((name) => headers.has(CE_HEADER_PREFIX + name));
}

/**
 * Decodes a Kafka record (binary or structured mode) into a CloudEvent.
 * @param where names the record in error messages, e.g. `topic/partition@offset`.
 * @throws KafkaBindingError naming what is wrong with the record.
 */
export function fromKafkaMessage(message: KafkaBindingMessage, where = 'Kafka record'): PlainEvent {
  const headers = normalizeHeaders(message.headers, where);
  const mode = modeOf(headers);
  const attributes =
    mode === 'structured' ? readStructured(message, headers, where) : readBinary(message, headers, where);

  const specversion = attributes.specversion;
  if (typeof specversion !== 'string' || !SUPPORTED_SPEC_VERSIONS.has(specversion)) {
    const found = specversion === undefined ? 'none' : JSON.stringify(specversion);
    throw new KafkaBindingError(
      `${where} (${mode} mode) is not a CloudEvent: specversion must be "1.0" or "0.3", found ${found}`,
    );
  }
  for (const name of REQUIRED_ATTRIBUTES) {
    const value = attributes[name];
    if (typeof value !== 'string' || value === '') {
      const source = mode === 'binary' ? `header ${CE_HEADER_PREFIX}${name}` : `member "${name}"`;
      throw new KafkaBindingError(
        `${where} (${mode} mode) is not a CloudEvent: ${source} is missing or empty`,
      );
    }
  }
  // Each spec version names the data schema differently; the other version's name is an error.
  const foreign = specversion === '1.0' ? 'schemaurl' : 'dataschema';
  if (attributes[foreign] !== undefined) {
    throw new KafkaBindingError(
      `${where} (${mode} mode) is not a valid CloudEvent: cannot set ${foreign} on version ${specversion}`,
    );
  }
  return attributes as PlainEvent;
}

function readBinary(
  message: KafkaBindingMessage,
  headers: Map<string, string>,
  where: string,
): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const [header, value] of headers) {
    if (!header.startsWith(CE_HEADER_PREFIX)) continue;
    const name = header.slice(CE_HEADER_PREFIX.length);
    if (!ATTRIBUTE_NAME.test(name)) {
      throw new KafkaBindingError(
        `${where} (binary mode): header "${header}" does not name a CloudEvents attribute (lower-case letters and digits after "${CE_HEADER_PREFIX}")`,
      );
    }
    attributes[name] = value;
  }
  // The spec maps datacontenttype to `content-type` only; a `ce_datacontenttype` header (which the
  // cloudevents SDK writes too) is honoured only when `content-type` is absent.
  const contentType = headers.get(CONTENT_TYPE_HEADER);
  if (contentType !== undefined) attributes.datacontenttype = contentType;
  if (message.value !== null && message.value !== undefined) {
    const bytes = typeof message.value === 'string' ? Buffer.from(message.value, 'utf8') : message.value;
    attributes.data = bytes;
  }
  return attributes;
}

function readStructured(
  message: KafkaBindingMessage,
  headers: Map<string, string>,
  where: string,
): Record<string, unknown> {
  const contentType = headers.get(CONTENT_TYPE_HEADER) ?? '';
  const media = mediaType(contentType);
  if (media !== STRUCTURED_JSON_MEDIA) {
    throw new KafkaBindingError(
      `${where} (structured mode): unsupported event format "${contentType}" (only ${STRUCTURED_JSON_MEDIA} is supported; the Kafka binding has no batch mode)`,
    );
  }
  if (message.value === null || message.value === undefined) {
    throw new KafkaBindingError(`${where} (structured mode): the record has no value to hold the event`);
  }
  const bytes = typeof message.value === 'string' ? Buffer.from(message.value, 'utf8') : message.value;
  const text = bytes.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new KafkaBindingError(`${where} (structured mode): value is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new KafkaBindingError(`${where} (structured mode): value must be a JSON object holding one event`);
  }
  const attributes: Record<string, unknown> = {};
  // The JSON format treats a null member as an absent attribute.
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (value === null) continue;
    // Checked here, not later: an event with an attribute no binding can write would be accepted
    // from the topic and then fail every delivery.
    if (name !== 'data' && name !== 'data_base64') checkStructuredMember(name, value, where);
    attributes[name] = value;
  }
  if (attributes.data_base64 !== undefined) {
    if (attributes.data !== undefined) {
      throw new KafkaBindingError(
        `${where} (structured mode): an event cannot have both "data" and "data_base64"`,
      );
    }
    if (typeof attributes.data_base64 !== 'string') {
      throw new KafkaBindingError(`${where} (structured mode): "data_base64" must be a base64 string`);
    }
    attributes.data = Buffer.from(attributes.data_base64, 'base64');
    delete attributes.data_base64;
  } else if (attributes.data !== undefined) {
    const span = structuredDataSpan(bytes);
    attributes.data = dataFromJsonMember(
      attributes.data,
      span === undefined ? undefined : bytes.subarray(span.start, span.end),
      attributes,
    );
  }
  return attributes;
}

function checkStructuredMember(name: string, value: unknown, where: string): void {
  if (!ATTRIBUTE_NAME.test(name)) {
    throw new KafkaBindingError(
      `${where} (structured mode): member "${name}" is not a valid CloudEvents attribute name (lower-case letters and digits only)`,
    );
  }
  const context = CONTEXT_ATTRIBUTE_NAMES.has(name);
  if (context ? typeof value !== 'string' : !isExtensionValue(value)) {
    throw new KafkaBindingError(
      `${where} (structured mode): attribute "${name}" must be ${
        context ? 'a string' : 'a string, a 32-bit integer or a boolean'
      }, got ${Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : JSON.stringify(value)}`,
    );
  }
}

/** Lower-cased header names, last value of repeated headers, Buffers read as UTF-8. */
function normalizeHeaders(
  headers: Record<string, KafkaHeaderValue> | undefined,
  where = 'Kafka record',
): Map<string, string> {
  const result = new Map<string, string>();
  if (!headers) return result;
  for (const [name, raw] of Object.entries(headers)) {
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value === undefined || value === null) continue;
    const text = typeof value === 'string' ? value : value.toString('utf8');
    const lower = name.toLowerCase();
    if (result.has(lower) && result.get(lower) !== text) {
      throw new KafkaBindingError(`${where}: header "${lower}" appears twice with different values`);
    }
    result.set(lower, text);
  }
  return result;
}

function describeId(attributes: Record<string, unknown>): string {
  return typeof attributes.id === 'string' ? `"${attributes.id}"` : '(without id)';
}
