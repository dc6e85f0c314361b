// Hostile input for the HTTP binding: whatever headers and body arrive, parseHttpRequest either
// gives events or throws its own HttpBindingError with a reason, never anything else; and a valid
// event (checked by the cloudevents SDK) survives encode → decode in every mode.

import { CloudEvent } from 'cloudevents';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkFuzz, oddString } from '../../../../test/harness/fuzz.js';
import type { PlainEvent } from './event.js';
import {
  HttpBindingError,
  parseHttpRequest,
  percentDecodeHeaderValue,
  percentEncodeHeaderValue,
  toHttpBatch,
  toHttpBinary,
  toHttpStructured,
} from './http-binding.js';

/** Decodes and checks the only acceptable failure: an HttpBindingError with a reason and a 4xx status. */
function decodeOrReject(headers: Record<string, string | string[]>, body: Buffer): void {
  try {
    const parsed = parseHttpRequest(headers, body);
    for (const event of parsed.events) {
      expect(typeof event.id).toBe('string');
      expect(typeof event.source).toBe('string');
      expect(typeof event.type).toBe('string');
    }
  } catch (error) {
    if (!(error instanceof HttpBindingError)) throw error;
    expect(error.message.length).toBeGreaterThan(10);
    expect([400, 415]).toContain(error.status);
  }
}

const ATTRIBUTES = [
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'subject',
  'dataschema',
  'datacontenttype',
];

const headerName = fc.oneof(
  fc.constantFrom(...ATTRIBUTES).map((name) => `ce-${name}`),
  fc.string({ maxLength: 12 }).map((name) => `ce-${name}`),
  fc.constantFrom('content-type', 'Content-Type', 'CE-ID', 'traceparent', 'ce-', 'x-other'),
);

const headerValue = fc.oneof(
  oddString(),
  fc.constantFrom('1.0', '0.3', '2.0', '', '%', '%z', '%zz', '%C3', '%C0%AF', '%E2%82', '"', '"\\"', '""'),
  fc.string({ minLength: 1000, maxLength: 20_000, unit: fc.constantFrom('a', '%41', '%') }),
);

const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/cloudevents+json',
    'application/cloudevents+json; charset=utf-8',
    'application/cloudevents+json; charset=latin1',
    'application/cloudevents+json; charset="UTF-8"; x=;',
    'application/cloudevents-batch+json',
    'application/cloudevents-batch+json;;charset',
    'application/cloudevents+xml',
    'APPLICATION/CLOUDEVENTS+JSON',
    'text/plain; charset=',
    ';',
    '',
  ),
  oddString(),
);

const anyBody = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? '')),
  oddString(100).map((s) => Buffer.from(s, 'latin1')),
);

/** A structured event object with every member possibly wrong: types, names, data_base64 garbage. */
const eventObject = fc.record(
  {
    specversion: fc.oneof(fc.constantFrom('1.0', '0.3'), fc.jsonValue({ maxDepth: 1 })),
    id: fc.oneof(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 })),
    source: fc.oneof(fc.constantFrom('/s', 'https://x', ':', ''), oddString()),
    type: fc.oneof(fc.constantFrom('t'), fc.jsonValue({ maxDepth: 1 })),
    time: fc.oneof(fc.constantFrom('2024-01-01T00:00:00Z', '2024-13-40T99:99:99Z'), oddString()),
    datacontenttype: contentType,
    data: fc.jsonValue({ maxDepth: 3 }),
    data_base64: fc.oneof(fc.base64String({ maxLength: 40 }), oddString(), fc.jsonValue({ maxDepth: 1 })),
    datacontentencoding: fc.constantFrom('base64', 'BASE64', 'gzip'),
    extension: fc.jsonValue({ maxDepth: 2 }),
    BadName: fc.string(),
  },
  { requiredKeys: [] },
);

const validObject = fc.record({
  specversion: fc.constantFrom('1.0', '0.3'),
  id: fc.string({ minLength: 1, maxLength: 8 }),
  source: fc.constantFrom('/s', 'https://example.com/x', 'urn:a'),
  type: fc.string({ minLength: 1, maxLength: 8 }),
});

const jsonishBody = fc.oneof(
  eventObject.map((o) => Buffer.from(JSON.stringify(o))),
  validObject.map((o) => Buffer.from(JSON.stringify(o))),
  fc.jsonValue({ maxDepth: 5 }).map((v) => Buffer.from(JSON.stringify(v) ?? '')),
  fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.nat(), oddString(3)).map(([v, at, junk]) => {
    const text = JSON.stringify(v) ?? '';
    const cut = at % (text.length + 1);
    return Buffer.from(text.slice(0, cut) + junk + text.slice(cut));
  }),
  fc.constantFrom('', ' ', '{', '[', '"\\ud800"', '\uFEFF{}', '{"a":1}{"b":2}').map((s) => Buffer.from(s)),
  fc.integer({ min: 1, max: 5000 }).map((depth) => Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`)),
);

const batchBody = fc.oneof(
  fc
    .array(fc.oneof(eventObject, validObject, fc.jsonValue({ maxDepth: 2 })), { maxLength: 6 })
    .map((a) => Buffer.from(JSON.stringify(a))),
  fc.array(validObject, { maxLength: 6 }).map((a) => Buffer.from(JSON.stringify(a))),
  fc
    .array(fc.array(validObject, { maxLength: 2 }), { maxLength: 3 })
    .map((a) => Buffer.from(JSON.stringify(a))),
  jsonishBody,
);

describe('HTTP binding under hostile input', () => {
  it('binary mode: any header map and body decode or give an HttpBindingError', () => {
    const headers = fc.dictionary(
      headerName,
      fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 })),
      {
        maxKeys: 10,
      },
    );
    checkFuzz(
      'http-binding: binary headers',
      0.2,
      fc.tuple(headers, validObject, fc.boolean(), anyBody),
      ([extra, base, withBase, body]) => {
        const headers: Record<string, string | string[]> = withBase
          ? Object.fromEntries(Object.entries(base).map(([k, v]) => [`ce-${k}`, v]))
          : {};
        Object.assign(headers, extra);
        decodeOrReject(headers, body);
      },
    );
  });

  it('structured mode: arbitrary and broken JSON decode or give an HttpBindingError', () => {
    checkFuzz(
      'http-binding: structured JSON',
      0.2,
      fc.tuple(contentType, jsonishBody, fc.boolean()),
      ([type, body, structured]) => {
        decodeOrReject({ 'content-type': structured ? 'application/cloudevents+json' : type }, body);
      },
    );
  });

  it('batch mode: non-arrays, nested and mixed arrays decode or give an HttpBindingError', () => {
    checkFuzz('http-binding: batch arrays', 0.2, batchBody, (body) => {
      decodeOrReject({ 'content-type': 'application/cloudevents-batch+json' }, body);
    });
  });

  it('percent-decoding never throws anything but an HttpBindingError, and inverts the encoding', () => {
    checkFuzz(
      'http-binding: percent-decoding',
      0.2,
      fc.tuple(headerValue, fc.string({ unit: 'grapheme' })),
      ([raw, text]) => {
        try {
          percentDecodeHeaderValue(raw, 'ce-x');
        } catch (error) {
          if (!(error instanceof HttpBindingError)) throw error;
          expect(error.message).toContain('ce-x');
        }
        expect(percentDecodeHeaderValue(percentEncodeHeaderValue(text), 'ce-x')).toBe(text);
      },
    );
  });

  it('a valid event round-trips in binary, structured and batch mode', () => {
    const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 });
    const reference = fc
      .record({
        specversion: fc.constantFrom('1.0', '0.3'),
        id: text,
        source: fc.constantFrom('/orders', 'https://example.com/a%20b', 'urn:x:y'),
        type: text,
        subject: fc.option(text, { nil: undefined }),
        time: fc.option(
          fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()),
          { nil: undefined },
        ),
        ext: fc.option(fc.oneof(text, fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.boolean()), {
          nil: undefined,
        }),
        payload: fc.oneof(
          fc.constant(undefined),
          fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => ({
            datacontenttype: 'application/octet-stream',
            data: Buffer.from(b),
          })),
          // JSON null is "no data" in the JSON format, so it cannot round-trip as data (documented).
          fc
            .jsonValue({ maxDepth: 3 })
            .filter((v) => v !== null)
            .map((v) => ({
              datacontenttype: 'application/json',
              data: Buffer.from(JSON.stringify(v) ?? 'null'),
            })),
        ),
      })
      .map(({ payload, ...r }) => {
        const attributes = Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined));
        return { ...attributes, ...payload } as PlainEvent;
      })
      // 0.3 has no data_base64: its bytes travel as base64 text marked by datacontentencoding (documented).
      .filter(
        (event) => !(event.specversion === '0.3' && event.datacontenttype === 'application/octet-stream'),
      )
      // The SDK's strict constructor is the reference for "valid".
      .filter((event) => {
        try {
          new CloudEvent({ ...event, data: undefined }, true);
          return true;
        } catch {
          return false;
        }
      });
    checkFuzz('http-binding: round-trip', 0.2, reference, (event) => {
      for (const message of [toHttpBinary(event), toHttpStructured(event), toHttpBatch([event])]) {
        const [decoded] = parseHttpRequest(message.headers, message.body).events;
        const { data, ...attributes } = decoded as PlainEvent;
        const { data: sent, ...sentAttributes } = event;
        expect(stringly(attributes)).toEqual(stringly(sentAttributes));
        const bytes = (x: unknown) => (x === undefined ? '' : Buffer.from(x as Buffer).toString('hex'));
        expect(bytes(data)).toBe(bytes(sent));
      }
    });
  });
});

/** Binary mode carries every attribute as a string: compare canonical strings. */
function stringly(attributes: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, String(v)]));
}
