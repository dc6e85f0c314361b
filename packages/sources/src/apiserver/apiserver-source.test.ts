// The ApiServerSource adapter through the runner against a real kube-apiserver (the test cluster),
// with the test sink: what the end-to-end test in test/sources does not reach.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Kubectl, kubectlFor } from '../../../../test/harness/kubernetes.ts';
import type { SourceDefinition } from '../sdk/adapter.js';
import { SourceRegistry } from '../sdk/registry.js';
import { createSourceRunner, sourceKey } from '../sdk/runner.js';
import { useSourceTestBed } from '../testing/source-test-bed.js';
import { waitUntil as until } from '../testing/wait-until.js';
import { createApiServerSourceAdapter } from './apiserver-source.js';

const suffix = randomBytes(3).toString('hex');
let cluster: { kubeconfigPath: string; kubectl: Kubectl };
const namespaces: string[] = [];

async function kubectl(args: string[], input?: string): Promise<string> {
  const r = await cluster.kubectl(args, input !== undefined ? { input } : {});
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A fresh namespace whose ServiceAccount `watcher` may get/list/watch ConfigMaps. */
async function namespace(name: string, labels: Record<string, string> = {}): Promise<string> {
  const ns = `${name}-${suffix}`;
  namespaces.push(ns);
  await kubectl(
    ['apply', '-f', '-'],
    `apiVersion: v1
kind: Namespace
metadata: {name: ${ns}, labels: ${JSON.stringify(labels)}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: watcher, namespace: ${ns}}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: watcher, namespace: ${ns}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: watcher}
subjects: [{kind: ServiceAccount, name: watcher, namespace: ${ns}}]
`,
  );
  return ns;
}

const configMap = (ns: string, name: string, extra = '') =>
  kubectl(
    ['apply', '-f', '-'],
    `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  namespace: ${ns}
${extra}data: {k: v}
`,
  );

beforeAll(() => {
  const k8s = inject('kubernetes');
  cluster = { kubeconfigPath: k8s.kubeconfigPath, kubectl: kubectlFor(k8s) };
});

afterAll(async () => {
  if (cluster && namespaces.length > 0)
    await cluster.kubectl(['delete', 'namespace', ...namespaces, '--wait=false']);
}, 60_000);

function registryOf(one: ReturnType<typeof createApiServerSourceAdapter>): SourceRegistry {
  const registry = new SourceRegistry();
  registry.register(one);
  return registry;
}

const adapter = createApiServerSourceAdapter({
  recheckIntervalMs: 500,
  readyRecheckIntervalMs: 1_000,
  env: {},
});
const bed = useSourceTestBed(() => ({ adapters: adapter, kubeconfig: cluster.kubeconfigPath }));

function definition(namespace: string, name: string, spec: Record<string, unknown>): SourceDefinition {
  return {
    apiVersion: 'sources.knative.dev/v1',
    kind: 'ApiServerSource',
    namespace,
    name,
    sink: bed.sink.url,
    spec: {
      mode: 'Reference',
      serviceAccountName: 'watcher',
      resources: [{ apiVersion: 'v1', kind: 'ConfigMap' }],
      ...spec,
    },
    delivery: { retry: 1, backoffPolicy: 'linear', backoffDelayMs: 50, timeoutMs: 2_000 },
  };
}

const readyOf = (d: SourceDefinition) => bed.runner.statuses().find((s) => s.key === sourceKey(d))?.ready;
const names = () => bed.sink.accepted().map((e) => `${e.type.split('.').pop()} ${e.name as string}`);

describe('ApiServerSource adapter', () => {
  it('sends nothing for objects that exist at start, and keeps watching past a quiet minute of watch timeouts', async () => {
    const ns = await namespace('quiet');
    await configMap(ns, 'before');
    const d = definition(ns, 'quiet', {});
    await bed.runner.apply(d);
    await until(() => readyOf(d)?.status === 'True', 15_000, 'Ready');
    // Longer than one server-side watch (25 s) and client-node's 30 s inactivity timeout.
    await new Promise((r) => setTimeout(r, 32_000));
    await configMap(ns, 'after');
    await until(() => names().length >= 1, 15_000, 'the add of `after`');
    expect(names()).toEqual(['add after']);
  }, 70_000);

  it('owner filter: only objects whose controller matches; filters: the Triggers’ dialects on the event', async () => {
    const ns = await namespace('owner');
    // Real owners: the cluster's garbage collector deletes objects whose owner does not exist.
    await kubectl(['create', 'secret', 'generic', 'owner', '-n', ns]);
    await kubectl(['create', 'serviceaccount', 'owner', '-n', ns]);
    const uid = async (kind: string) =>
      (await kubectl(['get', kind, 'owner', '-n', ns, '-o', 'jsonpath={.metadata.uid}'])).trim();
    const uids: Record<string, string> = {
      Secret: await uid('secret'),
      ServiceAccount: await uid('serviceaccount'),
    };
    const owned = (kind: string, controller: boolean) => `  ownerReferences:
    - {apiVersion: v1, kind: ${kind}, name: owner, uid: ${uids[kind]}, controller: ${controller}}
`;
    const d = definition(ns, 'owned', {
      owner: { apiVersion: 'v1', kind: 'Secret' },
      filters: [{ not: { cesql: "name LIKE 'skip%'" } }],
    });
    await bed.runner.apply(d);
    await until(() => readyOf(d)?.status === 'True', 15_000, 'Ready');
    await configMap(ns, 'none');
    await configMap(ns, 'not-controller', owned('Secret', false));
    await configMap(ns, 'other-kind', owned('ServiceAccount', true));
    await configMap(ns, 'skipped', owned('Secret', true));
    await configMap(ns, 'wanted', owned('Secret', true));
    await kubectl(['delete', 'configmap', 'wanted', '-n', ns]);
    await until(() => names().length >= 2, 15_000, 'add and delete of `wanted`');
    await new Promise((r) => setTimeout(r, 500));
    expect(names()).toEqual(['add wanted', 'delete wanted']);
  }, 40_000);

  it('namespaceSelector: every namespace it selects, not the others', async () => {
    const a = await namespace('sel-a', { team: `t-${suffix}` });
    const b = await namespace('sel-b', { team: `t-${suffix}` });
    const c = await namespace('sel-c');
    const d = definition(a, 'across', { namespaceSelector: { matchLabels: { team: `t-${suffix}` } } });
    // The ServiceAccount is `a`'s; it needs the rights in `b` too.
    await kubectl([
      'create',
      'rolebinding',
      'from-a',
      '-n',
      b,
      '--role=watcher',
      `--serviceaccount=${a}:watcher`,
    ]);
    await bed.runner.apply(d);
    await until(() => readyOf(d)?.status === 'True', 15_000, 'Ready');
    await configMap(c, 'in-c');
    await configMap(b, 'in-b');
    await configMap(a, 'in-a');
    await until(() => names().length >= 2, 15_000, 'adds from a and b');
    await new Promise((r) => setTimeout(r, 500));
    expect(names().sort()).toEqual(['add in-a', 'add in-b']);
  }, 40_000);

  it('sink down: changes wait (SinkUnreachable) and arrive in order once it is back', async () => {
    const ns = await namespace('sinkdown');
    const d = definition(ns, 'patient', { mode: 'Resource' });
    await bed.runner.apply(d);
    await until(() => readyOf(d)?.status === 'True', 15_000, 'Ready');
    await bed.sink.down();
    await configMap(ns, 'one');
    await configMap(ns, 'two');
    await kubectl(['delete', 'configmap', 'one', '-n', ns]);
    await until(() => readyOf(d)?.reason === 'SinkUnreachable', 15_000, 'SinkUnreachable');
    await bed.sink.up();
    await until(() => names().length >= 3, 30_000, 'all three once the sink is back');
    expect(names()).toEqual(['add one', 'add two', 'delete one']);
    await until(() => readyOf(d)?.status === 'True', 5_000, 'Ready again');
  }, 60_000);

  it('backpressure: with the sink down the watch pauses at maxQueued changes, resumes from its resourceVersion, and every change arrives in order', async () => {
    const ns = await namespace('pressure');
    const small = createApiServerSourceAdapter({ maxQueued: 4, env: {} });
    const d = definition(ns, 'pressure', {});
    const runner = createSourceRunner({
      adapters: registryOf(small),
      kubeconfig: cluster.kubeconfigPath,
    });
    try {
      await runner.apply(d);
      await until(() => runner.statuses()[0]?.ready.status === 'True', 15_000, 'Ready');
      await bed.sink.down();
      const made = Array.from({ length: 12 }, (_, i) => `cm-${String(i).padStart(2, '0')}`);
      for (const name of made) await configMap(ns, name);
      await until(() => runner.statuses()[0]?.ready.reason === 'SinkUnreachable', 15_000, 'SinkUnreachable');
      await bed.sink.up();
      await until(() => names().length >= made.length, 40_000, 'every add');
      expect(names()).toEqual(made.map((n) => `add ${n}`));
    } finally {
      await runner.close();
    }
  }, 70_000);

  it('rights taken away: NotReady naming them; given back: Ready', async () => {
    const ns = await namespace('revoke');
    const d = definition(ns, 'revoked', {});
    await bed.runner.apply(d);
    await until(() => readyOf(d)?.status === 'True', 15_000, 'Ready');
    await kubectl(['delete', 'rolebinding', 'watcher', '-n', ns]);
    await until(() => readyOf(d)?.reason === 'InsufficientPermissions', 15_000, 'InsufficientPermissions');
    expect(readyOf(d)?.message).toBe(
      `User system:serviceaccount:${ns}:watcher cannot get, list, watch resource "configmaps" in API group "" in Namespace "${ns}"`,
    );
    await kubectl([
      'create',
      'rolebinding',
      'watcher',
      '-n',
      ns,
      '--role=watcher',
      `--serviceaccount=${ns}:watcher`,
    ]);
    await until(() => readyOf(d)?.status === 'True', 15_000, 'Ready again');
  }, 40_000);

  it('a kubeconfig user that may not impersonate: NotReady PermissionCheckFailed with the API server’s reason', async () => {
    const ns = await namespace('noimp');
    await kubectl(['create', 'serviceaccount', 'plain', '-n', ns]);
    const token = (await kubectl(['create', 'token', 'plain', '-n', ns])).trim();
    const server = (
      await kubectl(['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}'])
    ).trim();
    const file = join(mkdtempSync(join(tmpdir(), 'eddy-apisrc-')), 'kubeconfig');
    writeFileSync(
      file,
      `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: ${JSON.stringify(server)}, insecure-skip-tls-verify: true}}]
users: [{name: plain, user: {token: ${JSON.stringify(token)}}}]
contexts: [{name: c, context: {cluster: c, user: plain}}]
current-context: c
`,
    );
    const runner = createSourceRunner({ adapters: registryOf(adapter), kubeconfig: file });
    try {
      const d = definition(ns, 'noimp', {});
      await runner.apply(d);
      await until(
        () => runner.statuses()[0]?.ready.reason === 'PermissionCheckFailed',
        15_000,
        'PermissionCheckFailed',
      );
      expect(runner.statuses()[0]?.ready.message).toMatch(
        new RegExp(`^checking what system:serviceaccount:${ns}:watcher may do failed: .*cannot impersonate`),
      );
    } finally {
      await runner.close();
      rmSync(dirname(file), { recursive: true, force: true });
    }
  }, 30_000);

  it('an unknown kind is NotReady ResourceNotFound', async () => {
    const ns = await namespace('unknown');
    const d = definition(ns, 'typo', { resources: [{ apiVersion: 'v1', kind: 'ConfigMapp' }] });
    await bed.runner.apply(d);
    await until(() => readyOf(d)?.reason === 'ResourceNotFound', 15_000, 'ResourceNotFound');
    expect(readyOf(d)?.message).toBe('spec.resources[0]: the API server serves no kind ConfigMapp in v1');
  }, 30_000);
});

describe('ApiServerSource without a cluster', () => {
  const bare = useSourceTestBed(() => ({ adapters: createApiServerSourceAdapter({ env: {} }) }));

  it('is NotReady and says how to give it one', async () => {
    const d: SourceDefinition = {
      apiVersion: 'sources.knative.dev/v1',
      kind: 'ApiServerSource',
      namespace: 'demo',
      name: 'nowhere',
      sink: bare.sink.url,
      spec: { mode: 'Reference', resources: [{ apiVersion: 'v1', kind: 'ConfigMap' }] },
    };
    const status = await bare.runner.apply(d);
    expect(status.ready).toMatchObject({
      status: 'False',
      reason: 'NoKubernetesCluster',
      message: 'ApiServerSource needs a Kubernetes cluster: start eddy dev with --kubeconfig <file>',
    });
  });
});
