// The primary's router decorator with a real router underneath: what it publishes to the extra
// routers (endpoints feed), how it counts them (stats pushes, timeout), the demand they pass on, and
// the HTTP routes with their token and 400s.

import { sleep } from '@eddy/runtime';
import Fastify from 'fastify';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createRouter } from '../router/create-router.js';
import type { RevisionStats } from '../router/router.js';
import { PrimaryRouter } from './primary-router.js';
import type { EndpointsDocument } from './scale-out.js';

const quiet = pino({ level: 'silent' });
const stat = (concurrency: number): RevisionStats => ({
  namespace: 'ns',
  revision: 'svc-00001',
  concurrency,
  rps: concurrency,
  inFlight: concurrency,
  queued: 0,
});

async function primary(routerTimeoutMs = 300): Promise<PrimaryRouter> {
  const router = new PrimaryRouter(await createRouter({ logger: quiet }), {
    id: 'serving-1',
    routerTimeoutMs,
    logger: quiet,
    registry: new Registry(),
  });
  onTestFinished(() => router.close());
  router.update(
    [{ namespace: 'ns', name: 'svc-00001', containerConcurrency: 2, timeoutMs: 5_000 }],
    [{ namespace: 'ns', name: 'svc', traffic: [{ revisionName: 'svc-00001', percent: 100 }] }],
  );
  return router;
}

const current = (router: PrimaryRouter) => router.endpoints.current as EndpointsDocument;

describe('PrimaryRouter', () => {
  it('publishes ready replicas, failures and the live routers as new generations', async () => {
    const router = await primary();
    await sleep(0);
    const first = current(router);
    expect(first).toMatchObject({
      routers: ['serving-1'],
      revisions: [{ namespace: 'ns', name: 'svc-00001', containerConcurrency: 2, replicas: [] }],
    });
    router.setReplicas('ns', 'svc-00001', [
      { id: 'ns/svc-00001#1', url: 'http://127.0.0.1:1', ready: true },
      { id: 'ns/svc-00001#2', url: 'http://127.0.0.1:2', ready: false },
    ]);
    router.setFailure('ns', 'svc-00001', 'ExitCode1: boom');
    await sleep(0);
    const second = current(router);
    // One generation for both changes, newer than the first.
    expect(second.generation).toBeGreaterThan(first.generation);
    expect(second.revisions[0]).toEqual({
      namespace: 'ns',
      name: 'svc-00001',
      containerConcurrency: 2,
      replicas: [{ id: 'ns/svc-00001#1', url: 'http://127.0.0.1:1' }],
      failure: 'ExitCode1: boom',
    });
    // The same again is no new generation.
    router.setFailure('ns', 'svc-00001', 'ExitCode1: boom');
    await sleep(0);
    expect(current(router).generation).toBe(second.generation);
  });

  it('sums the fresh pushes into takeStats, counts a silent router out after its timeout, passes demand on', async () => {
    const router = await primary(300);
    const demanded: string[] = [];
    router.onDemand((ns, revision) => demanded.push(`${ns}/${revision}`));
    router.acceptStats({ router: 'router-2', stats: [stat(2)] });
    router.acceptStats({
      router: 'router-3',
      stats: [stat(3)],
      demand: [{ namespace: 'ns', revision: 'svc-00001' }],
    });
    expect(demanded).toEqual(['ns/svc-00001']);
    expect(router.routers()).toEqual(['router-2', 'router-3', 'serving-1']);
    await sleep(0);
    expect(current(router).routers).toEqual(['router-2', 'router-3', 'serving-1']);
    expect(router.takeStats().find((s) => s.revision === 'svc-00001')?.concurrency).toBe(5);
    // router-3 keeps pushing, router-2 falls silent: gone after 300 ms, without a tick.
    const keepAlive = setInterval(() => router.acceptStats({ router: 'router-3', stats: [stat(3)] }), 50);
    onTestFinished(() => clearInterval(keepAlive));
    await sleep(600);
    expect(router.routers()).toEqual(['router-3', 'serving-1']);
    expect(current(router).routers).toEqual(['router-3', 'serving-1']);
    expect(router.takeStats().find((s) => s.revision === 'svc-00001')?.concurrency).toBeCloseTo(3, 9);
    // A router that says it leaves is out at once.
    router.acceptStats({ router: 'router-3', stats: [], leaving: true });
    clearInterval(keepAlive);
    expect(router.routers()).toEqual(['serving-1']);
  });

  it('sums the stats of a router that takes no share, and splits containerConcurrency among the others only', async () => {
    const registry = new Registry();
    const router = new PrimaryRouter(await createRouter({ logger: quiet }), {
      id: 'serving-1',
      routerTimeoutMs: 5_000,
      logger: quiet,
      registry,
    });
    onTestFinished(() => router.close());
    router.acceptStats({ router: 'dispatcher-1', stats: [stat(4)], share: false });
    router.acceptStats({ router: 'router-2', stats: [stat(1)] });
    expect(router.routers()).toEqual(['router-2', 'serving-1']);
    await sleep(0);
    expect(current(router).routers).toEqual(['router-2', 'serving-1']);
    expect(router.takeStats().find((s) => s.revision === 'svc-00001')?.concurrency).toBe(5);
    // Every router whose traffic counts, sharing or not.
    expect(await registry.metrics()).toMatch(/^eddy_serving_routers 3$/m);
    // A router that starts sharing (the same id, now pushing share true) joins the split.
    router.acceptStats({ router: 'dispatcher-1', stats: [stat(4)] });
    expect(router.routers()).toEqual(['dispatcher-1', 'router-2', 'serving-1']);
    router.acceptStats({ router: 'dispatcher-1', stats: [], share: false });
    expect(router.routers()).toEqual(['router-2', 'serving-1']);
    expect(() => router.acceptStats({ router: 'r', stats: [], share: 'no' })).toThrow(
      'stats push: "share" must be a boolean',
    );
  });

  it('serves the feed and the stats with its token; a bad push is 400 naming the field', async () => {
    const router = await primary();
    const app = Fastify();
    router.registerRoutes(app, 'secret');
    onTestFinished(() => app.close());
    const auth = { authorization: 'Bearer secret' };
    expect((await app.inject({ method: 'GET', url: '/v1/endpoints' })).statusCode).toBe(401);
    const polled = await app.inject({ method: 'GET', url: '/v1/endpoints?after=-1', headers: auth });
    expect(polled.statusCode).toBe(200);
    expect(polled.json()).toMatchObject({ routers: ['serving-1'] });
    const push = (payload: unknown) =>
      app.inject({ method: 'POST', url: '/v1/stats', headers: auth, payload: payload as object });
    expect((await push({ router: 'router-2', stats: [stat(1)], windowMs: 1000 })).statusCode).toBe(204);
    const bad = await push({ router: 'router-2', stats: [{ ...stat(1), rps: -1 }] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ error: 'stats push: stats[0].rps must be a number >= 0, got -1' });
    expect((await push({ router: 'serving-1', stats: [] })).json()).toEqual({
      error: 'stats push: router "serving-1" is the primary\'s own id',
    });
    expect((await push({ stats: [] })).json()).toEqual({
      error: 'stats push: "router" must be a non-empty string',
    });
    // A restarted router (a new instance) takes its id over; the old instance pushing again means two
    // processes share the id: refused, naming the flag.
    expect((await push({ router: 'router-3', instance: 'a', stats: [] })).statusCode).toBe(204);
    expect((await push({ router: 'router-3', instance: 'b', stats: [] })).statusCode).toBe(204);
    const taken = await push({ router: 'router-3', instance: 'a', stats: [] });
    expect(taken.statusCode).toBe(409);
    expect(taken.json()).toEqual({
      error: 'another router process pushes stats as "router-3": give each router its own --member-id',
    });
    expect((await push({ router: 'router-3', instance: 'b', stats: [] })).statusCode).toBe(204);
  });
});
