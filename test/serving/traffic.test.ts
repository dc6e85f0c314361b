// Serving end to end: revisions and traffic (percent split over 1,000 real requests, tag addresses,
// rollback), containerConcurrency 1 held per replica, and a crashing revision's status. Every
// revision is a real process (fixtures/http-service.mjs) behind the real router; the contract comes
// from plain resources through reconcileServing, with the plane's statuses fed back.

import { readyCondition } from '@eddy/api';
import { describe, expect, it } from 'vitest';
import { countBy, get, getMany, isReady, ServingHarness, service, unique } from './helpers.ts';

const fastWindow = { 'autoscaling.knative.dev/window': '6s' };

describe('serving: revisions and traffic', () => {
  it('splits 90/10 over 1,000 requests, serves tag addresses, and rolls back to an old revision', {
    timeout: 90_000,
  }, async () => {
    const h = await ServingHarness.start({ scaleToZeroGraceMs: 1_000 });
    const ns = unique('split');
    const pinned = { ...fastWindow, 'autoscaling.knative.dev/min-scale': '1' };
    h.put(service(ns, 'web', { annotations: pinned, env: { MESSAGE: 'v1' } }));
    await h.waitUntil('web-00001 ready', (x) => isReady(x.status('Service', ns, 'web')));
    expect(h.status('Service', ns, 'web')?.latestReadyRevisionName).toBe('web-00001');

    // A second revision (new template) taking 10 %, each revision tagged.
    h.put(
      service(ns, 'web', {
        annotations: pinned,
        env: { MESSAGE: 'v2' },
        traffic: [
          { revisionName: 'web-00001', percent: 90, tag: 'stable' },
          { latestRevision: true, percent: 10, tag: 'candidate' },
        ],
      }),
    );
    await h.waitUntil(
      'web-00002 ready and routed',
      (x) =>
        isReady(x.status('Service', ns, 'web')) &&
        x.status('Service', ns, 'web')?.latestReadyRevisionName === 'web-00002',
      45_000,
    );
    const traffic = h.status('Service', ns, 'web')?.traffic ?? [];
    expect(traffic.map((t) => [t.revisionName, t.percent, t.tag])).toEqual([
      ['web-00001', 90, 'stable'],
      ['web-00002', 10, 'candidate'],
    ]);

    const replies = await getMany(h.plane.routeUrl(ns, 'web'), 1_000, 16);
    expect(replies.filter((r) => r.status !== 200)).toEqual([]);
    const split = countBy(replies, (r) => r.revision);
    // 1,000 draws at p = 0.1: sd ~ 9.5, so +-50 is over 5 sd.
    expect(split['web-00001'] ?? 0).toBeGreaterThanOrEqual(850);
    expect(split['web-00001'] ?? 0).toBeLessThanOrEqual(950);
    expect((split['web-00001'] ?? 0) + (split['web-00002'] ?? 0)).toBe(1_000);

    // Tag addresses reach exactly their revision.
    for (const [tag, revision] of [
      ['stable', 'web-00001'],
      ['candidate', 'web-00002'],
    ] as const) {
      const tagged = await getMany(h.plane.tagUrl(ns, 'web', tag), 20, 4);
      expect(
        countBy(tagged, (r) => r.revision),
        tag,
      ).toEqual({ [revision]: 20 });
    }

    // The same by Host, as Knative addresses them (<tag>-<name>.<namespace>.<domain>).
    const byHost = await get(`${h.plane.url}/`, { host: `candidate-web.${ns}.example.com` });
    expect(byHost.status).toBe(200);
    expect(byHost.revision).toBe('web-00002');
    const tagUrls = (h.status('Service', ns, 'web')?.traffic ?? []).map((t) => [t.tag, t.url]);
    expect(tagUrls).toEqual([
      ['stable', h.plane.tagUrl(ns, 'web', 'stable')],
      ['candidate', h.plane.tagUrl(ns, 'web', 'candidate')],
    ]);

    // Rollback: all traffic back to the first revision, by name.
    h.put(
      service(ns, 'web', {
        annotations: pinned,
        env: { MESSAGE: 'v2' },
        traffic: [{ revisionName: 'web-00001', percent: 100 }],
      }),
    );
    await h.waitUntil('traffic rolled back', (x) => {
      const t = x.status('Service', ns, 'web')?.traffic ?? [];
      return t.length === 1 && t[0]?.revisionName === 'web-00001' && t[0]?.percent === 100;
    });
    const after = await getMany(h.plane.routeUrl(ns, 'web'), 100, 8);
    expect(countBy(after, (r) => r.revision)).toEqual({ 'web-00001': 100 });
    const body = JSON.parse(after[0]?.body ?? '{}') as { message?: string };
    expect(body.message).toBe('v1');
    // No route or tag reaches web-00002 any more: it goes to zero whatever its min-scale says.
    await h.waitUntil('web-00002 at zero', (x) => x.runtimeStatus(ns, 'web-00002')?.actualReplicas === 0);
    expect(h.runtimeStatus(ns, 'web-00001')?.readyReplicas).toBeGreaterThanOrEqual(1);
  });

  it('never lets a replica serve more than containerConcurrency 1 at once, queueing the rest', {
    timeout: 60_000,
  }, async () => {
    const h = await ServingHarness.start({ scaleToZeroGraceMs: 1_000 });
    const ns = unique('cc1');
    h.put(
      service(ns, 'one', {
        containerConcurrency: 1,
        annotations: { ...fastWindow, 'autoscaling.knative.dev/max-scale': '3' },
        env: { SLEEP_MS: '100' },
      }),
    );
    await h.waitUntil('one ready', (x) => isReady(x.status('Service', ns, 'one')));

    const replies = await getMany(h.plane.routeUrl(ns, 'one'), 60, 12);
    expect(replies.filter((r) => r.status !== 200)).toEqual([]);
    // Every replica saw itself as its only request in flight, whatever the load.
    expect(Math.max(...replies.map((r) => r.concurrent))).toBe(1);
    expect(replies.every((r) => r.concurrent === 1)).toBe(true);
    // 12 clients on at most 3 replicas of concurrency 1: some requests must have waited.
    expect(Math.max(...replies.map((r) => r.ms))).toBeGreaterThanOrEqual(200);
    expect(new Set(replies.map((r) => r.pid)).size).toBeLessThanOrEqual(3);
  });

  it('reports a revision whose process exits at start as Ready=False with the exit code and its last log lines', {
    timeout: 60_000,
  }, async () => {
    const h = await ServingHarness.start({ scaleToZeroGraceMs: 1_000 });
    const ns = unique('crash');
    h.put(service(ns, 'broken', { annotations: fastWindow, env: { CRASH_AT_START: '3' } }));
    await h.waitUntil('broken-00001 failed', (x) => {
      const rev = x.status('Revision', ns, 'broken-00001');
      return rev !== undefined && readyCondition(rev)?.status === 'False';
    });

    const runtime = h.runtimeStatus(ns, 'broken-00001');
    expect(runtime?.failure?.exitCode).toBe(3);
    expect(runtime?.everReady).toBe(false);
    const healthy = runtime?.conditions.find((c) => c.type === 'ContainerHealthy');
    expect(healthy?.status).toBe('False');

    const ready = readyCondition(h.status('Revision', ns, 'broken-00001')!);
    expect(ready?.reason).toBe('ExitCode3');
    expect(ready?.message).toMatch(/code 3\b/);
    expect(ready?.message).toContain('fatal: cannot open /etc/eddy-fixture/config.json');

    const svc = h.status('Service', ns, 'broken');
    expect(readyCondition(svc!)?.status).toBe('False');
    expect(readyCondition(svc!)?.reason).toBe('RevisionFailed');
    expect(readyCondition(svc!)?.message).toContain('fatal: cannot open');
    expect(svc?.latestReadyRevisionName).toBeUndefined();
    expect(svc?.latestCreatedRevisionName).toBe('broken-00001');
  });
});
