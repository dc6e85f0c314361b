// The export line is a fixed point: importing it (as the ingress parses the request import sends)
// and storing it in either log (the embedded log keeps the event object, the Kafka log the binding's
// record) gives an event whose export line is the same text, for every kind of data and both spec
// versions. Bad lines are refused with the ingress's reason.

import { fromKafkaMessage, type PlainEvent, parseHttpRequest, toKafkaBinary } from '@eddy/api';
import { describe, expect, it } from 'vitest';
import { exportLine, ImportLineError, parseImportLine } from './export-format.js';

/** What the ingress stores for the request import sends for this line. */
function imported(line: string): PlainEvent {
  const parsed = parseImportLine(line);
  const [event] =
    parsed.mode === 'batch'
      ? parseHttpRequest(
          { 'content-type': 'application/cloudevents-batch+json' },
          Buffer.from(`[${parsed.text}]`),
        ).events
      : parseHttpRequest(parsed.message.headers, parsed.message.body).events;
  if (event === undefined) throw new Error('no event');
  return event;
}

/** The same event after a trip through the Kafka log (binary-mode record, headers as strings). */
const throughKafka = (event: PlainEvent) => fromKafkaMessage(toKafkaBinary(event));

const binary = (headers: Record<string, string>, body: string | Buffer) =>
  parseHttpRequest(headers, Buffer.from(body)).events[0]!;
const v1 = { 'ce-specversion': '1.0', 'ce-source': '/s', 'ce-type': 't' };
const v03 = { 'ce-specversion': '0.3', 'ce-source': '/s', 'ce-type': 't' };

const cases: [string, PlainEvent][] = [
  [
    'attributes in any order (the Kafka binding moves datacontenttype last)',
    {
      zext: 'z',
      datacontenttype: 'text/plain',
      aext: 'a',
      specversion: '1.0',
      id: '0',
      source: '/s',
      type: 't',
      data: 'x',
    },
  ],
  [
    'JSON data with inner whitespace',
    binary({ ...v1, 'ce-id': '1', 'content-type': 'application/json' }, '{ "a" : 1.0 }'),
  ],
  [
    'JSON data around whitespace',
    binary({ ...v1, 'ce-id': '2', 'content-type': 'application/json' }, ' [1, 2]\n'),
  ],
  [
    'JSON data on lines',
    binary({ ...v1, 'ce-id': '3', 'content-type': 'application/json' }, '{\n  "a": 12345678901234567890\n}'),
  ],
  [
    'text data',
    binary({ ...v1, 'ce-id': '4', 'content-type': 'text/plain; charset=utf-8' }, 'caf\u00e9\nline 2'),
  ],
  [
    'binary data',
    binary(
      { ...v1, 'ce-id': '5', 'content-type': 'application/octet-stream' },
      Buffer.from([0, 255, 10, 13]),
    ),
  ],
  [
    'no data, extensions',
    binary({ ...v1, 'ce-id': '6', 'ce-myext': 'x y', 'ce-time': '2026-12-01T10:00:00+02:00' }, ''),
  ],
  [
    'integer and boolean extensions',
    { specversion: '1.0', id: '7', source: '/s', type: 't', count: 5, flag: true },
  ],
  [
    'a JSON value without datacontenttype',
    { specversion: '1.0', id: '8', source: '/s', type: 't', data: { a: [1, 'b'] } },
  ],
  [
    '0.3 JSON data',
    binary(
      { ...v03, 'ce-id': '9', 'content-type': 'application/json', 'ce-schemaurl': 'http://x' },
      '{"a": 1}',
    ),
  ],
  [
    '0.3 binary data',
    binary({ ...v03, 'ce-id': '10', 'content-type': 'application/octet-stream' }, Buffer.from([1, 2, 0xfe])),
  ],
  ['0.3 base64 encoded data', binary({ ...v03, 'ce-id': '11', 'ce-datacontentencoding': 'base64' }, 'AAEC')],
  ['0.3 JSON on lines', binary({ ...v03, 'ce-id': '12', 'content-type': 'application/json' }, '[\n1]')],
];

describe('export lines', () => {
  for (const [name, event] of cases) {
    it(`${name}: one line, and a fixed point through import and both logs`, () => {
      const line = exportLine(event);
      expect(line).not.toMatch(/[\r\n]/);
      const back = imported(line);
      expect(exportLine(back)).toBe(line);
      expect(exportLine(throughKafka(back))).toBe(line);
      expect(exportLine(throughKafka(event))).toBe(line);
      // The data bytes are the original's.
      expect(toKafkaBinary(back).value).toEqual(toKafkaBinary(event).value);
    });
  }

  it('keeps JSON data verbatim where it can, and says why it cannot', () => {
    expect(exportLine(cases[1]![1])).toContain('"data":{ "a" : 1.0 }');
    expect(JSON.parse(exportLine(cases[3]![1]))).toHaveProperty('data_base64');
    expect(JSON.parse(exportLine(cases[7]![1]))).toMatchObject({ count: '5', flag: 'true' });
    const v03Binary = JSON.parse(exportLine(cases[10]![1]));
    expect(v03Binary).not.toHaveProperty('datacontentencoding');
    expect(parseImportLine(exportLine(cases[10]![1])).mode).toBe('binary');
  });

  it('refuses bad lines with the reason', () => {
    const bad: [string, RegExp][] = [
      ['{"specversion":"1.0"', /^not JSON: /],
      ['[1]', /expected a JSON object \(one CloudEvent\), found an array/],
      ['{"specversion":"1.0","id":"x","source":"/s"}', /"type"/],
      ['{"specversion":"2.0","id":"x","source":"/s","type":"t"}', /specversion/],
      ['{"specversion":"0.3","id":"x","source":"/s","type":"t","data_base64":"%%"}', /data_base64/],
      ['{"specversion":"1.0","id":"x","source":"/s","type":"t","data":1,"data_base64":"AA=="}', /both/],
    ];
    for (const [line, why] of bad) {
      expect(() => parseImportLine(line), line).toThrow(ImportLineError);
      expect(() => parseImportLine(line), line).toThrow(why);
    }
  });
});
