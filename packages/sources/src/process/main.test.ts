// The sources process (dist/process/main.js) as deployed: plain `node`, from a contract file and from
// a real contract feed, sources delivering to a real HTTP sink (a PingSource; an SqsSource on the
// harness's ElasticMQ whose credentials come from the contract's values).

import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContractFeed, serveContractFeed, sleep, UsageError } from '@eddy/runtime';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawnNodeScript } from '../../../../test/harness/node-process.ts';
import { sqsSdk } from '../../../../test/harness/sqs-sdk.ts';
import { PING_EVENT_TYPE } from '../ping/ping-event.js';
import type { SourceDefinition } from '../sdk/adapter.js';
import type { SourceStatus } from '../sdk/runner.js';
import { sqsTestQueues } from '../testing/sqs-test-queues.js';
import { startTestSink, type TestSink } from '../testing/test-sink.js';
import { waitUntil } from '../testing/wait-until.js';
import { reportedSourceStatuses, type SourcesContract } from './contract.js';
import { envName, parseSourcesArgs, SOURCES_MAIN } from './main.js';

const undo: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of undo.splice(0).reverse()) await step();
});

async function sink(): Promise<TestSink> {
  const s = await startTestSink();
  undo.push(() => s.close());
  return s;
}

function tempFile(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sources-process-'));
  undo.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, name);
}

const ping = (name: string, sinkUrl: string): SourceDefinition => ({
  apiVersion: 'sources.knative.dev/v1',
  kind: 'PingSource',
  namespace: 'proc',
  name,
  // Every second (the optional seconds field).
  spec: { schedule: '* * * * * *', data: '{"n":1}', contentType: 'application/json' },
  sink: sinkUrl,
});

const contract = (generation: number, sources: SourceDefinition[], values?: SourcesContract['values']) =>
  JSON.stringify({ generation, sources, values: values ?? { secrets: {}, configMaps: {} } });

/** An event's data as the sink received it (bytes), as text. */
const text = (data: unknown) => Buffer.from(data as Uint8Array).toString('utf8');

async function get(url: string): Promise<{ status: number; text: string }> {
  const response = await request(url);
  return { status: response.statusCode, text: await response.body.text() };
}

describe('sources process options', () => {
  it('takes an option the flags leave out from its EDDY_SOURCES_* variable; a flag wins', () => {
    const env = {
      EDDY_SOURCES_CONTRACT: 'http://control:9000/v1/contract/sources',
      EDDY_SOURCES_PORT: '9100',
      EDDY_SOURCES_SOURCE_ADAPTERS: 'eddy-webhook-source, ./local-adapter',
    };
    expect(parseSourcesArgs([], env)).toEqual({
      contract: 'http://control:9000/v1/contract/sources',
      memberId: undefined,
      shard: { index: 0, count: 1 },
      host: '127.0.0.1',
      port: 9100,
      logLevel: 'info',
      sourceAdapters: ['eddy-webhook-source', './local-adapter'],
      secretDirs: [],
      watchIntervalMs: 500,
      statusIntervalMs: 500,
    });
    expect(parseSourcesArgs(['--port', '0', '--member-id', 's-1'], env)).toMatchObject({
      port: 0,
      memberId: 's-1',
    });
    expect(envName('status-interval-ms')).toBe('EDDY_SOURCES_STATUS_INTERVAL_MS');
  });

  it('names the flag or the variable a bad value came from', () => {
    const problem = (argv: string[], env = {}) => {
      try {
        parseSourcesArgs(argv, env);
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
        return (error as Error).message;
      }
      throw new Error('no UsageError');
    };
    expect(problem([])).toBe('--contract <file|url> (or EDDY_SOURCES_CONTRACT) is required');
    expect(problem(['--contract', 'c', '--port', 'x'])).toBe(
      '--port must be an integer from 0 to 65535, got "x"',
    );
    expect(problem(['--contract', 'c'], { EDDY_SOURCES_STATUS_INTERVAL_MS: '1' })).toBe(
      'EDDY_SOURCES_STATUS_INTERVAL_MS must be an integer from 50 to 60000, got "1"',
    );
    expect(problem(['--contract', 'c', '--component', 'x'])).toMatch(/component/);
  });
});

describe('sources process from a contract file', () => {
  it('runs a PingSource into a real sink, answers its probes, keeps the running contract when the file breaks, drains on SIGTERM', {
    timeout: 60_000,
  }, async () => {
    const target = await sink();
    const file = tempFile('sources.json');
    writeFileSync(file, contract(1, [ping('tick', target.url)]));
    const p = spawnNodeScript(SOURCES_MAIN, ['--contract', file, '--watch-interval-ms', '100']);
    const listening = JSON.parse(await p.waitForLine(/sources listening on/)) as { url: string };
    await p.waitForLine(/applied contract generation 1 \(1 source\)/);
    await target.waitFor((r) => r.length >= 2, 15_000);
    const tick = target.accepted()[0];
    expect(tick).toMatchObject({
      type: PING_EVENT_TYPE,
      source: '/apis/v1/namespaces/proc/pingsources/tick',
    });
    expect(text(tick?.data)).toBe('{"n":1}');

    expect((await get(`${listening.url}/healthz`)).status).toBe(200);
    const ready = await get(`${listening.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toMatchObject({ status: 'ok', generation: 1, sources: 1 });
    const metrics = await get(`${listening.url}/metrics`);
    expect(metrics.text).toMatch(
      /eddy_source_events_delivered_total\{kind="PingSource",namespace="proc",name="tick"\} [1-9]/,
    );

    // A broken file is logged naming it, and the running contract stays (the pings go on).
    writeFileSync(file, '{"generation": 2, "sources": [');
    await p.waitForLine(/contract file .*sources\.json: is not valid JSON/);
    writeFileSync(file, JSON.stringify({ generation: 3, sources: [{ kind: 'PingSource' }], values: {} }));
    await p.waitForLine(/sources\[0\]\.apiVersion must be a non-empty string/);
    const seen = target.requests.length;
    await target.waitFor((r) => r.length >= seen + 2, 15_000);

    // A newer contract without the source stops it.
    writeFileSync(file, contract(4, []));
    await p.waitForLine(/applied contract generation 4 \(0 sources\)/);
    const after = target.requests.length;
    await sleep(2_500);
    // At most a tick that was already being sent when the source stopped.
    expect(target.requests.length).toBeLessThanOrEqual(after + 1);

    p.child.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
    expect(p.output.some((l) => l.includes('"sources stopped"'))).toBe(true);
  });

  it('a bad command line exits 2 naming the flag; a contract file it cannot read exits 1', async () => {
    const bad = spawnNodeScript(SOURCES_MAIN, ['--contract', 'x.json', '--port', 'eighty']);
    await bad.waitForLine(/--port must be an integer from 0 to 65535, got "eighty"/);
    expect((await bad.exited).code).toBe(2);
    const unknown = spawnNodeScript(SOURCES_MAIN, ['--contract', 'x.json', '--brokers', 'k:9092']);
    await unknown.waitForLine(/brokers/);
    expect((await unknown.exited).code).toBe(2);
    const missing = spawnNodeScript(SOURCES_MAIN, ['--contract', join(tmpdir(), 'no-such-contract.json')]);
    await missing.waitForLine(/cannot read contract file .*no-such-contract\.json/);
    expect((await missing.exited).code).toBe(1);
  });
});

describe('sources process from a contract feed', () => {
  const queues = sqsTestQueues(sqsSdk, { endpoint: inject('sqsEndpoint'), region: inject('sqsRegion') });
  beforeAll(() => queues.open());
  afterAll(() => queues.close());

  const sqsSource = (name: string, queueUrl: string, secret: string, sinkUrl: string): SourceDefinition => ({
    apiVersion: 'sources.eddy.dev/v1alpha1',
    kind: 'SqsSource',
    namespace: 'demo',
    name,
    spec: {
      queueUrl,
      region: inject('sqsRegion'),
      endpoint: inject('sqsEndpoint'),
      waitTimeSeconds: 1,
      credentials: {
        accessKeyId: { secretKeyRef: { name: secret, key: 'id' } },
        secretAccessKey: { secretKeyRef: { name: secret, key: 'secret' } },
      },
    },
    sink: sinkUrl,
  });

  it("reports each source's Ready condition to the feed; secretKeyRefs resolve from the contract's values", {
    timeout: 60_000,
  }, async () => {
    const target = await sink();
    const feed = new ContractFeed<SourcesContract>();
    const server = await serveContractFeed(feed, { token: 'feed-token' });
    undo.push(() => {
      feed.close();
      return server.close();
    });
    const queue = await queues.createQueue();
    const id = await queues.send(queue.url, 'order 1');
    feed.publish({
      generation: 1,
      sources: [
        sqsSource('orders', queue.url, 'aws', target.url),
        sqsSource('locked', queue.url, 'none', target.url),
      ],
      values: { secrets: { 'demo/aws': { id: 'eddy-key', secret: 'eddy-secret' } }, configMaps: {} },
    });
    const p = spawnNodeScript(
      SOURCES_MAIN,
      ['--contract', server.url, '--member-id', 'src-a', '--status-interval-ms', '100'],
      { EDDY_CONTRACT_TOKEN: 'feed-token' },
    );
    await target.waitFor((r) => r.length >= 1, 20_000);
    expect(target.accepted()[0]?.id).toBe(id);
    expect(text(target.accepted()[0]?.data)).toBe('order 1');
    // Deleted upstream once the sink took it.
    await waitUntil(() => queues.empty(queue.url), 15_000, 'the queue to be empty');

    let reported: SourceStatus[] = [];
    await waitUntil(
      () => {
        const member = feed.members('sources').find((m) => m.id === 'src-a');
        reported = reportedSourceStatuses(member?.status) ?? [];
        return member?.applied === 1 && reported.length === 2 && reported[1]?.ready.status === 'True';
      },
      20_000,
      'both sources reported, orders Ready',
    );
    expect(reported.map((s) => [s.key, s.ready.status])).toEqual([
      ['SqsSource/demo/locked', 'False'],
      ['SqsSource/demo/orders', 'True'],
    ]);
    // The Secret the contract does not carry is missing, named with where the process looked.
    expect(reported[0]?.ready).toMatchObject({ reason: 'StartFailed' });
    expect(reported[0]?.ready.message).toMatch(/secret demo\/none key id not found/);

    // A source that listens for HTTP reports its address; its webhook secret comes from the values too.
    const webhookSecret = 'wh-secret-from-values';
    feed.publish({
      generation: 2,
      sources: [
        sqsSource('orders', queue.url, 'aws', target.url),
        sqsSource('locked', queue.url, 'none', target.url),
        {
          apiVersion: 'sources.knative.dev/v1alpha1',
          kind: 'GitHubSource',
          namespace: 'demo',
          name: 'hooks',
          spec: {
            ownerAndRepository: 'eddy/demo',
            eventTypes: ['push'],
            secretToken: { secretKeyRef: { name: 'gh', key: 'token' } },
          },
          sink: target.url,
        },
      ],
      values: {
        secrets: {
          'demo/aws': { id: 'eddy-key', secret: 'eddy-secret' },
          'demo/gh': { token: webhookSecret },
        },
        configMaps: {},
      },
    });
    let hooks: SourceStatus | undefined;
    await waitUntil(
      () => {
        const member = feed.members('sources').find((m) => m.id === 'src-a');
        hooks = reportedSourceStatuses(member?.status)?.find((s) => s.name === 'hooks');
        return hooks?.ready.status === 'True' && hooks.address !== undefined;
      },
      20_000,
      'the GitHubSource Ready with its address',
    );
    expect(hooks?.address?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const body = JSON.stringify({ ref: 'refs/heads/main', repository: { full_name: 'eddy/demo' } });
    const signature = createHmac('sha256', webhookSecret).update(body).digest('hex');
    const delivered = await request(hooks?.address?.url ?? '', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': 'delivery-1',
        'x-hub-signature-256': `sha256=${signature}`,
      },
      body,
    });
    await delivered.body.text();
    expect(delivered.statusCode).toBeLessThan(300);
    await target.waitFor(
      (r) => r.some((x) => String(x.headers['ce-type']).startsWith('dev.knative.source.github.')),
      10_000,
    );

    // A new generation with the value delivered fixes it; the other source is untouched.
    feed.publish({
      generation: 3,
      sources: [
        sqsSource('orders', queue.url, 'aws', target.url),
        { ...sqsSource('locked', queue.url, 'none', target.url), valuesDigest: 'v2' },
      ],
      values: {
        secrets: {
          'demo/aws': { id: 'eddy-key', secret: 'eddy-secret' },
          'demo/none': { id: 'k', secret: 's' },
        },
        configMaps: {},
      },
    });
    await waitUntil(
      () => {
        const member = feed.members('sources').find((m) => m.id === 'src-a');
        const statuses = reportedSourceStatuses(member?.status) ?? [];
        return (
          member?.applied === 3 && statuses.length === 2 && statuses.every((s) => s.ready.status === 'True')
        );
      },
      20_000,
      'both sources Ready',
    );

    p.child.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
  });
});
