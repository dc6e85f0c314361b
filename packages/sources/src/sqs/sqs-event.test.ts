// The SQS message -> CloudEvent mapping on its own (the end-to-end tests cover it through ElasticMQ).
import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { MalformedSqsMessageError, SQS_EVENT_TYPE, sqsMessageToEvent } from './sqs-event.js';

const SOURCE = 'arn:aws:sqs:us-east-1:000000000000:orders';
const str = (StringValue: string) => ({ DataType: 'String', StringValue });

describe('sqsMessageToEvent', () => {
  it('wraps a plain message; attributes that cannot be extensions are left out', () => {
    const message: Message = {
      MessageId: 'm-1',
      Body: 'not json',
      Attributes: { SentTimestamp: '1700000000123', ApproximateReceiveCount: '3', MessageGroupId: 'g1' },
      MessageAttributes: { Type: str('shadowed'), 'Sqs.Receive-Count': str('x'), Region: str('eu') },
    };
    const result = sqsMessageToEvent(message, SOURCE);
    expect(result.mode).toBe('wrapped');
    expect(result.event).toMatchObject({
      type: SQS_EVENT_TYPE,
      source: SOURCE,
      id: 'm-1',
      time: '2023-11-14T22:13:20.123Z',
      datacontenttype: 'text/plain; charset=utf-8',
      sqsreceivecount: '3',
      sqsmessagegroupid: 'g1',
      region: 'eu',
    });
    expect((result.event as { data: Buffer }).data.toString()).toBe('not json');
  });

  it('decodes a structured event named by the content-type attribute', () => {
    const body = JSON.stringify({ specversion: '1.0', id: 'e', source: '/s', type: 't', data: 'd' });
    const result = sqsMessageToEvent(
      {
        MessageId: 'm',
        Body: body,
        MessageAttributes: { 'Content-Type': str('application/cloudevents+json') },
      },
      SOURCE,
    );
    expect(result).toMatchObject({
      mode: 'passthrough',
      event: { id: 'e', source: '/s', type: 't', data: 'd' },
    });
  });

  // Found by foreign-messages.fuzz.test.ts: datacontenttype "" made the event fail its send check.
  it('takes an empty content-type attribute as none', () => {
    const result = sqsMessageToEvent(
      { MessageId: 'm-9', Body: '{"a":1}', MessageAttributes: { 'Content-Type': str('') } },
      SOURCE,
    );
    expect(result.event.datacontenttype).toBe('application/json');
  });

  it('a JSON body without specversion is plain data, not a CloudEvent', () => {
    const result = sqsMessageToEvent({ MessageId: 'm', Body: '{"id":"x","type":"y"}' }, SOURCE);
    expect(result).toMatchObject({
      mode: 'wrapped',
      event: { id: 'm', datacontenttype: 'application/json' },
    });
  });

  it('rejects CloudEvent claims that do not decode, naming the message', () => {
    expect(() =>
      sqsMessageToEvent({ MessageId: 'bad-1', Body: '{"specversion":"1.0","id":"x"}' }, SOURCE),
    ).toThrow(/SQS message bad-1 claims to be a structured-mode CloudEvent.*source/);
    expect(() =>
      sqsMessageToEvent({ MessageId: 'bad-2', Body: '', MessageAttributes: { 'ce-id': str('x') } }, SOURCE),
    ).toThrow(MalformedSqsMessageError);
    expect(() =>
      sqsMessageToEvent(
        {
          MessageId: 'bad-3',
          Body: '{',
          MessageAttributes: { 'content-type': str('application/cloudevents+json') },
        },
        SOURCE,
      ),
    ).toThrow(/bad-3/);
  });
});
