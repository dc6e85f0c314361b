// The event registry in Kubernetes mode: `eddy controller --eventtype-auto-create` against the run's
// API server and Kafka, an `eddy ingress` following its contract feed. An applied EventType is Ready
// by its reference; the kinds of events the ingress accepts come back through the feed's status report
// and become EventTypes owned by the Broker, with the discovery data in status.annotations, which
// `kubectl get eventtypes -o wide` prints (Last Seen, Rate).

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eddyJs } from '../broker/data-plane-processes.ts';
import { freePorts } from '../harness/free-ports.ts';
import { type Kubectl, kubectlFor } from '../harness/kubernetes.ts';
import { type NodeProcess, spawnNodeScript } from '../harness/node-process.ts';
import { waitFor } from '../harness/wait.ts';
import { controllerArgs, installCrds, mustKubectl } from './helpers.ts';

const cluster = inject('kubernetes');
const brokers = inject('kafkaBrokers');
const kubectl: Kubectl = kubectlFor(cluster);
const must = mustKubectl(kubectl);

interface EventTypeObject {
  metadata: { name: string; ownerReferences?: { kind: string; name: string; uid?: string }[] };
  spec: { attributes?: { name: string; value?: string }[] };
  status?: {
    conditions?: { type: string; status: string; reason?: string }[];
    annotations?: Record<string, string>;
  };
}

const processes: NodeProcess[] = [];
let ns = '';
beforeAll(async () => {
  await installCrds(kubectl);
  ns = `et-${randomUUID().slice(0, 8)}`;
  await must(['create', 'namespace', ns]);
}, 120_000);
afterAll(async () => {
  for (const p of processes) p.child.kill('SIGTERM');
  await Promise.all(processes.map((p) => p.exited));
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('EventTypes under eddy controller', () => {
  it('auto-creates EventTypes owned by the Broker from what the ingress process reports', {
    timeout: 180_000,
  }, async () => {
    const [port, ingressPort] = (await freePorts(2)) as [number, number];
    const controller = spawnNodeScript(
      eddyJs,
      controllerArgs({
        kubeconfig: cluster.kubeconfigPath,
        kafka: brokers.join(','),
        ingressUrl: `http://127.0.0.1:${ingressPort}`,
        port,
        namespace: ns,
        extra: ['--webhook-port', '0', '--eventtype-auto-create'],
      }),
    );
    processes.push(controller);
    await controller.waitForLine(/listening on http/, 60_000);
    const feed = `http://127.0.0.1:${port}/v1/contract/broker`;
    const ingress = spawnNodeScript(eddyJs, [
      'ingress',
      ...['--contract', feed, '--log', 'kafka', '--brokers', brokers.join(',')],
      ...['--port', String(ingressPort), '--member-id', 'ingress-1'],
    ]);
    processes.push(ingress);

    await must(
      ['apply', '-n', ns, '-f', '-'],
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default}
---
apiVersion: eventing.knative.dev/v1beta3
kind: EventType
metadata: {name: order-created}
spec:
  reference: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}
  attributes:
    - {name: type, required: true, value: order.created}
    - {name: source, required: true}
    - {name: specversion, required: true}
    - {name: id, required: true}
`,
    );
    const list = async () =>
      (JSON.parse(await must(['get', 'eventtypes', '-n', ns, '-o', 'json'])) as { items: EventTypeObject[] })
        .items;
    await waitFor(
      'the applied EventType Ready',
      async () =>
        (await list())
          .find((e) => e.metadata.name === 'order-created')
          ?.status?.conditions?.some((c) => c.type === 'ReferenceExists' && c.status === 'True')
          ? true
          : undefined,
      { timeoutMs: 60_000 },
    );
    await ingress.waitForLine(/applied contract generation/, 60_000);
    await waitFor(
      'the broker accepting events',
      async () => {
        const res = await fetch(`http://127.0.0.1:${ingressPort}/${ns}/default`, {
          method: 'POST',
          headers: {
            'ce-specversion': '1.0',
            'ce-id': randomUUID(),
            'ce-type': 'order.created',
            'ce-source': '/orders',
          },
        });
        return res.status === 202 ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const res = await fetch(`http://127.0.0.1:${ingressPort}/${ns}/default`, {
      method: 'POST',
      headers: {
        'ce-specversion': '1.0',
        'ce-id': randomUUID(),
        'ce-type': 'order.paid',
        'ce-source': '/orders',
      },
    });
    expect(res.status).toBe(202);

    const created = await waitFor(
      'two auto-created EventTypes with discovery data',
      async () => {
        const found = (await list()).filter((e) => e.metadata.name.startsWith('et-default-'));
        return found.length === 2 && found.every((e) => e.status?.annotations?.['eddy.dev/rate'])
          ? found
          : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const brokerUid = (
      JSON.parse(await must(['get', 'broker', 'default', '-n', ns, '-o', 'json'])) as {
        metadata: { uid: string };
      }
    ).metadata.uid;
    for (const e of created)
      expect(e.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'Broker', name: 'default', uid: brokerUid }),
      ]);
    expect(created.map((e) => e.spec.attributes?.find((a) => a.name === 'type')?.value).sort()).toEqual([
      'order.created',
      'order.paid',
    ]);
    const wide = await must(['get', 'eventtypes', '-n', ns, '-o', 'wide']);
    expect(wide).toMatch(/LAST SEEN\s+RATE/);
    const line = wide.split('\n').find((l) => l.startsWith('order-created '));
    // Last Seen (an RFC 3339 time) and Rate (events/s) after Ready.
    expect(line).toMatch(/\sorder\.created\s.*\sTrue\s.*\d{4}-\d\d-\d\dT[\d:.]+Z\s+[\d.]+\s*$/);
  });
});
