// Hostile foreign messages: whatever a GitHub delivery, an SQS or Pub/Sub message, a Kafka record or
// an API server object holds, the adapter's mapping gives an event that a sink accepts (it is sent
// in binary mode and decodes) or the adapter's own "malformed" error with a reason, nothing else.

import { type HttpBindingError, type PlainEvent, parseHttpRequest, toHttpBinary } from '@eddy/api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkFuzz, oddString } from '../../../test/harness/fuzz.js';
import { apiServerEvent } from './apiserver/apiserver-event.js';
import { githubCloudEvent } from './github/github-event.js';
import { MalformedRecordError, recordToEvent } from './kafka/kafka-event.js';
import { MalformedMessageError, pubsubMessageToEvent } from './pubsub/pubsub-event.js';
import type { EventInit } from './sdk/adapter.js';
import { sendableEvent } from './sdk/sendable-event.js';
import { MalformedSqsMessageError, sqsMessageToEvent } from './sqs/sqs-event.js';

/** Maps with `map`; a throw must be one of `malformed` with a reason; an event must reach a sink. */
function mapOrReject(map: () => EventInit | PlainEvent, malformed: new (...args: never[]) => Error): void {
  let mapped: EventInit | PlainEvent;
  try {
    mapped = map();
  } catch (error) {
    if (!(error instanceof malformed)) throw error;
    expect(error.message.length).toBeGreaterThan(10);
    return;
  }
  const event = sendableEvent(mapped);
  const message = toHttpBinary(event);
  try {
    parseHttpRequest(message.headers, message.body);
  } catch (error) {
    throw new Error(`the adapter made an event a sink refuses: ${(error as HttpBindingError).message}`);
  }
}

const bytes = fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b));
const attributeName = fc.oneof(
  fc.constantFrom(
    'ce-specversion',
    'ce-id',
    'ce-source',
    'ce-type',
    'ce-time',
    'content-type',
    'Content-Type',
  ),
  fc.string({ maxLength: 8 }).map((s) => `ce-${s}`),
  oddString(10),
);
const attributeValue = fc.oneof(
  oddString(),
  fc.constantFrom('1.0', '0.3', '/s', 't', '2024-01-01T00:00:00Z'),
);
const jsonishText = fc.oneof(
  oddString(80),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? ''),
  fc
    .record(
      {
        specversion: fc.oneof(fc.constantFrom('1.0', '0.3'), fc.jsonValue({ maxDepth: 1 })),
        id: fc.jsonValue({ maxDepth: 1 }),
        source: fc.constantFrom('/s', ''),
        type: fc.constantFrom('t', ''),
        data_base64: oddString(),
      },
      { requiredKeys: ['specversion'] },
    )
    .map((o) => JSON.stringify(o)),
);

describe('source adapters under hostile foreign messages', () => {
  it('GitHub: any event name and payload becomes a valid event', () => {
    checkFuzz(
      'webhooks: github',
      0.2,
      fc.record({
        // The X-GitHub-Event header: present (else 400) and anything; the repository comes from a validated spec.
        event: fc.oneof(
          fc.constantFrom('push', 'pull_request', 'issues', 'ping', 'release'),
          oddString(12).filter((e) => e !== ''),
        ),
        deliveryId: fc.oneof(fc.uuid(), fc.string({ minLength: 1, maxLength: 20 })),
        ownerAndRepository: fc.stringMatching(/^[A-Za-z0-9-]{1,12}\/[A-Za-z0-9._-]{1,12}$/),
        payload: fc.oneof(
          fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 })),
          fc.record({
            repository: fc.jsonValue({ maxDepth: 2 }),
            pull_request: fc.jsonValue({ maxDepth: 2 }),
            issue: fc.record({ number: fc.jsonValue({ maxDepth: 1 }) }),
            ref: fc.jsonValue({ maxDepth: 1 }),
            organization: fc.record({ login: fc.jsonValue({ maxDepth: 1 }) }),
          }),
        ),
      }),
      ({ payload, ...rest }) => {
        const body = Buffer.from(JSON.stringify(payload));
        // No "malformed" error exists here: the HTTP path already refused what is not a JSON object.
        mapOrReject(() => githubCloudEvent({ ...rest, payload: payload as never, body }), TypeError);
      },
    );
  });

  it('SQS: any body and message attributes', () => {
    const attribute = fc.oneof(
      attributeValue.map((StringValue) => ({ DataType: 'String', StringValue })),
      bytes.map((BinaryValue) => ({ DataType: 'Binary', BinaryValue })),
      fc.constant({ DataType: 'String' }),
    );
    checkFuzz(
      'webhooks: sqs',
      0.2,
      fc.record({
        Body: fc.option(jsonishText, { nil: undefined }),
        // SQS always assigns a MessageId.
        MessageId: fc.uuid(),
        MessageAttributes: fc.option(fc.dictionary(attributeName, attribute, { maxKeys: 6 }), {
          nil: undefined,
        }),
      }),
      (message) =>
        mapOrReject(
          () => sqsMessageToEvent(message, 'arn:aws:sqs:us-east-1:1:q').event,
          MalformedSqsMessageError,
        ),
    );
  });

  it('Pub/Sub: any data, attributes and ordering key', () => {
    checkFuzz(
      'webhooks: pubsub',
      0.2,
      fc.record({
        id: fc.string({ minLength: 1, maxLength: 12 }),
        data: fc.oneof(
          bytes,
          jsonishText.map((t) => Buffer.from(t)),
        ),
        attributes: fc.dictionary(attributeName, attributeValue, { maxKeys: 6 }),
        publishTime: fc.constantFrom('2024-01-01T00:00:00.123456789Z', '2024-01-01T00:00:00Z'),
        orderingKey: fc.option(oddString(), { nil: undefined }),
      }),
      (message) =>
        mapOrReject(
          () =>
            pubsubMessageToEvent(message, {
              topic: 'projects/p/topics/t',
              subscription: 'projects/p/subscriptions/s',
            }),
          MalformedMessageError,
        ),
    );
  });

  it('KafkaSource: any record, with or without a CloudEvent claim', () => {
    const headerValue = fc.oneof(
      attributeValue,
      bytes,
      fc.constant(undefined),
      fc.array(attributeValue, { maxLength: 2 }),
    );
    checkFuzz(
      'webhooks: kafka source',
      0.2,
      fc.record({
        key: fc.oneof(fc.constant(null), bytes, oddString()),
        value: fc.oneof(fc.constant(null), bytes, jsonishText),
        headers: fc.dictionary(
          fc.oneof(
            attributeName.map((n) => n.replace('ce-', 'ce_')),
            oddString(8),
          ),
          headerValue,
          { maxKeys: 6 },
        ),
        offset: fc.nat().map(String),
        timestamp: fc.oneof(
          fc.nat().map(String),
          fc.constantFrom('-1', 'x', '1e30', '9223372036854775807', '8640000000000001'),
        ),
        keyType: fc.constantFrom('string', 'int', 'float', 'byte-array') as fc.Arbitrary<
          'string' | 'int' | 'float' | 'byte-array'
        >,
      }),
      ({ keyType, ...record }) =>
        mapOrReject(
          () => recordToEvent(record, { namespace: 'n', name: 'k', topic: 't', partition: 0 }, keyType),
          MalformedRecordError,
        ),
    );
  });

  it('ApiServerSource: any object the API server could send', () => {
    checkFuzz(
      'webhooks: apiserver',
      0.2,
      fc.record({
        mode: fc.constantFrom('Reference', 'Resource') as fc.Arbitrary<'Reference' | 'Resource'>,
        action: fc.constantFrom('add', 'update', 'delete') as fc.Arbitrary<'add' | 'update' | 'delete'>,
        object: fc.record(
          {
            apiVersion: oddString(12),
            kind: oddString(12),
            metadata: fc.record(
              {
                name: oddString(12),
                namespace: oddString(12),
                uid: oddString(8),
                resourceVersion: oddString(4),
              },
              { requiredKeys: [] },
            ),
            spec: fc.jsonValue({ maxDepth: 3 }),
          },
          { requiredKeys: [] },
        ),
      }),
      ({ mode, action, object }) =>
        mapOrReject(
          () => apiServerEvent('https://10.0.0.1:6443', mode, action, object as never, 'id-1'),
          TypeError,
        ),
    );
  });
});
