import { describe, expect, it } from 'vitest';
import { revisionWorkload } from './revision-workload.js';

describe('revisionWorkload for Kubernetes', () => {
  const spec = {
    containerConcurrency: 5,
    timeoutSeconds: 60,
    serviceAccountName: 'worker',
    containers: [
      {
        image: 'registry.example.com/worker:1',
        env: [
          { name: 'PLAIN', value: 'x' },
          { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } },
        ],
        envFrom: [{ configMapRef: { name: 'settings' } }],
        readinessProbe: { exec: { command: ['true'] } },
      },
      { image: 'registry.example.com/sidecar:1' },
    ],
  };

  it('passes the pod spec through as written, without Knative-only fields, with no command needed', () => {
    const r = revisionWorkload(spec as never, undefined, {}, { namespace: 'shop', target: 'kubernetes' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.workload.podSpec).toEqual({
      serviceAccountName: 'worker',
      containers: spec.containers,
    });
    expect(r.workload.command).toEqual([]);
    expect(r.workload.env).toEqual({ PLAIN: 'x' });
    expect(r.workload.containerConcurrency).toBe(5);
    expect(r.workload.timeoutMs).toBe(60_000);
  });

  it('what embedded mode refuses (no command, envFrom, exec probes, sidecars) it refuses there still', () => {
    const r = revisionWorkload(spec as never, undefined, {}, { namespace: 'shop' });
    expect(r).toMatchObject({ ok: false, reason: 'MultipleContainersUnsupported' });
  });

  it('needs an image', () => {
    const r = revisionWorkload(
      { containers: [{ command: ['node'] }] } as never,
      undefined,
      {},
      {
        namespace: 'shop',
        target: 'kubernetes',
      },
    );
    expect(r).toMatchObject({ ok: false, reason: 'ImageRequired' });
  });

  it('checks the autoscaling annotations the same way', () => {
    const r = revisionWorkload(
      { containers: [{ image: 'x' }] } as never,
      { 'autoscaling.knative.dev/min-scale': 'lots' },
      {},
      { namespace: 'shop', target: 'kubernetes' },
    );
    expect(r).toMatchObject({ ok: false, reason: 'InvalidAnnotation' });
  });
});
