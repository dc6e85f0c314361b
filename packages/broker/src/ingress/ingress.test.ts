// Ingress against real event logs (embedded in a temp dir, and the harness's Kafka) with undici as
// the client of a real listening server: what is accepted is read back from the log unchanged,
// what is refused answers the right status with a readable reason and stores nothing.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BrokerRoute,
  type ChannelRoute,
  dataValue,
  type PlainEvent,
  parseHttpRequest,
  toHttpBatch,
  toHttpBinary,
  toHttpStructured,
} from '@eddy/api';
import pino from 'pino';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  conformanceCorpusMissing,
  readHttpFeatureVectors,
  readYamlEventVectors,
} from '../../../api/src/cloudevents/binding-vectors.conformance.js';
import { trickleUntilClosed } from '../../../runtime/src/testing/trickling-sender.js';
import { openEmbeddedEventLog } from '../eventlog/embedded/index.js';
import type { EventLog, LogRecord } from '../eventlog/event-log.js';
import { createKafkaEventLog } from '../eventlog/kafka/kafka-event-log.js';
import { createIngress, type Ingress } from './ingress.js';

const quiet = pino({ level: 'silent' });
const kafkaBrokers = inject('kafkaBrokers');
const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
const dirs: string[] = [];

interface LogHarness {
  name: 'embedded' | 'kafka';
  open(): Promise<EventLog>;
  /** A log that cannot store anything (closed, or pointing at a closed port). */
  openDown(): Promise<EventLog>;
}

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

const harnesses: LogHarness[] = [
  {
    name: 'embedded',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'eddy-ingress-'));
      dirs.push(dir);
      return openEmbeddedEventLog({ dataDir: dir });
    },
    openDown: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'eddy-ingress-down-'));
      dirs.push(dir);
      const log = await openEmbeddedEventLog({ dataDir: dir });
      await log.close();
      return log;
    },
  },
  {
    name: 'kafka',
    open: async () => createKafkaEventLog({ brokers: kafkaBrokers, logger: quiet, maxWaitTimeMs: 250 }),
    openDown: async () =>
      createKafkaEventLog({
        brokers: [`127.0.0.1:${await closedPort()}`],
        logger: quiet,
        appendTimeoutMs: 1_500,
        operationTimeoutMs: 1_500,
        connectionTimeoutMs: 300,
      }),
  },
];

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Reads every record of a (single-partition) topic from the start, in offset order. */
async function readTopic(
  log: EventLog,
  topic: string,
  count: number,
  timeoutMs = 20_000,
): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  let done!: () => void;
  const enough = new Promise<void>((resolve) => {
    done = resolve;
  });
  const consumer = await log.consume({
    group: unique('ingress-read'),
    topic,
    start: 'earliest',
    handler: async (batch) => {
      records.push(...batch.records);
      if (records.length >= count) done();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      enough,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`read ${records.length} of ${count} records from ${topic}`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await consumer.close();
  }
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** Records in the topic (sum of end offsets): how "nothing was stored" is checked. */
async function endOffsets(log: EventLog, topic: string): Promise<number> {
  const lag = await log.lag('ingress-end-probe', topic);
  return lag.reduce((sum, p) => sum + p.end, 0);
}

function attrs(event: PlainEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(event))
    if (v !== undefined && k !== 'data' && k !== 'data_base64') out[k] = v;
  return out;
}

/** Data equality as a subscriber sees it: exactly the same body bytes (JSON text included). */
function expectSameData(stored: PlainEvent, expected: PlainEvent, what: string) {
  expect(toHttpBinary(stored).body, what).toEqual(toHttpBinary(expected).body);
}

interface Post {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: { error?: string } & Record<string, unknown>;
}

async function post(
  base: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer | string | undefined,
  method = 'POST',
): Promise<Post> {
  const response = await request(`${base}${path}`, { method: method as 'POST', headers, body });
  const text = await response.body.text();
  return {
    status: response.statusCode,
    headers: response.headers,
    json: text ? (JSON.parse(text) as Post['json']) : {},
  };
}

const base1 = { specversion: '1.0', source: '/eddy/ingress-test', type: 'dev.eddy.test' };

for (const harness of harnesses) {
  describe(`ingress on the ${harness.name} log`, () => {
    let log: EventLog;
    let ingress: Ingress;
    let url: string;
    const registry = new Registry();
    const namespace = 'team-a';
    const brokerName = unique('default');
    const channelName = unique('orders');
    const brokerTopic = unique('ingress-broker');
    const channelTopic = unique('ingress-channel');
    const broker: BrokerRoute = {
      namespace,
      name: brokerName,
      path: `/${namespace}/${brokerName}`,
      topic: brokerTopic,
      partitions: 1,
    };
    const channel: ChannelRoute = {
      namespace,
      name: channelName,
      kind: 'InMemoryChannel',
      path: `/${namespace}/${channelName}`,
      topic: channelTopic,
      partitions: 1,
    };
    const brokerPath = `/${namespace}/${brokerName}`;
    const maxBodyBytes = 64 * 1024;

    beforeAll(async () => {
      log = await harness.open();
      ingress = createIngress({ log, registry, logger: quiet, maxBodyBytes });
      await ingress.updateContract([broker], [channel]);
      url = await ingress.listen();
    });

    afterAll(async () => {
      await ingress?.close();
      for (const topic of [brokerTopic, channelTopic]) await log?.deleteTopic(topic).catch(() => {});
      await log?.close();
    });

    it('stores every conformance vector unchanged (binary, structured, batch), 202 only once durable', {
      timeout: 60_000,
    }, async () => {
      if (conformanceCorpusMissing) {
        console.warn(`skipped: ${conformanceCorpusMissing}`);
        return;
      }
      const before = await endOffsets(log, brokerTopic);
      // What is sent, and the event the sender means (decoded locally from the same request).
      const sent: {
        name: string;
        expected: PlainEvent;
        table?: Record<string, string>;
        dataJson?: string;
        /** The request body of a binary-mode request: the data bytes the sender wrote. */
        binaryBody?: Buffer;
      }[] = [];
      for (const vector of readHttpFeatureVectors()) {
        // Host and Content-Length belong to the example request, not to this connection.
        const headers = Object.fromEntries(
          Object.entries(vector.headers).filter(([name]) => !/^(host|content-length)$/i.test(name)),
        );
        const response = await post(url, brokerPath, headers, vector.body);
        expect(response.status, `${vector.name}: ${response.json.error}`).toBe(202);
        const body = Buffer.from(vector.body);
        const { mode, events } = parseHttpRequest(headers, body);
        sent.push({
          name: vector.name,
          expected: events[0]!,
          table: vector.attributes,
          dataJson: vector.dataJson,
          ...(mode === 'binary' ? { binaryBody: body } : {}),
        });
      }
      const yamlEvents = readYamlEventVectors().map((vector) => ({
        vector,
        event: {
          ...vector.attributes,
          ...vector.extensions,
          ...(vector.data === undefined ? {} : { data: Buffer.from(vector.data, 'utf8') }),
        } as PlainEvent,
      }));
      for (const { vector, event } of yamlEvents) {
        for (const mode of vector.mode ? [vector.mode] : (['binary', 'structured'] as const)) {
          const message = mode === 'binary' ? toHttpBinary(event) : toHttpStructured(event);
          const response = await post(url, brokerPath, message.headers, message.body);
          expect(response.status, `${vector.name} ${mode}: ${response.json.error}`).toBe(202);
          const [expected] = parseHttpRequest(message.headers, message.body).events;
          sent.push({
            name: `${vector.name} (${mode})`,
            expected: expected!,
            ...(mode === 'binary' ? { binaryBody: message.body } : {}),
          });
        }
      }
      // The 1.0 YAML events once more, as one batch.
      const batchEvents = yamlEvents
        .filter(({ event }) => event.specversion === '1.0')
        .map(({ event }) => event);
      const batch = toHttpBatch(batchEvents);
      const batchResponse = await post(url, brokerPath, batch.headers, batch.body);
      expect(batchResponse.status, batchResponse.json.error).toBe(202);
      for (const expected of parseHttpRequest(batch.headers, batch.body).events) {
        sent.push({ name: `batch ${expected.id}`, expected });
      }

      expect(await endOffsets(log, brokerTopic)).toBe(before + sent.length);
      const records = (await readTopic(log, brokerTopic, before + sent.length)).slice(before);
      expect(records).toHaveLength(sent.length);
      for (const [index, { name, expected, table, dataJson, binaryBody }] of sent.entries()) {
        const stored = records[index]!.event;
        // Exactly the attributes sent: none added (an event without time stays without one).
        expect(attrs(stored), name).toEqual(attrs(expected));
        expect(stored.specversion, name).toBe(expected.specversion);
        expectSameData(stored, expected, name);
        if (binaryBody !== undefined) expect(toHttpBinary(stored).body, name).toEqual(binaryBody);
        if (table) {
          for (const [key, value] of Object.entries(table))
            expect(attrs(stored)[key], `${name} ${key}`).toBe(value);
          expect(dataValue(stored), name).toEqual(JSON.parse(dataJson ?? 'null'));
        }
      }
    });

    it('keeps bytes, extensions and 0.3 attributes exactly', { timeout: 30_000 }, async () => {
      const topicBefore = await endOffsets(log, brokerTopic);
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i));
      const events: PlainEvent[] = [
        {
          ...base1,
          id: unique('bin'),
          datacontenttype: 'application/octet-stream',
          data: bytes,
        },
        {
          ...base1,
          id: unique('ext'),
          subject: 'caf\u00e9 "quoted" 100%',
          time: '2018-04-05T05:56:24.5+02:00',
          comexampleext: 'a b',
          datacontenttype: 'text/plain; charset=utf-8',
          data: 'h\u00e9llo',
        },
        {
          specversion: '0.3',
          id: unique('old'),
          source: '/legacy',
          type: 'legacy.type',
          time: '2019-01-01T00:00:00Z',
          schemaurl: 'https://example.com/s',
          datacontentencoding: 'base64',
          datacontenttype: 'application/json',
          data: 'eyJhIjoxfQ==',
        },
      ];
      const expected: PlainEvent[] = [];
      for (const event of events) {
        for (const message of [toHttpBinary(event), toHttpStructured(event)]) {
          const response = await post(url, brokerPath, message.headers, message.body);
          expect(response.status, response.json.error).toBe(202);
          expected.push(parseHttpRequest(message.headers, message.body).events[0]!);
        }
      }
      const records = (await readTopic(log, brokerTopic, topicBefore + expected.length)).slice(topicBefore);
      for (const [index, want] of expected.entries()) {
        const stored = records[index]!.event;
        expect(attrs(stored)).toEqual(attrs(want));
        expectSameData(stored, want, String(want.id));
      }
      expect(records[0]!.event.data).toEqual(bytes);
      expect(records[2]!.event.subject).toBe('caf\u00e9 "quoted" 100%');
      expect(records[2]!.event.time).toBe('2018-04-05T05:56:24.5+02:00');
      expect(records[4]!.event.specversion).toBe('0.3');
      expect(records[4]!.event.datacontentencoding).toBe('base64');
      expect(records[4]!.event.schemaurl).toBe('https://example.com/s');
      // The encoded text reaches subscribers as it was sent, in both modes.
      for (const record of records.slice(4, 6)) {
        expect(toHttpBinary(record.event).body.toString()).toBe('eyJhIjoxfQ==');
      }
    });

    it('answers every bad input with the right status and a readable reason, storing nothing', {
      timeout: 30_000,
    }, async () => {
      const before = await endOffsets(log, brokerTopic);
      const binary = { 'ce-specversion': '1.0', 'ce-id': 'bad-1', 'ce-source': '/s', 'ce-type': 't' };
      const structured = { 'content-type': 'application/cloudevents+json' };
      const cases: [string, () => Promise<Post>, number, RegExp][] = [
        [
          'missing attribute (binary)',
          () => post(url, brokerPath, { ...binary, 'ce-source': '' }, 'x'),
          400,
          /attribute "source" must not be empty \(header ce-source\)/,
        ],
        [
          'missing attribute (structured)',
          () => post(url, brokerPath, structured, JSON.stringify({ specversion: '1.0', id: 'x', type: 't' })),
          400,
          /^missing required attribute "source" \(member "source"\)$/,
        ],
        [
          'bad specversion',
          () => post(url, brokerPath, { ...binary, 'ce-specversion': '0.2' }, 'x'),
          400,
          /^unsupported specversion "0.2" \(header ce-specversion\)/,
        ],
        [
          'invalid JSON',
          () => post(url, brokerPath, structured, '{"specversion": "1.0", '),
          400,
          /^invalid JSON body at position 23 \(line 1, column 24\): /,
        ],
        [
          'invalid percent-encoding',
          () => post(url, brokerPath, { ...binary, 'ce-subject': 'bad%zzvalue' }, 'x'),
          400,
          /^invalid percent-encoding in header ce-subject/,
        ],
        [
          'not a CloudEvent',
          () => post(url, brokerPath, { 'content-type': 'application/json' }, '{"hello":"world"}'),
          400,
          /^request is not a CloudEvent/,
        ],
        [
          'batch with one bad event (all or nothing)',
          () => {
            const good = { specversion: '1.0', id: 'g', source: '/s', type: 't' };
            return post(
              url,
              brokerPath,
              { 'content-type': 'application/cloudevents-batch+json' },
              JSON.stringify([good, good, { ...good, id: '' }]),
            );
          },
          400,
          /^event #2 of the batch: attribute "id" must not be empty/,
        ],
        [
          'unsupported event format',
          () => post(url, brokerPath, { 'content-type': 'application/cloudevents+xml' }, '<event/>'),
          415,
          /unsupported event format "application\/cloudevents\+xml"/,
        ],
        [
          'unknown broker',
          () => post(url, `/${namespace}/nope`, binary, 'x'),
          404,
          new RegExp(`^broker "nope" does not exist in namespace "${namespace}"`),
        ],
        [
          'unknown channel',
          () => post(url, `/channels/${namespace}/nope`, binary, 'x'),
          404,
          new RegExp(`^channel "nope" does not exist in namespace "${namespace}"`),
        ],
        [
          'unknown path',
          () => post(url, '/a/b/c/d', binary, 'x'),
          404,
          /^no broker, channel or KafkaSink at \/a\/b\/c\/d/,
        ],
        [
          'GET on a broker',
          () => post(url, brokerPath, {}, undefined, 'GET'),
          405,
          /^GET is not allowed on broker team-a\/.*; send events with POST$/,
        ],
        [
          'PUT on a broker',
          () => post(url, brokerPath, binary, 'x', 'PUT'),
          405,
          /^PUT is not allowed on broker/,
        ],
        [
          'body over the limit',
          () =>
            post(
              url,
              brokerPath,
              { ...binary, 'content-type': 'application/octet-stream' },
              Buffer.alloc(maxBodyBytes + 1),
            ),
          413,
          new RegExp(`^request body exceeds the limit of ${maxBodyBytes} bytes$`),
        ],
      ];
      for (const [name, send, status, reason] of cases) {
        const response = await send();
        expect(response.status, `${name}: ${JSON.stringify(response.json)}`).toBe(status);
        expect(response.json.error, name).toMatch(reason);
        if (status === 405) expect(response.headers.allow, name).toBe('POST');
      }
      expect(await endOffsets(log, brokerTopic)).toBe(before);

      // At the limit is fine.
      const fits = await post(
        url,
        brokerPath,
        { ...binary, 'content-type': 'application/octet-stream' },
        Buffer.alloc(maxBodyBytes),
      );
      expect(fits.status, fits.json.error).toBe(202);
      expect(await endOffsets(log, brokerTopic)).toBe(before + 1);
    });

    it('keeps the request trace context as the Distributed Tracing extension', {
      timeout: 30_000,
    }, async () => {
      const before = await endOffsets(log, brokerTopic);
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const binary = { 'ce-specversion': '1.0', 'ce-source': '/s', 'ce-type': 't' };
      const sends = [
        { ...binary, 'ce-id': 'tp-1', traceparent, tracestate: 'vendor=abc' },
        { ...binary, 'ce-id': 'tp-2', traceparent, 'ce-traceparent': own },
        { ...binary, 'ce-id': 'tp-3', traceparent: 'garbage' },
      ];
      for (const headers of sends) expect((await post(url, brokerPath, headers, '')).status).toBe(202);
      const records = (await readTopic(log, brokerTopic, before + 3)).slice(before);
      expect(attrs(records[0]!.event)).toMatchObject({ id: 'tp-1', traceparent, tracestate: 'vendor=abc' });
      expect(attrs(records[1]!.event)).toMatchObject({ id: 'tp-2', traceparent: own });
      expect(attrs(records[1]!.event)).not.toHaveProperty('tracestate');
      expect(attrs(records[2]!.event)).not.toHaveProperty('traceparent');
    });

    it('accepts channel events on /channels/<namespace>/<channel> into the channel topic', {
      timeout: 30_000,
    }, async () => {
      const event: PlainEvent = {
        ...base1,
        id: 'ch-1',
        datacontenttype: 'application/json',
        data: Buffer.from('{"n": 1}'),
      };
      const message = toHttpBinary(event);
      const response = await post(
        url,
        `/channels/${namespace}/${channelName}`,
        message.headers,
        message.body,
      );
      expect(response.status, response.json.error).toBe(202);
      const [record] = await readTopic(log, channelTopic, 1);
      expect(record?.event.id).toBe('ch-1');
      expect(dataValue(record!.event)).toEqual({ n: 1 });
      expect(toHttpBinary(record!.event).body).toEqual(Buffer.from('{"n": 1}'));
    });

    it('serves /healthz and /metrics', async () => {
      const health = await request(`${url}/healthz`);
      expect(health.statusCode).toBe(200);
      expect(await health.body.json()).toMatchObject({ status: 'ok', log: harness.name });
      const metrics = await request(`${url}/metrics`);
      expect(metrics.statusCode).toBe(200);
      const text = await metrics.body.text();
      expect(text).toContain(
        `eddy_ingress_events_total{kind="broker",namespace="${namespace}",name="${brokerName}",outcome="accepted"}`,
      );
      expect(text).toMatch(
        new RegExp(
          `eddy_ingress_rejected_total\\{kind="broker",namespace="${namespace}",name="${brokerName}",reason="too_large"\\} 1`,
        ),
      );
      expect(text).toContain(
        'eddy_ingress_rejected_total{kind="",namespace="",name="",reason="unknown_route"} 3',
      );
      expect(text).toContain('eddy_ingress_request_duration_seconds_bucket');
      expect(text).toContain('eddy_ingress_request_bytes_total');
    });

    it('follows contract updates: a removed broker is 404, a clash is refused', async () => {
      const other: BrokerRoute = { ...broker, name: unique('other'), topic: unique('ingress-other') };
      other.path = `/${namespace}/${other.name}`;
      await ingress.updateContract([broker, other], [channel]);
      const binary = { 'ce-specversion': '1.0', 'ce-id': 'u-1', 'ce-source': '/s', 'ce-type': 't' };
      expect((await post(url, other.path, binary, '')).status).toBe(202);
      await ingress.updateContract([broker], [channel]);
      const gone = await post(url, other.path, binary, '');
      expect(gone.status).toBe(404);
      expect(gone.json.error).toMatch(new RegExp(`broker "${other.name}" does not exist`));
      expect(() => ingress.updateContract([broker, { ...broker, topic: 'x' }], [])).toThrow(
        /both map to path/,
      );
      // The refused contract changed nothing.
      expect((await post(url, brokerPath, binary, '')).status).toBe(202);
      await log.deleteTopic(other.topic).catch(() => {});
    });
  });

  describe(`ingress on the ${harness.name} log when the log is down`, () => {
    it('answers 503 (log unavailable, topic not ready) and /healthz 503', { timeout: 30_000 }, async () => {
      const down = await harness.openDown();
      const route: BrokerRoute = {
        namespace: 'ns',
        name: 'b',
        path: '/ns/b',
        topic: unique('down'),
        partitions: 1,
      };
      // Without topic management the append itself fails.
      const direct = createIngress({ log: down, logger: quiet, ensureTopics: false, healthTimeoutMs: 1_000 });
      // With it, the topic never becomes ready.
      const managed = createIngress({ log: down, logger: quiet, healthTimeoutMs: 1_000 });
      try {
        void direct.updateContract([route], []);
        void managed.updateContract([route], []);
        const binary = { 'ce-specversion': '1.0', 'ce-id': 'd-1', 'ce-source': '/s', 'ce-type': 't' };
        const directUrl = await direct.listen();
        const started = Date.now();
        const failed = await post(directUrl, '/ns/b', binary, 'x');
        expect(failed.status, failed.json.error).toBe(503);
        expect(failed.json.error).toMatch(/^event log unavailable, nothing acknowledged for broker ns\/b/);
        expect(failed.headers['retry-after']).toBe('1');
        expect(Date.now() - started).toBeLessThan(10_000);

        const managedUrl = await managed.listen();
        const notReady = await post(managedUrl, '/ns/b', binary, 'x');
        expect(notReady.status).toBe(503);
        expect(notReady.json.error).toMatch(
          /^broker ns\/b is not ready: its topic ".*" is not available yet/,
        );
        // Bad input is still a 400, not hidden behind the 503.
        expect((await post(managedUrl, '/ns/b', { ...binary, 'ce-specversion': '9' }, 'x')).status).toBe(400);

        const health = await request(`${directUrl}/healthz`);
        expect(health.statusCode).toBe(503);
        expect(await health.body.json()).toMatchObject({ status: 'unavailable', log: harness.name });
      } finally {
        await direct.close();
        await managed.close();
        await down.close();
      }
    });
  });
}

describe('ingress on the kafka log: a record over the topic limit', () => {
  it('answers 413 too_large when Kafka refuses the record (RecordTooLargeError)', {
    timeout: 30_000,
  }, async () => {
    const log = createKafkaEventLog({ brokers: kafkaBrokers, logger: quiet, maxWaitTimeMs: 250 });
    const registry = new Registry();
    const ingress = createIngress({ log, registry, logger: quiet });
    const route: BrokerRoute = {
      namespace: 'ns',
      name: 'small',
      path: '/ns/small',
      topic: unique('small-records'),
      partitions: 1,
      config: { 'max.message.bytes': '2048' },
    };
    try {
      await ingress.updateContract([route], []);
      const url = await ingress.listen();
      const binary = { 'ce-specversion': '1.0', 'ce-id': 'big-1', 'ce-source': '/s', 'ce-type': 't' };
      const tooLarge = await post(
        url,
        route.path,
        { ...binary, 'content-type': 'application/octet-stream' },
        Buffer.alloc(16 * 1024),
      );
      expect(tooLarge.status, tooLarge.json.error).toBe(413);
      expect(tooLarge.json.error).toMatch(/^the events are larger than the log accepts for broker ns\/small/);
      expect(await registry.metrics()).toContain(
        'eddy_ingress_rejected_total{kind="broker",namespace="ns",name="small",reason="too_large"} 1',
      );
      expect((await post(url, route.path, binary, 'small')).status).toBe(202);
    } finally {
      await ingress.close();
      await log.deleteTopic(route.topic).catch(() => {});
      await log.close();
    }
  });
});

describe('ingress: a sender that trickles its request (slowloris)', () => {
  it('answers 408 and closes the connection once requestTimeoutMs passed; prompt senders are served', {
    timeout: 30_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-ingress-'));
    dirs.push(dir);
    const log = await openEmbeddedEventLog({ dataDir: dir });
    const ingress = createIngress({ log, logger: quiet, requestTimeoutMs: 1_000 });
    const route: BrokerRoute = {
      namespace: 'ns',
      name: 'slow',
      path: '/ns/slow',
      topic: unique('slow'),
      partitions: 1,
    };
    try {
      await ingress.updateContract([route], []);
      const base = await ingress.listen();
      // One byte a second, never finishing: the sender holds the connection until the server cuts it.
      const slow = await trickleUntilClosed(
        base,
        `POST ${route.path} HTTP/1.1\r\nHost: x\r\nce-specversion: 1.0\r\nce-id: slow-1\r\nce-source: /s\r\nce-type: t\r\ncontent-length: 100\r\n\r\n`,
        1_000,
      );
      expect(slow.answer).toMatch(/^HTTP\/1\.1 408/);
      expect(slow.elapsedMs).toBeLessThan(5_000);
      expect(await endOffsets(log, route.topic)).toBe(0);
      const ok = await post(
        base,
        route.path,
        { 'ce-specversion': '1.0', 'ce-id': 'ok-1', 'ce-source': '/s', 'ce-type': 't' },
        'fine',
      );
      expect(ok.status).toBe(202);
    } finally {
      await ingress.close();
      await log.close();
    }
  });
});
