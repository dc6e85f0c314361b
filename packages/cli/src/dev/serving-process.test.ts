// `eddy dev --kafka` with serving as a process (serving-process.ts), in process against the shared
// Kafka: the broker as ingress and dispatcher processes, the router/autoscaler/replicas as one `eddy
// serving` child. A Trigger to a Service delivers through that process's router, the Service is Ready
// in the store, describe shows the child's autoscaler decisions, and a SIGKILLed serving process is
// restarted (status line) and delivers again. Needs the built CLI (packages/cli/dist).

import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resourceKey, type ServingContract } from '@eddy/api';
import { serveContractFeed, sleep } from '@eddy/runtime';
import type { EndpointsDocument } from '@eddy/serving';
import pino from 'pino';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { testContract, testRevision } from '../../../serving/src/testing/contracts.js';
import type { DescribeResponse, StatusResponse } from '../admin/protocol.js';
import { brokerYaml, nodeTemplate, serviceSubscriber, triggerYaml } from '../testing/manifests.js';
import { startDevServer } from './dev-server.js';
import { RemoteServingPlane } from './serving-process.js';
import { admin, Cleanups } from './testing/dev-test-kit.js';
import { waitFor } from './testing/wait.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

describe('RemoteServingPlane.apply (the feed side, the process not started)', () => {
  it('numbers the feed generations itself, waits for the process to run one, rejects with its error', async () => {
    const plane = await RemoteServingPlane.create({
      host: '127.0.0.1',
      port: 0,
      kafka: ['127.0.0.1:9'],
      logger: pino({ level: 'silent' }),
      print: () => {},
      applyTimeoutMs: 5_000,
    });
    cleanups.push(() => plane.close());
    expect(plane.routeUrl('ns', 'svc')).toBe(`${plane.url}/ns/svc`);
    expect(plane.tagUrl('ns', 'svc', 'next')).toBe(`${plane.url}/ns/next-svc`);
    const member = (applied: number, error?: string) =>
      plane.feed.report({ id: 'serving-1', component: 'serving', applied, ...(error ? { error } : {}) });
    const empty: ServingContract = { generation: 7, revisions: [], routes: [] };
    const first = plane.apply(empty);
    expect(plane.feed.current?.generation).toBe(1);
    member(1);
    await first;
    // The same contract again: nothing new to run.
    await plane.apply(empty);
    expect(plane.feed.current?.generation).toBe(1);
    // The same serving generation with other content (backlog routes changed) is new to the process.
    const routed = { ...empty, routes: [{ namespace: 'ns', name: 'svc', traffic: [] }] };
    const second = plane.apply(routed);
    expect(plane.feed.current).toMatchObject({ generation: 2, routes: routed.routes });
    member(2, 'revisions[0]: cannot run');
    await expect(second).rejects.toThrow('serving process serving-1: revisions[0]: cannot run');
    // An older serving generation is ignored, as the in-process plane does.
    await plane.apply({ ...empty, generation: 6 });
    expect(plane.feed.current?.generation).toBe(2);
  });
});

describe('RemoteServingPlane with routers (eddy dev --kafka --routers 3)', () => {
  it('runs the serving process and two --role router processes on one port, counted by the primary; a SIGKILLed router is restarted', async () => {
    const lines: string[] = [];
    const plane = await RemoteServingPlane.create({
      host: '127.0.0.1',
      port: 0,
      kafka: inject('kafkaBrokers'),
      routers: 3,
      logger: pino({ level: 'silent' }),
      print: (l) => lines.push(l),
    });
    cleanups.push(() => plane.close());
    const token = 'scale-out-token';
    const feed = await serveContractFeed(plane.feed, { token, path: '/v1/contract/serving' });
    cleanups.push(() => feed.close());
    plane.start(feed.url, token);
    const ns = `svr-${randomUUID().slice(0, 8)}`;
    await plane.apply(
      testContract(ns, 1, [
        testRevision(ns, 'svc-00001', { annotations: { 'autoscaling.knative.dev/min-scale': '1' } }),
      ]),
    );
    expect(plane.summary()).toBe('1/1 serving, 2/2 routers');
    const members = await waitFor(
      'the three processes on the feed',
      () => {
        const m = plane.members();
        return m.length === 3 && m.every((p) => (p.generation ?? 0) >= 1) ? m : undefined;
      },
      30_000,
    );
    expect(members.map((m) => [m.id, m.component])).toEqual([
      ['router-2', 'router'],
      ['router-3', 'router'],
      ['serving-1', 'serving'],
    ]);
    // The primary counts both routers (they push their stats); its routes want the feed's token.
    const primary = plane.primaryUrl ?? '';
    const routers = async () => {
      const res = await request(`${primary}/v1/endpoints`, { headers: { authorization: `Bearer ${token}` } });
      return ((await res.body.json()) as EndpointsDocument).routers;
    };
    expect((await request(`${primary}/v1/endpoints`)).statusCode).toBe(401);
    await waitFor('both routers counted', async () => (await routers()).length === 3, 20_000);

    // One port, three listeners: every connection (a new one each time) reaches the revision.
    const get = async () => {
      const agent = new Agent({ pipelining: 0 });
      try {
        const res = await request(plane.routeUrl(ns, 'svc'), { dispatcher: agent });
        return { status: res.statusCode, body: await res.body.text() };
      } finally {
        await agent.close();
      }
    };
    await waitFor('the replica ready', async () => (await get()).status === 200, 30_000);
    for (let i = 0; i < 30; i++) expect(await get()).toEqual({ status: 200, body: 'svc-00001' });
    // Not all of them went through the primary's own router.
    const metrics = await (await request(`${primary}/metrics`)).body.text();
    const served =
      /^eddy_serving_requests_total\{[^}]*revision="svc-00001"[^}]*code="200"[^}]*\} (\d+)$/m.exec(metrics);
    // At least 31 requests in all (the wait above made one or more); the kernel gave the primary some
    // of the connections (31 all elsewhere: a chance of (2/3)^31), and the routers the rest.
    expect(served).not.toBeNull();
    expect(Number(served?.[1])).toBeLessThan(30);

    // A router killed without a goodbye: restarted with a status line, counted again.
    const router2 = members.find((m) => m.id === 'router-2');
    process.kill(router2!.pid!, 'SIGKILL');
    await waitFor('the restart line', () =>
      lines.find((l) => /^serving router-2 exited \(signal SIGKILL\); restarting in 1 s/.test(l)),
    );
    await waitFor(
      'router-2 back',
      () =>
        plane
          .members()
          .find((m) => m.id === 'router-2' && m.pid !== router2?.pid && (m.generation ?? 0) >= 1),
      30_000,
    );
    expect(plane.summary()).toBe('1/1 serving, 2/2 routers (1 restart)');
    await waitFor('router-2 counted again', async () => (await routers()).includes('router-2'), 20_000);
    for (let i = 0; i < 10; i++) expect((await get()).status).toBe(200);

    // The primary killed, its replica with it: the routers hold the requests that come meanwhile
    // (not 502 from the dead replica) until the restarted primary publishes a new replica (a newer
    // endpoints generation, from the clock), and are counted again.
    const primaryPid = plane.members().find((m) => m.id === 'serving-1')?.pid;
    process.kill(primaryPid!, 'SIGKILL');
    await waitFor('the primary restart line', () =>
      lines.find((l) => /^serving serving-1 exited \(signal SIGKILL\); restarting in 1 s/.test(l)),
    );
    await sleep(300);
    const duringRestart = await Promise.all(Array.from({ length: 6 }, () => get()));
    expect(duringRestart).toEqual(Array.from({ length: 6 }, () => ({ status: 200, body: 'svc-00001' })));
    await waitFor(
      'the routers counted by the new primary',
      async () => (await routers().catch(() => [])).length === 3,
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    await waitFor('served again', async () => (await get()).status === 200, 30_000);
    for (let i = 0; i < 20; i++) expect(await get()).toEqual({ status: 200, body: 'svc-00001' });
  }, 120_000);
});

describe('eddy dev --kafka with serving as a process', () => {
  it('delivers a Trigger to a Service behind the serving process, shows its decisions, survives its SIGKILL', async () => {
    const dir = cleanups.tempDir('eddy-serving-process-');
    const ns = `svp-${randomUUID().slice(0, 8)}`;
    // Says which event it got on stdout: that line comes back through the serving process.
    writeFileSync(
      join(dir, 'sink.cjs'),
      `require('node:http').createServer((req, res) => {
  req.resume();
  req.on('end', () => { console.log('got ' + req.headers['ce-id']); res.statusCode = 202; res.end(); });
}).listen(Number(process.env.PORT), '127.0.0.1');
`,
    );
    const file = join(dir, 'mesh.yaml');
    writeFileSync(
      file,
      `${brokerYaml()}---
${triggerYaml('to-sink', serviceSubscriber('sink'))}---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: sink}
spec:
${nodeTemplate(join(dir, 'sink.cjs'))}`.replace(
        /metadata: \{name: ([\w-]+)\}/g,
        `metadata: {name: $1, namespace: ${ns}}`,
      ),
    );
    const lines: string[] = [];
    const output: string[] = [];
    const server = await startDevServer({
      dataDir: join(dir, '.eddy'),
      files: [file],
      kafka: inject('kafkaBrokers'),
      brokerProcesses: { ingresses: 1, dispatchers: 1, extraArgs: ['--kafka-session-timeout-ms', '6000'] },
      servingProcess: true,
      port: 0,
      watchIntervalMs: 200,
      print: (l) => lines.push(l),
      serviceOutput: ({ revision, line }) => output.push(`${revision} | ${line}`),
    });
    cleanups.push(() => server.close());
    expect(lines.find((l) => l.startsWith('  router '))).toMatch(/serving runs as a process: 1\/1 serving/);

    await waitFor('Service Ready', () => lines.includes(`Service ${ns}/sink  Ready`), 45_000);
    await waitFor('Trigger Ready', () => lines.includes(`Trigger ${ns}/to-sink  Ready`), 20_000);
    const service = server.store.get(resourceKey('Service', ns, 'sink'))?.resource;
    expect(service?.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(service?.status?.url).toBe(`${server.routerUrl}/${ns}/sink`);

    const send = async (id: string) => {
      const res = await request(`${server.ingressUrl}/${ns}/default`, {
        method: 'POST',
        headers: { 'ce-specversion': '1.0', 'ce-type': 'com.example', 'ce-source': 'test', 'ce-id': id },
        body: 'x',
      });
      await res.body.text();
      return res.statusCode;
    };
    expect(await send('before')).toBe(202);
    await waitFor('delivered to the service', () => output.includes('sink-00001 | got before'), 30_000);

    // The serving process's autoscaler decisions, from its status reports, in describe.
    const described = await waitFor(
      'decisions in describe',
      async () => {
        const d = (await admin(server, 'GET', `/v1/describe/Service/${ns}/sink`))
          .body as unknown as DescribeResponse;
        return d.decisions?.length ? d : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    expect(described?.decisions?.[0]).toMatchObject({ revision: 'sink-00001' });

    const status = async () =>
      ((await admin(server, 'GET', '/v1/status')).body as unknown as StatusResponse).servingProcesses ?? [];
    const primary = async () => (await status()).find((m) => m.id === 'serving-1');
    const before = await primary();
    expect(before).toMatchObject({ id: 'serving-1', component: 'serving' });
    expect(before?.generation).toBeGreaterThanOrEqual(1);
    // The dispatcher's own router, on the same feed (it carried the delivery above).
    expect((await status()).find((m) => m.id === 'dispatcher-1')).toMatchObject({ component: 'router' });

    // Killed without a chance to drain: restarted with a status line, it runs the contract again
    // (new replicas) and the Trigger delivers through it.
    process.kill(before!.pid!, 'SIGKILL');
    await waitFor('the restart line', () =>
      lines.find((l) => /^serving serving-1 exited \(signal SIGKILL\); restarting in 1 s/.test(l)),
    );
    await waitFor(
      'serving back with the contract',
      async () => {
        const now = await primary();
        return now !== undefined && now.pid !== before?.pid && (now.generation ?? 0) >= 1;
      },
      30_000,
    );
    expect(await send('after')).toBe(202);
    await waitFor('delivered after the restart', () => output.includes('sink-00001 | got after'), 45_000);
  }, 150_000);
});
