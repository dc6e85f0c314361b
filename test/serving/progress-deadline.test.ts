// Crash loops: a Service whose process always exits 1, with serving.knative.dev/progress-deadline: 5s.
// Within seconds of the deadline its Revision and Service are Ready=False ProgressDeadlineExceeded,
// the runtime stops restarting it (starts counted by the process itself), a Trigger's backlog does not
// scale it up again, and the Trigger's events are not lost: they wait in the Trigger's retries and are
// delivered once a fixed revision rolls out.

import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ContractInput, type DataPlaneContract, readyCondition, resourceKey } from '@eddy/api';
import { computeContract } from '@eddy/broker';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { logFactories, startDataPlane } from '../broker/helpers.ts';
import { isReady, ServingHarness, service, sleep, unique, waitFor } from './helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'eddy-progress-deadline-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const DEADLINE = { 'serving.knative.dev/progress-deadline': '5s' };
const EVENTS = 20;

const resource = (apiVersion: string, kind: string, namespace: string, name: string, rest: object) =>
  ({
    apiVersion,
    kind,
    namespace,
    name,
    resource: { apiVersion, kind, metadata: { name, namespace, generation: 1 }, ...rest },
  }) as ContractInput;

const lines = (file: string) => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

const embedded = logFactories.find((f) => f.name === 'embedded');

describe('serving: the progress deadline ends a crash loop', () => {
  it('a Service that always exits 1: Ready=False ProgressDeadlineExceeded after 5 s, then no more restarts', {
    timeout: 60_000,
  }, async () => {
    const h = await ServingHarness.start();
    const ns = unique('deadline');
    const starts = join(root, `${ns}.starts`);
    h.put(service(ns, 'crashy', { annotations: DEADLINE, env: { CRASH_AT_START: '1', START_FILE: starts } }));
    const began = Date.now();
    await h.waitUntil(
      'crashy-00001 failed with ProgressDeadlineExceeded',
      (x) => readyCondition(x.status('Revision', ns, 'crashy-00001')!)?.reason === 'ProgressDeadlineExceeded',
      20_000,
    );
    const elapsed = Date.now() - began;
    expect(elapsed).toBeGreaterThanOrEqual(5_000);
    expect(elapsed).toBeLessThan(15_000);

    const revisionReady = readyCondition(h.status('Revision', ns, 'crashy-00001')!);
    expect(revisionReady).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    expect(revisionReady?.message).toContain('progress deadline of 5s');
    expect(revisionReady?.message).toMatch(
      /last failure: (ExitCode1|CrashLoopBackOff): .*exited with code 1/,
    );
    expect(
      h.status('Revision', ns, 'crashy-00001')?.conditions.find((c) => c.type === 'ResourcesAvailable'),
    ).toMatchObject({
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
    });
    const serviceReady = readyCondition(h.status('Service', ns, 'crashy')!);
    // Knative's Service carries its Configuration's RevisionFailed with the Revision's message.
    expect(serviceReady).toMatchObject({ status: 'False', reason: 'RevisionFailed' });
    expect(serviceReady?.message).toContain('progress deadline of 5s');

    // Restarts stop: the count of starts does not move any more.
    await sleep(1_000);
    const startsAtDeadline = lines(starts).length;
    expect(startsAtDeadline).toBeGreaterThanOrEqual(2);
    const rt = h.runtimeStatus(ns, 'crashy-00001');
    expect(rt?.desiredReplicas).toBe(0);
    expect(rt?.actualReplicas).toBe(0);
    // Without the deadline the backoff (0.5 s doubling) would have restarted it twice more by now.
    await sleep(5_000);
    await h.sync();
    expect(lines(starts)).toHaveLength(startsAtDeadline);
    expect(h.runtimeStatus(ns, 'crashy-00001')?.actualReplicas).toBe(0);
  });

  it('a routed revision that starts crashing while scaled to zero: its Trigger wakes it, the deadline stops it and backlog does not scale it up, the fix gets the events', {
    timeout: 150_000,
  }, async () => {
    if (!embedded) throw new Error('no embedded log factory');
    const { dataPlane: broker } = await startDataPlane(embedded);
    const h = await ServingHarness.start({
      scaleToZeroGraceMs: 1_000,
      backlog: { lag: (routeId) => broker.lag(routeId) },
    });
    const ns = unique('wake');
    const starts = join(root, `${ns}.starts`);
    const served = join(root, `${ns}.served`);
    const broken = join(root, `${ns}.broken`);
    const annotations = { ...DEADLINE, 'autoscaling.knative.dev/window': '6s' };
    h.put(service(ns, 'crashy', { annotations, env: { CRASH_IF_EXISTS: broken, START_FILE: starts } }));
    await h.waitUntil('crashy ready', (x) => isReady(x.status('Service', ns, 'crashy')));
    await h.waitUntil(
      'crashy-00001 at zero',
      (x) => x.runtimeStatus(ns, 'crashy-00001')?.actualReplicas === 0,
      30_000,
    );
    writeFileSync(broken, 'gone\n');

    // A Trigger's backlog for it: lag, but no scale-up. Its retries keep the events (not dropped).
    const brokerRes = resource('eventing.knative.dev/v1', 'Broker', ns, 'default', { spec: {} });
    const trigger = resource('eventing.knative.dev/v1', 'Trigger', ns, 'work', {
      metadata: {
        name: 'work',
        namespace: ns,
        generation: 1,
        annotations: { 'eddy.dev/start-from': 'earliest' },
      },
      spec: {
        broker: 'default',
        subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'crashy' } },
        delivery: { retry: 60, backoffPolicy: 'linear', backoffDelay: 'PT0.5S' },
      },
    });
    let previous: DataPlaneContract | undefined;
    const applyEventing = async () => {
      const { contract, statuses } = computeContract([brokerRes, trigger, ...h.resources('Service')], {
        brokerIngressUrl: broker.url,
        serviceUrl: (namespace, name) =>
          h.get('Service', namespace, name) ? h.plane.routeUrl(namespace, name) : undefined,
        ...(previous ? { previous } : {}),
      });
      expect(readyCondition(statuses.get(resourceKey('Trigger', ns, 'work'))!)?.status).toBe('True');
      expect((await broker.apply(contract)).applied).toBe(true);
      previous = contract;
      return contract;
    };
    const eventing = await applyEventing();
    h.setEventing(eventing);
    const ids: string[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const id = `ev-${i}-${randomUUID().slice(0, 8)}`;
      ids.push(id);
      const response = await request(`${broker.url}/${ns}/default`, {
        method: 'POST',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': id,
          'ce-type': 'dev.eddy.e2e.work',
          'ce-source': '/eddy/e2e/deadline',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ n: i }),
      });
      await response.body.dump();
      expect(response.statusCode).toBe(202);
    }
    const routeId = eventing.routes[0]?.id as string;
    const startsBefore = lines(starts).length;
    // The Trigger's deliveries wake it from zero; its replica crashes until the deadline fails the revision.
    await h.waitUntil(
      'crashy-00001 failed with ProgressDeadlineExceeded',
      (x) => readyCondition(x.status('Revision', ns, 'crashy-00001')!)?.reason === 'ProgressDeadlineExceeded',
      30_000,
    );
    expect(lines(starts).length).toBeGreaterThan(startsBefore);
    await sleep(1_000);
    const startsAtDeadline = lines(starts).length;
    // Events still queued, the autoscaler would want replicas for them, the plane keeps it at zero.
    for (let i = 0; i < 10; i++) {
      await h.sync();
      await sleep(500);
    }
    expect(await broker.lag(routeId)).toBeGreaterThan(0);
    expect(h.runtimeStatus(ns, 'crashy-00001')?.lag).toBeGreaterThan(0);
    expect(h.runtimeStatus(ns, 'crashy-00001')?.lastDecision).toMatchObject({ reason: 'backlog' });
    expect(h.runtimeStatus(ns, 'crashy-00001')?.lastDecision?.desired).toBeGreaterThan(0);
    expect(h.runtimeStatus(ns, 'crashy-00001')?.desiredReplicas).toBe(0);
    expect(h.runtimeStatus(ns, 'crashy-00001')?.actualReplicas).toBe(0);
    expect(lines(starts)).toHaveLength(startsAtDeadline);
    expect(lines(served)).toHaveLength(0);

    // The fix: a new revision starts fresh, becomes Ready, and every waiting event reaches it.
    h.put(service(ns, 'crashy', { annotations, env: { RECORD_FILE: served, START_FILE: starts } }));
    await h.waitUntil(
      'crashy Ready on crashy-00002',
      (x) => isReady(x.status('Service', ns, 'crashy')),
      30_000,
    );
    expect(isReady(h.status('Revision', ns, 'crashy-00002'))).toBe(true);
    await waitFor(
      'every event delivered to the fixed revision',
      async () => {
        await h.sync();
        return ids.every((id) => lines(served).includes(id));
      },
      { timeoutMs: 60_000, describe: () => `${lines(served).length} of ${EVENTS} served` },
    );
    expect(readyCondition(h.status('Revision', ns, 'crashy-00001')!)?.reason).toBe(
      'ProgressDeadlineExceeded',
    );
  });
});
