import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { brokerYaml, triggerYaml } from '../../packages/cli/src/testing/manifests.ts';
import { waitFor } from '../harness/wait.ts';
import { buildCli, runEddy, spawnEddyDev } from './helpers.ts';

beforeAll(() => {
  buildCli();
}, 180_000);

const dir = mkdtempSync(join(tmpdir(), 'eddy-dev-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spawnDev = (args: string[]) => spawnEddyDev(args, dir);

describe('eddy dev (spawned)', () => {
  it('prints its addresses and statuses, routes an event, refuses a second server, stops cleanly on SIGINT', async () => {
    const received: string[] = [];
    const subscriber = createServer((req, res) => {
      received.push(String(req.headers['ce-id']));
      req.resume();
      res.statusCode = 202;
      res.end();
    });
    await new Promise<void>((r) => subscriber.listen(0, '127.0.0.1', r));
    const subUrl = `http://127.0.0.1:${(subscriber.address() as AddressInfo).port}`;
    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, `${brokerYaml()}---\n${triggerYaml('all', `{uri: "${subUrl}"}`)}`);
    const dev = spawnDev(['-f', 'mesh.yaml', '--port', '0', '--data-dir', 'state']);
    try {
      const ingress = (await dev.waitFor(/^ {2}ingress {2}http:\/\/127\.0\.0\.1:\d+/)).split(/\s+/)[2] ?? '';
      await dev.waitFor(/^ {2}router /);
      await dev.waitFor(/^ {2}admin {4}http:\/\/127\.0\.0\.1:\d+/);
      await dev.waitFor(/^Trigger default\/all {2}Ready$/);
      expect(dev.lines).toContain('Broker default/default  Ready');
      const adminFile = join(dir, 'state', 'admin.json');
      expect(statSync(adminFile).mode & 0o777).toBe(0o600);
      const admin = JSON.parse(readFileSync(adminFile, 'utf8')) as {
        url: string;
        token: string;
        pid: number;
      };
      expect(admin.pid).toBe(dev.child.pid);
      const status = await request(`${admin.url}/v1/status`, {
        headers: { authorization: `Bearer ${admin.token}` },
      });
      expect(status.statusCode).toBe(200);
      expect(await status.body.json()).toMatchObject({ brokerIngressUrl: ingress, eventLog: 'embedded' });

      const sent = await request(`${ingress}/default/default`, {
        method: 'POST',
        headers: { 'ce-specversion': '1.0', 'ce-type': 't', 'ce-source': 's', 'ce-id': 'spawned-1' },
        body: 'x',
      });
      await sent.body.text();
      expect(sent.statusCode).toBe(202);
      await waitFor('the event at the subscriber', () => received.includes('spawned-1'), 15_000);
      expect(received).toContain('spawned-1');

      // One server per data dir: a second one says so in one line and exits 1.
      const second = await runEddy(['dev', '--port', '0', '--data-dir', 'state'], { cwd: dir });
      expect(second.code).toBe(1);
      expect(second.stderr.trim()).toMatch(
        new RegExp(`^eddy dev: another eddy dev \\(pid ${dev.child.pid}\\) is running on `),
      );

      dev.child.kill('SIGINT');
      expect(await dev.exited).toBe(0);
      expect(dev.lines).toContain('eddy dev: stopped');
      expect(existsSync(adminFile)).toBe(false);
    } finally {
      if (dev.child.exitCode === null) dev.child.kill('SIGKILL');
      await new Promise<void>((r) => subscriber.close(() => r()));
    }
  }, 60_000);

  it('--kafka --sources 2: two eddy sources processes, listed with their shards in /v1/status', async () => {
    const brokers = inject('kafkaBrokers').join(',');
    const data = join(dir, 'sources-2');
    const dev = spawnDev([
      '--kafka',
      brokers,
      '--ingresses',
      '1',
      '--dispatchers',
      '1',
      '--sources',
      '2',
      '--port',
      '0',
      '--data-dir',
      data,
    ]);
    try {
      await dev.waitFor(/^ {2}sources {2}as processes \(eddy sources; 2\/2 sources\)/, 60_000);
      const adminFile = JSON.parse(readFileSync(join(data, 'admin.json'), 'utf8')) as {
        url: string;
        token: string;
      };
      type Member = { id: string; shard?: string; lastSeenMs?: number; generation?: number };
      const status = async () =>
        (await (
          await request(`${adminFile.url}/v1/status`, {
            headers: { authorization: `Bearer ${adminFile.token}` },
          })
        ).body.json()) as {
          sourcesProcesses?: Member[];
          brokerProcesses?: Member[];
          servingProcesses?: Member[];
        };
      await waitFor(
        'both sources processes on the feed, the broker and serving processes on their first contract',
        async () => {
          const body = await status();
          const sources = body.sourcesProcesses ?? [];
          const others = [...(body.brokerProcesses ?? []), ...(body.servingProcesses ?? [])];
          return (
            sources.length === 2 &&
            sources.every(
              (m, i) => m.id === `sources-${i + 1}` && m.shard === `${i}/2` && m.lastSeenMs !== undefined,
            ) &&
            // ingress-1, dispatcher-1; serving-1 and dispatcher-1's router on the serving feed.
            others.length === 4 &&
            // A SIGINT before they run their first contract waits out its apply timeout.
            others.every((m) => m.generation !== undefined)
          );
        },
        { timeoutMs: 60_000 },
      );
      // The parent's own metrics (its heap, event loop) and probes beside the admin API, without the
      // token as every component's probes; the admin endpoints still need it.
      const metrics = await request(`${adminFile.url}/metrics`);
      expect(metrics.statusCode).toBe(200);
      expect(await metrics.body.text()).toMatch(/^nodejs_heap_size_used_bytes \d+/m);
      const health = await request(`${adminFile.url}/healthz`);
      expect(health.statusCode).toBe(200);
      await health.body.dump();
      const anonymous = await request(`${adminFile.url}/v1/status`);
      expect(anonymous.statusCode).toBe(401);
      await anonymous.body.dump();
      // Older clients still find the first one alone.
      expect(((await status()) as { sourcesProcess?: Member }).sourcesProcess).toMatchObject({
        id: 'sources-1',
        shard: '0/2',
      });
      dev.child.kill('SIGINT');
      expect(await dev.exited).toBe(0);
    } finally {
      if (dev.child.exitCode === null) dev.child.kill('SIGKILL');
    }
  }, 120_000);

  it('bad usage is one line and exit 2, never a stack trace', async () => {
    const r = await runEddy(['dev', '--port', 'eighty'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('eddy: --port must be an integer from 0 to 65535, got "eighty"');
    const missing = await runEddy(['dev', '-f', 'nope.yaml', '--port', '0'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe('eddy: no such file or directory: nope.yaml');
    const cases: [string[], string][] = [
      [
        ['--ingresses', '2'],
        'eddy: --ingresses, --dispatchers, --sources, --routers, --no-dispatcher-routers and --in-process need --kafka (the embedded log has one writer: the eddy dev process)',
      ],
      [
        ['--sources', '2'],
        'eddy: --ingresses, --dispatchers, --sources, --routers, --no-dispatcher-routers and --in-process need --kafka (the embedded log has one writer: the eddy dev process)',
      ],
      [
        ['--routers', '2'],
        'eddy: --ingresses, --dispatchers, --sources, --routers, --no-dispatcher-routers and --in-process need --kafka (the embedded log has one writer: the eddy dev process)',
      ],
      [
        ['--no-dispatcher-routers'],
        'eddy: --ingresses, --dispatchers, --sources, --routers, --no-dispatcher-routers and --in-process need --kafka (the embedded log has one writer: the eddy dev process)',
      ],
      [
        ['--kafka', '127.0.0.1:9', '--in-process', '--routers', '2'],
        'eddy: --in-process runs serving inside eddy dev, with one router: drop --routers',
      ],
      [
        ['--kafka', '127.0.0.1:9', '--in-process', '--no-dispatcher-routers'],
        'eddy: --in-process runs no dispatcher processes: drop --no-dispatcher-routers',
      ],
      [
        ['--kafka', '127.0.0.1:9', '--routers', '65'],
        'eddy: --routers must be an integer from 1 to 64, got "65"',
      ],
      [
        ['--kafka', '127.0.0.1:9', '--in-process', '--dispatchers', '2'],
        'eddy: --in-process runs no broker or sources processes: drop --ingresses/--dispatchers/--sources',
      ],
      [
        ['--kafka', '127.0.0.1:9', '--dispatchers', '0'],
        'eddy: --dispatchers must be an integer from 1 to 64, got "0"',
      ],
      [
        ['--kafka', '127.0.0.1:9', '--sources', '65'],
        'eddy: --sources must be an integer from 1 to 64, got "65"',
      ],
      [
        ['--kafka', '127.0.0.1:9', '--sources', 'two'],
        'eddy: --sources must be an integer from 1 to 64, got "two"',
      ],
      [
        ['--kafka', '127.0.0.1:9', '--kafka-client', 'rdkafka'],
        'eddy: --kafka-client must be "kafkajs" or "platformatic", got "rdkafka"',
      ],
    ];
    for (const [flags, message] of cases) {
      const r = await runEddy(['dev', '--port', '0', ...flags], { cwd: dir });
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr.trim()).toBe(message);
    }
  });

  it('kill -9 right after events were accepted, restart on the same data dir: every accepted event is delivered', async () => {
    const received = new Set<string>();
    let accepting = false;
    const subscriber = createServer((req, res) => {
      req.resume();
      if (accepting) received.add(String(req.headers['ce-id']));
      res.statusCode = accepting ? 202 : 503;
      res.end();
    });
    await new Promise<void>((r) => subscriber.listen(0, '127.0.0.1', r));
    const subUrl = `http://127.0.0.1:${(subscriber.address() as AddressInfo).port}`;
    writeFileSync(
      join(dir, 'crash.yaml'),
      `${brokerYaml('crashy')}---\n${triggerYaml('crashy-all', `{uri: "${subUrl}"}`, 'crashy')}`,
    );
    const args = ['-f', 'crash.yaml', '--port', '0', '--data-dir', 'crash-state'];
    let dev = spawnDev(args);
    try {
      const ingress = (await dev.waitFor(/^ {2}ingress {2}http:/)).split(/\s+/)[2] ?? '';
      await dev.waitFor(/^Trigger default\/crashy-all {2}Ready$/);
      const ids = Array.from({ length: 20 }, (_, i) => `crash-${i}`);
      for (const id of ids) {
        const r = await request(`${ingress}/default/crashy`, {
          method: 'POST',
          headers: { 'ce-specversion': '1.0', 'ce-type': 't', 'ce-source': 's', 'ce-id': id },
          body: id,
        });
        await r.body.text();
        expect(r.statusCode).toBe(202);
      }
      dev.child.kill('SIGKILL');
      await dev.exited;
      // The dead server's admin.json is left behind; the next one replaces it.
      expect(existsSync(join(dir, 'crash-state', 'admin.json'))).toBe(true);

      accepting = true;
      dev = spawnDev(args);
      await dev.waitFor(/^Trigger default\/crashy-all {2}Ready$/);
      await waitFor('every accepted event at the subscriber', () => received.size >= ids.length, {
        timeoutMs: 25_000,
        intervalMs: 100,
      });
      expect([...received].sort()).toEqual([...ids].sort());
      dev.child.kill('SIGTERM');
      expect(await dev.exited).toBe(0);
    } finally {
      if (dev.child.exitCode === null) dev.child.kill('SIGKILL');
      await new Promise<void>((r) => subscriber.close(() => r()));
    }
  }, 60_000);
});
