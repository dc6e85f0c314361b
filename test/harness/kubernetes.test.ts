import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type Kubectl,
  KWOK_NODE_NAME,
  kubeconfigYaml,
  kubectlFor,
  kubernetesToolVersions,
  startKubernetesControlPlane,
} from './kubernetes.ts';
import { expectPeerDiesWithParent } from './orphan-check.ts';
import { isAlive } from './processes.ts';
import { waitFor } from './wait.ts';

let kubectl: Kubectl;
const namespaces: string[] = [];

/** kubectl that fails the test (with kubectl's stderr) unless it exits 0; returns stdout. */
async function ok(args: string[], input?: string): Promise<string> {
  const res = await kubectl(args, input !== undefined ? { input } : {});
  if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${res.code}: ${res.stderr.trim()}`);
  return res.stdout;
}

/** Every test gets its own namespace: the cluster is shared by the whole run. */
async function newNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  await ok(['create', 'namespace', name]);
  namespaces.push(name);
  return name;
}

beforeAll(() => {
  kubectl = kubectlFor(inject('kubernetes'));
});

afterAll(async () => {
  if (namespaces.length > 0) await kubectl(['delete', 'namespace', '--wait=false', ...namespaces]);
});

describe('the Kubernetes test cluster', () => {
  it('answers with the pinned Kubernetes version', async () => {
    const version = JSON.parse(await ok(['get', '--raw', '/version'])) as { gitVersion: string };
    expect(version.gitVersion).toBe(kubernetesToolVersions().kubernetes);
    expect(version.gitVersion).toBe('v1.37.2');
    const client = JSON.parse(await ok(['version', '-o', 'json'])) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    expect(client.clientVersion.gitVersion).toBe('v1.37.2');
    expect(client.serverVersion.gitVersion).toBe('v1.37.2');
  });

  it('runs the Pods of a Deployment on the kwok node', async () => {
    const ns = await newNamespace('deploy');
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: ns },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          // kwok runs nothing: the image is never pulled.
          spec: { containers: [{ name: 'web', image: 'example.invalid/web:1' }] },
        },
      },
    };
    await ok(['apply', '-f', '-'], JSON.stringify(deployment));
    await ok(['wait', '-n', ns, '--for=condition=Available', 'deployment/web', '--timeout=30s']);
    const pods = JSON.parse(await ok(['get', 'pods', '-n', ns, '-l', 'app=web', '-o', 'json'])) as {
      items: { spec: { nodeName?: string }; status: { phase?: string } }[];
    };
    expect(pods.items).toHaveLength(2);
    for (const pod of pods.items) {
      expect(pod.status.phase).toBe('Running');
      expect(pod.spec.nodeName).toBe(KWOK_NODE_NAME);
    }
  });

  it('enforces RBAC for a ServiceAccount', async () => {
    const ns = await newNamespace('rbac');
    await ok(['create', 'serviceaccount', 'reader', '-n', ns]);
    await ok(['create', 'configmap', 'settings', '-n', ns, '--from-literal=a=1']);
    const asReader = ['-n', ns, `--as=system:serviceaccount:${ns}:reader`];

    const denied = await kubectl(['get', 'configmaps', ...asReader]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/forbidden/i);

    await ok([
      'create',
      'role',
      'read-configmaps',
      '-n',
      ns,
      '--verb=get,list,watch',
      '--resource=configmaps',
    ]);
    await ok([
      'create',
      'rolebinding',
      'reader-reads',
      '-n',
      ns,
      '--role=read-configmaps',
      `--serviceaccount=${ns}:reader`,
    ]);
    // The authorizer reads RBAC objects from an informer: the grant applies within moments.
    await waitFor('the reader to list configmaps', async () => {
      const res = await kubectl(['get', 'configmaps', ...asReader, '-o', 'name']);
      return res.code === 0 && res.stdout.includes('configmap/settings');
    });
    // Still only what the Role grants.
    const other = await kubectl(['get', 'secrets', ...asReader]);
    expect(other.stderr).toMatch(/forbidden/i);

    // The same through a real ServiceAccount token (TokenRequest, signed with the cluster's key),
    // as a component started with its own kubeconfig sees it.
    const token = (await ok(['create', 'token', 'reader', '-n', ns, '--duration=10m'])).trim();
    const { server, kubeconfigPath } = inject('kubernetes');
    const caFile = /certificate-authority: (".*")/.exec(readFileSync(kubeconfigPath, 'utf8'))?.[1];
    expect(caFile).toBeDefined();
    const saKubeconfig = join(tmpdir(), `eddy-k8s-sa-${randomUUID()}.kubeconfig`);
    writeFileSync(saKubeconfig, kubeconfigYaml(server, JSON.parse(caFile!) as string, token, 'reader'));
    try {
      const listed = await kubectl(['get', 'configmaps', '-n', ns, '-o', 'name'], {
        kubeconfig: saKubeconfig,
      });
      expect(listed.stderr).toBe('');
      expect(listed.stdout).toContain('configmap/settings');
      const forbidden = await kubectl(['get', 'configmaps', '-n', 'default'], { kubeconfig: saKubeconfig });
      expect(forbidden.stderr).toMatch(/forbidden/i);
    } finally {
      rmSync(saKubeconfig, { force: true });
    }
  });

  it('applies server-side, with field ownership', async () => {
    const ns = await newNamespace('ssa');
    const configMap = (value: string) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'applied', namespace: ns },
        data: { key: value },
      });
    await ok(['apply', '--server-side', '--field-manager=eddy-test', '-f', '-'], configMap('one'));
    await ok(['apply', '--server-side', '--field-manager=eddy-test', '-f', '-'], configMap('two'));
    const applied = JSON.parse(
      await ok(['get', 'configmap', 'applied', '-n', ns, '-o', 'json', '--show-managed-fields']),
    ) as { data: { key: string }; metadata: { managedFields: { manager: string; operation: string }[] } };
    expect(applied.data.key).toBe('two');
    expect(applied.metadata.managedFields).toContainEqual(
      expect.objectContaining({ manager: 'eddy-test', operation: 'Apply' }),
    );
    // Another manager changing an owned field is a conflict unless it forces.
    const conflict = await kubectl(['apply', '--server-side', '--field-manager=someone-else', '-f', '-'], {
      input: configMap('three'),
    });
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toMatch(/conflict/i);
  });
});

describe('startKubernetesCluster', () => {
  it('starts a control plane of its own and removes it on stop', { timeout: 120_000 }, async () => {
    const cluster = await startKubernetesControlPlane({ log: () => {} });
    try {
      expect(cluster.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(cluster.server).not.toBe(inject('kubernetes').server);
      const res = await cluster.kubectl(['get', '--raw', '/readyz']);
      expect(res.stdout).toBe('ok');
      expect(Object.keys(cluster.pids).sort()).toEqual(['etcd', 'kube-apiserver']);
    } finally {
      await cluster.stop();
    }
    expect(existsSync(cluster.kubeconfigPath)).toBe(false);
    for (const pid of Object.values(cluster.pids)) expect(isAlive(pid!)).toBe(false);
  });

  it('goes away when the process that started it is SIGKILLed', { timeout: 120_000 }, async () => {
    await expectPeerDiesWithParent({
      module: new URL('./kubernetes.ts', import.meta.url).href,
      start: 'startKubernetesControlPlane',
      pidOf: "peer.pids['kube-apiserver']",
      what: 'kube-apiserver',
      withinMs: 30_000,
    });
  });
});
