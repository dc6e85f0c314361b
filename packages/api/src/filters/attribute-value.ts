// How a filter sees one context attribute or extension of an event: as a string, or absent.
// Knative's broker looks attributes up through the Go SDK and compares their string form; this
// module gives the same answers for Eddy's events (PlainEvent).

import type { PlainEvent } from '../cloudevents/event.js';

/** Members of an event that are not attributes: a filter key naming one must not match the payload. */
const NOT_ATTRIBUTES = new Set(['data', 'data_base64']);

/** The event's attribute `name` as a string, or undefined when the event does not carry it. */
export function attributeString(event: PlainEvent, name: string): string | undefined {
  const fields: Readonly<Record<string, unknown>> = event;
  let raw: unknown;
  switch (name) {
    // Knative's lookup treats the 1.0 and 0.3 names of the data schema as one attribute.
    case 'dataschema':
      raw = fields.dataschema ?? fields.schemaurl;
      break;
    case 'schemaurl':
      raw = fields.schemaurl ?? fields.dataschema;
      break;
    case 'time':
      return timeString(fields.time);
    default:
      if (NOT_ATTRIBUTES.has(name) || !Object.hasOwn(fields, name)) return undefined;
      raw = fields[name];
  }
  const text = stringForm(raw);
  // Knative treats an empty optional attribute as "never set".
  return text === '' ? undefined : text;
}

function stringForm(raw: unknown): string | undefined {
  switch (typeof raw) {
    case 'string':
      return raw;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(raw);
    case 'object':
      if (raw === null) return undefined;
      if (raw instanceof Date) return Number.isNaN(raw.getTime()) ? undefined : raw.toISOString();
      if (raw instanceof Uint8Array) return Buffer.from(raw).toString('base64');
      return String(raw);
    default:
      return undefined;
  }
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Knative compares `time` in Go's RFC 3339 text form (RFC3339Nano): fraction without trailing
 * zeros and at most nanoseconds, `Z` for a zero offset. Normalising the same way means a filter
 * written for Knative matches the same events here, however the producer spelled the timestamp.
 */
export function timeString(raw: unknown): string | undefined {
  const text = raw instanceof Date ? stringForm(raw) : typeof raw === 'string' ? raw : undefined;
  if (text === undefined || text === '') return undefined;
  const parts = RFC3339.exec(text);
  if (parts === null) return text;
  const [, date, clock, fraction = '', offset = ''] = parts;
  const nanos = fraction.slice(0, 9).replace(/0+$/, '');
  const zone = offset === 'Z' || offset === 'z' || offset === '+00:00' || offset === '-00:00' ? 'Z' : offset;
  return `${date}T${clock}${nanos === '' ? '' : `.${nanos}`}${zone}`;
}
