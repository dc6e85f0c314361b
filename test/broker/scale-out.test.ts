// The broker data plane scaled out on Kafka: one ingress and three dispatcher processes (the
// data-plane main with --component, exactly as `eddy ingress` / `eddy dispatcher` run it) share one
// Trigger's consumer group on the harness's own 3-node Kafka. Mid-stream one dispatcher is SIGKILLed
// (and, in the second case, one Kafka node is stopped). Every event the ingress acknowledged reaches
// the subscriber; the survivors take over the dead one's partitions; and an event the subscriber
// always refuses gets no more than retry+1 attempts in all, across the rebalances (the retry state
// is in Kafka, not in the memory of the process that happened to own the partition:
// eventing-kafka-broker#3746).

import { openKafkaEventLog } from '@eddy/broker';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../harness/free-ports.ts';
import { type KafkaCluster, startKafka } from '../harness/kafka.ts';
import {
  type DataPlaneProcess,
  kafkaDataPlaneArgs,
  spawnDispatcher,
  spawnIngress,
  whenReady,
  writeContract,
} from './data-plane-processes.ts';
import {
  brokerYaml,
  postBinary,
  quiet,
  sleep,
  startSubscriber,
  testKafkaClient,
  triggerYaml,
  unique,
  waitFor,
} from './helpers.ts';

const EVENTS = 1_500;
const RETRY = 3;
/** Every 25th event is refused for ever: it must see exactly RETRY + 1 attempts, then the dead-letter sink. */
const isPoison = (i: number) => i % 25 === 0;

describe('broker data plane scaled out on a 3-node Kafka', () => {
  let cluster: KafkaCluster;
  beforeAll(async () => {
    cluster = await startKafka({ nodes: 3, log: () => {} });
  }, 240_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  // Dispatchers starting together all ensure the retry-state topic; on several nodes the ones told
  // "it already exists" may ask a node that does not list it yet. Once that failed a dispatcher's
  // whole contract (this suite's second case, in CI).
  it('clients ensuring one new topic at once on several nodes all succeed', { timeout: 90_000 }, async () => {
    const logs = await Promise.all(
      Array.from({ length: 3 }, () =>
        openKafkaEventLog({ client: testKafkaClient(), brokers: cluster.brokers, logger: quiet }),
      ),
    );
    try {
      for (let round = 0; round < 10; round++) {
        const topic = unique('together');
        const results = await Promise.allSettled(logs.map((l) => l.ensureTopic(topic, { partitions: 1 })));
        expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(
          logs.map(() => 'ok'),
        );
      }
    } finally {
      await Promise.all(logs.map((l) => l.close()));
    }
  });

  it(
    'three dispatchers share a Trigger; one SIGKILLed loses nothing and no event exceeds retry+1 attempts',
    {
      timeout: 240_000,
    },
    () => scaleOut(cluster, { stopKafkaNode: false }),
  );

  // Runs last: it leaves the cluster one node short. Before the retry-state owner fence, two
  // members here each ran a whole retry sequence for some events (2 x (retry+1) attempts).
  it('... and a Kafka node stopped mid-stream as well', { timeout: 240_000 }, () =>
    scaleOut(cluster, { stopKafkaNode: true }),
  );
});

async function scaleOut(cluster: KafkaCluster, options: { stopKafkaNode: boolean }): Promise<void> {
  const attempts = new Map<string, number>();
  const firstAttemptAt = new Map<string, number>();
  const sub = await startSubscriber((r, res) => {
    const id = String(r.headers['ce-id']);
    attempts.set(id, (attempts.get(id) ?? 0) + 1);
    if (!firstAttemptAt.has(id)) firstAttemptAt.set(id, Date.now());
    res.writeHead(isPoison(Number(id.slice(4))) ? 500 : 202).end();
  });
  const deadLetters = await startSubscriber();
  const [port] = await freePorts(1);
  const ns = unique('scale');
  const contract = writeContract(
    port!,
    [
      brokerYaml(ns, 'default', "  annotations:\n    eddy.dev/partitions: '6'\n"),
      triggerYaml(
        ns,
        'shared',
        [
          '  broker: default',
          `  subscriber:\n    uri: ${sub.url}`,
          '  delivery:',
          `    retry: ${RETRY}`,
          '    backoffPolicy: linear',
          '    backoffDelay: PT0.2S',
          `    deadLetterSink:\n      uri: ${deadLetters.url}`,
          '',
        ].join('\n'),
        { 'eddy.dev/max-in-flight': '20' },
      ),
    ].join('\n---\n'),
  );
  const shared = kafkaDataPlaneArgs({
    contract,
    brokers: cluster.brokers,
    retryStateTopic: unique('retry-state'),
  });
  const ingress = spawnIngress(port!, shared);
  const dispatchers: DataPlaneProcess[] = [1, 2, 3].map((i) => spawnDispatcher(`dispatcher-${i}`, shared));
  const [, ...probeUrls] = await Promise.all([ingress, ...dispatchers].map(whenReady));

  const accepted = new Set<string>();
  let killedAt = Number.POSITIVE_INFINITY;
  let nodeStoppedAt = Number.POSITIVE_INFINITY;
  const send = async (i: number) => {
    const status = await postBinary(`http://127.0.0.1:${port}/${ns}/default`, {
      specversion: '1.0',
      id: `evt-${i}`,
      source: '/eddy/scale-out',
      type: 'scale.test',
      partitionkey: `key-${i % 50}`,
      datacontenttype: 'text/plain',
      data: Buffer.from(`event ${i}`),
    });
    // Anything but a 202 (or no answer) is no promise: such an event is not counted.
    if (status === 202) accepted.add(`evt-${i}`);
  };
  for (let i = 0; i < EVENTS; i += 10) {
    await Promise.all(Array.from({ length: 10 }, (_, k) => send(i + k)));
    if (i === 500) {
      dispatchers[0]!.child.kill('SIGKILL');
      killedAt = Date.now();
    }
    if (i === 1_000 && options.stopKafkaNode) {
      nodeStoppedAt = Date.now();
      await cluster.stopNode(cluster.nodes[2]!.id);
    }
    await sleep(5);
  }
  expect((await dispatchers[0]!.exited).signal).toBe('SIGKILL');
  expect(accepted.size).toBeGreaterThan(EVENTS * 0.8);

  const poisoned = [...accepted].filter((id) => isPoison(Number(id.slice(4))));
  await waitFor(
    'every accepted event to reach the subscriber, and every refused one the dead-letter sink',
    () => {
      const deadLettered = new Set(deadLetters.received.map((r) => String(r.headers['ce-id'])));
      return [...accepted].every((id) => attempts.has(id)) && poisoned.every((id) => deadLettered.has(id));
    },
    { timeoutMs: 120_000, describe: () => ({ accepted: accepted.size, reached: attempts.size }) },
  );
  // The one excess the retry state cannot rule out (retry-state.ts): a first attempt cut short by
  // the kill (or by the rebalance it caused, within the session timeout) was never recorded, so the
  // next owner starts over: RETRY + 2, and only for an event first tried by then. Knative's
  // dispatcher would show multiples of RETRY + 1 here.
  const firstTriedByRebalance = (id: string) => (firstAttemptAt.get(id) ?? Infinity) < killedAt + 10_000;
  // With a Kafka node stopped as well, the group and the retry-state topic fail over at once, and two
  // members can own a partition together before either sees the other's state writes: each may make
  // one attempt the other does not know of (the caveat in retry-state.ts). One more, then, for events
  // first tried by then; a member repeating a whole retry sequence (2 x (RETRY + 1), Knative's
  // failure) still fails this.
  const firstTriedByFailover = (id: string) => {
    const at = firstAttemptAt.get(id) ?? Number.POSITIVE_INFINITY;
    return at >= nodeStoppedAt - 10_000 && at < nodeStoppedAt + 30_000;
  };
  const over = poisoned.filter((id) => {
    const n = attempts.get(id) ?? 0;
    const allowed =
      RETRY +
      1 +
      (firstTriedByRebalance(id) ? 1 : 0) +
      (options.stopKafkaNode && firstTriedByFailover(id) ? 1 : 0);
    return n > Math.max(RETRY + 1, allowed);
  });
  expect(over.map((id) => `${id}: ${attempts.get(id)} attempts`)).toEqual([]);
  // A retry recorded but not sent when its dispatcher died is not made again: RETRY at the least.
  expect(poisoned.filter((id) => (attempts.get(id) ?? 0) < RETRY)).toEqual([]);

  // The survivors did the work after the kill: both delivered, and both still run.
  for (const d of dispatchers.slice(1)) expect(d.child.exitCode).toBeNull();
  const delivered = await Promise.all(
    probeUrls.slice(1).map(async (url) => {
      const text = await (await request(`${url}/metrics`)).body.text();
      return text
        .split('\n')
        .filter((l) => l.startsWith('eddy_dispatch_events_total{') && l.includes('outcome="delivered"'))
        .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    }),
  );
  expect(delivered.every((n) => n > 0)).toBe(true);

  for (const p of [ingress, ...dispatchers.slice(1)]) p.child.kill('SIGTERM');
  for (const p of [ingress, ...dispatchers.slice(1)]) expect((await p.exited).code).toBe(0);
}
