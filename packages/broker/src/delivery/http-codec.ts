// The delivery module's only contact with the CloudEvents HTTP binding. Encoding and decoding
// belong to @eddy/api's http-binding; until that lands, this adapter falls back to the
// cloudevents SDK so the rest of the module does not care which one it is.

import { type CloudEvent, HTTP } from 'cloudevents';

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
export function encodeBinary(event: CloudEvent<unknown>): EncodedHttpEvent {
  const message = HTTP.binary(event);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (value !== undefined && value !== null) headers[name.toLowerCase()] = String(value);
  }
  const body = message.body;
  if (body === undefined || body === null) return { headers, body: undefined };
  if (typeof body === 'string' || Buffer.isBuffer(body)) return { headers, body };
  if (ArrayBuffer.isView(body))
    return { headers, body: Buffer.from(body.buffer, body.byteOffset, body.byteLength) };
  return { headers, body: String(body) };
}

/**
 * Decodes a binary or structured response into a valid event; throws an Error saying why not
 * (batch responses are refused: a reply is one event).
 */
export function decodeEvent(headers: HttpHeaderValues, body: Buffer): CloudEvent<unknown> {
  const encoding = responseEncoding(headers);
  if (encoding === undefined) throw new Error('the response carries no CloudEvent');
  if (encoding === 'batch') throw new Error('a batch of events is not a valid reply (one event expected)');
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const v = Array.isArray(value) ? value.join(', ') : value;
    if (v !== undefined) flat[name.toLowerCase()] = v;
  }
  const contentType = flat['content-type'] ?? '';
  const textual = encoding === 'structured' || /json|^text\//i.test(contentType);
  const text = textual ? body.toString('utf8') : undefined;
  // The SDK invents a missing id and time and validates nothing but 1.0 events, so the required
  // attributes are checked here first.
  let attributes: Record<string, unknown>;
  if (encoding === 'structured') {
    try {
      const parsed: unknown = JSON.parse(text ?? '');
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new Error('not a JSON object');
      }
      attributes = parsed as Record<string, unknown>;
    } catch (err) {
      throw new Error(`structured event body is not a JSON object: ${(err as Error).message}`);
    }
  } else {
    attributes = {};
    for (const name of ['specversion', 'id', 'source', 'type']) attributes[name] = flat[`ce-${name}`];
  }
  for (const name of ['specversion', 'id', 'source', 'type']) {
    const value = attributes[name];
    if (typeof value !== 'string' || value === '') throw new Error(`required attribute "${name}" is missing`);
  }
  if (attributes.specversion !== '1.0' && attributes.specversion !== '0.3') {
    throw new Error(
      `unsupported specversion ${JSON.stringify(attributes.specversion)} (expected 1.0 or 0.3)`,
    );
  }
  const decoded = HTTP.toEvent({ headers: flat, body: text ?? body });
  if (Array.isArray(decoded)) throw new Error('a batch of events is not a valid reply (one event expected)');
  const event = decoded as CloudEvent<unknown>;
  event.validate();
  return event;
}
