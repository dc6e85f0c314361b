import { describe, expect, it } from 'vitest';
import {
  conformanceCorpusMissing,
  readHttpFeatureVectors,
  readYamlEventVectors,
} from './binding-vectors.conformance.js';
import { dataValue, type PlainEvent } from './event.js';
import {
  HttpBindingError,
  parseHttpRequest,
  percentDecodeHeaderValue,
  percentEncodeHeaderValue,
  toHttpBatch,
  toHttpBinary,
  toHttpStructured,
} from './http-binding.js';
import { jsonErrorPosition } from './json-error-position.js';

function attrs(event: PlainEvent): Record<string, unknown> {
  return event as unknown as Record<string, unknown>;
}

function parseError(headers: Record<string, string>, body: string | Buffer): HttpBindingError {
  try {
    parseHttpRequest(headers, typeof body === 'string' ? Buffer.from(body) : body);
  } catch (error) {
    expect(error).toBeInstanceOf(HttpBindingError);
    return error as HttpBindingError;
  }
  throw new Error('expected parseHttpRequest to reject the request');
}

const binaryBase = {
  'ce-specversion': '1.0',
  'ce-id': 'e-1',
  'ce-source': '/eddy/test',
  'ce-type': 'dev.eddy.test',
};

const structuredBase = { specversion: '1.0', id: 'e-1', source: '/eddy/test', type: 'dev.eddy.test' };

describe.skipIf(conformanceCorpusMissing !== undefined)(
  'HTTP binding: CloudEvents conformance feature',
  () => {
    if (conformanceCorpusMissing) {
      it.skip(conformanceCorpusMissing, () => {});
      return;
    }
    const vectors = readHttpFeatureVectors();

    it('reads every scenario of the feature file', () => {
      expect(vectors.map((v) => v.name)).toEqual([
        'Binary content mode (application/json)',
        'Binary content mode (application/json; charset=utf-8)',
        'Structured content mode (application/cloudevents+json)',
        'Structured content mode (application/cloudevents+json; charset=utf-8)',
      ]);
    });

    for (const vector of vectors) {
      it(vector.name, () => {
        const parsed = parseHttpRequest(vector.headers, Buffer.from(vector.body));
        expect(parsed.mode).toBe(vector.name.startsWith('Binary') ? 'binary' : 'structured');
        expect(parsed.events).toHaveLength(1);
        const event = parsed.events[0]!;
        for (const [name, value] of Object.entries(vector.attributes)) {
          expect(attrs(event)[name], `attribute ${name}`).toBe(value);
        }
        expect(dataValue(event)).toEqual(JSON.parse(vector.dataJson ?? 'null'));
        // The data bytes the vector sent are the data bytes passed on.
        if (parsed.mode === 'binary') expect(event.data).toEqual(Buffer.from(vector.body));
      });
    }
  },
);

describe.skipIf(conformanceCorpusMissing !== undefined)(
  'HTTP binding: conformance YAML events round-trip',
  () => {
    if (conformanceCorpusMissing) return;
    for (const vector of readYamlEventVectors()) {
      for (const mode of vector.mode ? [vector.mode] : (['binary', 'structured'] as const)) {
        it(`${vector.name} (${mode})`, () => {
          const data = vector.data === undefined ? undefined : Buffer.from(vector.data, 'utf8');
          const original = {
            ...vector.attributes,
            ...vector.extensions,
            ...(data === undefined ? {} : { data }),
          } as PlainEvent;
          const message = mode === 'binary' ? toHttpBinary(original) : toHttpStructured(original);
          if (mode === 'binary') {
            // Every attribute travels as its own header, percent-encoded (the JSON extension has spaces).
            expect(message.headers['ce-comexampleextension2'] ?? '%7B').not.toMatch(/[ "]/);
            expect(message.body).toEqual(data ?? Buffer.alloc(0));
          }
          const [decoded, ...more] = parseHttpRequest(message.headers, message.body).events;
          expect(more).toEqual([]);
          for (const [name, value] of Object.entries({ ...vector.attributes, ...vector.extensions })) {
            expect(attrs(decoded!)[name], name).toBe(value);
          }
          // Structured mode carries JSON data as its text, text as a string and other bytes as
          // data_base64; binary mode carries the bytes: either way re-encoding gives the original
          // bytes exactly.
          const again = toHttpBinary(decoded!).body;
          const encodedFor03 =
            mode === 'structured' &&
            original.datacontentencoding === undefined &&
            decoded?.datacontentencoding !== undefined;
          if (encodedFor03) {
            // 0.3 has no data_base64: bytes travel as base64 text marked by datacontentencoding.
            expect(decoded?.datacontentencoding).toBe('base64');
            expect(Buffer.from(String(decoded?.data), 'base64')).toEqual(data);
          } else {
            expect(again).toEqual(data ?? Buffer.alloc(0));
          }
        });
      }
    }
  },
);

describe('HTTP binding: header value percent-encoding', () => {
  it('encodes space, double-quote, percent and non-ASCII as UTF-8 bytes, upper-case hex', () => {
    expect(percentEncodeHeaderValue('Euro \u20AC \u{1F600}')).toBe('Euro%20%E2%82%AC%20%F0%9F%98%80');
    expect(percentEncodeHeaderValue('say "100%"')).toBe('say%20%22100%25%22');
    expect(percentEncodeHeaderValue('plain-value_1.2~/:')).toBe('plain-value_1.2~/:');
    expect(percentEncodeHeaderValue('tab\there')).toBe('tab%09here');
  });

  it('decodes upper- and lower-case escapes and unnecessary ones', () => {
    expect(percentDecodeHeaderValue('Euro%20%e2%82%ac%20%F0%9F%98%80', 'ce-subject')).toBe(
      'Euro \u20AC \u{1F600}',
    );
    expect(percentDecodeHeaderValue('%41bc', 'ce-subject')).toBe('Abc');
  });

  it('unescapes a double-quoted value before percent-decoding', () => {
    expect(percentDecodeHeaderValue('"a \\"quoted\\" value%21"', 'ce-subject')).toBe('a "quoted" value!');
  });

  it('accepts raw UTF-8 bytes (as Node hands them out, one Latin-1 character per byte)', () => {
    const raw = Buffer.from('caf\u00e9', 'utf8').toString('latin1');
    expect(percentDecodeHeaderValue(raw, 'ce-subject')).toBe('caf\u00e9');
  });

  it('rejects a percent sign not followed by two hex digits, naming the header', () => {
    expect(() => percentDecodeHeaderValue('100%', 'ce-subject')).toThrow(
      'invalid percent-encoding in header ce-subject: "%" at offset 3 is not "%" followed by two hex digits',
    );
    expect(() => percentDecodeHeaderValue('a%G1', 'ce-subject')).toThrow(/"%G1" at offset 1/);
  });

  it('rejects byte sequences that are not UTF-8 (overlong encoding of a space)', () => {
    expect(() => percentDecodeHeaderValue('x%C0%A0', 'ce-subject')).toThrow(
      'invalid percent-encoding in header ce-subject: the decoded bytes are not valid UTF-8',
    );
    expect(() => percentDecodeHeaderValue('%FF', 'ce-foo')).toThrow(/header ce-foo/);
  });

  it('round-trips arbitrary strings through binary mode', () => {
    const tricky = ['a b', '"q"', '100%', '%25', 'caf\u00e9 \u20ac \u{1F600}', ' lead and trail ', '\u00ff'];
    for (const subject of tricky) {
      const { headers, body } = toHttpBinary({ ...structuredBase, subject, data: 'x' });
      expect(headers['ce-subject']).toMatch(/^[\x21-\x7e]*$/);
      expect(parseHttpRequest(headers, body).events[0]?.subject).toBe(subject);
    }
  });
});

describe('HTTP binding: binary mode decoding', () => {
  it('maps ce- headers (any case) to attributes and Content-Type to datacontenttype', () => {
    const { mode, events } = parseHttpRequest(
      {
        'CE-SpecVersion': '1.0',
        'Ce-Id': 'x',
        'ce-source': '/s',
        'ce-type': 't',
        'ce-MyExt': 'v',
        'content-type': 'text/plain',
      },
      Buffer.from('hello'),
    );
    expect(mode).toBe('binary');
    expect(events[0]).toMatchObject({ id: 'x', myext: 'v', datacontenttype: 'text/plain' });
    expect(events[0]?.data).toEqual(Buffer.from('hello'));
    expect(dataValue(events[0]!)).toBe('hello');
  });

  it('keeps time exactly as sent', () => {
    for (const time of [
      '2018-04-05T03:56:24Z',
      '2018-04-05T05:56:24+02:00',
      '2018-04-05T03:56:24.123456789Z',
    ]) {
      const event = parseHttpRequest({ ...binaryBase, 'ce-time': time }, Buffer.alloc(0)).events[0]!;
      expect(event.time).toBe(time);
      expect(toHttpBinary(event).headers['ce-time']).toBe(time);
    }
  });

  it('hands binary bodies back as the same bytes', () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const event = parseHttpRequest({ ...binaryBase, 'content-type': 'application/octet-stream' }, bytes)
      .events[0]!;
    expect(Buffer.isBuffer(event.data)).toBe(true);
    expect(event.data).toEqual(bytes);
    expect(toHttpBinary(event).body).toEqual(bytes);
  });

  it('keeps an undecodable JSON body as bytes (the broker does not judge data)', () => {
    const body = Buffer.from('{not json');
    const event = parseHttpRequest({ ...binaryBase, 'content-type': 'application/json' }, body).events[0]!;
    expect(event.data).toEqual(body);
    expect(toHttpBinary(event).body).toEqual(body);
  });

  it('treats an empty body as no data and keeps JSON bodies as the bytes sent', () => {
    const empty = parseHttpRequest(binaryBase, Buffer.alloc(0)).events[0]!;
    expect(empty.data).toBeUndefined();
    expect(toHttpBinary(empty).body.length).toBe(0);
    const text = parseHttpRequest({ ...binaryBase, 'content-type': 'application/json' }, Buffer.from('"hi"'))
      .events[0]!;
    expect(dataValue(text)).toBe('hi');
    expect(toHttpBinary(text).body.toString()).toBe('"hi"');
    // Whitespace, number spelling and integers beyond 2^53 survive: the body is never re-serialized.
    const raw = Buffer.from('{ "n": 1.0,\n  "big": 12345678901234567890, "e": 1E3 }');
    const json = parseHttpRequest({ ...binaryBase, 'content-type': 'application/json' }, raw).events[0]!;
    expect(toHttpBinary(json).body).toEqual(raw);
    expect(toHttpStructured(json).body.toString()).toContain(`"data":${raw.toString()}`);
  });

  it('keeps specversion 0.3 with schemaurl and datacontentencoding, data left encoded', () => {
    const event = parseHttpRequest(
      {
        ...binaryBase,
        'ce-specversion': '0.3',
        'ce-schemaurl': 'https://example.com/s',
        'ce-datacontentencoding': 'base64',
        'content-type': 'application/json',
      },
      Buffer.from('eyJhIjoxfQ=='),
    ).events[0]!;
    expect(attrs(event)).toMatchObject({
      specversion: '0.3',
      schemaurl: 'https://example.com/s',
      datacontentencoding: 'base64',
    });
    expect(event.data).toEqual(Buffer.from('eyJhIjoxfQ=='));
    expect(JSON.parse(toHttpStructured(event).body.toString())).toMatchObject({
      datacontentencoding: 'base64',
      data: 'eyJhIjoxfQ==',
    });
    const out = toHttpBinary(event);
    expect(out.headers['ce-specversion']).toBe('0.3');
    expect(out.headers['ce-datacontentencoding']).toBe('base64');
    expect(out.body.toString()).toBe('eyJhIjoxfQ==');
  });
});

describe('HTTP binding: structured and batch mode', () => {
  it('reads members, extensions with their JSON types, and data_base64 as bytes', () => {
    const body = JSON.stringify({
      ...structuredBase,
      count: 42,
      flag: true,
      text: 'x',
      data_base64: 'AAEC/w==',
    });
    const event = parseHttpRequest({ 'content-type': 'application/cloudevents+json' }, Buffer.from(body))
      .events[0]!;
    expect(attrs(event)).toMatchObject({ count: 42, flag: true, text: 'x' });
    expect(event.data).toEqual(Buffer.from([0, 1, 2, 255]));
    const binary = toHttpBinary(event);
    expect(binary.headers).toMatchObject({ 'ce-count': '42', 'ce-flag': 'true', 'ce-text': 'x' });
    expect(binary.body).toEqual(Buffer.from([0, 1, 2, 255]));
    const structured = JSON.parse(toHttpStructured(event).body.toString());
    expect(structured).toMatchObject({ count: 42, flag: true, data_base64: 'AAEC/w==' });
    expect(structured).not.toHaveProperty('data');
  });

  it('keeps a 0.3 event with datacontentencoding as received, and encodes 0.3 bytes that way', () => {
    const body = JSON.stringify({
      ...structuredBase,
      specversion: '0.3',
      datacontentencoding: 'base64',
      datacontenttype: 'text/plain',
      data: 'aGVsbG8=',
    });
    const event = parseHttpRequest({ 'content-type': 'application/cloudevents+json' }, Buffer.from(body))
      .events[0]!;
    expect(event.specversion).toBe('0.3');
    expect(event.datacontentencoding).toBe('base64');
    expect(event.data).toBe('aGVsbG8=');
    expect(JSON.parse(toHttpStructured(event).body.toString())).toMatchObject({
      specversion: '0.3',
      datacontentencoding: 'base64',
      data: 'aGVsbG8=',
    });
    const bytes: PlainEvent = { ...structuredBase, specversion: '0.3', data: Buffer.from([9, 8]) };
    expect(JSON.parse(toHttpStructured(bytes).body.toString())).toMatchObject({
      datacontentencoding: 'base64',
      data: 'CQg=',
    });
  });

  it('never adds or upgrades specversion', () => {
    const body = JSON.stringify({ ...structuredBase, specversion: '0.3' });
    const event = parseHttpRequest({ 'content-type': 'application/cloudevents+json' }, Buffer.from(body))
      .events[0]!;
    expect(event.specversion).toBe('0.3');
    expect(toHttpBinary(event).headers['ce-specversion']).toBe('0.3');
  });

  it('reads a batch (also an empty one) and writes one', () => {
    const events = [
      { ...structuredBase, id: 'a', data: { n: 1 } },
      { ...structuredBase, id: 'b', datacontenttype: 'application/octet-stream', data_base64: 'AQI=' },
    ];
    const parsed = parseHttpRequest(
      { 'content-type': 'application/cloudevents-batch+json; charset=utf-8' },
      Buffer.from(JSON.stringify(events)),
    );
    expect(parsed.mode).toBe('batch');
    expect(parsed.events.map((e) => e.id)).toEqual(['a', 'b']);
    expect(parsed.events[0]?.data).toEqual({ n: 1 });
    expect(parsed.events[1]?.data).toEqual(Buffer.from([1, 2]));
    const written = toHttpBatch(parsed.events);
    expect(parseHttpRequest(written.headers, written.body).events.map((e) => e.id)).toEqual(['a', 'b']);
    expect(
      parseHttpRequest({ 'content-type': 'application/cloudevents-batch+json' }, Buffer.from('[]')).events,
    ).toEqual([]);
  });
});

describe('HTTP binding: invalid requests name what is wrong', () => {
  const structured = { 'content-type': 'application/cloudevents+json' };
  const batch = { 'content-type': 'application/cloudevents-batch+json' };
  const without = (name: string) =>
    Object.fromEntries(Object.entries(binaryBase).filter(([k]) => k !== name));

  it('missing required attributes, per mode', () => {
    expect(parseError(without('ce-source'), '').message).toBe(
      'missing required attribute "source" (header ce-source)',
    );
    const { source: _source, ...noSource } = structuredBase;
    const error = parseError(structured, JSON.stringify(noSource));
    expect(error.message).toBe('missing required attribute "source" (member "source")');
    expect(error.code).toBe('missing_attribute');
    expect(error.status).toBe(400);
    expect(parseError(batch, JSON.stringify([structuredBase, noSource])).message).toBe(
      'event #1 of the batch: missing required attribute "source" (member "source")',
    );
    expect(parseError(without('ce-specversion'), '').message).toBe(
      'missing required attribute "specversion" (header ce-specversion)',
    );
  });

  it('empty required attributes', () => {
    expect(parseError({ ...binaryBase, 'ce-id': '' }, '').message).toBe(
      'attribute "id" must not be empty (header ce-id)',
    );
  });

  it('invalid JSON with its position', () => {
    const error = parseError(structured, '{"specversion": "1.0", x}');
    expect(error.message).toMatch(/^invalid JSON body at position 23 \(line 1, column 24\): /);
    expect(error.code).toBe('invalid_json');
    expect(parseError(structured, '{\n  "id": "a",\n}').message).toMatch(
      /^invalid JSON body at position 15 \(line 3, column 1\)/,
    );
    expect(parseError(structured, '').message).toBe('body is empty; expected a JSON event');
    expect(parseError(structured, '[1]').message).toBe(
      'structured mode body must be a JSON object holding one event, got an array',
    );
    expect(parseError(batch, '{}').message).toBe(
      'batch mode body must be a JSON array of events, got an object',
    );
    expect(parseError(structured, Buffer.from([0x7b, 0xff, 0x7d])).message).toBe('body is not valid UTF-8');
  });

  it('invalid percent-encoding', () => {
    const error = parseError({ ...binaryBase, 'ce-subject': 'a%zz' }, '');
    expect(error.message).toMatch(/^invalid percent-encoding in header ce-subject/);
    expect(error.code).toBe('invalid_encoding');
  });

  it('unsupported specversions, without upgrading anything', () => {
    expect(parseError({ ...binaryBase, 'ce-specversion': '0.2' }, '').message).toBe(
      'unsupported specversion "0.2" (header ce-specversion); supported: 1.0, 0.3',
    );
    expect(parseError(structured, JSON.stringify({ ...structuredBase, specversion: '2.0' })).message).toBe(
      'unsupported specversion "2.0" (member "specversion"); supported: 1.0, 0.3',
    );
    const { specversion: _v, ...noVersion } = structuredBase;
    expect(parseError(structured, JSON.stringify(noVersion)).code).toBe('missing_attribute');
    expect(parseError(structured, JSON.stringify({ ...structuredBase, specversion: 1 })).message).toBe(
      'attribute "specversion" must be a string (member "specversion"), got number 1',
    );
  });

  it('a batch mixing specversions', () => {
    const error = parseError(
      batch,
      JSON.stringify([structuredBase, { ...structuredBase, specversion: '0.3' }]),
    );
    expect(error.message).toMatch(/^event #1 of the batch: specversion "0.3" differs from event #0's "1.0"/);
  });

  it('requests that are not CloudEvents, and event formats we do not read (415)', () => {
    const plain = parseError({ 'content-type': 'application/json' }, '{}');
    expect(plain.message).toBe(
      'request is not a CloudEvent: no ce-specversion header (binary mode) and Content-Type "application/json" is not application/cloudevents+json (structured mode)',
    );
    expect(plain.status).toBe(400);
    const xml = parseError({ 'content-type': 'application/cloudevents+xml' }, '<x/>');
    expect(xml.status).toBe(415);
    expect(xml.message).toMatch(/unsupported event format "application\/cloudevents\+xml"/);
    expect(parseError({ 'content-type': 'application/cloudevents+json; charset=latin1' }, '{}').status).toBe(
      415,
    );
  });

  it('bad attribute names, types and values', () => {
    expect(parseError({ ...binaryBase, 'ce-my-ext': 'v' }, '').message).toBe(
      'header ce-my-ext does not name a valid CloudEvents attribute: "my-ext" must consist of lower-case letters and digits',
    );
    expect(parseError(structured, JSON.stringify({ ...structuredBase, MyExt: 'v' })).message).toBe(
      'member "MyExt" is not a valid CloudEvents attribute name (lower-case letters and digits only)',
    );
    expect(parseError(structured, JSON.stringify({ ...structuredBase, ext: { a: 1 } })).message).toBe(
      'extension attribute "ext" must be a string, a 32-bit integer or a boolean (member "ext"), got an object',
    );
    expect(parseError(structured, JSON.stringify({ ...structuredBase, ext: 1.5 })).message).toMatch(
      /got the number 1.5/,
    );
    expect(parseError({ ...binaryBase, 'ce-time': 'yesterday' }, '').message).toBe(
      'invalid attribute "time" (header ce-time): "yesterday" is not an RFC 3339 timestamp',
    );
    expect(parseError(structured, JSON.stringify({ ...structuredBase, source: 'not a uri' })).message).toBe(
      'invalid attribute "source" (member "source"): must match format "uri-reference"',
    );
    expect(
      parseError({ ...binaryBase, 'ce-specversion': '0.3', 'ce-dataschema': 'https://x' }, '').message,
    ).toBe(
      'attribute "dataschema" (header ce-dataschema) is not defined for specversion 0.3; use "schemaurl"',
    );
    expect(
      parseError(
        { ...binaryBase, 'ce-datacontenttype': 'text/plain', 'content-type': 'application/json' },
        '',
      ).message,
    ).toMatch(/^header ce-datacontenttype \("text\/plain"\) contradicts Content-Type/);
  });

  it('bad data members', () => {
    expect(
      parseError(structured, JSON.stringify({ ...structuredBase, data: 1, data_base64: 'AA==' })).message,
    ).toBe('an event cannot have both "data" and "data_base64"');
    expect(parseError(structured, JSON.stringify({ ...structuredBase, data_base64: '***' })).message).toBe(
      'member "data_base64" must be a base64 string',
    );
  });
});

describe('jsonErrorPosition', () => {
  it('finds the first offending character, and nothing in valid JSON', () => {
    expect(jsonErrorPosition('{"a": x}')).toBe(6);
    expect(jsonErrorPosition('[1, 2,]')).toBe(6);
    expect(jsonErrorPosition('{"a": "b\\q"}')).toBe(9);
    expect(jsonErrorPosition('{"a": 1} x')).toBe(9);
    expect(jsonErrorPosition('')).toBe(0);
    expect(jsonErrorPosition('{"a": [1, -2.5e3, true, null, "\\u00e9"]}')).toBeUndefined();
  });
});
