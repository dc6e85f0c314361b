import { readFileSync, writeFileSync } from 'node:fs';
import { type PlainEvent, toHttpBatch, toHttpBinary } from '@eddy/api';
import { request } from 'undici';
import { describe, expect, inject, it } from 'vitest';
import { freePorts } from '../harness/free-ports.ts';
import { spawnDataPlane, writeContract } from './data-plane-processes.ts';
import {
  brokerYaml,
  contractFromYaml,
  freshDir,
  type LogFactory,
  logFactories,
  sleep,
  startSubscriber,
  triggerYaml,
  unique,
  waitFor,
} from './helpers.ts';

function logArgs(factory: LogFactory, dataDir: string, retryStateTopic: string): string[] {
  return factory.name === 'kafka'
    ? [
        '--log',
        'kafka',
        '--brokers',
        inject('kafkaBrokers').join(','),
        '--kafka-session-timeout-ms',
        '3000',
        '--retry-state-topic',
        retryStateTopic,
      ]
    : ['--log', 'embedded', '--data-dir', dataDir];
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return kb / 1024;
}

function metricValue(text: string, name: string, route: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`route="${route}"`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const makeEvent = (i: number, data: unknown): PlainEvent => ({
  specversion: '1.0',
  id: `evt-${i}`,
  source: '/eddy/crash-test',
  type: 'crash.test',
  datacontenttype: 'application/json',
  data,
});

describe('data-plane process contract file', () => {
  it('applies a newer contract when the file changes or on SIGHUP, ignores an older one', {
    timeout: 30_000,
  }, async () => {
    const [port] = await freePorts(1);
    const url = `http://127.0.0.1:${port}`;
    const ns = unique('reload');
    const compute = (yaml: string, generation: number) =>
      JSON.stringify({ ...contractFromYaml(yaml, url), generation });
    const file = `${freshDir('contract')}.json`;
    writeFileSync(file, compute(brokerYaml(ns, 'first'), 1));
    const dp = spawnDataPlane([
      '--contract',
      file,
      '--port',
      String(port),
      '--watch-interval-ms',
      '100',
      '--log',
      'embedded',
      '--data-dir',
      freshDir('reload-log'),
    ]);
    await dp.waitForLine(/applied contract generation 1/);
    const status = async (broker: string) => {
      const message = toHttpBinary(makeEvent(1, {}));
      const response = await request(`${url}/${ns}/${broker}`, {
        method: 'POST',
        headers: message.headers,
        body: message.body,
      });
      await response.body.text();
      return response.statusCode;
    };
    expect(await status('first')).toBe(202);
    expect(await status('second')).toBe(404);
    // A file change with a newer generation is picked up by the watcher.
    writeFileSync(file, compute([brokerYaml(ns, 'first'), brokerYaml(ns, 'second')].join('\n---\n'), 2));
    await dp.waitForLine(/applied contract generation 2/);
    expect(await status('second')).toBe(202);
    // An older generation changes nothing, even on SIGHUP.
    writeFileSync(file, compute(brokerYaml(ns, 'first'), 1));
    dp.child.kill('SIGHUP');
    await dp.waitForLine(/SIGHUP: re-reading/);
    await dp.waitForLine(/ignoring contract generation 1 \(running 2\)/);
    expect(await status('second')).toBe(202);
    // A broken file is reported with its name and the running contract stays.
    writeFileSync(file, '{"generation": 3, "brokers": [');
    dp.child.kill('SIGHUP');
    await dp.waitForLine(/is not valid JSON/);
    expect(await status('second')).toBe(202);
    dp.child.kill('SIGTERM');
    expect((await dp.exited).code).toBe(0);
  });

  it('refuses bad command lines with a usage message', async () => {
    const dp = spawnDataPlane(['--contract', 'x.json', '--log', 'sqlite']);
    await dp.waitForLine(/--log must be "embedded" or "kafka", got "sqlite"/);
    expect((await dp.exited).code).toBe(2);
  });
});

for (const factory of logFactories) {
  describe(`data-plane process on the ${factory.name} log`, () => {
    it('kill -9 mid-delivery loses no accepted event; duplicates only from the in-flight window', {
      timeout: 60_000,
    }, async () => {
      const maxInFlight = 5;
      const arrivals = new Map<string, number>();
      // Slow enough that a kill always finds deliveries in flight.
      const sub = await startSubscriber(async (r, res) => {
        const id = String(r.headers['ce-id']);
        arrivals.set(id, (arrivals.get(id) ?? 0) + 1);
        await sleep(150);
        if (!res.destroyed) res.writeHead(202).end();
      });
      const [port] = await freePorts(1);
      const ns = unique('crash');
      const contract = writeContract(
        port!,
        [
          brokerYaml(ns),
          triggerYaml(ns, 'slow', `  broker: default\n  subscriber:\n    uri: ${sub.url}\n`, {
            'eddy.dev/max-in-flight': String(maxInFlight),
          }),
        ].join('\n---\n'),
      );
      const args = [
        '--contract',
        contract,
        '--port',
        String(port),
        ...logArgs(factory, freshDir('crash-log'), unique('eddy-e2e-retry-state')),
      ];
      const first = spawnDataPlane(args);
      await first.waitForLine(/applied contract generation/);
      const ingress = `http://127.0.0.1:${port}/${ns}/default`;
      const total = 60;
      for (let i = 0; i < total; i++) {
        const message = toHttpBinary(makeEvent(i, { i }));
        const response = await request(ingress, {
          method: 'POST',
          headers: message.headers,
          body: message.body,
        });
        expect(response.statusCode, await response.body.text()).toBe(202);
      }
      await waitFor(
        'a few deliveries and some in flight',
        () => sub.received.length >= 12 && sub.inFlight() > 0,
      );
      first.child.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');
      // What the killed process sent before it died: a request it wrote just before the signal can
      // reach the subscriber after kill() returned, so the snapshot waits for the exit plus a moment
      // (a dead process sends nothing new; later arrivals are the restarted one's).
      await sleep(200);
      const seenBeforeKill = new Set(arrivals.keys());

      const second = spawnDataPlane(args);
      await second.waitForLine(/applied contract generation/);
      await waitFor(
        `all ${total} events delivered after the restart`,
        () => arrivals.size >= total,
        factory.name === 'kafka' ? 40_000 : 25_000,
      );
      for (let i = 0; i < total; i++) expect(arrivals.get(`evt-${i}`), `evt-${i}`).toBeGreaterThanOrEqual(1);
      const duplicates = [...arrivals].filter(([, n]) => n > 1).map(([id]) => id);
      // A duplicate is an event that had reached the subscriber before the kill but was not
      // committed yet: in flight, or finished within the last commit.
      for (const id of duplicates) expect(seenBeforeKill.has(id), `${id} delivered twice`).toBe(true);
      expect(duplicates.length).toBeLessThanOrEqual(2 * maxInFlight);
      console.info(
        `[${factory.name}] kill -9 after ${seenBeforeKill.size} arrivals: ${total} delivered, ${duplicates.length} duplicate(s)`,
      );
      second.child.kill('SIGTERM');
      expect((await second.exited).code).toBe(0);
    });

    it('a 20k backlog to a slow subscriber keeps in-flight at maxInFlight and RSS bounded; SIGTERM drains', {
      timeout: 60_000,
    }, async () => {
      const maxInFlight = 20;
      const sub = await startSubscriber(async (_r, res) => {
        await sleep(100);
        if (!res.destroyed) res.writeHead(202).end();
      });
      const [port] = await freePorts(1);
      const ns = unique('backlog');
      const routeId = `${ns}/slow`;
      const contract = writeContract(
        port!,
        [
          brokerYaml(ns),
          triggerYaml(ns, 'slow', `  broker: default\n  subscriber:\n    uri: ${sub.url}\n`, {
            'eddy.dev/max-in-flight': String(maxInFlight),
          }),
        ].join('\n---\n'),
      );
      const dp = spawnDataPlane([
        '--contract',
        contract,
        '--port',
        String(port),
        ...logArgs(factory, freshDir('backlog-log'), unique('eddy-e2e-retry-state')),
      ]);
      await dp.waitForLine(/applied contract generation/);
      const base = `http://127.0.0.1:${port}`;
      const rssAtStart = rssMb(dp.child.pid!);
      const payload = 'x'.repeat(1000);
      const total = 20_000;
      const batch = 500;
      for (let start = 0; start < total; start += batch) {
        const events = Array.from({ length: batch }, (_, k) => makeEvent(start + k, { payload }));
        const message = toHttpBatch(events);
        const response = await request(`${base}/${ns}/default`, {
          method: 'POST',
          headers: message.headers,
          body: message.body,
        });
        expect(response.statusCode, await response.body.text()).toBe(202);
      }
      let maxRss = 0;
      let maxGauge = 0;
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline) {
        maxRss = Math.max(maxRss, rssMb(dp.child.pid!));
        const metrics = await (await request(`${base}/metrics`)).body.text();
        maxGauge = Math.max(maxGauge, metricValue(metrics, 'eddy_dispatch_in_flight', routeId) ?? 0);
        await sleep(200);
      }
      expect(sub.received.length).toBeGreaterThan(0);
      // Far from done: the backlog is still there and the process is not holding it in memory.
      expect(sub.received.length).toBeLessThan(total / 2);
      expect(maxGauge).toBeGreaterThan(0);
      expect(maxGauge).toBeLessThanOrEqual(maxInFlight);
      expect(sub.maxInFlight()).toBeLessThanOrEqual(maxInFlight);
      // Generous: a bare process with kafkajs and fastify is ~100-150 MB; the target for a
      // million events of lag is < 300 MB.
      expect(maxRss).toBeLessThan(300);
      console.info(
        `[${factory.name}] 20k backlog: ${sub.received.length} delivered in 5 s, in-flight max ${maxGauge}, RSS ${rssAtStart.toFixed(0)} MB at start, max ${maxRss.toFixed(0)} MB`,
      );
      const stopping = Date.now();
      dp.child.kill('SIGTERM');
      expect((await dp.exited).code).toBe(0);
      expect(Date.now() - stopping).toBeLessThan(15_000);
      expect(dp.output.some((l) => /data plane stopped/.test(l))).toBe(true);
    });
  });
}
