// What the emitter sends for what an adapter hands it.
// - An event with a `specversion` is complete and is sent exactly as given: a CloudEvent received
//   from upstream (a Kafka record, an SQS or Pub/Sub message that already is one) passes through
//   with nothing added, as the broker passes events on.
// - An EventInit without `specversion` is a new event, completed the way CloudEvents SDKs
//   complete one: specversion 1.0, a random UUID `id` and the current `time` where missing.
// A new event is checked with @eddy/api's structured-mode rules, so an adapter learns at once
// what is wrong with what it built. A complete event is not judged here (it was decoded by a
// binding or built by the SDK, which checked it): the sink has the last word, as for the broker.

import { randomUUID } from 'node:crypto';
import { eventFromObject, type PlainEvent } from '@eddy/api';
import type { EventInit } from './adapter.js';

/**
 * The event to send for `input` (a PlainEvent, an EventInit, or a `cloudevents` SDK CloudEvent).
 * @throws HttpBindingError naming the attribute of a new event that is wrong.
 */
export function sendableEvent(input: PlainEvent | EventInit): PlainEvent {
  const attributes: Record<string, unknown> = {};
  for (const name of Object.keys(input)) {
    const value = input[name];
    if (value !== undefined) attributes[name] = value;
  }
  // The SDK's CloudEvent keeps a base64 copy of binary data beside the data itself.
  if (attributes.data !== undefined) delete attributes.data_base64;
  if (attributes.specversion !== undefined) return attributes as PlainEvent;
  attributes.specversion = '1.0';
  attributes.id ??= randomUUID();
  attributes.time ??= new Date().toISOString();
  return eventFromObject(attributes, '');
}
