// Kafka record -> CloudEvent, as Knative's KafkaSource maps it (README "KafkaSource" has the table).
// Unlike Knative (which falls back to wrapping it), a record that claims to be a CloudEvent
// (`ce_specversion` header or a structured content type) but is not a valid one is rejected as
// malformed: passing it off as a plain record would hide a producer bug behind a changed type.

import { fromKafkaMessage, type KafkaBindingMessage, kafkaContentMode, type PlainEvent } from '@eddy/api';
import type { EventInit } from '../sdk/adapter.js';

export const KAFKA_EVENT_TYPE = 'dev.knative.kafka.event';
/** Knative's annotation choosing how record keys are decoded. */
export const KEY_TYPE_ANNOTATION = 'kafkasources.sources.knative.dev/key-type';
export type KeyType = 'string' | 'int' | 'float' | 'byte-array';
const KEY_TYPES: readonly KeyType[] = ['string', 'int', 'float', 'byte-array'];

/** A record that cannot become an event; the adapter logs, counts and skips it. */
export class MalformedRecordError extends Error {
  override readonly name = 'MalformedRecordError';
}

export interface KafkaRecord extends KafkaBindingMessage {
  offset: string;
}

export interface RecordOrigin {
  namespace: string;
  name: string;
  topic: string;
  partition: number;
}

/** The `source` attribute of events made from plain records of `topic`. */
export function kafkaEventSource(namespace: string, name: string, topic: string): string {
  return `/apis/v1/namespaces/${namespace}/kafkasources/${name}#${topic}`;
}

/** Reads the key-type annotation; an unknown value is an error naming it. */
export function parseKeyType(annotations: Readonly<Record<string, string>>): KeyType {
  const value = annotations[KEY_TYPE_ANNOTATION];
  if (value === undefined || value === '') return 'string';
  if ((KEY_TYPES as readonly string[]).includes(value)) return value as KeyType;
  throw new TypeError(
    `metadata.annotations["${KEY_TYPE_ANNOTATION}"]: expected one of ${KEY_TYPES.join(', ')}, found ${JSON.stringify(value)}`,
  );
}

/** Whether a record claims to be a CloudEvent (so it must decode as one). */
export function claimsCloudEvent(record: Pick<KafkaBindingMessage, 'headers'>): boolean {
  const headers = record.headers ?? {};
  if (Object.keys(headers).some((h) => h.toLowerCase() === 'ce_specversion')) return true;
  try {
    return kafkaContentMode(headers) === 'structured';
  } catch {
    return false;
  }
}

/**
 * The event to send for a record.
 * @throws MalformedRecordError naming the record and what is wrong with it.
 */
export function recordToEvent(
  record: KafkaRecord,
  origin: RecordOrigin,
  keyType: KeyType,
): PlainEvent | EventInit {
  const where = `record ${origin.topic}/${origin.partition}@${record.offset}`;
  if (claimsCloudEvent(record)) {
    try {
      return fromKafkaMessage(record, where);
    } catch (err) {
      throw new MalformedRecordError((err as Error).message);
    }
  }
  const { partition } = origin;
  const event: EventInit = {
    specversion: '1.0',
    id: `partition:${partition}/offset:${record.offset}`,
    source: kafkaEventSource(origin.namespace, origin.name, origin.topic),
    type: KAFKA_EVENT_TYPE,
    subject: `partition:${partition}#${record.offset}`,
  };
  const time = recordTime(record.timestamp);
  if (time !== undefined) event.time = time;
  if (record.key !== null && record.key !== undefined) {
    const key = decodeKey(toBuffer(record.key), keyType, where);
    event.key = key;
    event.partitionkey = key;
  }
  for (const [header, raw] of Object.entries(record.headers ?? {})) {
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value === undefined || value === null) continue;
    const text = toBuffer(value).toString('utf8');
    if (header.toLowerCase() === 'content-type') {
      // An empty one says nothing; kept, it would make an event no sink accepts (datacontenttype "").
      if (text !== '') event.datacontenttype = text.toLowerCase();
      continue;
    }
    const name = header.toLowerCase().replace(/[^a-z0-9]/g, '');
    event[`kafkaheader${name}`] = text;
  }
  if (record.value !== null && record.value !== undefined) event.data = toBuffer(record.value);
  return event;
}

function toBuffer(value: Buffer | string): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

const MAX_DATE_MILLIS = 8.64e15;

function recordTime(timestamp: string | number | undefined): string | undefined {
  const millis = Number(timestamp);
  // A producer may set any int64 timestamp; past JavaScript's Date range (±8.64e15 ms) it has no
  // RFC 3339 form, so the event goes without `time`, as for a missing one.
  if (timestamp === undefined || !Number.isFinite(millis) || millis < 0 || millis > MAX_DATE_MILLIS)
    return undefined;
  return new Date(millis).toISOString();
}

/** The key as an attribute string, decoded like Kafka's String/Integer/Long/Float/Double deserializers. */
function decodeKey(key: Buffer, keyType: KeyType, where: string): string {
  switch (keyType) {
    case 'string':
      return key.toString('utf8');
    case 'byte-array':
      return key.toString('base64');
    case 'int':
      if (key.length === 4) return String(key.readInt32BE(0));
      if (key.length === 8) return String(key.readBigInt64BE(0));
      break;
    case 'float':
      if (key.length === 4) return String(key.readFloatBE(0));
      if (key.length === 8) return String(key.readDoubleBE(0));
      break;
  }
  throw new MalformedRecordError(
    `${where}: key of ${key.length} byte(s) is not a 4- or 8-byte ${keyType} (key-type annotation)`,
  );
}
