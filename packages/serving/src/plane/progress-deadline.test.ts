import { parseProgressDeadline } from '@eddy/api';
import { describe, expect, it } from 'vitest';
import { deploymentProgressFailure, revisionObjects } from '../runtime/kubernetes-runtime.js';
import type { DeploymentFailure, DeploymentStatus } from '../runtime/runtime.js';
import { exceededFailure, ProgressDeadline } from './progress-deadline.js';
import { revisionConditions } from './revision-conditions.js';

const crash: DeploymentFailure = {
  reason: 'CrashLoopBackOff',
  message: 'back-off 1s restarting failed container: container exited with code 1 before becoming ready',
  lastLogLines: ['boom'],
  exitCode: 1,
};
const status = (ready: number, failure?: DeploymentFailure): DeploymentStatus => ({
  desired: 1,
  actual: 1,
  ready,
  ...(failure ? { failure } : {}),
});

describe('ProgressDeadline', () => {
  it('counts from the first observation with replicas wanted and none ready; exceeded at the deadline', () => {
    const p = new ProgressDeadline(5_000);
    expect(p.observe(1_000, 1, status(0))).toBeUndefined();
    expect(p.observe(5_999, 1, status(0, crash))).toBeUndefined();
    const failure = p.observe(6_000, 1, status(0, crash));
    expect(failure?.reason).toBe('ProgressDeadlineExceeded');
    expect(failure?.message).toContain('progress deadline of 5s');
    expect(failure?.message).toContain('last failure: CrashLoopBackOff: back-off 1s');
    expect(failure?.lastLogLines).toEqual(['boom']);
    expect(failure?.exitCode).toBe(1);
  });

  it('sticks once exceeded, whatever comes after', () => {
    const p = new ProgressDeadline(1_000);
    p.observe(0, 1, status(0));
    expect(p.observe(1_000, 1, status(0))).toBeDefined();
    expect(p.observe(2_000, 0, status(0))).toBeDefined();
    expect(p.observe(3_000, 1, status(1))).toBeDefined();
    expect(p.exceeded?.reason).toBe('ProgressDeadlineExceeded');
  });

  it('a ready replica, or nothing wanted, resets the clock', () => {
    const p = new ProgressDeadline(1_000);
    p.observe(0, 1, status(0));
    p.observe(900, 1, status(1));
    expect(p.observe(1_500, 1, status(0))).toBeUndefined();
    expect(p.observe(2_400, 1, status(0))).toBeUndefined();
    p.observe(2_450, 0, status(0));
    expect(p.observe(3_000, 1, status(0))).toBeUndefined();
    expect(p.observe(3_999, 1, status(0))).toBeUndefined();
    expect(p.observe(4_000, 1, status(0))).toBeDefined();
  });

  it("the runtime's own ProgressDeadlineExceeded (a Kubernetes Deployment) counts at once", () => {
    const p = new ProgressDeadline(600_000);
    const k8s: DeploymentFailure = {
      reason: 'ProgressDeadlineExceeded',
      message: 'stalled',
      lastLogLines: [],
    };
    expect(p.observe(0, 1, status(0, k8s))).toBe(k8s);
  });

  it('default: Knative 600 s', () => {
    expect(new ProgressDeadline().deadlineMs).toBe(600_000);
  });

  it('the Revision conditions carry ProgressDeadlineExceeded', () => {
    const failure = exceededFailure(5_000, crash);
    const conditions = revisionConditions({ desired: 0, ready: 0, everReady: false, failure });
    expect(conditions.find((c) => c.type === 'ResourcesAvailable')).toMatchObject({
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
    });
    expect(conditions.find((c) => c.type === 'ContainerHealthy')).toMatchObject({
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
    });
  });
});

describe('deploymentProgressFailure (Kubernetes)', () => {
  it('maps Progressing=False reason=ProgressDeadlineExceeded, and nothing else', () => {
    const stalled = deploymentProgressFailure({
      metadata: { namespace: 'ns', name: 'hello-00001-deployment' },
      spec: { progressDeadlineSeconds: 5, selector: {}, template: {} },
      status: {
        conditions: [
          { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable' },
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "hello-00001-deployment-abc" has timed out progressing.',
          },
        ],
      },
    });
    expect(stalled?.reason).toBe('ProgressDeadlineExceeded');
    expect(stalled?.message).toContain('ns/hello-00001-deployment');
    expect(stalled?.message).toContain('(5s)');
    expect(stalled?.message).toContain('has timed out progressing');
    expect(
      deploymentProgressFailure({
        status: { conditions: [{ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }] },
      }),
    ).toBeUndefined();
    expect(deploymentProgressFailure({})).toBeUndefined();
  });
});

describe('parseProgressDeadline (serving.knative.dev/progress-deadline)', () => {
  it.each([
    ['5s', 5_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
  ])('%s = %d ms', (text, ms) => expect(parseProgressDeadline(text)).toEqual({ ok: true, value: ms }));

  it.each([
    ['abc', 'expected a duration'],
    ['600', 'expected a duration'],
    ['0s', 'greater than zero'],
    ['-5s', 'greater than zero'],
    ['1.5s', 'whole seconds'],
  ])('%s is refused: %s', (text, why) => {
    const r = parseProgressDeadline(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(why);
  });
});

describe('the Kubernetes Deployment follows serving.knative.dev/progress-deadline', () => {
  it('progressDeadlineSeconds = the revision progressDeadlineMs / 1000; 600 without it', () => {
    const spec = {
      namespace: 'shop',
      revision: 'hello-00001',
      configuration: 'hello',
      command: [],
      args: [],
      env: {},
      readiness: {
        kind: 'tcp' as const,
        initialDelayMs: 0,
        periodMs: 10_000,
        timeoutMs: 1000,
        failureThreshold: 3,
        successThreshold: 1,
      },
      terminationGraceMs: 30_000,
      podSpec: { containers: [{ image: 'img:1' }] },
    };
    const seconds = (s: typeof spec & { progressDeadlineMs?: number }) =>
      (revisionObjects(s, 1, undefined).deployment.spec as { progressDeadlineSeconds: number })
        .progressDeadlineSeconds;
    expect(seconds({ ...spec, progressDeadlineMs: 5_000 })).toBe(5);
    expect(seconds(spec)).toBe(600);
  });
});
