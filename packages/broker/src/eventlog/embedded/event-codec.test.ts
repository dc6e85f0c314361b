import { CloudEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import type { LogEvent } from '../event-log.js';
import { EventLogUsageError } from '../event-log.js';
import { DataKind, decodeEvent, encodeEvent } from './event-codec.js';

function roundTrip(event: LogEvent): LogEvent {
  const encoded = encodeEvent(event, 'test');
  // What SQLite hands back for a BLOB column is a plain Uint8Array.
  const data = encoded.data instanceof Uint8Array ? new Uint8Array(encoded.data) : encoded.data;
  return decodeEvent(encoded.attributes, encoded.attributeTypes, encoded.dataKind, data);
}

describe('event codec', () => {
  it('keeps extension values of every CloudEvents type with their JS type', () => {
    const event = new CloudEvent({
      id: '1',
      source: '/s',
      type: 't',
      time: '2024-05-06T09:08:09.123456+02:00',
      count: 42,
      flag: false,
      label: 'x',
      expires: new Date('2025-01-02T03:04:05.678Z'),
      signature: new Uint8Array([1, 2, 3]),
    });
    const back = roundTrip(event);
    expect(back.time).toBe('2024-05-06T09:08:09.123456+02:00');
    expect(back.count).toBe(42);
    expect(back.flag).toBe(false);
    expect(back.label).toBe('x');
    expect(back.expires).toEqual(new Date('2025-01-02T03:04:05.678Z'));
    expect(Buffer.from(back.signature as Uint8Array)).toEqual(Buffer.from([1, 2, 3]));
  });

  it('distinguishes JSON data, string data that looks like JSON, bytes and no data', () => {
    const json = new CloudEvent({ id: '1', source: '/s', type: 't', data: { a: [1, null, 'x'] } });
    const jsonScalar = new CloudEvent({ id: '2', source: '/s', type: 't', data: 0 });
    const text = new CloudEvent({
      id: '3',
      source: '/s',
      type: 't',
      datacontenttype: 'application/json',
      data: '{"a":1}',
    });
    const bytes = new CloudEvent({ id: '4', source: '/s', type: 't', data: new Uint8Array([0, 255]) });
    const none = new CloudEvent({ id: '5', source: '/s', type: 't' });
    expect(encodeEvent(json, 't').dataKind).toBe(DataKind.json);
    expect(encodeEvent(text, 't').dataKind).toBe(DataKind.text);
    expect(encodeEvent(bytes, 't').dataKind).toBe(DataKind.binary);
    expect(encodeEvent(none, 't').dataKind).toBe(DataKind.none);
    expect(roundTrip(json).data).toEqual({ a: [1, null, 'x'] });
    expect(roundTrip(jsonScalar).data).toBe(0);
    expect(roundTrip(text).data).toBe('{"a":1}');
    expect(roundTrip(bytes).data_base64).toBe('AP8=');
    expect(Buffer.isBuffer(roundTrip(bytes).data)).toBe(true);
    expect(roundTrip(none).data).toBeUndefined();
    expect(roundTrip(none).data_base64).toBeUndefined();
    expect(roundTrip(json)).toEqual(json);
    expect(roundTrip(text)).toEqual(text);
    expect(roundTrip(none)).toEqual(none);
  });

  it('keeps events built from data_base64, and 0.3 events with datacontentencoding', () => {
    const fromBase64 = new CloudEvent({ id: '1', source: '/s', type: 't', data_base64: 'aGVsbG8=' });
    expect(roundTrip(fromBase64).data_base64).toBe('aGVsbG8=');
    expect(Buffer.from(roundTrip(fromBase64).data as Uint8Array).toString()).toBe('hello');
    const v03 = new CloudEvent({
      specversion: '0.3',
      id: '2',
      source: '/s',
      type: 't',
      datacontentencoding: 'base64',
      schemaurl: 'https://example.com/s.json',
      data: 'aGVsbG8=',
    });
    const back = roundTrip(v03);
    expect(back).toEqual(v03);
    expect(back.specversion).toBe('0.3');
  });

  it('takes the partitionkey extension as record key', () => {
    const keyed = new CloudEvent({ id: '1', source: '/s', type: 't', partitionkey: 'k1' });
    expect(encodeEvent(keyed, 't').key).toBe('k1');
    expect(encodeEvent(new CloudEvent({ id: '1', source: '/s', type: 't' }), 't').key).toBeNull();
  });

  it('rejects what cannot be stored, naming where', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const event = new CloudEvent({ id: '1', source: '/s', type: 't', data: circular }, false);
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
