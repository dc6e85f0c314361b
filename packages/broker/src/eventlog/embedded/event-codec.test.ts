import type { PlainEvent } from '@eddy/api';
import { describe, expect, it } from 'vitest';
import type { LogEvent } from '../event-log.js';
import { EventLogUsageError } from '../event-log.js';
import { DataKind, decodeEvent, encodeEvent } from './event-codec.js';

const base = { specversion: '1.0', source: '/s', type: 't' } as const;

function roundTrip(event: LogEvent): LogEvent {
  const encoded = encodeEvent(event, 'test');
  // What SQLite hands back for a BLOB column is a plain Uint8Array.
  const data = encoded.data instanceof Uint8Array ? new Uint8Array(encoded.data) : encoded.data;
  return decodeEvent(encoded.attributes, encoded.attributeTypes, encoded.dataKind, data);
}

describe('event codec', () => {
  it('keeps extension values of every CloudEvents type with their JS type', () => {
    const event: PlainEvent = {
      ...base,
      id: '1',
      time: '2024-05-06T09:08:09.123456+02:00',
      count: 42,
      flag: false,
      label: 'x',
      expires: new Date('2025-01-02T03:04:05.678Z'),
      signature: new Uint8Array([1, 2, 3]),
    };
    const back = roundTrip(event);
    expect(back.time).toBe('2024-05-06T09:08:09.123456+02:00');
    expect(back.count).toBe(42);
    expect(back.flag).toBe(false);
    expect(back.label).toBe('x');
    expect(back.expires).toEqual(new Date('2025-01-02T03:04:05.678Z'));
    expect(Buffer.from(back.signature as Uint8Array)).toEqual(Buffer.from([1, 2, 3]));
  });

  it('distinguishes JSON data, string data that looks like JSON, bytes and no data', () => {
    const json: PlainEvent = { ...base, id: '1', data: { a: [1, null, 'x'] } };
    const jsonScalar: PlainEvent = { ...base, id: '2', data: 0 };
    const text: PlainEvent = { ...base, id: '3', datacontenttype: 'application/json', data: '{"a":1}' };
    const bytes: PlainEvent = { ...base, id: '4', data: new Uint8Array([0, 255]) };
    // JSON text as received (the in-memory form of JSON data): kept as those bytes, not parsed.
    const jsonText = Buffer.from('{ "a": 1.0,\n "big": 12345678901234567890 }');
    const jsonBytes: PlainEvent = { ...base, id: '6', datacontenttype: 'application/json', data: jsonText };
    const none: PlainEvent = { ...base, id: '5' };
    expect(encodeEvent(json, 't').dataKind).toBe(DataKind.json);
    expect(encodeEvent(text, 't').dataKind).toBe(DataKind.text);
    expect(encodeEvent(bytes, 't').dataKind).toBe(DataKind.binary);
    expect(encodeEvent(jsonBytes, 't').dataKind).toBe(DataKind.binary);
    expect(encodeEvent(none, 't').dataKind).toBe(DataKind.none);
    expect(roundTrip(json).data).toEqual({ a: [1, null, 'x'] });
    expect(roundTrip(jsonScalar).data).toBe(0);
    expect(roundTrip(text).data).toBe('{"a":1}');
    expect(Buffer.isBuffer(roundTrip(bytes).data)).toBe(true);
    expect(roundTrip(bytes).data).toEqual(Buffer.from([0, 255]));
    expect(roundTrip(bytes)).not.toHaveProperty('data_base64');
    expect(roundTrip(jsonBytes)).toEqual(jsonBytes);
    expect(roundTrip(none)).not.toHaveProperty('data');
    expect(roundTrip(none)).not.toHaveProperty('data_base64');
    expect(roundTrip(json)).toEqual(json);
    expect(roundTrip(text)).toEqual(text);
    expect(roundTrip(none)).toEqual(none);
  });

  it('keeps events built from data_base64, and 0.3 events with datacontentencoding', () => {
    // An event object carrying its bytes as data_base64 only (as a JSON-format object does).
    const fromBase64: PlainEvent = { ...base, id: '1', data_base64: 'aGVsbG8=' };
    expect(roundTrip(fromBase64).data).toEqual(Buffer.from('hello'));
    expect(roundTrip(fromBase64)).not.toHaveProperty('data_base64');
    const v03: PlainEvent = {
      ...base,
      specversion: '0.3',
      id: '2',
      datacontentencoding: 'base64',
      schemaurl: 'https://example.com/s.json',
      data: 'aGVsbG8=',
    };
    const back = roundTrip(v03);
    expect(back).toEqual(v03);
    expect(back.specversion).toBe('0.3');
  });

  it('takes the partitionkey extension as record key', () => {
    const keyed: PlainEvent = { ...base, id: '1', partitionkey: 'k1' };
    expect(encodeEvent(keyed, 't').key).toBe('k1');
    expect(encodeEvent({ ...base, id: '1' }, 't').key).toBeNull();
  });

  it('rejects what cannot be stored, naming where', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const event: PlainEvent = { ...base, id: '1', data: circular };
    expect(() => encodeEvent(event, 'append to "t": event 3')).toThrow(EventLogUsageError);
    expect(() => encodeEvent(event, 'append to "t": event 3')).toThrow(
      /event 3: data cannot be stored as JSON/,
    );
    expect(() => encodeEvent(null as unknown as LogEvent, 'append: event 0')).toThrow(
      /event 0: expected a CloudEvent/,
    );
    expect(() => encodeEvent({ type: 't' } as unknown as LogEvent, 'append: event 1')).toThrow(
      /"id" and "source"/,
    );
  });
});
