// Serving in Kubernetes mode against the real API server of the test cluster (kwok: Pods turn Ready,
// nothing runs in them) and the real Kafka of the run: `eddy controller --router-url` publishes the
// serving contract, `eddy serving --runtime kubernetes` makes the Revision a Deployment + Service
// labelled as Knative labels them, and its autoscaler sets the Deployment's replicas through the
// scale subresource. A Trigger's backlog on the Service, at zero, scales the Deployment up (a
// `backlog` decision, shown by `eddy describe --server <controller>`), and once the lag is gone it
// goes back to zero.
//
// The backlog is made by freezing the dispatcher (SIGSTOP) while the events arrive, so the lag is
// there for as long as the test needs, whatever the machine does with traffic to Pod IPs. The replicas
// are kwok Pods nothing runs in, so no delivery can succeed: once the dispatcher goes on (SIGCONT),
// the Trigger (no retries, a short timeout) drops each event after one failed attempt and the
// consumer group commits past it. That is how the lag goes away here; the autoscaler only sees the
// lag, whatever ends it.

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eddyJs } from '../broker/data-plane-processes.ts';
import { runEddy } from '../cli/helpers.ts';
import { freePorts } from '../harness/free-ports.ts';
import { type Kubectl, kubectlFor } from '../harness/kubernetes.ts';
import { type NodeProcess, spawnNodeScript } from '../harness/node-process.ts';
import { waitFor } from '../harness/wait.ts';
import { controllerArgs, installCrds, mustKubectl } from './helpers.ts';

const cluster = inject('kubernetes');
const brokers = inject('kafkaBrokers');
const kubectl: Kubectl = kubectlFor(cluster);

const must = mustKubectl(kubectl);

interface Deployment {
  metadata: {
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
  };
  spec: {
    replicas?: number;
    template: {
      spec: { containers: { image: string; env?: { name: string; value?: string }[]; ports?: unknown[] }[] };
    };
  };
}

const EVENTS = 150;

let processes: NodeProcess[] = [];
afterAll(() => {
  for (const p of processes) p.child.kill('SIGKILL');
});

beforeAll(() => installCrds(kubectl), 120_000);

describe('serving on Kubernetes', () => {
  it('makes a Revision a Deployment + Service; a Trigger backlog scales it from zero and back through the scale subresource', async () => {
    const ns = `srv-${randomUUID().slice(0, 8)}`;
    await must(['create', 'namespace', ns]);
    const [controllerPort, ingressPort, routerPort] = (await freePorts(3)) as [number, number, number];
    const controllerUrl = `http://127.0.0.1:${controllerPort}`;
    const controller = spawnNodeScript(
      eddyJs,
      controllerArgs({
        kubeconfig: cluster.kubeconfigPath,
        kafka: brokers.join(','),
        ingressUrl: `http://127.0.0.1:${ingressPort}`,
        port: controllerPort,
        namespace: ns,
        extra: ['--router-url', `http://127.0.0.1:${routerPort}`, '--no-webhook'],
      }),
    );
    processes.push(controller);
    await controller.waitForLine(/leading/, 60_000);
    const kafka = ['--log', 'kafka', '--brokers', brokers.join(',')];
    const brokerFeed = ['--contract', `${controllerUrl}/v1/contract/broker`, ...kafka];
    const dispatcher = spawnNodeScript(eddyJs, [
      'dispatcher',
      ...brokerFeed,
      '--port',
      '0',
      '--member-id',
      'dispatcher-1',
    ]);
    processes = [
      ...processes,
      dispatcher,
      spawnNodeScript(eddyJs, [
        'ingress',
        ...brokerFeed,
        '--port',
        String(ingressPort),
        '--member-id',
        'ingress-1',
      ]),
      spawnNodeScript(eddyJs, [
        'serving',
        '--contract',
        `${controllerUrl}/v1/contract/serving`,
        '--runtime',
        'kubernetes',
        '--kubeconfig',
        cluster.kubeconfigPath,
        ...kafka,
        '--port',
        String(routerPort),
        '--member-id',
        'serving-1',
        '--tick-ms',
        '500',
      ]),
    ];

    await must(
      ['apply', '-n', ns, '-f', '-'],
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default}
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: worker}
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/window: 6s
        autoscaling.eddy.dev/lag-target: "20"
    spec:
      containers:
        - image: registry.example.com/worker:1
          ports: [{containerPort: 8081}]
          env: [{name: GREETING, value: hi}]
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: work
  annotations: {eddy.dev/max-in-flight: "10"}
spec:
  broker: default
  subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: worker}}
  delivery: {retry: 0, timeout: PT0.5S}
`,
    );

    const deployment = async () =>
      JSON.parse(
        await must(['get', 'deployment', 'worker-00001-deployment', '-n', ns, '-o', 'json']),
      ) as Deployment;
    // The Revision became a Deployment (initial scale 1; kwok makes its Pod Ready) and the Service Ready.
    await waitFor(
      'Service worker Ready',
      async () => {
        const ksvc = JSON.parse(await must(['get', 'ksvc', 'worker', '-n', ns, '-o', 'json'])) as {
          status?: { conditions?: { type: string; status: string }[]; url?: string };
        };
        return ksvc.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? ksvc : undefined;
      },
      { timeoutMs: 90_000 },
    );
    const revision = JSON.parse(await must(['get', 'revision', 'worker-00001', '-n', ns, '-o', 'json'])) as {
      metadata: { uid: string };
    };
    const d = await deployment();
    expect(d.metadata.labels).toMatchObject({
      'serving.knative.dev/service': 'worker',
      'serving.knative.dev/configuration': 'worker',
      'serving.knative.dev/revision': 'worker-00001',
      'serving.knative.dev/revisionUID': revision.metadata.uid,
    });
    expect(d.metadata.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'Revision',
        name: 'worker-00001',
        uid: revision.metadata.uid,
        controller: true,
      }),
    ]);
    const [container] = d.spec.template.spec.containers;
    expect(container?.image).toBe('registry.example.com/worker:1');
    const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toEqual({
      GREETING: 'hi',
      PORT: '8081',
      K_SERVICE: 'worker',
      K_CONFIGURATION: 'worker',
      K_REVISION: 'worker-00001',
    });
    const service = JSON.parse(await must(['get', 'service', 'worker-00001', '-n', ns, '-o', 'json'])) as {
      spec: { ports: { port: number; targetPort: number }[]; selector: Record<string, string> };
    };
    expect(service.spec.ports[0]).toMatchObject({ port: 80, targetPort: 8081 });
    expect(service.spec.selector['serving.knative.dev/revision']).toBe('worker-00001');

    // eddy get reads the same admin API.
    const listed = await runEddy(['get', 'revisions', '-n', ns, '--server', controllerUrl]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/worker-00001\s+worker\b/);

    // Nothing to do: down to zero after the 6 s window and the scale-to-zero grace.
    await waitFor(
      'the Deployment at zero',
      async () => ((await deployment()).spec.replicas === 0 ? true : undefined),
      {
        timeoutMs: 90_000,
      },
    );
    await waitFor('Trigger work Ready', async () => {
      const t = JSON.parse(await must(['get', 'trigger', 'work', '-n', ns, '-o', 'json'])) as {
        status?: { conditions?: { type: string; status: string }[] };
      };
      return t.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? true : undefined;
    });

    dispatcher.child.kill('SIGSTOP');
    for (let i = 0; i < EVENTS; i++) {
      const res = await fetch(`http://127.0.0.1:${ingressPort}/${ns}/default`, {
        method: 'POST',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': `e-${i}`,
          'ce-source': '/test/backlog',
          'ce-type': 'com.example.work',
          'content-type': 'application/json',
        },
        body: '{}',
      });
      expect(res.status).toBe(202);
    }
    await waitFor(
      'the Deployment scaled up',
      async () => (((await deployment()).spec.replicas ?? 0) > 0 ? true : undefined),
      {
        timeoutMs: 60_000,
      },
    );

    // The decision is the backlog's, and eddy describe shows it (from the controller's admin API).
    let last = '';
    const described = await waitFor(
      'a backlog decision in eddy describe',
      async () => {
        const r = await runEddy(['describe', 'ksvc', 'worker', '-n', ns, '--server', controllerUrl]);
        last = `exit ${r.code}\n${r.stdout}${r.stderr}`;
        return r.code === 0 && /\bbacklog\b.*lag-target/.test(r.stdout) ? r.stdout : undefined;
      },
      { timeoutMs: 30_000 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; eddy describe said:\n${last}`);
    });
    expect(described).toMatch(/worker-00001\s+\d+\s+backlog/);
    dispatcher.child.kill('SIGCONT');

    // Once the group has committed past every event, the window and the grace take it back to zero.
    await waitFor(
      'the Deployment back at zero',
      async () => ((await deployment()).spec.replicas === 0 ? true : undefined),
      {
        timeoutMs: 120_000,
      },
    );
    // Deleting the Service deletes the Revision, and its Deployment goes with it (ownerReference).
    await must(['delete', 'ksvc', 'worker', '-n', ns, '--wait=true', '--timeout=60s']);
    await waitFor(
      'the Deployment garbage-collected',
      async () => {
        const r = await kubectl(['get', 'deployment', 'worker-00001-deployment', '-n', ns]);
        return r.code !== 0 && /NotFound/.test(r.stderr) ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
  }, 420_000);
});
