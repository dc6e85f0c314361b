// ApiServerSource end to end against a real kube-apiserver: `eddy dev --kubeconfig` runs the source,
// kubectl changes ConfigMaps, HTTP subscribers on 127.0.0.1 get Knative's events (through a Broker
// and Trigger, and straight to a URI sink); a ServiceAccount without rights is NotReady naming the
// missing permission until a Role and RoleBinding are applied.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildCli, type RunningDev, spawnEddyDev } from '../cli/helpers.ts';
import { type Kubectl, kubectlFor } from '../harness/kubernetes.ts';
import { waitFor } from '../harness/wait.ts';

interface Received {
  headers: IncomingHttpHeaders;
  body: unknown;
}

interface Subscriber {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

async function startSubscriber(): Promise<Subscriber> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, body: text === '' ? undefined : JSON.parse(text) });
      res.statusCode = 202;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const suffix = randomBytes(3).toString('hex');
const ns = `apisrc-${suffix}`;
const nsDenied = `apisrc-denied-${suffix}`;
const nsKafka = `apisrc-kafka-${suffix}`;
const dir = mkdtempSync(join(tmpdir(), 'eddy-apiserversource-'));

let cluster: { kubeconfigPath: string; server: string; kubectl: Kubectl };
const devs: RunningDev[] = [];
const subscribers: Subscriber[] = [];

/** A Role that may get/list/watch ConfigMaps, bound to the ServiceAccount `sa`. */
const rbacYaml = (namespace: string, sa: string) => `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: configmap-watcher, namespace: ${namespace}}
rules:
  - apiGroups: [""]
    resources: [configmaps]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: configmap-watcher, namespace: ${namespace}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: configmap-watcher}
subjects:
  - {kind: ServiceAccount, name: ${sa}, namespace: ${namespace}}
`;

const configMapYaml = (namespace: string, name: string, labels: Record<string, string>, value: string) =>
  `apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}, namespace: ${namespace}, labels: ${JSON.stringify(labels)}}
data: {color: ${value}}
`;

async function kubectl(args: string[], input?: string): Promise<string> {
  const r = await cluster.kubectl(args, input !== undefined ? { input } : {});
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const types = (s: Subscriber, name?: string) =>
  s.received
    .filter((r) => name === undefined || r.headers['ce-name'] === name)
    .map((r) => r.headers['ce-type']);

beforeAll(async () => {
  buildCli();
  const k8s = inject('kubernetes');
  cluster = { ...k8s, kubectl: kubectlFor(k8s) };
  await kubectl(['create', 'namespace', ns]);
  await kubectl(['create', 'namespace', nsDenied]);
  await kubectl(['create', 'namespace', nsKafka]);
  await kubectl(['apply', '-f', '-'], rbacYaml(ns, 'watcher'));
  await kubectl(['apply', '-f', '-'], rbacYaml(nsKafka, 'watcher'));
}, 240_000);

afterAll(async () => {
  await Promise.all(
    devs.map(async (dev) => {
      if (dev.child.exitCode !== null) return;
      dev.child.kill('SIGINT');
      await Promise.race([dev.exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (dev.child.exitCode === null) dev.child.kill('SIGKILL');
    }),
  );
  await Promise.all(subscribers.map((s) => s.close()));
  if (cluster) {
    await cluster.kubectl(['delete', 'namespace', ns, nsDenied, nsKafka, '--wait=false']);
  }
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('ApiServerSource (eddy dev --kubeconfig, real kube-apiserver)', () => {
  it('delivers add/update/delete of ConfigMaps in Resource mode (Broker + Trigger) and Reference mode (URI sink); the selector leaves others out; missing rights are NotReady until granted', async () => {
    const viaBroker = await startSubscriber();
    const direct = await startSubscriber();
    const denied = await startSubscriber();
    subscribers.push(viaBroker, direct, denied);
    const manifests = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: ${ns}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: resources, namespace: ${ns}}
spec:
  broker: default
  filter: {attributes: {source: ${JSON.stringify(cluster.server)}}}
  subscriber: {uri: ${JSON.stringify(viaBroker.url)}}
---
apiVersion: sources.knative.dev/v1
kind: ApiServerSource
metadata: {name: resources, namespace: ${ns}}
spec:
  mode: Resource
  serviceAccountName: watcher
  resources:
    - apiVersion: v1
      kind: ConfigMap
      selector: {matchLabels: {app: watched}}
  sink:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}
---
apiVersion: sources.knative.dev/v1
kind: ApiServerSource
metadata: {name: references, namespace: ${ns}}
spec:
  mode: Reference
  serviceAccountName: watcher
  resources:
    - apiVersion: v1
      kind: ConfigMap
      selector:
        matchExpressions: [{key: app, operator: In, values: [watched]}]
  sink: {uri: ${JSON.stringify(direct.url)}}
---
apiVersion: sources.knative.dev/v1
kind: ApiServerSource
metadata: {name: denied, namespace: ${nsDenied}}
spec:
  mode: Reference
  serviceAccountName: nobody
  resources:
    - {apiVersion: v1, kind: ConfigMap}
  sink: {uri: ${JSON.stringify(denied.url)}}
`;
    writeFileSync(join(dir, 'mesh.yaml'), manifests);
    const dev = spawnEddyDev(
      ['-f', 'mesh.yaml', '--port', '0', '--data-dir', 'state', '--kubeconfig', cluster.kubeconfigPath],
      dir,
    );
    devs.push(dev);

    await dev.waitFor(new RegExp(`^ApiServerSource ${ns}/resources {2}Ready$`), 60_000);
    await dev.waitFor(new RegExp(`^ApiServerSource ${ns}/references {2}Ready$`), 30_000);
    await dev.waitFor(new RegExp(`^Trigger ${ns}/resources {2}Ready$`), 30_000);
    // A ServiceAccount without rights (and with no Role at all): NotReady, the missing ones named.
    const notReady = await dev.waitFor(new RegExp(`^ApiServerSource ${nsDenied}/denied {2}NotReady`), 30_000);
    expect(notReady).toBe(
      `ApiServerSource ${nsDenied}/denied  NotReady  InsufficientPermissions: User system:serviceaccount:${nsDenied}:nobody cannot get, list, watch resource "configmaps" in API group "" in Namespace "${nsDenied}"`,
    );

    // Created, changed, deleted with kubectl; `other` does not match the selector.
    await kubectl(['apply', '-f', '-'], configMapYaml(ns, 'other', { app: 'unwatched' }, 'red'));
    await kubectl(['apply', '-f', '-'], configMapYaml(ns, 'app', { app: 'watched' }, 'blue'));
    await kubectl(['patch', 'configmap', 'app', '-n', ns, '-p', '{"data":{"color":"green"}}']);
    await kubectl(['delete', 'configmap', 'app', '-n', ns]);
    await kubectl(['delete', 'configmap', 'other', '-n', ns]);

    const resourceTypes = [
      'dev.knative.apiserver.resource.add',
      'dev.knative.apiserver.resource.update',
      'dev.knative.apiserver.resource.delete',
    ];
    await waitFor('add, update, delete through the Broker', () => types(viaBroker).length >= 3, 30_000);
    await waitFor('add, update, delete at the URI sink', () => types(direct).length >= 3, 30_000);
    // A moment for anything that should not come (the unmatched ConfigMap) to show up.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(types(viaBroker)).toEqual(resourceTypes);
    expect(types(direct)).toEqual([
      'dev.knative.apiserver.ref.add',
      'dev.knative.apiserver.ref.update',
      'dev.knative.apiserver.ref.delete',
    ]);

    for (const r of [...viaBroker.received, ...direct.received]) {
      expect(r.headers).toMatchObject({
        'ce-specversion': '1.0',
        'ce-source': cluster.server,
        'ce-subject': `/apis/v1/namespaces/${ns}/configmaps/app`,
        'ce-kind': 'ConfigMap',
        'ce-apiversion': 'v1',
        'ce-name': 'app',
        'ce-namespace': ns,
        'content-type': 'application/json',
      });
    }
    const [added, updated, deleted] = viaBroker.received.map((r) => r.body as Record<string, never>);
    expect(added).toMatchObject({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'app', namespace: ns, labels: { app: 'watched' } },
      data: { color: 'blue' },
    });
    expect(updated).toMatchObject({ data: { color: 'green' } });
    expect(deleted).toMatchObject({ metadata: { name: 'app' }, data: { color: 'green' } });
    for (const r of direct.received)
      expect(r.body).toEqual({ kind: 'ConfigMap', namespace: ns, name: 'app', apiVersion: 'v1' });

    // Granting the rights makes the denied source Ready without a restart, and it delivers.
    expect(denied.received).toEqual([]);
    await kubectl(['apply', '-f', '-'], rbacYaml(nsDenied, 'nobody'));
    await dev.waitFor(new RegExp(`^ApiServerSource ${nsDenied}/denied {2}Ready$`), 30_000);
    await kubectl(['apply', '-f', '-'], configMapYaml(nsDenied, 'late', {}, 'gold'));
    await waitFor('the add once the Role is bound', () => denied.received.length >= 1, 20_000);
    expect(denied.received[0]?.headers['ce-type']).toBe('dev.knative.apiserver.ref.add');
    expect(denied.received[0]?.body).toEqual({
      kind: 'ConfigMap',
      namespace: nsDenied,
      name: 'late',
      apiVersion: 'v1',
    });
  }, 180_000);

  it('with --kafka the `eddy sources` process gets the kubeconfig and runs the source', async () => {
    const subscriber = await startSubscriber();
    subscribers.push(subscriber);
    writeFileSync(
      join(dir, 'kafka-mesh.yaml'),
      `apiVersion: sources.knative.dev/v1
kind: ApiServerSource
metadata: {name: in-process, namespace: ${nsKafka}}
spec:
  serviceAccountName: watcher
  resources: [{apiVersion: v1, kind: ConfigMap}]
  sink: {uri: ${JSON.stringify(subscriber.url)}}
`,
    );
    const dev = spawnEddyDev(
      [
        '-f',
        'kafka-mesh.yaml',
        '--kafka',
        inject('kafkaBrokers').join(','),
        '--ingresses',
        '1',
        '--dispatchers',
        '1',
        '--port',
        '0',
        '--data-dir',
        'state-kafka',
        '--kubeconfig',
        cluster.kubeconfigPath,
      ],
      dir,
    );
    devs.push(dev);
    await dev.waitFor(/^ {2}sources {2}as a process \(eddy sources/, 60_000);
    await dev.waitFor(new RegExp(`^ApiServerSource ${nsKafka}/in-process {2}Ready$`), 60_000);
    await kubectl(['apply', '-f', '-'], configMapYaml(nsKafka, 'via-process', {}, 'teal'));
    await waitFor('the add from the sources process', () => subscriber.received.length >= 1, 20_000);
    expect(subscriber.received[0]?.headers).toMatchObject({
      'ce-type': 'dev.knative.apiserver.ref.add',
      'ce-subject': `/apis/v1/namespaces/${nsKafka}/configmaps/via-process`,
    });
  }, 120_000);
});
