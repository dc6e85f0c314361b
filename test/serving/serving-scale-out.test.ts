// Serving scaled out, as deployed (packages/cli/dist/main.js): one `eddy serving` primary (replicas,
// the one autoscaler per revision, its own router) and extra `eddy serving --role router` processes
// following the same contract file, each on a port of its own here so a test knows which router a
// request went through. Requests through every router reach the revision; the primary's autoscaler
// sees the concurrency of all routers summed; a request held by an extra router scales a revision at
// zero up; containerConcurrency 1 holds per replica across the routers; a SIGKILLed router drops out
// of the primary's sum and of the capacity split while the others keep serving.

import { writeFileSync } from 'node:fs';
import type { ServingRevision } from '@eddy/api';
import type { EndpointsDocument } from '@eddy/serving';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { testContract, testRevision } from '../../packages/serving/src/testing/contracts.ts';
import { eddyJs } from '../broker/data-plane-processes.ts';
import { freshDir } from '../broker/helpers.ts';
import { freePorts } from '../harness/free-ports.ts';
import { type NodeProcess, spawnNodeScript } from '../harness/node-process.ts';
import { unique, waitFor } from './helpers.ts';

/**
 * Answers `<revision> <pid> <most concurrent requests it ever had>` after `?ms=` milliseconds: the
 * replica itself says whether containerConcurrency was exceeded.
 */
const SERVER = `let active = 0, most = 0;
const s = require('node:http').createServer((q, r) => {
  active++; most = Math.max(most, active);
  const ms = Number(new URL(q.url, 'http://x').searchParams.get('ms') || 0);
  setTimeout(() => { active--; r.end(process.env.K_REVISION + ' ' + process.pid + ' ' + most); }, ms);
}).listen(+process.env.PORT, '127.0.0.1');
process.on('SIGTERM', () => s.close(() => process.exit(0)));`;

const revision = (
  ns: string,
  annotations: Record<string, string>,
  extra: Partial<ServingRevision> = {},
): ServingRevision =>
  testRevision(ns, 'svc-00001', {
    script: SERVER,
    annotations,
    extra: { terminationGraceMs: 3_000, ...extra },
  });

interface Member {
  process: NodeProcess;
  url: string;
  probes: string;
}

interface ScaleOut {
  primary: Member;
  routers: Member[];
  stop(): Promise<void>;
}

const serving = (args: string[]) => spawnNodeScript(eddyJs, ['serving', ...args]);

async function text(
  url: string,
  init: { signal?: AbortSignal } = {},
): Promise<{ status: number; body: string }> {
  const response = await request(url, init);
  return { status: response.statusCode, body: await response.body.text() };
}

/** The value of a per-revision gauge on a /metrics page. */
function gauge(page: string, name: string, revision = 'svc-00001'): number | undefined {
  const match = new RegExp(`^${name}\\{[^}]*revision="${revision}"[^}]*\\} (\\S+)$`, 'm').exec(page);
  return match ? Number(match[1]) : undefined;
}

async function endpoints(primary: Member): Promise<EndpointsDocument> {
  return JSON.parse((await text(`${primary.probes}/v1/endpoints`)).body) as EndpointsDocument;
}

/** A primary and `count` extra routers on one contract file; resolves once every router is ready and counted. */
async function startScaleOut(
  ns: string,
  rev: ServingRevision,
  options: { routers: number; primaryArgs?: string[]; routerArgs?: string[] },
): Promise<ScaleOut> {
  const file = `${freshDir('scale-out')}.json`;
  writeFileSync(file, JSON.stringify(testContract(ns, 1, [rev])));
  const ports = await freePorts(2 + 2 * options.routers);
  const member = (process: NodeProcess, i: number): Member => ({
    process,
    url: `http://127.0.0.1:${ports[2 * i]}`,
    probes: `http://127.0.0.1:${ports[2 * i + 1]}`,
  });
  const common = (i: number) => [
    '--contract',
    file,
    '--port',
    String(ports[2 * i]),
    '--probe-port',
    String(ports[2 * i + 1]),
  ];
  const primary = member(
    serving([
      ...common(0),
      '--member-id',
      'serving-1',
      '--tick-ms',
      '200',
      '--log-level',
      'info',
      ...(options.primaryArgs ?? []),
    ]),
    0,
  );
  await primary.process.waitForLine(/serving listening on http:\/\/127\.0\.0\.1:\d+ /);
  const routers = Array.from({ length: options.routers }, (_, k) =>
    member(
      serving([
        ...common(k + 1),
        '--role',
        'router',
        '--primary',
        primary.probes,
        '--member-id',
        `router-${k + 2}`,
        '--push-interval-ms',
        '200',
        '--log-level',
        'info',
        ...(options.routerArgs ?? []),
      ]),
      k + 1,
    ),
  );
  for (const router of routers)
    await waitFor(
      'the router ready and counted by the primary',
      async () => {
        const ready = await text(`${router.probes}/readyz`);
        return ready.status === 200 && JSON.parse(ready.body).routers === options.routers + 1;
      },
      // Generous: a process start on a loaded shared machine has taken more than 20 s (CI, 2026-12-07).
      { timeoutMs: 45_000, ignoreErrors: true, describe: () => router.process.output.slice(-5) },
    );
  const stop = async () => {
    for (const m of [...routers, primary])
      if (m.process.child.exitCode === null && m.process.child.signalCode === null)
        m.process.child.kill('SIGTERM');
    await Promise.all([...routers, primary].map((m) => m.process.exited));
  };
  return { primary, routers, stop };
}

/** Every router, the primary's included, has the endpoints generation the primary publishes now. */
async function allRoutersCurrent(
  scaleOut: ScaleOut,
  check: (doc: EndpointsDocument) => boolean,
): Promise<void> {
  await waitFor(
    'every router on the current endpoints',
    async () => {
      const doc = await endpoints(scaleOut.primary);
      if (!check(doc)) return false;
      for (const router of scaleOut.routers) {
        const ready = JSON.parse((await text(`${router.probes}/readyz`)).body) as { endpoints: number };
        if (ready.endpoints !== doc.generation) return false;
      }
      return true;
    },
    { timeoutMs: 30_000, ignoreErrors: true },
  );
}

describe('eddy serving scaled out (a primary and extra --role router processes)', () => {
  it('routes through every router and sums both routers’ concurrency in the primary’s autoscaler', {
    timeout: 90_000,
  }, async () => {
    const ns = unique('sco');
    // Target 1 concurrent request per replica: the desired replicas count the requests in flight.
    const rev = revision(ns, {
      'autoscaling.knative.dev/min-scale': '1',
      'autoscaling.knative.dev/target': '1',
      'autoscaling.knative.dev/target-utilization-percentage': '100',
    });
    const so = await startScaleOut(ns, rev, { routers: 2 });
    try {
      for (const m of [so.primary, ...so.routers]) {
        const answer = await waitFor('an answer through the router', async () => {
          const r = await text(`${m.url}/${ns}/svc`);
          return r.status === 200 ? r : undefined;
        });
        expect(answer.body).toMatch(/^svc-00001 \d+ \d+$/);
      }
      expect((await endpoints(so.primary)).routers).toEqual(['router-2', 'router-3', 'serving-1']);

      // 4 long requests held through each extra router, none through the primary's own.
      const held = so.routers.flatMap((m) =>
        Array.from({ length: 4 }, () => text(`${m.url}/${ns}/svc?ms=8000`)),
      );
      const summed = await waitFor(
        'the primary measuring the concurrency of both routers',
        async () => {
          const page = (await text(`${so.primary.probes}/metrics`)).body;
          const concurrency = gauge(page, 'eddy_serving_concurrency') ?? 0;
          const desired = gauge(page, 'eddy_serving_desired_replicas') ?? 0;
          // Each router alone has 4 in flight: more than 6 (and a wish for more than 4 replicas)
          // only the sum explains.
          return concurrency > 6 && desired > 4 ? { concurrency, desired } : undefined;
        },
        { timeoutMs: 7_000, intervalMs: 100 },
      );
      expect(summed.concurrency).toBeLessThanOrEqual(8.5);
      // The primary's own router carried none of it.
      expect(gauge((await text(`${so.primary.probes}/metrics`)).body, 'eddy_serving_in_flight')).toBe(0);
      for (const r of await Promise.all(held)) expect(r.status).toBe(200);
    } finally {
      await so.stop();
    }
  });

  it('scales a revision at zero up for a request held by an extra router, and serves it', {
    timeout: 60_000,
  }, async () => {
    const ns = unique('scz');
    const rev = revision(ns, { 'autoscaling.knative.dev/initial-scale': '0' });
    // A tick longer than the test: only the router's demand can start a replica.
    const so = await startScaleOut(ns, rev, { routers: 1, primaryArgs: ['--tick-ms', '60000'] });
    try {
      const before = await endpoints(so.primary);
      expect(before.revisions).toEqual([
        { namespace: ns, name: 'svc-00001', containerConcurrency: 0, replicas: [] },
      ]);
      const started = Date.now();
      const answer = await text(`${so.routers[0]!.url}/${ns}/svc`);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatch(/^svc-00001 /);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect((await endpoints(so.primary)).revisions[0]?.replicas).toHaveLength(1);
      await so.primary.process.waitForLine(/svc-00001: 1 replicas/);
    } finally {
      await so.stop();
    }
  });

  it('keeps containerConcurrency 1 per replica across the routers: no replica ever has 2 requests', {
    timeout: 90_000,
  }, async () => {
    const ns = unique('scc');
    // Three routers (the primary's and two extra ones), three replicas: each router owns one.
    const rev = revision(
      ns,
      { 'autoscaling.knative.dev/min-scale': '3', 'autoscaling.knative.dev/max-scale': '3' },
      { containerConcurrency: 1 },
    );
    const so = await startScaleOut(ns, rev, { routers: 2 });
    try {
      await allRoutersCurrent(
        so,
        (doc) => doc.routers.length === 3 && doc.revisions[0]?.replicas.length === 3,
      );
      const burst = [so.primary, ...so.routers].flatMap((m) =>
        Array.from({ length: 8 }, () => text(`${m.url}/${ns}/svc?ms=150`)),
      );
      const answers = await Promise.all(burst);
      const most = new Map<string, number>();
      for (const a of answers) {
        expect(a.status).toBe(200);
        const [, pid = '', count = '0'] = a.body.split(' ');
        most.set(pid, Math.max(most.get(pid) ?? 0, Number(count)));
      }
      // Every replica served, and none ever had two requests at once.
      expect(most.size).toBe(3);
      expect([...most.values()]).toEqual([1, 1, 1]);
    } finally {
      await so.stop();
    }
  });

  it('drops a SIGKILLed router from the sum and the split after its timeout; the others keep serving', {
    timeout: 90_000,
  }, async () => {
    const ns = unique('sck');
    const rev = revision(ns, { 'autoscaling.knative.dev/min-scale': '1' });
    const so = await startScaleOut(ns, rev, { routers: 2, primaryArgs: ['--router-timeout-ms', '1500'] });
    try {
      const [a, b] = so.routers as [Member, Member];
      // Requests held through router-3 only: the primary sees them while it pushes.
      const held = Array.from({ length: 3 }, () =>
        text(`${b.url}/${ns}/svc?ms=20000`).catch((error: unknown) => ({ status: 0, body: String(error) })),
      );
      await waitFor(
        "the primary counting router-3's requests",
        async () =>
          (gauge((await text(`${so.primary.probes}/metrics`)).body, 'eddy_serving_concurrency') ?? 0) > 2.5,
        { timeoutMs: 10_000, intervalMs: 100 },
      );
      b.process.child.kill('SIGKILL');
      const killed = Date.now();
      await waitFor(
        'router-3 gone from the live routers',
        async () => !(await endpoints(so.primary)).routers.includes('router-3'),
        10_000,
      );
      // Not before its 1.5 s timeout ran out (the kill is no goodbye).
      expect(Date.now() - killed).toBeGreaterThanOrEqual(1_000);
      expect((await endpoints(so.primary)).routers).toEqual(['router-2', 'serving-1']);
      await so.primary.process.waitForLine(/router router-3 pushed no stats for \d+ ms/);
      await waitFor(
        "router-3's stats out of the primary's sum",
        async () => {
          const page = (await text(`${so.primary.probes}/metrics`)).body;
          return (
            (gauge(page, 'eddy_serving_concurrency') ?? 1) < 0.5 && /^eddy_serving_routers 2$/m.test(page)
          );
        },
        10_000,
      );
      for (const m of [a, so.primary]) {
        const r = await text(`${m.url}/${ns}/svc`);
        expect(r.status).toBe(200);
      }
      for (const r of await Promise.all(held)) expect(r.status).not.toBe(200);
    } finally {
      await so.stop();
    }
  });
});
