// What the history end-to-end tests share: an `eddy dev` (embedded or Kafka) started in process with
// one Broker, the built CLI run against it, events sent to its ingress in every shape, and the events
// its topic holds read back with the history reader.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { type PlainEvent, resourceKey } from '@eddy/api';
import { type LogRecord, readWindow, timeWindow } from '@eddy/broker';
import { request } from 'undici';
import { expect } from 'vitest';
import { type DevServer, startDevServer } from '../../packages/cli/src/dev/dev-server.ts';
import { admin, type Cleanups } from '../../packages/cli/src/dev/testing/dev-test-kit.ts';
import { type CliRun, MAIN, runEddy } from './helpers.ts';

export interface HistoryDev {
  server: DevServer;
  namespace: string;
  broker: string;
  /** `eddy <args>` (built, spawned) against this eddy dev, in its namespace. */
  eddy(args: readonly string[], timeoutMs?: number): Promise<CliRun>;
  /** `eddy <args>` spawned with stdio pipes, for commands that stream (tail) or read stdin. */
  spawnEddy(args: readonly string[]): ChildProcess;
  /** A binary-mode (or, with `structured`, structured-mode) POST to the broker; the status. */
  send(headers: Record<string, string>, body?: string | Buffer): Promise<number>;
  /** Every event the broker's topic holds, in offset order. */
  stored(): Promise<PlainEvent[]>;
}

export async function startHistoryDev(
  cleanups: Cleanups,
  options: { kafka?: string[] } = {},
): Promise<HistoryDev> {
  const dataDir = join(cleanups.tempDir('eddy-history-'), '.eddy');
  const server = await startDevServer({
    dataDir,
    port: 0,
    serving: false,
    ...(options.kafka ? { kafka: options.kafka } : {}),
  });
  cleanups.push(() => server.close());
  // A namespace of its own: Kafka topics outlive the test.
  const namespace = `h-${randomUUID().slice(0, 8)}`;
  const broker = 'default';
  const applied = await admin(server, 'POST', '/v1/apply', {
    text: `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: ${broker}\n  namespace: ${namespace}\n`,
    file: 'broker.yaml',
  });
  expect(applied.status).toBe(200);
  await server.settled();
  const ready = server.store
    .get(resourceKey('Broker', namespace, broker))
    ?.resource.status?.conditions?.find((c) => c.type === 'Ready');
  expect(ready?.status).toBe('True');
  const env = { ...process.env, EDDY_DATA_DIR: dataDir };
  const withNamespace = (args: readonly string[]) => [...args, '-n', namespace];
  return {
    server,
    namespace,
    broker,
    eddy: (args, timeoutMs = 60_000) => runEddy(withNamespace(args), { env, timeoutMs }),
    spawnEddy: (args) =>
      spawn(process.execPath, [MAIN, ...withNamespace(args)], { env, stdio: ['pipe', 'pipe', 'pipe'] }),
    async send(headers, body) {
      const res = await request(`${server.ingressUrl}/${namespace}/${broker}`, {
        method: 'POST',
        headers,
        ...(body !== undefined ? { body } : {}),
      });
      await res.body.text();
      return res.statusCode;
    },
    async stored() {
      const topic = server.reconciler.eventingContract?.brokers.find(
        (b) => b.namespace === namespace && b.name === broker,
      )?.topic;
      if (topic === undefined) throw new Error(`Broker ${namespace}/${broker} has no topic`);
      const records: LogRecord[] = [];
      await readWindow({
        log: server.log,
        topic,
        window: await timeWindow(server.log, topic, 0),
        handler: async (batch) => {
          records.push(...batch);
        },
      });
      return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset).map((r) => r.event);
    },
  };
}

const v1 = { 'ce-specversion': '1.0', 'ce-source': '/history', 'ce-type': 'com.example.history' };
const v03 = { 'ce-specversion': '0.3', 'ce-source': '/history', 'ce-type': 'com.example.history' };

/** Events with every kind of data and attribute, as requests to the ingress: [headers, body]. */
export function variedEvents(tag: string): [Record<string, string>, (string | Buffer)?][] {
  return [
    [
      { ...v1, 'ce-id': `${tag}-json`, 'content-type': 'application/json' },
      '{ "price" : 1.0, "n": 12345678901234567890 }',
    ],
    [{ ...v1, 'ce-id': `${tag}-json-lines`, 'content-type': 'application/json' }, '{\n  "a": [1,\n 2]\n}\n'],
    [{ ...v1, 'ce-id': `${tag}-json-space`, 'content-type': 'application/vnd.example+json' }, ' "s" '],
    [
      { ...v1, 'ce-id': `${tag}-text`, 'content-type': 'text/plain; charset=utf-8' },
      'caf\u00e9 \u2603\nsecond line',
    ],
    [
      { ...v1, 'ce-id': `${tag}-binary`, 'content-type': 'application/octet-stream' },
      Buffer.from([0, 1, 0xfe, 0xff, 10]),
    ],
    [
      {
        ...v1,
        'ce-id': `${tag}-ext`,
        'ce-time': '2026-12-01T10:00:00.5+02:00',
        'ce-subject': 'a subject',
        'ce-dataschema': 'https://example.com/schema',
        'ce-myext': 'x%20y',
        'ce-partitionkey': 'key-1',
      },
    ],
    [
      { 'content-type': 'application/cloudevents+json' },
      JSON.stringify({ ...structured(v1), id: `${tag}-typed-ext`, count: 5, flag: true, data: { a: 1 } }),
    ],
    [
      { 'content-type': 'application/cloudevents+json' },
      JSON.stringify({ ...structured(v1), id: `${tag}-empty-text`, datacontenttype: 'text/plain', data: '' }),
    ],
    [
      { ...v03, 'ce-id': `${tag}-03-json`, 'content-type': 'application/json', 'ce-schemaurl': 'http://x/s' },
      '[1, 2 ]',
    ],
    [
      { ...v03, 'ce-id': `${tag}-03-binary`, 'content-type': 'image/png' },
      Buffer.from([0x89, 0x50, 0, 0xff]),
    ],
    [{ ...v03, 'ce-id': `${tag}-03-encoded`, 'ce-datacontentencoding': 'base64' }, 'AAEC/w=='],
    [{ ...v03, 'ce-id': `${tag}-03-text`, 'content-type': 'text/plain' }, 'plain\r\ntext'],
  ];
}

function structured(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name.replace(/^ce-/, ''), value]),
  );
}
