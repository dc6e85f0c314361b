// The Kubernetes runtime against the test cluster's real kube-apiserver and kube-controller-manager: a
// revision whose Pods can never be scheduled (a nodeSelector no node has) with a 5 s progress deadline.
// The Deployment gets progressDeadlineSeconds 5, Kubernetes' own deployment controller marks it
// Progressing=False ProgressDeadlineExceeded, and the runtime reports that as the revision's failure.

import { loadKubeConfig } from '@eddy/runtime';
import pino from 'pino';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createKubernetesRuntime } from '../../packages/serving/src/runtime/kubernetes-runtime.ts';
import type { WorkloadRuntime } from '../../packages/serving/src/runtime/runtime.ts';
import { kubectlFor } from '../harness/kubernetes.ts';
import { waitFor } from '../harness/wait.ts';
import { mustKubectl } from './helpers.ts';

const cluster = inject('kubernetes');
const must = mustKubectl(kubectlFor(cluster));
const namespace = `deadline-${Date.now().toString(36)}`;
let runtime: WorkloadRuntime | undefined;

afterAll(async () => {
  await runtime?.close();
  await must(['delete', 'namespace', namespace, '--wait=false']).catch(() => undefined);
});

describe('kubernetes runtime: the Deployment progress deadline', () => {
  it("maps the Deployment's Progressing=False ProgressDeadlineExceeded to the revision's failure", {
    timeout: 90_000,
  }, async () => {
    await must(['create', 'namespace', namespace]);
    runtime = await createKubernetesRuntime({
      kubeConfig: await loadKubeConfig(cluster.kubeconfigPath),
      logger: pino({ level: 'silent' }),
    });
    const deployment = runtime.deploy({
      namespace,
      revision: 'stuck-00001',
      configuration: 'stuck',
      service: 'stuck',
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
      terminationGraceMs: 1_000,
      progressDeadlineMs: 5_000,
      podSpec: {
        nodeSelector: { 'eddy.dev/no-such-node': 'true' },
        containers: [{ image: 'eddy.dev/test/never-scheduled:1' }],
      },
    });
    deployment.scale(1);
    const spec = JSON.parse(
      await waitFor('the Deployment', async () => {
        const r = await kubectlFor(cluster)([
          'get',
          'deployment',
          'stuck-00001-deployment',
          '-n',
          namespace,
          '-o',
          'json',
        ]);
        return r.code === 0 ? r.stdout : undefined;
      }),
    ) as { spec: { progressDeadlineSeconds: number } };
    expect(spec.spec.progressDeadlineSeconds).toBe(5);
    const failure = await waitFor(
      'the failure ProgressDeadlineExceeded',
      () => {
        const f = deployment.status().failure;
        return f?.reason === 'ProgressDeadlineExceeded' ? f : undefined;
      },
      { timeoutMs: 60_000, describe: () => deployment.status() },
    );
    expect(failure.message).toContain(`Deployment ${namespace}/stuck-00001-deployment`);
    expect(failure.message).toContain('(5s)');
    expect(failure.message).toMatch(/timed out progressing/);
    expect(deployment.status().ready).toBe(0);
  });
});
