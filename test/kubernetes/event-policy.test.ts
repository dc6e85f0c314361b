// EventPolicy in Kubernetes mode: `eddy controller --ingress-auth required --oidc-issuer <test issuer>`
// against the run's API server and Kafka, an `eddy ingress` following its contract feed. An
// EventPolicy applied with kubectl is Ready with its subjects in status.from, the Broker lists it in
// status.policies with its audience, and the ingress process enforces it.

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eddyJs } from '../broker/data-plane-processes.ts';
import { freePorts } from '../harness/free-ports.ts';
import { type Kubectl, kubectlFor } from '../harness/kubernetes.ts';
import { type NodeProcess, spawnNodeScript } from '../harness/node-process.ts';
import { startOidcIssuer, type TestOidcIssuer } from '../harness/oidc-issuer.ts';
import { waitFor } from '../harness/wait.ts';
import { controllerArgs, installCrds, mustKubectl } from './helpers.ts';

const cluster = inject('kubernetes');
const brokers = inject('kafkaBrokers');
const kubectl: Kubectl = kubectlFor(cluster);
const must = mustKubectl(kubectl);

interface StatusObject {
  status?: {
    conditions?: { type: string; status: string; reason?: string }[];
    policies?: { apiVersion: string; name: string }[];
    address?: { url?: string; audience?: string };
    from?: string[];
  };
}

const processes: NodeProcess[] = [];
let ns = '';
let issuer: TestOidcIssuer;
beforeAll(async () => {
  await installCrds(kubectl);
  issuer = await startOidcIssuer();
  ns = `ep-${randomUUID().slice(0, 8)}`;
  await must(['create', 'namespace', ns]);
}, 120_000);
afterAll(async () => {
  for (const p of processes) p.child.kill('SIGTERM');
  await Promise.all(processes.map((p) => p.exited));
  await issuer?.close();
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('EventPolicy under eddy controller', () => {
  it('resolves the policy, lists it on the Broker and the ingress process enforces it', {
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
        extra: ['--webhook-port', '0', '--ingress-auth', 'required', '--oidc-issuer', issuer.issuer],
      }),
    );
    processes.push(controller);
    await controller.waitForLine(/listening on http/, 60_000);
    const ingress = spawnNodeScript(eddyJs, [
      'ingress',
      ...[
        '--contract',
        `http://127.0.0.1:${port}/v1/contract/broker`,
        '--log',
        'kafka',
        '--brokers',
        brokers.join(','),
      ],
      ...['--port', String(ingressPort), '--member-id', 'ingress-1'],
    ]);
    processes.push(ingress);

    await must(
      ['apply', '-n', ns, '-f', '-'],
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default}
---
apiVersion: eventing.knative.dev/v1alpha1
kind: EventPolicy
metadata: {name: from-ping}
spec:
  to: [{ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}}]
  from: [{ref: {apiVersion: sources.knative.dev/v1, kind: PingSource, name: tick}}]
`,
    );
    const get = async (kind: string, name: string) =>
      JSON.parse(await must(['get', kind, name, '-n', ns, '-o', 'json'])) as StatusObject;
    const subject = `system:serviceaccount:${ns}:tick-oidc-sources.knative.dev-pingsource`;
    const policy = await waitFor(
      'the EventPolicy Ready',
      async () => {
        const p = await get('eventpolicy', 'from-ping');
        return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(policy.status?.from).toEqual([subject]);
    const audience = `eventing.knative.dev/broker/${ns}/default`;
    const broker = await waitFor(
      'the Broker listing the policy',
      async () => {
        const b = await get('broker', 'default');
        return b.status?.policies?.length ? b : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(broker.status?.policies).toEqual([
      { apiVersion: 'eventing.knative.dev/v1alpha1', name: 'from-ping' },
    ]);
    expect(broker.status?.address?.audience).toBe(audience);
    expect(broker.status?.conditions?.find((c) => c.type === 'EventPoliciesReady')?.status).toBe('True');

    const post = async (token?: string) => {
      const res = await fetch(`http://127.0.0.1:${ingressPort}/${ns}/default`, {
        method: 'POST',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': randomUUID(),
          'ce-type': 'tick',
          'ce-source': '/ping',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      });
      await res.body?.cancel();
      return res.status;
    };
    await ingress.waitForLine(/applied contract generation/, 60_000);
    const allowed = await issuer.mint({ subject, audience });
    await waitFor(
      'the ingress admitting the PingSource identity',
      async () => ((await post(allowed)) === 202 ? true : undefined),
      {
        timeoutMs: 60_000,
      },
    );
    expect(await post()).toBe(401);
    expect(await post(await issuer.mint({ subject: `system:serviceaccount:${ns}:other`, audience }))).toBe(
      403,
    );
  });
});
