// The export file: JSON Lines, one structured-mode CloudEvent per line, written so that importing it
// (into either log) stores the same event, and exporting that again gives the same line.
//
// Three choices make a line depend only on what every log keeps:
// - attributes in their canonical string form: the Kafka log keeps every attribute as a header
//   string, so an integer or boolean extension written as a JSON number would come back as a string
//   from one log and not from the other;
// - attributes in a fixed order (the context attributes in the spec's order, then the extensions by
//   name): the Kafka binding moves datacontenttype to the content-type header, so the order an event
//   comes back in depends on the log;
// - data as its bytes as the Kafka binding stores them (toKafkaBinary), written by toJsonText (JSON
//   text verbatim, text as a string, other bytes as data_base64), except where that text could not
//   be read back to the same bytes on one line: JSON text spanning lines goes to data_base64, and a
//   0.3 event's bytes that toJsonText would re-encode (adding `datacontentencoding`) also go to
//   `data_base64`, which the JSON format defines for 1.0 only, so import sends such an event in
//   binary mode, where the body is the bytes.

import {
  attributeToString,
  type HttpMessage,
  type PlainEvent,
  parseHttpRequest,
  STRUCTURED_CONTENT_TYPE,
  toHttpBinary,
  toJsonText,
  toKafkaBinary,
} from '@eddy/api';

/** The export line of an event (no newline). */
export function exportLine(event: PlainEvent): string {
  const attributes: Record<string, unknown> = {};
  for (const name of Object.keys(event).sort(byAttributeOrder)) {
    const value = event[name];
    if (name === 'data' || name === 'data_base64' || value === undefined || value === null) continue;
    attributes[name] = attributeToString(value);
  }
  const bytes = toKafkaBinary(event).value;
  if (bytes === null) return JSON.stringify(attributes);
  const line = toJsonText({ ...attributes, data: bytes } as PlainEvent);
  if (!/[\r\n]/.test(line) && !addsEncoding(line, attributes)) return line;
  return JSON.stringify({ ...attributes, data_base64: bytes.toString('base64') });
}

const CONTEXT_ORDER = [
  'specversion',
  'id',
  'source',
  'type',
  'datacontenttype',
  'datacontentencoding',
  'dataschema',
  'schemaurl',
  'subject',
  'time',
];

function byAttributeOrder(a: string, b: string): number {
  const [i, j] = [CONTEXT_ORDER.indexOf(a), CONTEXT_ORDER.indexOf(b)];
  if (i >= 0 || j >= 0) return (i < 0 ? CONTEXT_ORDER.length : i) - (j < 0 ? CONTEXT_ORDER.length : j);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** toJsonText gave a 0.3 event without a transfer encoding one (its way to write arbitrary bytes). */
function addsEncoding(line: string, attributes: Record<string, unknown>): boolean {
  if (attributes.specversion !== '0.3' || attributes.datacontentencoding !== undefined) return false;
  return (JSON.parse(line) as Record<string, unknown>).datacontentencoding !== undefined;
}

/** How an import line goes to the ingress. */
export type ImportEvent =
  /** As an element of a batch-mode request: the line's own text, so JSON data keeps its bytes. */
  | { mode: 'batch'; text: string; specversion: string; id: string }
  /** Alone in binary mode: a 0.3 event whose data is given as `data_base64`. */
  | { mode: 'binary'; message: HttpMessage; id: string };

/** An import line that is not an event the ingress would accept; the message says why. */
export class ImportLineError extends Error {
  override readonly name = 'ImportLineError';
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Checks one line of an export file, with the ingress's own rules and messages. */
export function parseImportLine(line: string): ImportEvent {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (e) {
    throw new ImportLineError(`not JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ImportLineError(`expected a JSON object (one CloudEvent), found ${kindOf(json)}`);
  const object = json as Record<string, unknown>;
  try {
    if (object.specversion === '0.3' && object.data_base64 !== undefined) return binaryImport(object);
    const [event] = parseHttpRequest({ 'content-type': STRUCTURED_CONTENT_TYPE }, Buffer.from(line)).events;
    if (event === undefined) throw new ImportLineError('no event');
    return { mode: 'batch', text: line, specversion: event.specversion, id: event.id };
  } catch (e) {
    if (e instanceof ImportLineError) throw e;
    throw new ImportLineError((e as Error).message);
  }
}

function binaryImport(object: Record<string, unknown>): ImportEvent {
  const { data_base64: base64, ...attributes } = object;
  if (attributes.data !== undefined)
    throw new ImportLineError('an event cannot have both "data" and "data_base64"');
  if (typeof base64 !== 'string' || !BASE64.test(base64))
    throw new ImportLineError('member "data_base64" must be a base64 string');
  const [event] = parseHttpRequest(
    { 'content-type': STRUCTURED_CONTENT_TYPE },
    Buffer.from(JSON.stringify(attributes)),
  ).events;
  if (event === undefined) throw new ImportLineError('no event');
  return {
    mode: 'binary',
    message: toHttpBinary({ ...event, data: Buffer.from(base64, 'base64') }),
    id: event.id,
  };
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
