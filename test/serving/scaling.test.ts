// Serving end to end: the autoscaler driving real processes. Scale from zero on an HTTP request (the
// request waits at the activator and succeeds) and back to zero after the grace period; and a
// Trigger whose 10,000-event backlog (a real broker data plane on the embedded log and on Kafka)
// scales a min-scale-0 Service from zero to several replicas because of the backlog, drains every
// event exactly as counted at the service, and lets it return to zero.

import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ContractInput, type DataPlaneContract, readyCondition, resourceKey } from '@eddy/api';
import { computeContract } from '@eddy/broker';
import type { Decision } from '@eddy/serving';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { logFactories, startDataPlane } from '../broker/helpers.ts';
import { get, isReady, ServingHarness, service, unique, waitFor } from './helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'eddy-serving-e2e-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const fastWindow = { 'autoscaling.knative.dev/window': '6s' };

describe('serving: scale to and from zero', () => {
  it('scales from zero on an HTTP request (which waits and succeeds) and back to zero after the grace period', {
    timeout: 60_000,
  }, async () => {
    const h = await ServingHarness.start({ scaleToZeroGraceMs: 1_000 });
    const ns = unique('zero');
    h.put(service(ns, 'lazy', { annotations: fastWindow }));
    await h.waitUntil('lazy ready', (x) => isReady(x.status('Service', ns, 'lazy')));
    // Initial scale 1, then nothing to do: down to zero after the 6 s window and the 1 s grace.
    await h.waitUntil(
      'lazy-00001 at zero',
      (x) => x.runtimeStatus(ns, 'lazy-00001')?.actualReplicas === 0,
      30_000,
    );
    const atZero = h.status('Revision', ns, 'lazy-00001');
    expect(atZero?.actualReplicas).toBe(0);
    // Knative keeps a revision that has been ready Ready=True at zero (Active=False, NoTraffic).
    expect(isReady(atZero)).toBe(true);
    expect(atZero?.conditions.find((c) => c.type === 'Active')).toMatchObject({
      status: 'False',
      reason: 'NoTraffic',
    });

    const reply = await get(h.plane.routeUrl(ns, 'lazy'));
    expect(reply.status).toBe(200);
    expect(reply.revision).toBe('lazy-00001');
    // It waited for a cold start: a new process had to start and pass its probe.
    expect(reply.ms).toBeGreaterThanOrEqual(50);
    const woke = h.plane.decisions(ns, 'lazy-00001').filter((d) => d.desired >= 1);
    expect(woke.length).toBeGreaterThan(0);

    await h.waitUntil(
      'lazy-00001 back at zero',
      (x) => x.runtimeStatus(ns, 'lazy-00001')?.actualReplicas === 0,
      30_000,
    );
    expect(h.status('Revision', ns, 'lazy-00001')?.actualReplicas).toBe(0);
    // The way down was the autoscaler's: scale to zero after the window and the 1 s grace.
    const last = h.plane.decisions(ns, 'lazy-00001').at(-1);
    expect(last?.desired).toBe(0);
    expect(last?.detail).toMatch(/scale to zero/);
  });
});

const EVENTS = 10_000;

const resource = (apiVersion: string, kind: string, namespace: string, name: string, rest: object) =>
  ({
    apiVersion,
    kind,
    namespace,
    name,
    resource: { apiVersion, kind, metadata: { name, namespace, generation: 1 }, ...rest },
  }) as ContractInput;

/** POSTs `count` events to the broker in CloudEvents batch mode; returns their ids. */
async function fillBacklog(url: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 500) {
    const batch = Array.from({ length: Math.min(500, count - start) }, (_, i) => {
      const id = `ev-${start + i}-${randomUUID().slice(0, 8)}`;
      ids.push(id);
      return {
        specversion: '1.0',
        id,
        source: '/eddy/e2e/backlog',
        type: 'dev.eddy.e2e.work',
        data: { n: start + i },
      };
    });
    const response = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(batch),
    });
    const text = await response.body.text();
    expect(response.statusCode, text).toBe(202);
  }
  return ids;
}

for (const factory of logFactories) {
  describe(`serving: backlog scaling from a Trigger on the ${factory.name} log`, () => {
    it('scales 0 -> N > 1 because of a 10,000-event backlog, drains every event, and returns to zero', {
      timeout: 120_000,
    }, async () => {
      const { dataPlane: broker } = await startDataPlane(factory);
      const h = await ServingHarness.start({
        scaleToZeroGraceMs: 1_000,
        backlog: { lag: (routeId) => broker.lag(routeId) },
        maxReplicasCap: 4,
      });
      const ns = unique('backlog');
      const recordFile = join(root, `${ns}.ids`);

      // lag-target 1000: 10,000 queued events ask for 10 replicas (capped at 4 by the plane),
      // while the HTTP signal of at most 40 requests in flight at containerConcurrency 10 asks for ~6.
      h.put(
        service(ns, 'worker', {
          containerConcurrency: 10,
          annotations: { ...fastWindow, 'autoscaling.eddy.dev/lag-target': '1000' },
          env: { SLEEP_MS: '20', RECORD_FILE: recordFile },
        }),
      );
      await h.waitUntil('worker ready', (x) => isReady(x.status('Service', ns, 'worker')));

      // The backlog is there before anything can take it: a Broker with 10,000 events and no Trigger.
      const brokerRes = resource('eventing.knative.dev/v1', 'Broker', ns, 'default', { spec: {} });
      const trigger = resource('eventing.knative.dev/v1', 'Trigger', ns, 'work', {
        metadata: {
          name: 'work',
          namespace: ns,
          generation: 1,
          annotations: { 'eddy.dev/start-from': 'earliest', 'eddy.dev/max-in-flight': '40' },
        },
        spec: {
          broker: 'default',
          subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'worker' } },
        },
      });
      let previous: DataPlaneContract | undefined;
      const applyEventing = async (resources: ContractInput[]) => {
        // The Services are among the resources, as in the real store: a ref to one resolves to its URL.
        const { contract, statuses } = computeContract([...resources, ...h.resources('Service')], {
          brokerIngressUrl: broker.url,
          serviceUrl: (namespace, name) =>
            h.get('Service', namespace, name) ? h.plane.routeUrl(namespace, name) : undefined,
          ...(previous ? { previous } : {}),
        });
        for (const r of resources) {
          const status = statuses.get(resourceKey(r.kind, r.namespace, r.name));
          expect(readyCondition(status!)?.status, `${r.kind} ${r.name}: ${JSON.stringify(status)}`).toBe(
            'True',
          );
        }
        expect((await broker.apply(contract)).applied).toBe(true);
        previous = contract;
        return contract;
      };
      await applyEventing([brokerRes]);
      const ids = await fillBacklog(`${broker.url}/${ns}/default`, EVENTS);

      await h.waitUntil(
        'worker-00001 at zero',
        (x) => x.runtimeStatus(ns, 'worker-00001')?.actualReplicas === 0,
        30_000,
      );

      // Now the Trigger: its consumer group starts at the earliest offset with 10,000 events behind it.
      const eventing = await applyEventing([brokerRes, trigger]);
      const routeId = eventing.routes[0]?.id;
      expect(routeId).toBeDefined();
      h.setEventing(eventing);
      await h.sync();

      let maxReady = 0;
      let maxLag = 0;
      // decisions() keeps the last 50; collect them all while polling.
      const seenDecisions = new Map<string, Decision & { at: string }>();
      const collect = () => {
        for (const d of h.plane.decisions(ns, 'worker-00001'))
          seenDecisions.set(`${d.at} ${d.desired} ${d.reason}`, d);
        return [...seenDecisions.values()].sort((a, b) => a.at.localeCompare(b.at));
      };
      const seen = () => {
        try {
          return new Set(readFileSync(recordFile, 'utf8').split('\n').filter(Boolean));
        } catch {
          return new Set<string>();
        }
      };
      await waitFor(
        'every event served',
        async () => {
          await h.sync();
          const rt = h.runtimeStatus(ns, 'worker-00001');
          maxReady = Math.max(maxReady, rt?.readyReplicas ?? 0);
          maxLag = Math.max(maxLag, rt?.lag ?? 0);
          collect();
          return seen().size >= EVENTS;
        },
        {
          timeoutMs: 75_000,
          describe: () => ({ served: seen().size, rt: h.runtimeStatus(ns, 'worker-00001') }),
        },
      );

      const decisions = collect();
      const backlogUp = decisions.filter((d) => d.reason === 'backlog' && d.desired > 1);
      expect(
        backlogUp.length,
        JSON.stringify(decisions.map((d) => `${d.desired} ${d.reason}: ${d.detail}`)),
      ).toBeGreaterThan(0);
      expect(backlogUp[0]?.backlogDesired).toBeGreaterThan(1);
      expect(maxLag).toBeGreaterThan(1_000);
      expect(maxReady).toBeGreaterThan(1);
      expect(maxReady).toBeLessThanOrEqual(4);

      // Nothing lost: every id the broker accepted reached the service.
      const served = seen();
      expect(served.size).toBe(EVENTS);
      expect(ids.filter((id) => !served.has(id))).toEqual([]);

      // Lag drops to zero once the group has committed, then the window and grace take it to zero.
      await waitFor('lag 0', async () => (await broker.lag(routeId!)) === 0, 20_000);
      const lagGone = Date.now();
      await h.waitUntil(
        'worker-00001 back at zero',
        (x) => {
          collect();
          return x.runtimeStatus(ns, 'worker-00001')?.actualReplicas === 0;
        },
        30_000,
      );
      expect(h.status('Revision', ns, 'worker-00001')?.actualReplicas).toBe(0);
      // Never zero while events were queued: from the first backlog decision until the lag was gone,
      // every decision kept at least one replica; the way to zero came after.
      const history = collect();
      const firstBacklog = history.findIndex((d) => d.reason === 'backlog');
      const whileQueued = history.slice(firstBacklog).filter((d) => Date.parse(d.at) < lagGone - 1_000);
      expect(whileQueued.filter((d) => d.desired === 0)).toEqual([]);
      expect(history.at(-1)?.desired).toBe(0);
    });
  });
}
