import { CloudEvent, Kafka } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import {
  conformanceCorpusMissing as corpusMissing,
  readKafkaFeatureVectors,
  readYamlEventVectors,
} from './binding-vectors.conformance.js';
import { dataValue, type PlainEvent } from './event.js';
import {
  fromKafkaMessage,
  isKafkaCloudEvent,
  KafkaBindingError,
  kafkaContentMode,
  toKafkaBinary,
} from './kafka-binding.js';

describe.skipIf(corpusMissing !== undefined)('Kafka binding: CloudEvents conformance vectors', () => {
  if (corpusMissing) {
    it.skip(corpusMissing, () => {});
    return;
  }
  const vectors = readKafkaFeatureVectors();

  it('reads every scenario of the feature file', () => {
    // Binary mode + the structured outline with two content types.
    expect(vectors.map((v) => v.name)).toEqual([
      'Binary content mode',
      'Structured content mode (application/cloudevents+json)',
      'Structured content mode (application/cloudevents+json; charset=utf-8)',
    ]);
  });

  for (const vector of vectors) {
    it(vector.name, () => {
      // kafkajs hands out header values and the value as Buffers.
      const headers = Object.fromEntries(Object.entries(vector.headers).map(([k, v]) => [k, Buffer.from(v)]));
      const event = fromKafkaMessage({ key: null, value: Buffer.from(vector.payload), headers });
      const attributes = event as unknown as Record<string, unknown>;
      for (const [name, value] of Object.entries(vector.attributes)) {
        expect(attributes[name], `attribute ${name}`).toBe(value);
      }
      expect(dataValue(event)).toEqual(JSON.parse(vector.dataJson ?? 'null'));
      // The data bytes are the bytes the record carried: the whole value in binary mode, the
      // `data` member's JSON text as written in structured mode.
      expect(Buffer.isBuffer(event.data)).toBe(true);
      if (vector.headers['content-type']?.startsWith('application/cloudevents')) {
        expect(vector.payload).toContain((event.data as Buffer).toString('utf8'));
      } else {
        expect(event.data).toEqual(Buffer.from(vector.payload));
      }
    });
  }
});

// The conformance repo's YAML events (written for the HTTP binding) give a spread of attribute
// sets, both spec versions and several media types: each must survive binary encoding byte-exactly.
describe.skipIf(corpusMissing !== undefined)(
  'Kafka binding: round trip of the conformance YAML events',
  () => {
    if (corpusMissing) return;
    for (const vector of readYamlEventVectors()) {
      it(vector.name, () => {
        const { attributes, extensions } = vector;
        const data = vector.data === undefined ? undefined : Buffer.from(vector.data, 'utf8');
        const event = { ...attributes, ...extensions, ...(data === undefined ? {} : { data }) } as PlainEvent;

        const record = toKafkaBinary(event);
        const expectedHeaders: Record<string, string> = {};
        for (const [name, value] of Object.entries({ ...attributes, ...extensions })) {
          if (name === 'datacontenttype') expectedHeaders['content-type'] = value;
          else expectedHeaders[`ce_${name}`] = value;
        }
        expect(record.headers).toEqual(expectedHeaders);
        expect(record.value).toEqual(data ?? null);

        const decoded = fromKafkaMessage({
          key: record.key,
          value: record.value,
          headers: Object.fromEntries(Object.entries(record.headers).map(([k, v]) => [k, Buffer.from(v)])),
        });
        const decodedAttributes = decoded as unknown as Record<string, unknown>;
        for (const [name, value] of Object.entries({ ...attributes, ...extensions })) {
          expect(decodedAttributes[name], name).toBe(value);
        }
        // Nothing is added (no time for the minimal vectors) and the data bytes come back exactly.
        expect(Object.keys(decoded).sort()).toEqual(Object.keys(event).sort());
        expect(decoded.data).toEqual(data);
        expect(toKafkaBinary(decoded).value).toEqual(record.value);
      });
    }
  },
);

describe('Kafka binding: binary mode encoding', () => {
  const base: PlainEvent = {
    specversion: '1.0',
    id: 'e-1',
    source: '/eddy/test',
    type: 'dev.eddy.test',
    time: '2018-04-05T03:56:24Z',
  };

  it('maps attributes to ce_ headers, datacontenttype to content-type and partitionkey to the key', () => {
    const event: PlainEvent = {
      ...base,
      subject: 'sub',
      dataschema: 'https://example.com/schema',
      datacontenttype: 'application/json',
      partitionkey: 'customer-7',
      data: { hello: 'world' },
    };
    const record = toKafkaBinary(event);
    expect(record.key).toBe('customer-7');
    expect(record.headers).toEqual({
      ce_specversion: '1.0',
      ce_id: 'e-1',
      ce_source: '/eddy/test',
      ce_type: 'dev.eddy.test',
      ce_time: '2018-04-05T03:56:24Z',
      ce_subject: 'sub',
      ce_dataschema: 'https://example.com/schema',
      ce_partitionkey: 'customer-7',
      'content-type': 'application/json',
    });
    expect(record.value?.toString()).toBe('{"hello":"world"}');
  });

  it('writes no key without a partitionkey and keeps time exactly as given', () => {
    const record = toKafkaBinary({ ...base, time: '2018-04-05T05:56:24+02:00', data: 'x' });
    expect(record.key).toBeNull();
    expect(record.headers.ce_time).toBe('2018-04-05T05:56:24+02:00');
  });

  it('encodes extension values in the canonical string form', () => {
    const record = toKafkaBinary({
      ...base,
      flag: true,
      count: 42,
      bin: new Uint8Array([1, 2, 255]),
      text: 'plain',
    });
    expect(record.headers.ce_flag).toBe('true');
    expect(record.headers.ce_count).toBe('42');
    expect(record.headers.ce_bin).toBe(Buffer.from([1, 2, 255]).toString('base64'));
    expect(record.headers.ce_text).toBe('plain');
    for (const value of Object.values(record.headers)) expect(typeof value).toBe('string');
  });

  it('keeps specversion 0.3 and its attributes (schemaurl, datacontentencoding)', () => {
    const event: PlainEvent = {
      specversion: '0.3',
      id: 'old-1',
      source: '/legacy',
      type: 'legacy.type',
      time: '2019-01-01T00:00:00Z',
      schemaurl: 'https://example.com/s',
      datacontentencoding: 'base64',
      datacontenttype: 'text/plain',
      data: 'aGVsbG8=',
    };
    const record = toKafkaBinary(event);
    expect(record.headers.ce_specversion).toBe('0.3');
    expect(record.headers.ce_schemaurl).toBe('https://example.com/s');
    expect(record.headers.ce_datacontentencoding).toBe('base64');
    const back = fromKafkaMessage(record);
    expect(back.specversion).toBe('0.3');
    expect(back.schemaurl).toBe('https://example.com/s');
    expect(back.datacontentencoding).toBe('base64');
    // The encoded text stays encoded: the record value's bytes, written back unchanged.
    expect(back.data).toEqual(Buffer.from('aGVsbG8='));
    expect(toKafkaBinary(back).value).toEqual(record.value);
  });

  it('writes the encoded text of a 0.3 event with datacontentencoding as is, also under a JSON type', () => {
    const event: PlainEvent = {
      specversion: '0.3',
      id: 'old-2',
      source: '/legacy',
      type: 'legacy.type',
      datacontentencoding: 'base64',
      datacontenttype: 'application/json',
      data: 'eyJhIjoxfQ==',
    };
    const record = toKafkaBinary(event);
    expect(record.value?.toString()).toBe('eyJhIjoxfQ==');
    expect(toKafkaBinary(fromKafkaMessage(record)).value).toEqual(record.value);
  });

  it('writes binary data as raw bytes and reads it back as the same bytes', () => {
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 253, 254, 255]);
    const record = toKafkaBinary({ ...base, datacontenttype: 'application/octet-stream', data: bytes });
    expect(record.headers).not.toHaveProperty('ce_data_base64');
    expect(record.value).toEqual(bytes);
    const back = fromKafkaMessage(record);
    expect(back.data).toEqual(bytes);
    expect(back).not.toHaveProperty('data_base64');
  });

  it('encodes an event without data as a record with a null value (tombstone) and reads it back', () => {
    const record = toKafkaBinary({ ...base });
    expect(record.value).toBeNull();
    expect(record.headers).not.toHaveProperty('content-type');
    const back = fromKafkaMessage(record);
    expect(back.data).toBeUndefined();
    expect(back.id).toBe('e-1');
  });

  it('keeps empty data distinct from no data', () => {
    const record = toKafkaBinary({ ...base, datacontenttype: 'text/plain', data: '' });
    expect(record.value).toEqual(Buffer.alloc(0));
    const back = fromKafkaMessage(record);
    expect(back.data).toEqual(Buffer.alloc(0));
    expect(dataValue(back)).toBe('');
  });

  it('rejects events it cannot represent, naming the problem', () => {
    const bad = { ...base, specversion: '2.0' } as never;
    expect(() => toKafkaBinary(bad)).toThrow(/specversion must be "1.0" or "0.3", got "2.0"/);
    expect(() => toKafkaBinary({ ...base, type: '' } as never)).toThrow(/required attribute "type"/);
    expect(() => toKafkaBinary({ ...base, 'Bad-Name': 'x' } as never)).toThrow(/attribute name "Bad-Name"/);
  });

  it('is what the SDK binding gets wrong: no ce_datacontenttype header and serialised JSON value', () => {
    const event = new CloudEvent({ ...base, datacontenttype: 'application/json', data: { a: 1 } });
    const sdk = Kafka.binary(event);
    // The SDK writes the content type twice and leaves the value an object.
    expect(sdk.headers).toHaveProperty('ce_datacontenttype');
    expect(typeof (sdk as { value: unknown }).value).toBe('object');
    const ours = toKafkaBinary(event);
    expect(ours.headers).not.toHaveProperty('ce_datacontenttype');
    expect(Buffer.isBuffer(ours.value)).toBe(true);
  });
});

describe('Kafka binding: decoding', () => {
  const headers = (extra: Record<string, string> = {}) => ({
    ce_specversion: Buffer.from('1.0'),
    ce_id: Buffer.from('x-1'),
    ce_source: Buffer.from('/src'),
    ce_type: Buffer.from('t'),
    ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, Buffer.from(v)])),
  });

  it('does not turn the record key into a partitionkey attribute', () => {
    const event = fromKafkaMessage({ key: Buffer.from('k'), value: null, headers: headers() });
    expect(event).not.toHaveProperty('partitionkey');
  });

  it('reads partitionkey from its ce_ header', () => {
    const event = fromKafkaMessage({
      key: Buffer.from('k'),
      value: null,
      headers: headers({ ce_partitionkey: 'k' }),
    });
    expect(event.partitionkey).toBe('k');
  });

  it('adds no time to an event without one (the record timestamp is not an attribute)', () => {
    const message = { value: null, headers: headers(), timestamp: '1700000000000' };
    const event = fromKafkaMessage(message);
    expect(event).not.toHaveProperty('time');
    expect(toKafkaBinary(event).headers).not.toHaveProperty('ce_time');
  });

  it('keeps unparsable JSON data as its bytes, so it is written back unchanged', () => {
    const event = fromKafkaMessage({
      value: Buffer.from('{not json'),
      headers: headers({ 'content-type': 'application/json' }),
    });
    expect(event.data).toEqual(Buffer.from('{not json'));
    expect(toKafkaBinary(event).value?.toString()).toBe('{not json');
  });

  it('keeps a JSON string value a JSON string on the wire', () => {
    const event: PlainEvent = {
      specversion: '1.0',
      id: 'j',
      source: '/j',
      type: 't',
      datacontenttype: 'application/json; charset=utf-8',
      data: 'Hello',
    };
    const record = toKafkaBinary(event);
    expect(record.value?.toString()).toBe('"Hello"');
    const back = fromKafkaMessage(record);
    expect(back.data).toEqual(Buffer.from('"Hello"'));
    expect(dataValue(back)).toBe('Hello');
    expect(toKafkaBinary(back).value?.toString()).toBe('"Hello"');
  });

  it('hands out data of unknown or non-UTF-8 media types as bytes', () => {
    const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]);
    const event = fromKafkaMessage({
      value: latin1,
      headers: headers({ 'content-type': 'text/plain; charset=iso-8859-1' }),
    });
    expect(Buffer.isBuffer(event.data)).toBe(true);
    expect(toKafkaBinary(event).value).toEqual(latin1);
    const noType = fromKafkaMessage({ value: Buffer.from('abc'), headers: headers() });
    expect(Buffer.isBuffer(noType.data)).toBe(true);
  });

  it('treats content-type application/cloudevents+json case-insensitively as structured mode', () => {
    expect(kafkaContentMode({ 'content-type': 'Application/CloudEvents+JSON' })).toBe('structured');
    expect(kafkaContentMode({ 'content-type': 'application/json' })).toBe('binary');
    expect(kafkaContentMode(undefined)).toBe('binary');
  });

  it('decodes structured mode with data_base64, 0.3 events and no time (none added)', () => {
    const value = JSON.stringify({
      specversion: '1.0',
      id: 's-1',
      source: '/s',
      type: 't',
      data_base64: Buffer.from([9, 8, 7]).toString('base64'),
      ext: 'v',
    });
    const event = fromKafkaMessage({
      value,
      headers: { 'content-type': 'application/cloudevents+json' },
      timestamp: 0,
    });
    expect(event.data).toEqual(Buffer.from([9, 8, 7]));
    expect(event).not.toHaveProperty('data_base64');
    expect(event.ext).toBe('v');
    expect(event).not.toHaveProperty('time');

    const v03 = fromKafkaMessage({
      value: JSON.stringify({
        specversion: '0.3',
        id: 'o',
        source: '/o',
        type: 't',
        schemaurl: 'u',
        data: 1,
      }),
      headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
    });
    expect(v03.specversion).toBe('0.3');
    expect(v03.schemaurl).toBe('u');
    expect(v03.data).toBe(1);
  });

  it('rejects records that are not CloudEvents with an error naming the record and the problem', () => {
    const where = 'events/2@17';
    const cases: [Parameters<typeof fromKafkaMessage>[0], RegExp][] = [
      [{ value: null, headers: {} }, /events\/2@17 \(binary mode\).*specversion.*found none/],
      [{ value: null, headers: { ...headers(), ce_specversion: Buffer.from('2.0') } }, /found "2.0"/],
      [{ value: null, headers: { ...headers(), ce_type: Buffer.from('') } }, /header ce_type is missing/],
      [{ value: null, headers: { ...headers(), 'ce_bad-name': Buffer.from('x') } }, /header "ce_bad-name"/],
      [{ value: null, headers: { 'content-type': 'application/cloudevents+json' } }, /has no value/],
      [
        { value: '[]', headers: { 'content-type': 'application/cloudevents-batch+json' } },
        /unsupported event format/,
      ],
      [{ value: '{', headers: { 'content-type': 'application/cloudevents+json' } }, /not JSON/],
      [
        { value: '{}', headers: { 'content-type': 'application/cloudevents+avro' } },
        /unsupported event format/,
      ],
      [
        {
          value: '{"specversion":"1.0","id":"a","source":"b"}',
          headers: { 'content-type': 'application/cloudevents+json' },
        },
        /member "type" is missing/,
      ],
      [
        { value: null, headers: { ...headers(), ce_schemaurl: Buffer.from('u') } },
        /not a valid CloudEvent: cannot set schemaurl on version 1.0/,
      ],
    ];
    for (const [message, pattern] of cases) {
      expect(() => fromKafkaMessage(message, where)).toThrow(KafkaBindingError);
      expect(() => fromKafkaMessage(message, where)).toThrow(pattern);
    }
  });

  it('recognises CloudEvent records', () => {
    expect(isKafkaCloudEvent({ headers: headers() })).toBe(true);
    expect(isKafkaCloudEvent({ headers: { ce_id: 'x' } })).toBe(false);
    expect(isKafkaCloudEvent({ headers: { 'content-type': 'application/cloudevents+json' } })).toBe(true);
    expect(isKafkaCloudEvent({ headers: {} })).toBe(false);
  });
});
