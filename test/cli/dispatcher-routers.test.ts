// `eddy dev --kafka` runs a serving router in each dispatcher process and hands it that process's
// deliveries to Services (commands/dispatcher-main.ts): a Trigger's events reach the Service without
// the serving process's router. Observed from outside, as a user would: /v1/status lists each
// dispatcher as a router on the serving feed (same pid), and the routers' own request counters
// (eddy_serving_requests_total, on each process's metrics port) say who carried the events: the
// dispatchers every one, each its own and as a call (eddy_serving_in_process_requests_total), the
// serving process none; a Service with containerConcurrency 1 goes through the serving process's router
// (the dispatchers' routers take no share of a limit). `--no-dispatcher-routers` is the control: then the
// serving process's router carries them, so the counting would see it if the shortcut broke.

import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { nodeTemplate, serviceSubscriber, triggerYaml } from '../../packages/cli/src/testing/manifests.ts';
import { listeningPorts } from '../harness/listening-ports.ts';
import { waitFor } from '../harness/wait.ts';
import { buildCli, spawnEddyDev } from './helpers.ts';

beforeAll(() => {
  buildCli();
}, 180_000);

const dir = mkdtempSync(join(tmpdir(), 'eddy-dispatcher-routers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const EVENTS = 30;

/** Appends each event's id to $OUT, then answers 200. */
const REPLICA = `import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';
createServer((q, s) => {
  q.resume();
  q.on('end', () => { appendFileSync(process.env.OUT, q.headers['ce-id'] + '\\n'); s.end(); });
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

interface Member {
  id: string;
  component: string;
  pid?: number;
  generation?: number;
}

/** A router counter for `revision`, summed over the process's metrics ports (not `skip`, the shared router port). */
async function counted(pid: number, metric: string, revision: string, skip: number): Promise<number> {
  let sum = 0;
  for (const port of listeningPorts(pid)) {
    if (port === skip) continue;
    const res = await request(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
    const text = res ? await res.body.text() : '';
    if (res?.statusCode !== 200) continue;
    for (const m of text.matchAll(new RegExp(`^${metric}\\{([^}]*)\\} (\\S+)$`, 'gm')))
      if (m[1]?.includes(`revision="${revision}"`)) sum += Number(m[2]);
  }
  return sum;
}

/** The two Services: `svc` unlimited (the dispatchers' routers take it), `limited` at containerConcurrency 1. */
const SERVICES = ['svc', 'limited'] as const;

/**
 * A Broker (2 partitions: both dispatchers get some), a Trigger to each Service, `EVENTS` events sent:
 * how many requests each process's router counted for each Service's revision, and the status.
 */
async function deliverThrough(args: string[]) {
  const name = `dr-${randomUUID().slice(0, 8)}`;
  const out = (service: string) => join(dir, `${name}-${service}.ids`);
  const replica = join(dir, `${name}.mjs`);
  writeFileSync(replica, REPLICA);
  const service = (svc: string) =>
    `apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: ${svc}}\nspec:\n${nodeTemplate(
      replica,
      `          env: [{name: OUT, value: ${JSON.stringify(out(svc))}}]\n${svc === 'limited' ? '      containerConcurrency: 1\n' : ''}`,
    )}`;
  writeFileSync(
    join(dir, `${name}.yaml`),
    [
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}-config}\ndata:\n  default.topic.partitions: "2"\n`,
      `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: ${name}}\nspec:\n  config: {apiVersion: v1, kind: ConfigMap, name: ${name}-config}\n`,
      ...SERVICES.flatMap((svc) => [service(svc), triggerYaml(`to-${svc}`, serviceSubscriber(svc), name)]),
    ].join('---\n'),
  );
  const data = join(dir, `${name}-data`);
  const dev = spawnEddyDev(
    [
      '-f',
      `${name}.yaml`,
      '--kafka',
      inject('kafkaBrokers').join(','),
      '--ingresses',
      '1',
      '--dispatchers',
      '2',
      '--port',
      '0',
      '--data-dir',
      data,
      ...args,
    ],
    dir,
  );
  try {
    const ingress = (await dev.waitFor(/^ {2}ingress {2}http:\/\/127\.0\.0\.1:\d+/, 60_000)).split(/\s+/)[2];
    const routerPort = Number(
      new URL((await dev.waitFor(/^ {2}router {3}http:/)).split(/\s+/)[2] ?? '').port,
    );
    for (const svc of SERVICES) {
      await dev.waitFor(new RegExp(`^Trigger default/to-${svc} {2}Ready$`), 90_000);
      await dev.waitFor(new RegExp(`^Service default/${svc} {2}Ready$`), 60_000);
    }
    const admin = JSON.parse(readFileSync(join(data, 'admin.json'), 'utf8')) as {
      url: string;
      token: string;
    };
    const status = async () =>
      (await (
        await request(`${admin.url}/v1/status`, { headers: { authorization: `Bearer ${admin.token}` } })
      ).body.json()) as { brokerProcesses?: Member[]; servingProcesses?: Member[] };

    const ids = Array.from({ length: EVENTS }, (_, i) => `${name}-${i}`);
    for (const id of ids) {
      const res = await request(`${ingress}/default/${name}`, {
        method: 'POST',
        headers: { 'ce-specversion': '1.0', 'ce-type': 't', 'ce-source': 's', 'ce-id': id },
        body: 'x',
      });
      await res.body.dump();
      expect(res.statusCode).toBe(202);
    }
    const received = (svc: string) =>
      new Set(existsSync(out(svc)) ? readFileSync(out(svc), 'utf8').split('\n').filter(Boolean) : []);
    await waitFor(
      'every event at both Services',
      () => SERVICES.every((svc) => ids.every((id) => received(svc).has(id))),
      {
        timeoutMs: 60_000,
        describe: () => ({
          received: SERVICES.map((svc) => received(svc).size),
          output: dev.lines.slice(-20),
        }),
      },
    );

    const body = await status();
    const pidOf = (members: Member[] | undefined, id: string) => members?.find((m) => m.id === id)?.pid;
    const serving = pidOf(body.servingProcesses, 'serving-1');
    const dispatchers = ['dispatcher-1', 'dispatcher-2'].map((id) => pidOf(body.brokerProcesses, id));
    expect(serving).toBeTypeOf('number');
    for (const pid of dispatchers) expect(pid).toBeTypeOf('number');
    const countsOf = async (svc: string) => {
      const count = (pid: number | undefined, metric: string) =>
        counted(pid ?? 0, metric, `${svc}-00001`, routerPort);
      return {
        serving: await count(serving, 'eddy_serving_requests_total'),
        dispatchers: await Promise.all(dispatchers.map((pid) => count(pid, 'eddy_serving_requests_total'))),
        // Handed to the router as a call, not through a socket.
        inProcess: await Promise.all(
          dispatchers.map((pid) => count(pid, 'eddy_serving_in_process_requests_total')),
        ),
      };
    };
    const counts = { svc: await countsOf('svc'), limited: await countsOf('limited') };
    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    return { counts, status: body, dispatchers };
  } finally {
    if (dev.child.exitCode === null) dev.child.kill('SIGKILL');
  }
}

describe('eddy dev --kafka: a serving router in each dispatcher process', () => {
  it("delivers a Trigger's events to a Service through the dispatchers' routers, none through the serving process's; a limited one through the router port", async () => {
    const { counts, status, dispatchers } = await deliverThrough([]);
    // Each dispatcher runs a router on the serving feed, in the dispatcher's own process.
    const routers = (status.servingProcesses ?? []).filter((m) => m.component === 'router');
    expect(routers.map((m) => m.id).sort()).toEqual(['dispatcher-1', 'dispatcher-2']);
    expect(routers.map((m) => m.pid).sort()).toEqual([...dispatchers].sort());
    const { svc, limited } = counts;
    expect(svc.serving).toBe(0);
    // At least once each (a retried delivery counts twice).
    expect(svc.dispatchers.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(EVENTS);
    // Two partitions, two dispatchers: both carried some, each its own, in process.
    for (const n of svc.dispatchers) expect(n).toBeGreaterThan(0);
    expect(svc.inProcess).toEqual(svc.dispatchers);
    // containerConcurrency 1: split among the routers on the router port, so the dispatchers' own
    // routers (which take no share) decline it and the serving process's router carries every one.
    expect(limited.serving).toBeGreaterThanOrEqual(EVENTS);
    expect(limited.dispatchers).toEqual([0, 0]);
    expect(limited.inProcess).toEqual([0, 0]);
  }, 240_000);

  it("--no-dispatcher-routers: the serving process's router carries them", async () => {
    const { counts, status } = await deliverThrough(['--no-dispatcher-routers']);
    expect((status.servingProcesses ?? []).map((m) => m.id)).toEqual(['serving-1']);
    for (const svc of SERVICES) {
      expect(counts[svc].serving).toBeGreaterThanOrEqual(EVENTS);
      expect(counts[svc].dispatchers).toEqual([0, 0]);
      expect(counts[svc].inProcess).toEqual([0, 0]);
    }
  }, 240_000);
});
