// CloudEvents HTTP protocol binding (spec: cloudevents/bindings/http-protocol-binding.md 1.0.x, and
// the 0.3 HTTP transport binding), shared by broker ingress, delivery and source emitters.
//
// Decoding: binary mode (`ce-` headers + body), structured mode (`application/cloudevents+json`)
// and batch mode (`application/cloudevents-batch+json`), specversion 1.0 and 0.3.
// Encoding: binary mode (toHttpBinary), structured mode (toHttpStructured), batch (toHttpBatch).
//
// The wire mapping is ours, because the SDK's `HTTP.toEvent` / `HTTP.binary` (cloudevents 10) are
// not faithful:
// - header values are not percent-decoded (nor quoted strings unescaped) when reading, nor
//   percent-encoded when writing, as the 1.0.2 binding requires;
// - `time` goes through a parser that rewrites it via `Date#toISOString` ("…:24Z" becomes
//   "…:24.000Z") and silently replaces an unparseable time with "now";
// - binary-mode JSON bodies are parsed only for an exact `application/json` content type (so
//   `application/json; charset=utf-8` data stays a string) and bodies are handled as strings,
//   which loses non-UTF-8 binary data;
// - structured 0.3 `datacontentencoding: base64` data and 1.0 `data_base64` are decoded into a
//   Uint32Array (wrong element width) and the `datacontentencoding` attribute is deleted;
// - any `application/cloudevents…` content type is read as JSON (an `+xml` event included);
// - batch elements skip the structured-mode rules (data_base64, null members) and the "same
//   specversion in a batch" rule; an unknown specversion is read with the 1.0 rules and a missing
//   one defaults to "1.0" (a silent upgrade);
// - `ce-` header names are not checked, so `ce-my-ext` becomes an attribute named `my-ext`.
//
// The in-memory event is a PlainEvent (event.ts): exactly the attributes received, data bytes kept
// as bytes (see event.ts for the data representation). The SDK's class is not used: its
// constructor would give an event without `time` the current time. 1.0 events are validated
// against the SDK's JSON schema (validateCloudEvent), whose failures become a reason naming the
// attribute. A 0.3 event with `datacontentencoding` keeps that attribute and its data as the
// encoded text, so it is forwarded exactly as received.

import { ValidationError } from 'cloudevents';
import { validateCloudEvent } from 'cloudevents/dist/event/spec.js';
import { lineAndColumn } from '../text/line-and-column.js';
import { isExtensionValue, NON_HEADER_MEMBERS } from './attribute-names.js';
import { dataFromJsonMember, type PlainEvent } from './event.js';
import { batchDataSpans, structuredDataSpan, type ValueSpan } from './json-data-span.js';
import { jsonErrorPosition } from './json-error-position.js';
import { attributeToString } from './kafka-binding.js';
import { encodeDataBytes, isJsonMedia, isUnicodeCharset, mediaType, viewToBuffer } from './media-type.js';

// Part of this module's public surface since before media-type.ts existed.
export { decodeDataBytes, encodeDataBytes, isJsonMedia, mediaType } from './media-type.js';

export type HttpContentMode = 'binary' | 'structured' | 'batch';

export interface ParsedEvents {
  mode: HttpContentMode;
  /** One event for binary and structured mode; any number (also zero) for batch mode. */
  events: PlainEvent[];
}

/** HTTP request or response headers: Node's IncomingHttpHeaders, undici's, or a fetch `Headers`. */
export type HttpHeadersInput = Record<string, string | string[] | number | undefined> | Headers;

export interface HttpMessage {
  headers: Record<string, string>;
  body: Buffer;
}

/** Why a request is not an acceptable CloudEvent; `code` is a short label for metrics. */
export type HttpBindingErrorCode =
  | 'not_cloudevent'
  | 'unsupported_media_type'
  | 'invalid_encoding'
  | 'invalid_json'
  | 'unsupported_specversion'
  | 'missing_attribute'
  | 'invalid_attribute'
  | 'invalid_data'
  | 'mixed_specversion';

/** A request that is not a valid CloudEvent. `message` is the human reason, naming header or member. */
export class HttpBindingError extends Error {
  override readonly name = 'HttpBindingError';
  constructor(
    message: string,
    readonly code: HttpBindingErrorCode,
  ) {
    super(message);
  }

  /** The HTTP status a receiver should answer: 415 for an event format we do not read, else 400. */
  get status(): 400 | 415 {
    return this.code === 'unsupported_media_type' ? 415 : 400;
  }
}

export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';
export const BATCH_CONTENT_TYPE = 'application/cloudevents-batch+json; charset=utf-8';
const STRUCTURED_JSON_MEDIA = 'application/cloudevents+json';
const BATCH_JSON_MEDIA = 'application/cloudevents-batch+json';
const HEADER_PREFIX = 'ce-';
export const SUPPORTED_SPEC_VERSIONS: readonly string[] = ['1.0', '0.3'];
const REQUIRED_ATTRIBUTES = ['id', 'source', 'type'] as const;
const ATTRIBUTE_NAME = /^[a-z0-9]+$/;
/** Context attributes that must be strings when present (extensions may also be int/bool). */
const STRING_ATTRIBUTES = new Set([
  'id',
  'source',
  'type',
  'specversion',
  'datacontenttype',
  'dataschema',
  'schemaurl',
  'subject',
  'time',
  'datacontentencoding',
]);
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const BASE64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Decodes an HTTP request (or response) carrying CloudEvents.
 * @throws HttpBindingError with a reason that names the offending header, member or position.
 */
export function parseHttpRequest(headersInput: HttpHeadersInput, body: Buffer): ParsedEvents {
  const headers = normalizeHeaders(headersInput);
  const contentType = headers.get('content-type');
  const media = contentType === undefined ? '' : mediaType(contentType);

  if (media.startsWith('application/cloudevents-batch')) {
    if (media !== BATCH_JSON_MEDIA) throw unsupportedFormat(contentType ?? '');
    checkUnicodeCharset(contentType ?? '');
    return { mode: 'batch', events: parseBatch(body) };
  }
  if (media.startsWith('application/cloudevents')) {
    if (media !== STRUCTURED_JSON_MEDIA) throw unsupportedFormat(contentType ?? '');
    checkUnicodeCharset(contentType ?? '');
    const json = parseJsonBody(body);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new HttpBindingError(
        `structured mode body must be a JSON object holding one event, got ${jsonKind(json)}`,
        'invalid_json',
      );
    }
    const span = structuredDataSpan(body);
    return {
      mode: 'structured',
      events: [eventFromObject(json as Record<string, unknown>, '', rawSlice(body, span))],
    };
  }
  return { mode: 'binary', events: [parseBinary(headers, contentType, body)] };
}

function unsupportedFormat(contentType: string): HttpBindingError {
  return new HttpBindingError(
    `unsupported event format "${contentType}" (Content-Type): only ${STRUCTURED_JSON_MEDIA}, ${BATCH_JSON_MEDIA} and binary mode are accepted`,
    'unsupported_media_type',
  );
}

function parseBinary(headers: Map<string, string>, contentType: string | undefined, body: Buffer) {
  if (!headers.has(`${HEADER_PREFIX}specversion`)) {
    const cePresent = [...headers.keys()].some((name) => name.startsWith(HEADER_PREFIX));
    throw new HttpBindingError(
      cePresent
        ? 'missing required attribute "specversion" (header ce-specversion)'
        : `request is not a CloudEvent: no ce-specversion header (binary mode) and Content-Type ${
            contentType === undefined ? 'is absent' : `"${contentType}" is not ${STRUCTURED_JSON_MEDIA}`
          } (structured mode)`,
      cePresent ? 'missing_attribute' : 'not_cloudevent',
    );
  }
  const attributes: Record<string, unknown> = {};
  for (const [header, raw] of headers) {
    if (!header.startsWith(HEADER_PREFIX)) continue;
    const name = header.slice(HEADER_PREFIX.length);
    if (!ATTRIBUTE_NAME.test(name)) {
      throw new HttpBindingError(
        `header ${header} does not name a valid CloudEvents attribute: "${name}" must consist of lower-case letters and digits`,
        'invalid_attribute',
      );
    }
    if (name === 'data') {
      throw new HttpBindingError(
        `header ${header} is not allowed: in binary mode data is the body`,
        'invalid_attribute',
      );
    }
    attributes[name] = percentDecodeHeaderValue(raw, header);
  }
  const declared = attributes.datacontenttype;
  if (declared !== undefined && contentType !== undefined && declared !== contentType) {
    throw new HttpBindingError(
      `header ce-datacontenttype ("${declared}") contradicts Content-Type ("${contentType}"); in binary mode datacontenttype is the Content-Type header`,
      'invalid_attribute',
    );
  }
  if (contentType !== undefined) attributes.datacontenttype = contentType;
  const where: Where = {
    prefix: '',
    locate: (name) => (name === 'datacontenttype' ? 'header Content-Type' : `header ${HEADER_PREFIX}${name}`),
  };
  checkSpecversion(attributes, where);
  if (body.length > 0) {
    attributes.data = binaryData(body, attributes, where);
  }
  return buildEvent(attributes, where);
}

/** The body as the event's data: its bytes as they are (a 0.3 transfer encoding is checked first). */
function binaryData(body: Buffer, attributes: Record<string, unknown>, where: Where): Buffer {
  const encoding = attributes.datacontentencoding;
  if (
    attributes.specversion === '0.3' &&
    typeof encoding === 'string' &&
    encoding.toLowerCase() === 'base64' &&
    !BASE64.test(body.toString('latin1'))
  ) {
    throw new HttpBindingError(
      `${where.prefix}body is not valid base64 although datacontentencoding is "base64" (${where.locate('datacontentencoding')})`,
      'invalid_data',
    );
  }
  return body;
}

function rawSlice(body: Buffer, span: ValueSpan | undefined): Buffer | undefined {
  return span === undefined ? undefined : body.subarray(span.start, span.end);
}

function parseBatch(body: Buffer): PlainEvent[] {
  const json = parseJsonBody(body);
  if (!Array.isArray(json)) {
    throw new HttpBindingError(
      `batch mode body must be a JSON array of events, got ${jsonKind(json)}`,
      'invalid_json',
    );
  }
  const events: PlainEvent[] = [];
  const spans = batchDataSpans(body);
  for (const [index, element] of json.entries()) {
    const prefix = `event #${index} of the batch: `;
    if (typeof element !== 'object' || element === null || Array.isArray(element)) {
      throw new HttpBindingError(`${prefix}must be a JSON object, got ${jsonKind(element)}`, 'invalid_json');
    }
    const event = eventFromObject(element as Record<string, unknown>, prefix, rawSlice(body, spans[index]));
    const first = events[0];
    if (first !== undefined && first.specversion !== event.specversion) {
      throw new HttpBindingError(
        `${prefix}specversion "${event.specversion}" differs from event #0's "${first.specversion}"; all events of a batch must have the same specversion`,
        'mixed_specversion',
      );
    }
    events.push(event);
  }
  return events;
}

/**
 * One event from an object in the JSON format's shape (a structured body, a batch element, or an
 * event an adapter put together), checked like a structured-mode event: the same rules and
 * messages, `prefix` before each. `rawData` is the `data` member's JSON text as sent, kept as the
 * data when datacontenttype is a JSON media type; a `data` that is already bytes stays bytes.
 * @throws HttpBindingError saying what is wrong.
 */
export function eventFromObject(json: Record<string, unknown>, prefix: string, rawData?: Buffer): PlainEvent {
  const where: Where = { prefix, locate: (name) => `member "${name}"` };
  const attributes: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(json)) {
    // The JSON format treats a null member as an absent attribute.
    if (value === null) continue;
    if (name === 'data' || name === 'data_base64') continue;
    if (!ATTRIBUTE_NAME.test(name)) {
      throw new HttpBindingError(
        `${prefix}member "${name}" is not a valid CloudEvents attribute name (lower-case letters and digits only)`,
        'invalid_attribute',
      );
    }
    if (STRING_ATTRIBUTES.has(name)) {
      if (typeof value !== 'string') {
        throw new HttpBindingError(
          `${prefix}attribute "${name}" must be a string (member "${name}"), got ${jsonKind(value)}`,
          name === 'specversion' ? 'unsupported_specversion' : 'invalid_attribute',
        );
      }
    } else if (!isExtensionValue(value)) {
      throw new HttpBindingError(
        `${prefix}extension attribute "${name}" must be a string, a 32-bit integer or a boolean (member "${name}"), got ${jsonKind(value)}`,
        'invalid_attribute',
      );
    }
    attributes[name] = value;
  }
  checkSpecversion(attributes, where);

  const data = json.data ?? undefined;
  const dataBase64 = json.data_base64 ?? undefined;
  if (dataBase64 !== undefined) {
    if (attributes.specversion !== '1.0') {
      throw new HttpBindingError(
        `${prefix}member "data_base64" is not defined for specversion ${attributes.specversion} (0.3 uses "data" with datacontentencoding "base64")`,
        'invalid_data',
      );
    }
    if (data !== undefined) {
      throw new HttpBindingError(
        `${prefix}an event cannot have both "data" and "data_base64"`,
        'invalid_data',
      );
    }
    if (typeof dataBase64 !== 'string' || !BASE64.test(dataBase64)) {
      throw new HttpBindingError(`${prefix}member "data_base64" must be a base64 string`, 'invalid_data');
    }
    attributes.data = Buffer.from(dataBase64, 'base64');
  } else if (data !== undefined) {
    const encoding = attributes.datacontentencoding;
    if (
      attributes.specversion === '0.3' &&
      typeof encoding === 'string' &&
      encoding.toLowerCase() === 'base64'
    ) {
      if (typeof data !== 'string' || !BASE64.test(data)) {
        throw new HttpBindingError(
          `${prefix}member "data" must be a base64 string because datacontentencoding is "base64"`,
          'invalid_data',
        );
      }
    }
    attributes.data = dataFromJsonMember(data, rawData, attributes);
  }
  return buildEvent(attributes, where);
}

interface Where {
  /** Prepended to messages, e.g. "event #2 of the batch: ". */
  prefix: string;
  /** Where an attribute lives on the wire: `header ce-source`, `member "source"`. */
  locate: (name: string) => string;
}

function checkSpecversion(attributes: Record<string, unknown>, where: Where): void {
  const specversion = attributes.specversion;
  if (specversion === undefined) {
    throw new HttpBindingError(
      `${where.prefix}missing required attribute "specversion" (${where.locate('specversion')})`,
      'missing_attribute',
    );
  }
  if (typeof specversion !== 'string' || !SUPPORTED_SPEC_VERSIONS.includes(specversion)) {
    throw new HttpBindingError(
      `${where.prefix}unsupported specversion ${JSON.stringify(specversion)} (${where.locate('specversion')}); supported: ${SUPPORTED_SPEC_VERSIONS.join(', ')}`,
      'unsupported_specversion',
    );
  }
}

function buildEvent(attributes: Record<string, unknown>, where: Where): PlainEvent {
  const { prefix, locate } = where;
  for (const name of REQUIRED_ATTRIBUTES) {
    const value = attributes[name];
    if (value === undefined) {
      throw new HttpBindingError(
        `${prefix}missing required attribute "${name}" (${locate(name)})`,
        'missing_attribute',
      );
    }
    if (value === '') {
      throw new HttpBindingError(
        `${prefix}attribute "${name}" must not be empty (${locate(name)})`,
        'invalid_attribute',
      );
    }
  }
  for (const name of ['subject', 'datacontenttype', 'dataschema', 'schemaurl'] as const) {
    if (attributes[name] === '') {
      throw new HttpBindingError(
        `${prefix}attribute "${name}" must not be empty when present (${locate(name)})`,
        'invalid_attribute',
      );
    }
  }
  const time = attributes.time;
  if (
    time !== undefined &&
    !(typeof time === 'string' && RFC3339.test(time) && !Number.isNaN(Date.parse(time)))
  ) {
    throw new HttpBindingError(
      `${prefix}invalid attribute "time" (${locate('time')}): ${JSON.stringify(time)} is not an RFC 3339 timestamp`,
      'invalid_attribute',
    );
  }
  const specversion = attributes.specversion as string;
  const foreign = specversion === '1.0' ? 'schemaurl' : 'dataschema';
  if (attributes[foreign] !== undefined) {
    throw new HttpBindingError(
      `${prefix}attribute "${foreign}" (${locate(foreign)}) is not defined for specversion ${specversion}; use "${
        foreign === 'schemaurl' ? 'dataschema' : 'schemaurl'
      }"`,
      'invalid_attribute',
    );
  }

  if (specversion === '1.0') {
    try {
      validateCloudEvent(attributes as never);
    } catch (error) {
      throw new HttpBindingError(`${prefix}${describeSchemaError(error, locate)}`, 'invalid_attribute');
    }
  }
  return attributes as PlainEvent;
}

/** Turns the SDK's ajv output into "invalid attribute "source" (header ce-source): must match …". */
function describeSchemaError(error: unknown, locate: (name: string) => string): string {
  if (error instanceof ValidationError) {
    const first = (error.errors as { instancePath?: string; message?: string }[] | undefined)?.[0];
    if (first && typeof first === 'object' && typeof first.instancePath === 'string') {
      const name = first.instancePath.replace(/^\//, '');
      return `invalid attribute "${name}" (${locate(name)}): ${first.message ?? 'does not match the CloudEvents schema'}`;
    }
    return `invalid event: ${error.message.split('\n')[0]}`;
  }
  return `invalid event: ${(error as Error).message}`;
}

function parseJsonBody(body: Buffer): unknown {
  let text: string;
  try {
    text = utf8Decoder.decode(body);
  } catch {
    throw new HttpBindingError('body is not valid UTF-8', 'invalid_encoding');
  }
  if (text.trim() === '') throw new HttpBindingError('body is empty; expected a JSON event', 'invalid_json');
  try {
    return JSON.parse(text);
  } catch (error) {
    const position = jsonErrorPosition(text) ?? text.length;
    const { line, column } = lineAndColumn(text, position);
    const detail = (error as Error).message
      .replace(/\s*in JSON at position \d+.*$/, '')
      .replace(/, ".*" is not valid JSON$/, '');
    throw new HttpBindingError(
      `invalid JSON body at position ${position} (line ${line}, column ${column}): ${detail}`,
      'invalid_json',
    );
  }
}

function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' && !Number.isInteger(value)) return `the number ${value}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

function checkUnicodeCharset(contentType: string): void {
  if (!isUnicodeCharset(contentType)) {
    throw new HttpBindingError(
      `unsupported charset in Content-Type "${contentType}": JSON events must be UTF-8`,
      'unsupported_media_type',
    );
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Lower-cased header names; repeated values (already joined by Node for ce- headers) joined with ", ". */
function normalizeHeaders(input: HttpHeadersInput): Map<string, string> {
  const result = new Map<string, string>();
  if (typeof Headers !== 'undefined' && input instanceof Headers) {
    input.forEach((value, name) => {
      result.set(name.toLowerCase(), value);
    });
    return result;
  }
  for (const [name, raw] of Object.entries(input)) {
    if (raw === undefined) continue;
    const value = Array.isArray(raw) ? raw.join(', ') : String(raw);
    result.set(name.toLowerCase(), value);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Header value encoding (binding section 3.1.3.2)

/**
 * Decodes a `ce-` header value: a double-quoted string is unescaped first, then one round of
 * percent-decoding; the bytes must be valid UTF-8. Raw bytes above 0x7F (which Node hands out as
 * Latin-1 characters) are taken as the bytes they were, so unencoded UTF-8 is accepted too.
 * @throws HttpBindingError naming the header.
 */
export function percentDecodeHeaderValue(raw: string, header: string): string {
  let value = raw;
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    const inner = value.slice(1, -1);
    if (/(^|[^\\])(\\\\)*\\$/.test(inner)) {
      throw new HttpBindingError(
        `invalid quoted string in header ${header}: ends with a lone backslash`,
        'invalid_encoding',
      );
    }
    value = inner.replace(/\\(.)/g, '$1');
  }
  if (!/[%\u0080-\uffff]/.test(value)) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0x25) {
      const hex = value.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
        throw new HttpBindingError(
          `invalid percent-encoding in header ${header}: "%${hex}" at offset ${i} is not "%" followed by two hex digits`,
          'invalid_encoding',
        );
      }
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else if (code <= 0xff) {
      bytes.push(code);
    } else {
      // Only reachable for headers built in memory (a fetch Headers object); take the character as is.
      for (const byte of Buffer.from(value[i] ?? '', 'utf8')) bytes.push(byte);
    }
  }
  try {
    return utf8Decoder.decode(Uint8Array.from(bytes));
  } catch {
    throw new HttpBindingError(
      `invalid percent-encoding in header ${header}: the decoded bytes are not valid UTF-8`,
      'invalid_encoding',
    );
  }
}

/** Percent-encodes space, double-quote, percent and everything outside U+0021..U+007E (as UTF-8). */
export function percentEncodeHeaderValue(value: string): string {
  if (/^[\x21\x23\x24\x26-\x7e]*$/.test(value)) return value;
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (code >= 0x21 && code <= 0x7e && code !== 0x22 && code !== 0x25) {
      out += char;
    } else {
      for (const byte of Buffer.from(char, 'utf8'))
        out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Binary mode: every attribute except datacontenttype as a percent-encoded `ce-<name>` header
 * (canonical string form), datacontenttype as Content-Type (none when absent), data as the body.
 */
export function toHttpBinary(event: PlainEvent): HttpMessage {
  const headers: Record<string, string> = {};
  for (const name in event) {
    const value = event[name];
    if (NON_HEADER_MEMBERS.has(name) || value === undefined || value === null) continue;
    headers[HEADER_PREFIX + name] = percentEncodeHeaderValue(attributeToString(value));
  }
  const contentType = event.datacontenttype;
  if (contentType !== undefined && contentType !== null)
    headers['content-type'] = attributeToString(contentType);
  // A 0.3 event with datacontentencoding carries its data as the encoded text: sent as is.
  if (event.specversion === '0.3' && event.datacontentencoding && typeof event.data === 'string') {
    return { headers, body: Buffer.from(event.data, 'utf8') };
  }
  return { headers, body: encodeDataBytes(event.data, headers['content-type']) };
}

/** Structured mode: the event in the JSON format, Content-Type application/cloudevents+json. */
export function toHttpStructured(event: PlainEvent): HttpMessage {
  return {
    headers: { 'content-type': STRUCTURED_CONTENT_TYPE },
    body: Buffer.from(toJsonText(event), 'utf8'),
  };
}

/** Batch mode: a JSON array of events, Content-Type application/cloudevents-batch+json. */
export function toHttpBatch(events: readonly PlainEvent[]): HttpMessage {
  return {
    headers: { 'content-type': BATCH_CONTENT_TYPE },
    body: Buffer.from(`[${events.map(toJsonText).join(',')}]`, 'utf8'),
  };
}

/**
 * An event in the JSON format, as text, from which the same data bytes can be read back. Data
 * bytes under a JSON media type that are exactly one JSON value (no whitespace around it, not
 * `null`, which the format reads as no data) are
 * written as the `data` member verbatim, so a reader that keeps JSON text (ours) gets the bytes
 * back; under a text media type, valid UTF-8 becomes a string; all other bytes go to
 * `data_base64` (1.0) or, for 0.3, which has no such member, to `data` as base64 with
 * `datacontentencoding: "base64"` added.
 */
export function toJsonText(event: PlainEvent): string {
  const out: Record<string, unknown> = {};
  for (const name in event) {
    const value = event[name];
    if (name === 'data' || name === 'data_base64' || value === undefined || value === null) continue;
    out[name] = typeof value === 'number' || typeof value === 'boolean' ? value : attributeToString(value);
  }
  const data = event.data;
  if (data === undefined || data === null) return JSON.stringify(out);
  if (!ArrayBuffer.isView(data) && !(data instanceof ArrayBuffer)) {
    out.data = data;
    return JSON.stringify(out);
  }
  const bytes = data instanceof ArrayBuffer ? Buffer.from(data) : viewToBuffer(data);
  const contentType = typeof out.datacontenttype === 'string' ? out.datacontenttype : undefined;
  if (out.specversion === '0.3' && typeof out.datacontentencoding === 'string') {
    out.data = bytes.toString('latin1');
    return JSON.stringify(out);
  }
  const text = contentType !== undefined && isUnicodeCharset(contentType) ? utf8Text(bytes) : undefined;
  if (text !== undefined) {
    const media = mediaType(contentType ?? '');
    if (isJsonMedia(media) && isBareJsonText(text)) {
      const head = JSON.stringify(out);
      return head === '{}' ? `{"data":${text}}` : `${head.slice(0, -1)},"data":${text}}`;
    }
    if (media.startsWith('text/')) {
      out.data = text;
      return JSON.stringify(out);
    }
  }
  if (out.specversion === '0.3') {
    out.datacontentencoding = 'base64';
    out.data = bytes.toString('base64');
  } else {
    out.data_base64 = bytes.toString('base64');
  }
  return JSON.stringify(out);
}

function utf8Text(bytes: Buffer): string | undefined {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

function isBareJsonText(text: string): boolean {
  // `"data": null` would read back as no data (the JSON format's rule for null members).
  if (text === '' || text === 'null' || /^\s|\s$/.test(text)) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
