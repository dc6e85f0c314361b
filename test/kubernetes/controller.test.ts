// `eddy controller` against the real API server of the test cluster, with the real Kafka of the run:
// the quickstart's Broker, Triggers and PingSource applied with kubectl become Ready with addresses,
// `eddy ingress` + `eddy dispatcher` processes following the controller's contract feed deliver to a
// subscriber on 127.0.0.1, a deleted Trigger's consumer group goes (finalizer), a controller killed
// with SIGKILL and started again changes nothing, and of two replicas only the leader writes.
// Each test has its own namespace (the controller's --namespace) and its own Lease.

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { formatProblemWithoutLocation, loadText, type Problem } from '@eddy/api';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { eddyJs } from '../broker/data-plane-processes.ts';
import { ROOT, runEddy } from '../cli/helpers.ts';
import { freePorts } from '../harness/free-ports.ts';
import { type Kubectl, kubectlFor } from '../harness/kubernetes.ts';
import { type NodeProcess, spawnNodeScript } from '../harness/node-process.ts';
import { waitFor } from '../harness/wait.ts';
import { controllerArgs, installCrds, mustKubectl } from './helpers.ts';

const cluster = inject('kubernetes');
const brokers = inject('kafkaBrokers');
const kubectl: Kubectl = kubectlFor(cluster);

interface Received {
  path: string;
  type: string | undefined;
  id: string | undefined;
}

async function subscriber(port: number): Promise<{ server: Server; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        type: req.headers['ce-type'] as string | undefined,
        id: req.headers['ce-id'] as string | undefined,
      });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, received };
}

const must = mustKubectl(kubectl);

async function freshNamespace(): Promise<string> {
  const ns = `ctl-${randomUUID().slice(0, 8)}`;
  await must(['create', 'namespace', ns]);
  return ns;
}

interface Destination {
  ref?: { name: string };
  uri?: string;
}

interface QuickstartDoc {
  spec?: { subscriber?: Destination; delivery?: { deadLetterSink?: Destination } };
}

/** The quickstart's Broker, Triggers and PingSource, with the Services they name replaced by `sink`. */
function quickstart(sink: string): string {
  const read = (file: string) =>
    parseAllDocuments(readFileSync(join(ROOT, 'examples/quickstart', file), 'utf8')).map(
      (d) => d.toJS() as QuickstartDoc,
    );
  const docs = [...read('broker.yaml'), ...read('triggers.yaml'), ...read('ping-source.yaml')];
  // Services run on Kubernetes with the Helm chart (the next issue); a Destination's uri is Knative's
  // own way to name a subscriber that is not a cluster object.
  const uriFor = (destination: Destination): Destination => {
    if (destination.ref?.name) return { uri: `${sink}/${destination.ref.name}${destination.uri ?? ''}` };
    return destination;
  };
  for (const doc of docs) {
    if (doc.spec?.subscriber) doc.spec.subscriber = uriFor(doc.spec.subscriber);
    if (doc.spec?.delivery?.deadLetterSink)
      doc.spec.delivery.deadLetterSink = uriFor(doc.spec.delivery.deadLetterSink);
  }
  return docs.map((d) => JSON.stringify(d)).join('\n---\n');
}

interface Replica {
  process: NodeProcess;
  url: string;
  feedUrl: string;
}

/** A replica on `port` (default a free one): a restarted one takes its predecessor's, as behind a Service. */
async function startController(
  ns: string,
  id: string,
  extra: string[] = [],
  port?: number,
  env: Record<string, string> = {},
): Promise<Replica> {
  port ??= (await freePorts(1))[0] as number;
  const process = spawnNodeScript(
    eddyJs,
    controllerArgs({
      kubeconfig: cluster.kubeconfigPath,
      kafka: brokers.join(','),
      ingressUrl: `http://127.0.0.1:${ingressPort}`,
      port,
      namespace: ns,
      extra: ['--id', id, '--webhook-port', '0', ...extra],
    }),
    env,
  );
  await process.waitForLine(/listening on http/, 60_000);
  const url = `http://127.0.0.1:${port}`;
  return { process, url, feedUrl: `${url}/v1/contract/broker` };
}

function startDataPlane(feedUrl: string): NodeProcess[] {
  const common = ['--contract', feedUrl, '--log', 'kafka', '--brokers', brokers.join(',')];
  return [
    spawnNodeScript(eddyJs, [
      'ingress',
      ...common,
      '--port',
      String(ingressPort),
      '--member-id',
      'ingress-1',
    ]),
    spawnNodeScript(eddyJs, ['dispatcher', ...common, '--port', '0', '--member-id', 'dispatcher-1']),
  ];
}

interface Conditioned {
  metadata: { name: string; resourceVersion: string; finalizers?: string[] };
  status?: { conditions?: { type: string; status: string; reason?: string }[]; address?: { url?: string } };
}

async function getAll(ns: string, kinds: string): Promise<Conditioned[]> {
  return (JSON.parse(await must(['get', kinds, '-n', ns, '-o', 'json'])) as { items: Conditioned[] }).items;
}

const ready = (o: Conditioned) => o.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

async function allReady(ns: string, kinds: string, count: number): Promise<Conditioned[]> {
  return waitFor(
    `${count} ${kinds} Ready in ${ns}`,
    async () => {
      const items = await getAll(ns, kinds);
      return items.length === count && items.every(ready) ? items : undefined;
    },
    { timeoutMs: 60_000 },
  );
}

async function send(ns: string, type: string): Promise<string> {
  const id = randomUUID();
  const res = await fetch(`http://127.0.0.1:${ingressPort}/${ns}/default`, {
    method: 'POST',
    headers: {
      'ce-specversion': '1.0',
      'ce-id': id,
      'ce-source': '/shop/test',
      'ce-type': type,
      'content-type': 'application/json',
    },
    body: '{"n":1}',
  });
  expect(res.status).toBe(202);
  return id;
}

/** The sum of a metric's series, leaving out those whose line contains `except`. */
async function metric(url: string, name: string, except?: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(name) && !(except && line.includes(except))) sum += Number(line.split(' ').pop());
  return sum;
}

async function groupExists(group: string): Promise<boolean> {
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const { groups } = await admin.listGroups();
    return groups.some((g) => g.groupId === group);
  } finally {
    await admin.disconnect();
  }
}

let ingressPort = 0;
let sink: { server: Server; received: Received[] };

beforeAll(() => installCrds(kubectl), 120_000);

describe('eddy controller', () => {
  beforeAll(async () => {
    const [sinkPort] = await freePorts(1);
    sink = await subscriber(sinkPort as number);
  });
  afterAll(() => new Promise<void>((resolve) => sink.server.close(() => resolve())));

  it('sets the quickstart Ready with addresses; the data plane following its contract delivers; a restart (kill -9) changes nothing', async () => {
    [ingressPort] = (await freePorts(1)) as [number];
    const ns = await freshNamespace();
    const sinkUrl = `http://127.0.0.1:${sink.server.address() && (sink.server.address() as { port: number }).port}`;
    const lease = ['--lease-duration', '3', '--renew-deadline', '2', '--retry-period', '0.5'];
    const controller = await startController(ns, 'first', lease);
    const dataPlane = startDataPlane(controller.feedUrl);
    await must(['apply', '-n', ns, '-f', '-'], quickstart(sinkUrl));

    const [broker] = await allReady(ns, 'brokers', 1);
    expect(broker?.status?.address?.url).toBe(`http://127.0.0.1:${ingressPort}/${ns}/default`);
    await allReady(ns, 'triggers', 2);
    await waitFor('the consumer-group finalizer on both Triggers', async () =>
      (await getAll(ns, 'triggers')).every((t) => t.metadata.finalizers?.includes('eddy.dev/consumer-group'))
        ? true
        : undefined,
    );
    const [ping] = await allReady(ns, 'pingsources', 1);
    expect(JSON.stringify(ping?.status)).toContain(`/${ns}/default`);
    const printed = await must(['get', 'brokers', '-n', ns]);
    expect(printed).toMatch(/URL\s+AGE\s+READY\s+REASON/);
    expect(printed).toContain(`http://127.0.0.1:${ingressPort}/${ns}/default`);

    for (const p of dataPlane) await p.waitForLine(/applied contract generation/, 30_000);
    const orderId = await send(ns, 'com.example.order.created');
    const otherId = await send(ns, 'com.example.other');
    await waitFor('both events at event-display, the order at order-processor', () => {
      const at = (path: string, id: string) => sink.received.some((r) => r.path === path && r.id === id);
      return at('/event-display', orderId) && at('/event-display', otherId) && at('/order-processor', orderId)
        ? true
        : undefined;
    });
    // The CESQL filter of orders-to-processor held the other event back.
    expect(sink.received.some((r) => r.path === '/order-processor' && r.id === otherId)).toBe(false);

    const snapshot = async () =>
      (await getAll(ns, 'brokers,triggers,pingsources'))
        .map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`)
        .sort();
    const events = async () =>
      (JSON.parse(await must(['get', 'events', '-n', ns, '-o', 'json'])) as { items: unknown[] }).items
        .length;
    await new Promise((r) => setTimeout(r, 2000));
    const before = await snapshot();
    const eventsBefore = await events();

    controller.process.child.kill('SIGKILL');
    await controller.process.exited;
    // A restarted pod has a new name: the new replica waits out the Lease (short here), then leads.
    const again = await startController(ns, 'second', lease, Number(new URL(controller.url).port));
    await again.process.waitForLine(/second: leading/, 30_000);
    for (const p of dataPlane) await p.waitForLine(/contract feed reachable again/, 30_000);
    await waitFor("the dispatcher on the new leader's contract", () =>
      dataPlane[1]?.output.filter((l) => /applied contract generation/.test(l)).length === 2
        ? true
        : undefined,
    );
    await new Promise((r) => setTimeout(r, 3000));
    expect(await snapshot()).toEqual(before);
    expect(await events()).toBe(eventsBefore);
    // Only its own webhook address is new (the replica serves it at its own URL and certificate).
    expect(await metric(again.url, 'eddy_controller_api_writes_total', 'what="webhook"')).toBe(0);

    // Still delivering, from where the consumer groups were.
    const after = await send(ns, 'com.example.order.updated');
    await waitFor('the event sent after the restart', () =>
      sink.received.some((r) => r.path === '/order-processor' && r.id === after) ? true : undefined,
    );
  }, 180_000);

  it("deletes a deleted Trigger's consumer group before the Trigger goes; two replicas: only the leader writes", async () => {
    [ingressPort] = (await freePorts(1)) as [number];
    const ns = await freshNamespace();
    const sinkUrl = `http://127.0.0.1:${(sink.server.address() as { port: number }).port}`;
    const lease = ['--lease-duration', '3', '--renew-deadline', '2', '--retry-period', '0.5'];
    // Each replica "runs" in a Pod of its own (kwok's), which it labels eddy.dev/leader, so that a
    // Service can send the data plane to the leader alone.
    for (const pod of ['one', 'two'])
      await must(['run', pod, '-n', ns, '--image', 'eddy:test', '--restart', 'Never']);
    const podEnv = (name: string) => ({ POD_NAME: name, POD_NAMESPACE: ns });
    const leaderLabel = async (pod: string) =>
      (
        await must(['get', 'pod', pod, '-n', ns, '-o', 'jsonpath={.metadata.labels.eddy\\.dev/leader}'])
      ).trim();
    const leader = await startController(ns, 'one', lease, undefined, podEnv('one'));
    await leader.process.waitForLine(/one: leading/, 30_000);
    const standby = await startController(ns, 'two', lease, undefined, podEnv('two'));
    await waitFor('the leader labelled, the standby not', async () =>
      (await leaderLabel('one')) === 'true' && (await leaderLabel('two')) === 'false' ? true : undefined,
    );

    // The leader registered its admission webhook for this namespace: an invalid Trigger is refused
    // with eddy validate's message.
    const bad = `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: bad, namespace: ${ns}}
spec:
  broker: default
  filters: [{cesql: "type = 'order' AND (source LIKE '/orders%'"}]
  subscriber: {uri: http://127.0.0.1:1/}
`;
    const [problem] = loadText(bad, 'bad.yaml').problems.filter((p) => p.severity === 'error');
    expect(problem).toBeDefined();
    const refused = await kubectl(['apply', '-f', '-'], { input: bad });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(formatProblemWithoutLocation(problem as Problem));
    const dataPlane = startDataPlane(leader.feedUrl);
    await must(['apply', '-n', ns, '-f', '-'], quickstart(sinkUrl));
    await allReady(ns, 'triggers', 2);
    for (const p of dataPlane) await p.waitForLine(/applied contract generation/, 30_000);

    // The standby answers the data plane 503 and has written nothing.
    expect((await fetch(standby.feedUrl)).status).toBe(503);
    expect(await metric(leader.url, 'eddy_controller_api_writes_total')).toBeGreaterThan(0);
    expect(await metric(standby.url, 'eddy_controller_api_writes_total')).toBe(0);
    expect(await metric(standby.url, 'eddy_controller_leader')).toBe(0);

    // A consumed event gives the Trigger's group committed offsets.
    const id = await send(ns, 'com.example.order.created');
    await waitFor('delivered', () =>
      sink.received.some((r) => r.id === id && r.path === '/order-processor') ? true : undefined,
    );
    const group = `knative-trigger-${ns}-orders-to-processor`;
    await waitFor(`group ${group} exists`, async () => ((await groupExists(group)) ? true : undefined));

    await must(['delete', 'trigger', 'orders-to-processor', '-n', ns, '--wait=true', '--timeout=60s']);
    expect(await groupExists(group)).toBe(false);
    expect(leader.process.output.some((l) => l.includes(`consumer group ${group} deleted`))).toBe(true);
    expect(await metric(standby.url, 'eddy_controller_api_writes_total')).toBe(0);

    // The leader goes; the standby takes over and now writes.
    leader.process.child.kill('SIGKILL');
    await standby.process.waitForLine(/two: leading/, 30_000);
    await waitFor('the new leader labelled', async () =>
      (await leaderLabel('two')) === 'true' ? true : undefined,
    );
    await must([
      'patch',
      'trigger',
      'everything-to-display',
      '-n',
      ns,
      '--type',
      'merge',
      '-p',
      '{"spec":{"filter":{"attributes":{"type":"nothing.matches"}}}}',
    ]);
    await waitFor("the new leader wrote the new generation's status", async () => {
      const t = (await getAll(ns, 'triggers')).find((o) => o.metadata.name === 'everything-to-display') as
        | (Conditioned & { metadata: { generation: number }; status: { observedGeneration?: number } })
        | undefined;
      return t && t.status.observedGeneration === t.metadata.generation ? true : undefined;
    });
    expect(await metric(standby.url, 'eddy_controller_api_writes_total')).toBeGreaterThan(0);
  }, 180_000);

  it('runs an ApiServerSource applied as a custom resource, as its ServiceAccount, in an eddy sources process following the controller (--external-sources)', async () => {
    [ingressPort] = (await freePorts(1)) as [number];
    const ns = await freshNamespace();
    const sinkUrl = `http://127.0.0.1:${(sink.server.address() as { port: number }).port}`;
    const controller = await startController(ns, 'only', ['--external-sources']);
    await controller.process.waitForLine(/only: leading/, 30_000);
    await must(
      ['apply', '-n', ns, '-f', '-'],
      `apiVersion: v1
kind: ServiceAccount
metadata: {name: watcher}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: configmaps-reader}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: watcher-reads-configmaps}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: configmaps-reader}
subjects: [{kind: ServiceAccount, name: watcher, namespace: ${ns}}]
---
apiVersion: sources.knative.dev/v1
kind: ApiServerSource
metadata: {name: configmaps}
spec:
  mode: Reference
  serviceAccountName: watcher
  resources: [{apiVersion: v1, kind: ConfigMap}]
  sink: {uri: ${sinkUrl}/apiserver}
`,
    );
    // No sources process yet: the leader runs none itself, and says what it waits for.
    await waitFor('the ApiServerSource waiting for the sources process', async () => {
      const [source] = await getAll(ns, 'apiserversources');
      const ready = source?.status?.conditions?.find((c) => c.type === 'Ready') as
        | { status: string; message?: string }
        | undefined;
      return ready?.status === 'Unknown' && /sources process sources-1/.test(ready.message ?? '')
        ? true
        : undefined;
    });
    spawnNodeScript(eddyJs, [
      'sources',
      '--contract',
      `${controller.url}/v1/contract/sources`,
      '--member-id',
      'sources-1',
      '--kubeconfig',
      cluster.kubeconfigPath,
    ]);
    await allReady(ns, 'apiserversources', 1);
    await must(['create', 'configmap', 'watched', '-n', ns, '--from-literal=a=1']);
    await waitFor('the add event of the ConfigMap', () =>
      sink.received.some((r) => r.path === '/apiserver' && r.type === 'dev.knative.apiserver.ref.add')
        ? true
        : undefined,
    );
  }, 120_000);

  it("runs a Sequence and a Parallel: their channels and subscriptions as owned children, Knative's statuses, a Trigger to the Sequence by ref, describe lists the children", async () => {
    [ingressPort] = (await freePorts(1)) as [number];
    const ns = await freshNamespace();
    const sinkUrl = `http://127.0.0.1:${(sink.server.address() as { port: number }).port}`;
    const controller = await startController(ns, 'flows');
    startDataPlane(controller.feedUrl);
    await must(
      ['apply', '-n', ns, '-f', '-'],
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default}
---
apiVersion: flows.knative.dev/v1
kind: Sequence
metadata: {name: steps}
spec:
  steps: [{uri: ${sinkUrl}/sequence-step}]
---
apiVersion: flows.knative.dev/v1
kind: Parallel
metadata: {name: fan}
spec:
  branches: [{subscriber: {uri: ${sinkUrl}/parallel-branch}}]
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: to-steps}
spec:
  broker: default
  filter: {attributes: {type: com.example.flow}}
  subscriber: {ref: {apiVersion: flows.knative.dev/v1, kind: Sequence, name: steps}}
`,
    );
    const [sequence] = await allReady(ns, 'sequences', 1);
    await allReady(ns, 'parallels', 1);
    await allReady(ns, 'triggers', 1);
    expect(sequence?.status?.address?.url).toBe(
      `http://127.0.0.1:${ingressPort}/channels/${ns}/steps-kn-sequence-0`,
    );
    const full = JSON.parse(await must(['get', 'sequence', 'steps', '-n', ns, '-o', 'json'])) as {
      metadata: { uid: string };
      status: { channelStatuses: { channel: { name: string }; ready: { status: string } }[] };
    };
    expect(full.status.channelStatuses.map((c) => `${c.channel.name}=${c.ready.status}`)).toEqual([
      'steps-kn-sequence-0=True',
    ]);
    // Children are owned (garbage-collected with the flow) by the Sequence's uid.
    const children = JSON.parse(
      await must(['get', 'inmemorychannels,subscriptions', '-n', ns, '-o', 'json']),
    ) as {
      items: {
        kind: string;
        metadata: { name: string; ownerReferences?: { kind: string; uid: string }[] };
      }[];
    };
    const ownedBySequence = children.items
      .filter((c) =>
        c.metadata.ownerReferences?.some((o) => o.kind === 'Sequence' && o.uid === full.metadata.uid),
      )
      .map((c) => `${c.kind}/${c.metadata.name}`)
      .sort();
    expect(ownedBySequence).toEqual([
      'InMemoryChannel/steps-kn-sequence-0',
      'Subscription/steps-kn-sequence-0',
    ]);

    // The data plane takes the contract after the statuses are written: send until the first arrives.
    const sendToParallel = async (id: string) => {
      const res = await fetch(`http://127.0.0.1:${ingressPort}/channels/${ns}/fan-kn-parallel`, {
        method: 'POST',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': id,
          'ce-source': '/flows',
          'ce-type': 'com.example.fan',
        },
        body: '',
      });
      return res.status;
    };
    const sent = { sequence: [] as string[], parallel: [] as string[] };
    const arrived = (path: string, ids: string[]) =>
      sink.received.some((r) => r.path === path && ids.includes(r.id ?? ''));
    await waitFor(
      'an event through the Trigger and the Sequence, and one through the Parallel',
      async () => {
        // Until the ingress listens, a send is refused.
        const attempt = async (what: string[], send: () => Promise<string | undefined>) => {
          const id = await send().catch(() => undefined);
          if (id !== undefined) what.push(id);
        };
        if (!arrived('/sequence-step', sent.sequence))
          await attempt(sent.sequence, () => send(ns, 'com.example.flow'));
        if (!arrived('/parallel-branch', sent.parallel))
          await attempt(sent.parallel, async () => {
            const id = randomUUID();
            return (await sendToParallel(id)) === 202 ? id : undefined;
          });
        await new Promise((r) => setTimeout(r, 1000));
        return arrived('/sequence-step', sent.sequence) && arrived('/parallel-branch', sent.parallel)
          ? true
          : undefined;
      },
      { timeoutMs: 60_000 },
    );

    const described = await runEddy(['describe', 'sequence', 'steps', '-n', ns, '--server', controller.url]);
    expect(described.code).toBe(0);
    expect(described.stdout).toMatch(/Children:/);
    expect(described.stdout).toMatch(/InMemoryChannel\s+steps-kn-sequence-0\s+True/);
    expect(described.stdout).toMatch(/Subscription\s+steps-kn-sequence-0\s+True/);

    await must(['delete', 'sequence', 'steps', '-n', ns]);
    await waitFor("the Sequence's children garbage-collected", async () =>
      (await getAll(ns, 'inmemorychannels')).every((c) => !c.metadata.name.startsWith('steps-'))
        ? true
        : undefined,
    );
  }, 120_000);

  it('runs a KafkaSink: its topic made on its cluster, Ready with its ingress address, a Trigger delivers into it by ref', async () => {
    [ingressPort] = (await freePorts(1)) as [number];
    const ns = await freshNamespace();
    const topic = `sink-${randomUUID().slice(0, 8)}`;
    const controller = await startController(ns, 'sinks');
    startDataPlane(controller.feedUrl);
    await must(
      ['apply', '-n', ns, '-f', '-'],
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default}
---
apiVersion: eventing.knative.dev/v1alpha1
kind: KafkaSink
metadata: {name: archive}
spec:
  topic: ${topic}
  bootstrapServers: [${brokers.join(',')}]
  numPartitions: 2
  replicationFactor: 1
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: to-archive}
spec:
  broker: default
  subscriber: {ref: {apiVersion: eventing.knative.dev/v1alpha1, kind: KafkaSink, name: archive}}
`,
    );
    const [sink] = await allReady(ns, 'kafkasinks', 1);
    expect(sink?.status?.address?.url).toBe(`http://127.0.0.1:${ingressPort}/kafkasinks/${ns}/archive`);
    await allReady(ns, 'triggers', 1);

    const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      // Made by the controller with the sink's partitions (Knative's owned-topic rule).
      expect((await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions).toHaveLength(2);
    } finally {
      await admin.disconnect();
    }
    const consumer = kafka.consumer({ groupId: `read-${topic}` });
    const ids = new Set<string>();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const id = message.headers?.ce_id?.toString();
        if (id) ids.add(id);
      },
    });
    try {
      // The data plane takes the contract after the statuses are written: send until one arrives.
      const sent: string[] = [];
      await waitFor(
        'an event through the Trigger into the sink topic',
        async () => {
          const id = await send(ns, 'com.example.archived').catch(() => undefined);
          if (id) sent.push(id);
          await new Promise((r) => setTimeout(r, 1000));
          return sent.some((s) => ids.has(s)) ? true : undefined;
        },
        { timeoutMs: 60_000 },
      );
    } finally {
      await consumer.disconnect();
    }
  }, 120_000);
});
