// The delivery module's only contact with the CloudEvents HTTP binding, which lives in @eddy/api
// (one binding for ingress, delivery and sources). What is added here is the decision, from
// headers alone, whether a response can carry an event at all, so a body is read only then.

import { type PlainEvent, parseHttpRequest, toHttpBinary } from '@eddy/api';

export interface EncodedHttpEvent {
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: Buffer | string | undefined;
}

export type ResponseEncoding = 'binary' | 'structured' | 'batch';

export type HttpHeaderValues = Record<string, string | string[] | undefined>;

function header(headers: HttpHeaderValues, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * How a response encodes an event, judged from its headers alone (so a body is only read when
 * it can be an event): `application/cloudevents-batch*` = batch, `application/cloudevents*` =
 * structured, a `ce-specversion` or `ce-id` header = binary, anything else = not an event.
 */
export function responseEncoding(headers: HttpHeaderValues): ResponseEncoding | undefined {
  const contentType = header(headers, 'content-type')?.trim().toLowerCase() ?? '';
  if (contentType.startsWith('application/cloudevents-batch')) return 'batch';
  if (contentType.startsWith('application/cloudevents')) return 'structured';
  if (header(headers, 'ce-specversion') !== undefined || header(headers, 'ce-id') !== undefined)
    return 'binary';
  return undefined;
}

/** Binary content mode request headers and body for an event. */
export function encodeBinary(event: PlainEvent): EncodedHttpEvent {
  const message = toHttpBinary(event);
  return { headers: message.headers, body: message.body.length > 0 ? message.body : undefined };
}

/**
 * Decodes a binary or structured response into one valid event; throws an Error saying why not
 * (batch responses are refused: a reply is one event).
 */
export function decodeEvent(headers: HttpHeaderValues, body: Buffer): PlainEvent {
  const parsed = parseHttpRequest(headers, body);
  const [event] = parsed.events;
  if (parsed.mode === 'batch' || event === undefined) {
    throw new Error('a batch of events is not a valid reply (one event expected)');
  }
  return event;
}
