// Two sources processes (dist/process/main.js, plain `node`) sharing one contract file as members
// 0/2 and 1/2: each PingSource runs on its one owner (one event per tick, no duplicates), the
// SqsSource on both, which compete for the queue on the harness's ElasticMQ: every message reaches
// the sink exactly once in total, and both members received some.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '@eddy/runtime';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawnNodeScript } from '../../../../test/harness/node-process.ts';
import { sqsSdk } from '../../../../test/harness/sqs-sdk.ts';
import { sourceOwner } from '../control/placement.js';
import { PING_EVENT_TYPE } from '../ping/ping-event.js';
import type { SourceDefinition } from '../sdk/adapter.js';
import { sourceKey } from '../sdk/runner.js';
import { SQS_EVENT_TYPE } from '../sqs/sqs-event.js';
import { sqsTestQueues } from '../testing/sqs-test-queues.js';
import { startTestSink } from '../testing/test-sink.js';
import { waitUntil } from '../testing/wait-until.js';
import type { SourcesContract } from './contract.js';
import { parseSourcesArgs, SOURCES_MAIN } from './main.js';

const undo: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of undo.splice(0).reverse()) await step();
});

describe('sources process --shard', () => {
  it('parses i/N, and a bad one is a UsageError naming the flag or variable', () => {
    expect(parseSourcesArgs(['--contract', 'c']).shard).toEqual({ index: 0, count: 1 });
    expect(parseSourcesArgs(['--contract', 'c', '--shard', '1/3']).shard).toEqual({ index: 1, count: 3 });
    const problem = (argv: string[], env = {}) => {
      try {
        parseSourcesArgs(['--contract', 'c', ...argv], env);
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
        return (error as Error).message;
      }
      throw new Error('no UsageError');
    };
    expect(problem(['--shard', '2/2'])).toBe(
      '--shard: expected <index>/<count> with 0 <= index < count <= 64 (e.g. 0/2), got "2/2"',
    );
    expect(problem([], { EDDY_SOURCES_SHARD: 'two' })).toMatch(
      /^EDDY_SOURCES_SHARD: expected <index>\/<count>/,
    );
  });
});

describe('two sources processes sharing a contract (shards 0/2 and 1/2)', () => {
  const queues = sqsTestQueues(sqsSdk, { endpoint: inject('sqsEndpoint'), region: inject('sqsRegion') });
  beforeAll(() => queues.open());
  afterAll(() => queues.close());

  it('runs each PingSource on one member (one event per tick) and the SqsSource on both (each message once)', {
    timeout: 90_000,
  }, async () => {
    const sink = await startTestSink();
    undo.push(() => sink.close());
    const dir = mkdtempSync(join(tmpdir(), 'sources-shards-'));
    undo.push(() => rmSync(dir, { recursive: true, force: true }));
    const queue = await queues.createQueue();

    const ping = (name: string): SourceDefinition => ({
      apiVersion: 'sources.knative.dev/v1',
      kind: 'PingSource',
      namespace: 'demo',
      name,
      spec: { schedule: '* * * * * *', data: name },
      sink: sink.url,
    });
    // One PingSource owned by each member.
    const names = Array.from({ length: 20 }, (_, i) => `tick-${i}`);
    const owned = [0, 1].map(
      (index) => names.find((n) => sourceOwner(sourceKey(ping(n)), 2) === index) ?? 'none',
    );
    const orders: SourceDefinition = {
      apiVersion: 'sources.eddy.dev/v1alpha1',
      kind: 'SqsSource',
      namespace: 'demo',
      name: 'orders',
      spec: {
        queueUrl: queue.url,
        region: inject('sqsRegion'),
        endpoint: inject('sqsEndpoint'),
        waitTimeSeconds: 1,
        batchSize: 2,
        credentials: {
          accessKeyId: { secretKeyRef: { name: 'aws', key: 'id' } },
          secretAccessKey: { secretKeyRef: { name: 'aws', key: 'secret' } },
        },
      },
      sink: sink.url,
    };
    const contract: SourcesContract = {
      generation: 1,
      sources: [...owned.map(ping), orders],
      values: { secrets: { 'demo/aws': { id: 'eddy-key', secret: 'eddy-secret' } }, configMaps: {} },
    };
    const file = join(dir, 'sources.json');
    writeFileSync(file, JSON.stringify(contract));

    const members = [0, 1].map((index) =>
      spawnNodeScript(SOURCES_MAIN, [
        '--contract',
        file,
        '--shard',
        `${index}/2`,
        '--member-id',
        `m${index}`,
      ]),
    );
    const urls: string[] = [];
    for (const p of members) {
      urls.push((JSON.parse(await p.waitForLine(/sources listening on/)) as { url: string }).url);
      await p.waitForLine(/applied contract generation 1 \(2 sources; shard \d\/2, 1 on other members\)/);
    }
    const metrics = async (member: number) => await (await request(`${urls[member]}/metrics`)).body.text();
    const count = (text: string, metric: string, name: string) =>
      Number(
        new RegExp(`${metric}\\{kind="[A-Za-z]+",namespace="demo",name="${name}"\\} (\\d+)`).exec(
          text,
        )?.[1] ?? 0,
      );
    for (const [member, url] of urls.entries()) {
      const ready = await request(`${url}/readyz`);
      expect(JSON.parse(await ready.body.text())).toMatchObject({
        generation: 1,
        shard: `${member}/2`,
        sources: 2,
      });
    }

    // SQS: messages in rounds until both members have received some; each delivered once in total.
    const sent: string[] = [];
    const sqsEvents = () => sink.accepted().filter((e) => e.type === SQS_EVENT_TYPE);
    let received = [0, 0];
    for (let round = 0; round < 10 && !(received[0]! > 0 && received[1]! > 0); round++) {
      for (let i = 0; i < 10; i++) sent.push(await queues.send(queue.url, `order ${round}-${i}`));
      await sink.waitFor(() => sqsEvents().length >= sent.length, 20_000);
      received = await Promise.all(
        [0, 1].map(async (m) => count(await metrics(m), 'eddy_source_events_received_total', 'orders')),
      );
    }
    await waitUntil(() => queues.empty(queue.url), 15_000, 'the queue to be empty');
    const ids = sqsEvents().map((e) => e.id);
    expect(ids.length).toBe(sent.length);
    expect(new Set(ids)).toEqual(new Set(sent));
    expect(received[0], 'member 0 received messages').toBeGreaterThan(0);
    expect(received[1], 'member 1 received messages').toBeGreaterThan(0);
    expect(received[0]! + received[1]!).toBe(sent.length);

    // Pings: each source's ticks once (its `time` is the scheduled tick), from its owner only.
    const pings = (name: string) =>
      sink.accepted().filter((e) => e.type === PING_EVENT_TYPE && e.source.endsWith(`/${name}`));
    await sink.waitFor(() => owned.every((n) => pings(n).length >= 4), 20_000);
    for (const name of owned) {
      const times = pings(name).map((e) => e.time);
      expect(new Set(times).size, `${name}: one event per tick`).toBe(times.length);
    }
    for (const [member, name] of owned.entries()) {
      const text = await metrics(member);
      expect(count(text, 'eddy_source_events_delivered_total', name)).toBeGreaterThan(0);
      const other = owned[1 - member] ?? '';
      expect(text, `member ${member} does not run ${other}`).not.toContain(`name="${other}"`);
    }

    for (const p of members) p.child.kill('SIGTERM');
    for (const p of members) expect((await p.exited).code).toBe(0);
  });
});
