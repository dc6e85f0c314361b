// Turns a CloudEvent into the columns of one `records` row and back, losslessly: every attribute
// (including extensions and 0.3-only ones such as schemaurl / datacontentencoding) keeps its value
// and JS type, and data keeps its kind (JSON value, string, bytes, or absent), so what a consumer
// gets back is the event that was appended.

import type { LogEvent } from '../event-log.js';
import { EventLogUsageError } from '../event-log.js';

/** How the `data` column is to be read back. Stored as an integer. */
export const DataKind = { none: 0, json: 1, text: 2, binary: 3 } as const;
export type DataKind = (typeof DataKind)[keyof typeof DataKind];

export interface EncodedEvent {
  /** JSON object of attribute name -> value (dates and bytes in string form, see attributeTypes). */
  attributes: string;
  /** JSON object naming the attributes whose value was a Date or bytes; null when none (the norm). */
  attributeTypes: string | null;
  dataKind: DataKind;
  data: string | Uint8Array | null;
  /** The `partitionkey` extension as a string, or null. */
  key: string | null;
}

type AttributeType = 'date' | 'binary';

export function encodeEvent(event: LogEvent, where: string): EncodedEvent {
  if (event === null || typeof event !== 'object') {
    throw new EventLogUsageError(`${where}: expected a CloudEvent object, got ${describe(event)}`);
  }
  const attributes: Record<string, unknown> = {};
  let attributeTypes: Record<string, AttributeType> | null = null;
  for (const [name, value] of Object.entries(event)) {
    if (name === 'data' || name === 'data_base64' || value === undefined) continue;
    if (value instanceof Date) {
      attributes[name] = value.toISOString();
      attributeTypes ??= {};
      attributeTypes[name] = 'date';
    } else if (ArrayBuffer.isView(value)) {
      attributes[name] = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
      attributeTypes ??= {};
      attributeTypes[name] = 'binary';
    } else if (typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
      throw new EventLogUsageError(
        `${where}: attribute "${name}" has a ${typeof value} value, which a CloudEvent cannot carry`,
      );
    } else {
      attributes[name] = value;
    }
  }
  if (typeof attributes.id !== 'string' || typeof attributes.source !== 'string') {
    throw new EventLogUsageError(`${where}: a CloudEvent needs string "id" and "source" attributes`);
  }
  const partitionKey = attributes.partitionkey;
  const key = partitionKey === undefined || partitionKey === null ? null : String(partitionKey);
  return {
    attributes: stringify(attributes, `${where}: attributes`),
    attributeTypes: attributeTypes === null ? null : JSON.stringify(attributeTypes),
    ...encodeData(event, where),
    key,
  };
}

function encodeData(event: LogEvent, where: string): Pick<EncodedEvent, 'dataKind' | 'data'> {
  const data: unknown = event.data;
  if (ArrayBuffer.isView(data)) {
    return { dataKind: DataKind.binary, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  }
  if (data instanceof ArrayBuffer) return { dataKind: DataKind.binary, data: new Uint8Array(data) };
  if (data === undefined) {
    const base64: unknown = (event as { data_base64?: unknown }).data_base64;
    if (typeof base64 === 'string') return { dataKind: DataKind.binary, data: Buffer.from(base64, 'base64') };
    return { dataKind: DataKind.none, data: null };
  }
  if (typeof data === 'string') return { dataKind: DataKind.text, data };
  return { dataKind: DataKind.json, data: stringify(data, `${where}: data`) };
}

function stringify(value: unknown, where: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new EventLogUsageError(`${where} cannot be stored as JSON: ${(error as Error).message}`);
  }
  if (text === undefined) throw new EventLogUsageError(`${where} cannot be stored as JSON`);
  return text;
}

function describe(value: unknown): string {
  return value === null ? 'null' : typeof value;
}

export function decodeEvent(
  attributesJson: string,
  attributeTypesJson: string | null,
  dataKind: number,
  data: string | Uint8Array | null,
): LogEvent {
  const attributes = JSON.parse(attributesJson) as Record<string, unknown>;
  if (attributeTypesJson !== null) {
    const types = JSON.parse(attributeTypesJson) as Record<string, AttributeType>;
    for (const [name, type] of Object.entries(types)) {
      const stored = attributes[name] as string;
      attributes[name] = type === 'date' ? new Date(stored) : Buffer.from(stored, 'base64');
    }
  }
  switch (dataKind) {
    case DataKind.json:
      attributes.data = JSON.parse(toText(data));
      break;
    case DataKind.text:
      attributes.data = toText(data);
      break;
    case DataKind.binary:
      // A Buffer so consumers get the same type the Kafka implementation hands out.
      attributes.data = data instanceof Uint8Array ? Buffer.from(data) : Buffer.alloc(0);
      break;
  }
  // The event was accepted once: it is handed back as stored, not validated again.
  return attributes as LogEvent;
}

function toText(data: string | Uint8Array | null): string {
  if (typeof data === 'string') return data;
  return data === null ? '' : Buffer.from(data).toString('utf8');
}
