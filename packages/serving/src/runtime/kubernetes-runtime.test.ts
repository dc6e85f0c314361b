import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { podFailure, revisionObjects, userPort } from './kubernetes-runtime.js';
import type { WorkloadSpec } from './runtime.js';

const spec = (podSpec?: Record<string, unknown>): WorkloadSpec => ({
  namespace: 'shop',
  revision: 'hello-00002',
  configuration: 'hello',
  service: 'hello',
  command: [],
  args: [],
  env: {},
  readiness: {
    kind: 'tcp',
    initialDelayMs: 0,
    periodMs: 10_000,
    timeoutMs: 1000,
    failureThreshold: 3,
    successThreshold: 1,
  },
  terminationGraceMs: 45_000,
  ...(podSpec ? { podSpec } : {}),
});

describe('revisionObjects', () => {
  it("makes Knative's Deployment and Service: labels, owner, env, port, probe, grace", () => {
    const s = spec({
      serviceAccountName: 'app',
      containers: [
        {
          image: 'img:1',
          ports: [{ containerPort: 9000 }],
          env: [
            { name: 'A', value: '1' },
            { name: 'K_SERVICE', value: 'mine' },
          ],
        },
        { name: 'sidecar', image: 'side:1' },
      ],
    });
    const { deployment, service } = revisionObjects(s, 3, {
      uid: 'u-1',
      apiVersion: 'serving.knative.dev/v1',
    });
    expect(deployment).toMatchObject({
      metadata: {
        name: 'hello-00002-deployment',
        namespace: 'shop',
        labels: {
          'serving.knative.dev/revision': 'hello-00002',
          'serving.knative.dev/configuration': 'hello',
          'serving.knative.dev/service': 'hello',
          'serving.knative.dev/revisionUID': 'u-1',
          'app.kubernetes.io/managed-by': 'eddy',
        },
        ownerReferences: [{ kind: 'Revision', name: 'hello-00002', uid: 'u-1', controller: true }],
      },
      spec: { replicas: 3, progressDeadlineSeconds: 600 },
    });
    const pod = (deployment.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    expect(pod.serviceAccountName).toBe('app');
    expect(pod.terminationGracePeriodSeconds).toBe(45);
    const [user, sidecar] = pod.containers as Record<string, unknown>[];
    expect(user?.name).toBe('user-container');
    expect(user?.ports).toEqual([{ name: 'user-port', containerPort: 9000, protocol: 'TCP' }]);
    // The user's own K_SERVICE is kept; what it did not set is added.
    expect(user?.env).toEqual([
      { name: 'A', value: '1' },
      { name: 'K_SERVICE', value: 'mine' },
      { name: 'PORT', value: '9000' },
      { name: 'K_REVISION', value: 'hello-00002' },
      { name: 'K_CONFIGURATION', value: 'hello' },
    ]);
    expect(user?.readinessProbe).toEqual({ tcpSocket: { port: 9000 }, successThreshold: 1 });
    expect(sidecar).toEqual({ name: 'sidecar', image: 'side:1' });
    expect(service).toMatchObject({
      metadata: { name: 'hello-00002' },
      spec: {
        ports: [{ port: 80, targetPort: 9000 }],
        selector: { 'serving.knative.dev/revision': 'hello-00002' },
      },
    });
  });

  it("defaults the port to Knative's 8080 and keeps a given readiness probe", () => {
    const s = spec({ containers: [{ image: 'img:1', readinessProbe: { httpGet: { path: '/ready' } } }] });
    expect(userPort(s)).toBe(8080);
    const { deployment } = revisionObjects(s, 0, undefined);
    const pod = (deployment.spec as { template: { spec: { containers: Record<string, unknown>[] } } })
      .template.spec;
    expect(pod.containers[0]?.readinessProbe).toEqual({ httpGet: { path: '/ready' } });
    expect((deployment.metadata as Record<string, unknown>).ownerReferences).toBeUndefined();
  });

  it('refuses a contract built for processes (no pod spec), naming the revision', () => {
    expect(() => revisionObjects(spec(), 0, undefined)).toThrow(/shop\/hello-00002 has no pod spec/);
  });
});

describe('podFailure', () => {
  it('reports a crash loop with the last exit code and message', () => {
    const pod = {
      status: {
        containerStatuses: [
          {
            name: 'user-container',
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s restarting' } },
            lastState: { terminated: { exitCode: 3, reason: 'Error', message: 'boom\nbad config' } },
          },
        ],
      },
    } as unknown as V1Pod;
    expect(podFailure(pod)).toEqual({
      reason: 'CrashLoopBackOff',
      message: 'container user-container: back-off 10s restarting (last exit code 3, Error)',
      lastLogLines: ['boom', 'bad config'],
      exitCode: 3,
    });
  });

  it('is nothing for a container that is only starting', () => {
    const pod = {
      status: { containerStatuses: [{ name: 'c', state: { waiting: { reason: 'ContainerCreating' } } }] },
    } as unknown as V1Pod;
    expect(podFailure(pod)).toBeUndefined();
  });
});
