// SQS message -> CloudEvent. A message that already carries a CloudEvent (structured JSON body or
// `ce-` message attributes) passes through; any other message is wrapped as
// `dev.eddy.sources.sqs.message`. See README.md "SqsSource" for the table.

import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import {
  CONTEXT_ATTRIBUTE_NAMES,
  HttpBindingError,
  isExtensionName,
  type PlainEvent,
  parseHttpRequest,
} from '@eddy/api';
import type { EventInit } from '../sdk/adapter.js';

export const SQS_EVENT_TYPE = 'dev.eddy.sources.sqs.message';
const STRUCTURED_MEDIA = 'application/cloudevents+json';
const CE_PREFIX = 'ce-';
/** Names an SQS message attribute may not take as an extension (context attributes and our own). */
const RESERVED = new Set([...CONTEXT_ATTRIBUTE_NAMES, 'contenttype', 'sqsreceivecount', 'sqsmessagegroupid']);

/** An SQS message that claims to be a CloudEvent but does not decode as one. */
export class MalformedSqsMessageError extends Error {
  override readonly name = 'MalformedSqsMessageError';
}

export type SqsEventResult =
  | { mode: 'passthrough'; event: PlainEvent }
  | { mode: 'wrapped'; event: EventInit };

function attributeText(value: MessageAttributeValue): string | undefined {
  if (value.StringValue !== undefined) return value.StringValue;
  if (value.BinaryValue !== undefined) return Buffer.from(value.BinaryValue).toString('base64');
  return undefined;
}

/** The message attribute `content-type` (any letter case), when set. */
function contentTypeOf(attributes: Record<string, MessageAttributeValue>): string | undefined {
  for (const [name, value] of Object.entries(attributes)) {
    // An empty one says nothing; kept, it would make an event no sink accepts (datacontenttype "").
    if (name.toLowerCase() === 'content-type') return attributeText(value) || undefined;
  }
  return undefined;
}

const NOT_JSON = Symbol('not JSON');

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return NOT_JSON;
  }
}

/** A JSON object with a string `specversion`: a structured-mode CloudEvent. */
function looksStructured(json: unknown): boolean {
  return (
    typeof json === 'object' &&
    json !== null &&
    typeof (json as { specversion?: unknown }).specversion === 'string'
  );
}

/**
 * Turns one received message into an event.
 * @param source the `source` of wrapped messages (the queue ARN, or its URL when the ARN is unknown)
 * @throws MalformedSqsMessageError for a message that claims to be a CloudEvent and is not a valid one
 */
export function sqsMessageToEvent(message: Message, source: string): SqsEventResult {
  const body = message.Body ?? '';
  const attributes = message.MessageAttributes ?? {};
  const where = `SQS message ${message.MessageId ?? '(no MessageId)'}`;
  const contentType = contentTypeOf(attributes);
  const ceAttributes = Object.keys(attributes).filter((n) => n.toLowerCase().startsWith(CE_PREFIX));
  // Parsed once: it tells both a structured CloudEvent and, when wrapped, the data's content type.
  const json = ceAttributes.length === 0 && contentType === undefined ? parseJson(body) : NOT_JSON;

  const structured =
    contentType?.toLowerCase().startsWith('application/cloudevents') === true || looksStructured(json);
  if (structured || ceAttributes.length > 0) {
    const headers: Record<string, string> = {};
    if (structured) headers['content-type'] = contentType ?? STRUCTURED_MEDIA;
    else {
      for (const name of ceAttributes) {
        const value = attributes[name];
        const text = value ? attributeText(value) : undefined;
        if (text !== undefined) headers[name.toLowerCase()] = text;
      }
      if (contentType !== undefined) headers['content-type'] = contentType;
    }
    try {
      const [event] = parseHttpRequest(headers, Buffer.from(body, 'utf8')).events;
      if (!event) throw new HttpBindingError('no event decoded', 'invalid_json');
      return { mode: 'passthrough', event };
    } catch (err) {
      const how = structured
        ? 'a structured-mode CloudEvent (JSON body)'
        : 'a binary-mode CloudEvent (ce- message attributes)';
      throw new MalformedSqsMessageError(
        `${where} claims to be ${how} but is not valid: ${(err as Error).message}`,
      );
    }
  }

  const event: EventInit = {
    type: SQS_EVENT_TYPE,
    source,
    id: message.MessageId,
    datacontenttype: contentType ?? (json !== NOT_JSON ? 'application/json' : 'text/plain; charset=utf-8'),
    data: Buffer.from(body, 'utf8'),
  };
  const sent = Number(message.Attributes?.SentTimestamp);
  if (Number.isFinite(sent) && sent > 0) event.time = new Date(sent).toISOString();
  const receiveCount = message.Attributes?.ApproximateReceiveCount;
  if (receiveCount !== undefined) event.sqsreceivecount = receiveCount;
  const group = message.Attributes?.MessageGroupId;
  if (group !== undefined) event.sqsmessagegroupid = group;
  for (const [name, value] of Object.entries(attributes)) {
    const ext = name.toLowerCase().replace(/[^a-z0-9]/g, '');
    const text = attributeText(value);
    // Attributes that cannot be an extension name stay out of the event rather than fail it.
    if (text === undefined || !isExtensionName(ext) || RESERVED.has(ext) || ext in event) continue;
    event[ext] = text;
  }
  return { mode: 'wrapped', event };
}
