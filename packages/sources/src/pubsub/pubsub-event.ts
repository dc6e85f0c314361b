// Pub/Sub message -> CloudEvent (README "PubSubSource"): a message that already is a CloudEvent in
// the Pub/Sub protocol binding passes through unchanged; anything else becomes Google's
// messagePublished event, the shape Eventarc and Knative's retired CloudPubSubSource deliver, so
// consumers written for either work.

import { type PlainEvent, parseHttpRequest } from '@eddy/api';
import type { EventInit } from '../sdk/adapter.js';

export const PUBSUB_MESSAGE_PUBLISHED_TYPE = 'google.cloud.pubsub.topic.v1.messagePublished';

/** The parts of a received message the mapping reads (a subset of the client's Message). */
export interface PubSubMessageLike {
  id: string;
  data: Buffer;
  attributes: Readonly<Record<string, string>>;
  /** RFC 3339 publish time (the client's PreciseDate keeps nanoseconds in toISOString()). */
  publishTime: string;
  orderingKey?: string;
}

/** The message cannot become an event; it is skipped (acked), logged and counted. */
export class MalformedMessageError extends Error {
  override readonly name = 'MalformedMessageError';
}

/** `//pubsub.googleapis.com/projects/<p>/topics/<t>` from the topic's full name. */
export function pubsubEventSource(topicName: string): string {
  return `//pubsub.googleapis.com/${topicName}`;
}

const CE_PREFIX = 'ce-';
const EXTENSION_NAME = /^[a-z0-9]+$/;
const STRUCTURED = 'application/cloudevents+json';

/** The event for one message; throws MalformedMessageError for a broken CloudEvent claim. */
export function pubsubMessageToEvent(
  message: PubSubMessageLike,
  where: { topic: string; subscription: string },
): EventInit | PlainEvent {
  const attrs = message.attributes;
  const contentType = attributeOf(attrs, 'content-type');
  if (contentType?.toLowerCase().split(';')[0]?.trim() === STRUCTURED) return structuredEvent(message);
  if (attributeOf(attrs, `${CE_PREFIX}specversion`) !== undefined) return binaryEvent(message, contentType);

  const pubsubMessage: Record<string, unknown> = {
    data: message.data.toString('base64'),
    messageId: message.id,
    publishTime: message.publishTime,
  };
  // Like Google's JSON (protobuf JSON mapping), empty attributes and ordering key are left out.
  if (Object.keys(attrs).length > 0) pubsubMessage.attributes = { ...attrs };
  if (message.orderingKey) pubsubMessage.orderingKey = message.orderingKey;
  return {
    type: PUBSUB_MESSAGE_PUBLISHED_TYPE,
    source: pubsubEventSource(where.topic),
    id: message.id,
    time: message.publishTime,
    datacontenttype: 'application/json',
    data: { message: pubsubMessage, subscription: where.subscription },
  };
}

/** Pub/Sub attribute names are case-sensitive; the binding's are lower-case, tolerate others. */
function attributeOf(attrs: Readonly<Record<string, string>>, name: string): string | undefined {
  if (attrs[name] !== undefined) return attrs[name];
  for (const [key, value] of Object.entries(attrs)) if (key.toLowerCase() === name) return value;
  return undefined;
}

function binaryEvent(message: PubSubMessageLike, contentType: string | undefined): EventInit {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(message.attributes)) {
    const lower = key.toLowerCase();
    if (!lower.startsWith(CE_PREFIX)) continue;
    const name = lower.slice(CE_PREFIX.length);
    if (!EXTENSION_NAME.test(name)) {
      throw new MalformedMessageError(
        `message ${message.id}: attribute ${JSON.stringify(key)} is not a valid CloudEvents attribute name (a-z, 0-9)`,
      );
    }
    fields[name] = value;
  }
  return checkedEvent(message.id, 'binary', {
    ...fields,
    ...(contentType !== undefined ? { datacontenttype: contentType } : {}),
    ...(message.data.length > 0 ? { data: message.data } : {}),
  });
}

/** The JSON event in the message data, read by @eddy/api's JSON-format reader (data bytes kept). */
function structuredEvent(message: PubSubMessageLike): PlainEvent {
  let event: PlainEvent | undefined;
  try {
    [event] = parseHttpRequest({ 'content-type': STRUCTURED }, message.data).events;
  } catch (err) {
    throw new MalformedMessageError(
      `message ${message.id}: content-type ${STRUCTURED} but the data is not a valid CloudEvent: ${(err as Error).message}`,
    );
  }
  if (event?.specversion !== '1.0') {
    throw new MalformedMessageError(
      `message ${message.id}: structured CloudEvent with specversion ${JSON.stringify(event?.specversion)} (only 1.0 is supported)`,
    );
  }
  return event;
}

function checkedEvent(messageId: string, mode: string, fields: Record<string, unknown>): EventInit {
  if (fields.specversion !== '1.0') {
    throw new MalformedMessageError(
      `message ${messageId}: ${mode} CloudEvent with specversion ${JSON.stringify(fields.specversion)} (only 1.0 is supported)`,
    );
  }
  for (const required of ['id', 'source', 'type']) {
    const value = fields[required];
    if (typeof value !== 'string' || value === '') {
      throw new MalformedMessageError(`message ${messageId}: ${mode} CloudEvent without ${required}`);
    }
  }
  return fields as unknown as EventInit;
}
