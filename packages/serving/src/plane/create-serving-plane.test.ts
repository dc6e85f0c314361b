// The serving data plane's glue with the real process runtime, router and autoscaler: replicas are
// real `node` processes on 127.0.0.1, requests go through the real router. The backlog reader is a
// scripted one (the broker's implementation is exercised in test/serving/scaling.test.ts).

import type { ServingRevision } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import pino from 'pino';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { testContract, testRevision } from '../testing/contracts.js';
import { waitFor } from '../testing/wait.js';
import { createServingDataPlane } from './create-serving-plane.js';
import type { ServingDataPlane, ServingDataPlaneOptions } from './serving-plane.js';

const quiet = pino({ level: 'silent' });

const revision = (
  name: string,
  annotations: Record<string, string> = {},
  extra: Partial<ServingRevision> = {},
) => testRevision('plane', name, { annotations, extra });
const contract = (generation: number, revisions: ServingRevision[]) =>
  testContract('plane', generation, revisions);

async function start(options: Partial<ServingDataPlaneOptions> = {}): Promise<ServingDataPlane> {
  const plane = await createServingDataPlane({ logger: quiet, tickMs: 200, ...options });
  onTestFinished(() => plane.close(), 30_000);
  return plane;
}

const statusOf = (plane: ServingDataPlane, name: string) => plane.statuses().find((s) => s.name === name);

describe('createServingDataPlane', () => {
  it('deploys at initial scale, routes, reports status and metrics, and undeploys a removed revision', {
    timeout: 30_000,
  }, async () => {
    const registry = new Registry();
    const plane = await start({ registry });
    let notified = 0;
    plane.subscribe(() => notified++);
    await plane.apply(contract(1, [revision('svc-00001', { 'autoscaling.knative.dev/min-scale': '1' })]));
    await waitFor('ready', () => statusOf(plane, 'svc-00001')?.readyReplicas === 1);
    const status = statusOf(plane, 'svc-00001');
    expect(status?.everReady).toBe(true);
    expect(status?.desiredReplicas).toBe(1);
    expect(status?.conditions.map((c) => [c.type, c.status])).toEqual([
      ['Active', 'True'],
      ['ContainerHealthy', 'True'],
      ['ResourcesAvailable', 'True'],
    ]);
    expect(notified).toBeGreaterThan(0);

    const response = await request(plane.routeUrl('plane', 'svc'));
    expect(response.statusCode).toBe(200);
    expect(await response.body.text()).toBe('svc-00001');

    await waitFor('a decision', () => plane.decisions('plane', 'svc-00001').length > 0);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/eddy_serving_ready_replicas\{namespace="plane",revision="svc-00001"\} 1/);
    expect(metrics).toMatch(
      /eddy_serving_scaling_decisions_total\{namespace="plane",revision="svc-00001",reason="(http|bounds|hold)"\} [1-9]/,
    );

    // An older generation changes nothing; a newer one without the revision stops it.
    await plane.apply(contract(0, []));
    expect(statusOf(plane, 'svc-00001')).toBeDefined();
    await plane.apply(contract(2, []));
    expect(statusOf(plane, 'svc-00001')).toBeUndefined();
    // The plane's own series of the removed revision are gone.
    expect(await registry.metrics()).not.toMatch(
      /eddy_serving_(desired_replicas|ready_replicas|lag|scaling_decisions_total)\{[^}]*svc-00001/,
    );
  });

  it('scales from zero at once when a request waits, without waiting for the tick', {
    timeout: 30_000,
  }, async () => {
    // A tick far longer than the test: only the activator's demand can start the replica.
    const plane = await start({ tickMs: 60_000 });
    await plane.apply(contract(1, [revision('svc-00001', { 'autoscaling.knative.dev/initial-scale': '0' })]));
    expect(statusOf(plane, 'svc-00001')?.actualReplicas).toBe(0);
    expect(statusOf(plane, 'svc-00001')?.conditions.find((c) => c.type === 'Active')?.reason).toBe(
      'NoTraffic',
    );
    const response = await request(plane.routeUrl('plane', 'svc'), { headersTimeout: 20_000 });
    expect(response.statusCode).toBe(200);
    expect(await response.body.text()).toBe('svc-00001');
    const decisions = plane.decisions('plane', 'svc-00001');
    expect(decisions.at(-1)?.desired).toBeGreaterThanOrEqual(1);
  });

  it('scales on backlog (lag x share, capped by maxReplicasCap), keeps the last lag on read errors, and returns to zero', {
    timeout: 40_000,
  }, async () => {
    let lag = 5_000;
    let failing: false | 'error' | 'hang' = false;
    const reads: string[] = [];
    const logLines: { level: number; msg: string }[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => void logLines.push(JSON.parse(line) as { level: number; msg: string }) },
    );
    const plane = await start({
      logger,
      maxReplicasCap: 3,
      backlog: {
        lag: async (routeId) => {
          reads.push(routeId);
          if (failing === 'error') throw new Error('log unavailable');
          if (failing === 'hang') return new Promise<number>(() => undefined);
          return lag;
        },
      },
    });
    await plane.apply(
      contract(1, [
        revision(
          'svc-00001',
          { 'autoscaling.knative.dev/initial-scale': '0', 'autoscaling.eddy.dev/lag-target': '100' },
          { backlog: [{ routeId: 'triggers/plane/t', group: 'g', topic: 't', share: 0.5 }] },
        ),
      ]),
    );
    await waitFor('3 ready (capped)', () => statusOf(plane, 'svc-00001')?.readyReplicas === 3, {
      timeoutMs: 20_000,
      describe: () => statusOf(plane, 'svc-00001'),
    });
    const s = statusOf(plane, 'svc-00001');
    expect(s?.lag).toBe(2_500);
    expect(s?.desiredReplicas).toBe(3);
    expect(s?.lastDecision?.reason).toBe('backlog');
    expect(s?.lastDecision?.desired).toBe(25);
    expect(reads).toContain('triggers/plane/t');
    // The decision is logged with its reason and detail, and the cap once as a warning.
    expect(
      logLines.filter((l) => /^plane\/svc-00001: 25 replicas \(backlog\): backlog 2500\b/.test(l.msg)),
    ).toHaveLength(1);
    const capped = logLines.filter((l) => l.level === 40 && l.msg.includes('capped at 3'));
    expect(capped).toHaveLength(1);
    expect(capped[0]?.msg).toContain('max-scale unbounded');

    failing = 'error';
    await sleep(600);
    expect(logLines.filter((l) => l.msg.includes('cannot read backlog lag'))).toHaveLength(1);
    expect(statusOf(plane, 'svc-00001')?.lag).toBe(2_500);
    expect(statusOf(plane, 'svc-00001')?.readyReplicas).toBe(3);

    // A read that never answers times out (2 s) and the ticks go on with the last value.
    failing = 'hang';
    const before = plane.statuses()[0]?.lastDecision?.at;
    await sleep(2_600);
    expect(plane.statuses()[0]?.lastDecision?.at).not.toBe(before);
    expect(statusOf(plane, 'svc-00001')?.lag).toBe(2_500);

    failing = false;
    lag = 0;
    await waitFor('back at zero', () => statusOf(plane, 'svc-00001')?.actualReplicas === 0, {
      timeoutMs: 25_000,
      describe: () => statusOf(plane, 'svc-00001'),
    });
    expect(plane.decisions('plane', 'svc-00001').some((d) => d.desired === 0)).toBe(true);
  });

  it('reports a replica that exits at start in statuses() and answers its requests 503 with the reason at once', {
    timeout: 30_000,
  }, async () => {
    const plane = await start();
    const crashing = revision(
      'svc-00001',
      {},
      {
        args: ['-e', "console.error('boom: no config'); process.exit(4)"],
      },
    );
    await plane.apply(contract(1, [crashing]));
    await waitFor('failure', () => statusOf(plane, 'svc-00001')?.failure !== undefined);
    const status = statusOf(plane, 'svc-00001');
    expect(status?.failure?.exitCode).toBe(4);
    const healthy = status?.conditions.find((c) => c.type === 'ContainerHealthy');
    expect(healthy?.status).toBe('False');
    expect(healthy?.reason).toBe('ExitCode4');
    expect(healthy?.message).toContain('boom: no config');
    expect(status?.conditions.find((c) => c.type === 'ResourcesAvailable')?.status).toBe('False');

    const started = Date.now();
    const response = await request(plane.routeUrl('plane', 'svc'), { headersTimeout: 20_000 });
    expect(response.statusCode).toBe(503);
    expect(await response.body.text()).toContain('ExitCode4');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reports a revision the runtime cannot run without disturbing the others', {
    timeout: 30_000,
  }, async () => {
    const plane = await start();
    const good = revision('svc-00001', { 'autoscaling.knative.dev/min-scale': '1' });
    const bad = revision('svc-00002', {}, { command: [] });
    await plane.apply(contract(1, [good, bad]));
    const rejected = statusOf(plane, 'svc-00002');
    expect(rejected?.failure?.reason).toBe('CannotRun');
    expect(rejected?.conditions.find((c) => c.type === 'ContainerHealthy')?.status).toBe('False');
    await waitFor('good ready', () => statusOf(plane, 'svc-00001')?.readyReplicas === 1);
    const response = await request(plane.routeUrl('plane', 'svc'));
    expect(await response.body.text()).toBe('svc-00001');
    // Removing it drops its status.
    await plane.apply(contract(2, [good]));
    expect(statusOf(plane, 'svc-00002')).toBeUndefined();
  });
});
