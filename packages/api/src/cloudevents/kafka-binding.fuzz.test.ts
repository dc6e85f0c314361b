// Hostile Kafka records: odd, duplicate and non-UTF-8 headers, null keys and values, structured
// values that are any JSON. fromKafkaMessage gives an event the broker can forward (it re-encodes in
// both content modes) or a KafkaBindingError saying why, nothing else.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkFuzz, oddString } from '../../../../test/harness/fuzz.js';
import {
  fromKafkaMessage,
  KafkaBindingError,
  type KafkaBindingMessage,
  toKafkaBinary,
} from './kafka-binding.js';
import { toKafkaStructured } from './kafka-structured.js';

function decodeOrReject(message: KafkaBindingMessage): void {
  let event: ReturnType<typeof fromKafkaMessage>;
  try {
    event = fromKafkaMessage(message, 'topic/0@7');
  } catch (error) {
    if (!(error instanceof KafkaBindingError)) throw error;
    expect(error.message).toContain('topic/0@7');
    return;
  }
  // What was accepted must be forwardable: the dispatcher writes it back out in either mode.
  toKafkaBinary(event);
  toKafkaStructured(event);
}

const headerName = fc.oneof(
  fc.constantFrom('ce_specversion', 'ce_id', 'ce_source', 'ce_type', 'content-type', 'Content-Type', 'CE_ID'),
  fc.string({ maxLength: 10 }).map((s) => `ce_${s}`),
  oddString(10),
);
const bytes = fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b));
const headerValue = fc.oneof(
  oddString(),
  bytes,
  fc.constantFrom('1.0', '0.3', 'application/cloudevents+json', 'application/json', ''),
  fc.constant(undefined),
  fc.array(fc.oneof(oddString(), bytes), { maxLength: 3 }),
);
const validHeaders = fc.record({
  ce_specversion: fc.constantFrom('1.0', '0.3'),
  ce_id: fc.string({ minLength: 1, maxLength: 6 }),
  ce_source: fc.constant('/s'),
  ce_type: fc.constant('t'),
});

const structuredValue = fc.oneof(
  fc
    .record(
      {
        specversion: fc.oneof(fc.constantFrom('1.0', '0.3'), fc.jsonValue({ maxDepth: 1 })),
        id: fc.oneof(fc.constant('1'), fc.jsonValue({ maxDepth: 1 })),
        source: fc.oneof(fc.constant('/s'), fc.jsonValue({ maxDepth: 1 })),
        type: fc.oneof(fc.constant('t'), fc.jsonValue({ maxDepth: 1 })),
        datacontenttype: fc.oneof(fc.constant('application/json'), fc.jsonValue({ maxDepth: 1 })),
        data: fc.jsonValue({ maxDepth: 2 }),
        data_base64: fc.oneof(fc.base64String({ maxLength: 12 }), fc.jsonValue({ maxDepth: 1 })),
        ext: fc.jsonValue({ maxDepth: 2 }),
        'Bad-Name': fc.string(),
      },
      { requiredKeys: [] },
    )
    .map((o) => Buffer.from(JSON.stringify(o))),
  fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? '')),
  bytes,
);

describe('Kafka binding under hostile records', () => {
  it('binary mode: odd, duplicate and non-UTF-8 headers, null key and value', () => {
    checkFuzz(
      'kafka-binding: binary records',
      0.5,
      fc.record({
        base: validHeaders,
        extra: fc.dictionary(headerName, headerValue, { maxKeys: 8 }),
        key: fc.oneof(fc.constant(null), oddString(), bytes),
        value: fc.oneof(fc.constant(null), bytes, oddString()),
      }),
      ({ base, extra, key, value }) => {
        decodeOrReject({ key, value, headers: { ...base, ...extra } });
      },
    );
  });

  it('structured mode: any JSON value, broken members, null value', () => {
    checkFuzz(
      'kafka-binding: structured records',
      0.5,
      fc.record({
        contentType: fc.constantFrom(
          'application/cloudevents+json',
          'application/cloudevents+json; charset=utf-8',
          'application/cloudevents-batch+json',
          'application/cloudevents+avro',
        ),
        value: fc.oneof(fc.constant(null), structuredValue),
        extra: fc.dictionary(headerName, headerValue, { maxKeys: 3 }),
      }),
      ({ contentType, value, extra }) => {
        decodeOrReject({ key: null, value, headers: { ...extra, 'content-type': contentType } });
      },
    );
  });
});
