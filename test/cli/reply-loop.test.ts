// Reply loops under eddy dev: a subscriber that always answers with an event its own Trigger matches.
// The broker TTL (knativebrokerttl) ends the loop after exactly TTL deliveries; the cut reply reaches
// the dead-letter sink with the reason, the dispatcher counts it, and eddy dev carries on. Once on the
// embedded log (the default 255 and a Broker's eddy.dev/broker-ttl), once with --kafka and --broker-ttl,
// where a Subscription replying into its own channel is cut by the same code.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePorts } from '../harness/free-ports.ts';
import { waitFor } from '../harness/wait.ts';
import { buildCli, type RunningDev, runEddy, sendJsonEvent, spawnEddyDev } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'eddy-reply-loop-'));
beforeAll(() => buildCli(), 240_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An echo subscriber per path (every request answered with a new event of the same type) and a DLS. */
class LoopSubscriber {
  readonly deliveries = new Map<string, IncomingHttpHeaders[]>();
  readonly deadLetters: IncomingHttpHeaders[] = [];
  #server: Server;
  #n = 0;

  constructor() {
    this.#server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const path = req.url ?? '/';
        if (path === '/dls') {
          this.deadLetters.push(req.headers);
          res.writeHead(202).end();
          return;
        }
        const seen = this.deliveries.get(path) ?? [];
        seen.push(req.headers);
        this.deliveries.set(path, seen);
        res
          .writeHead(200, {
            'ce-specversion': '1.0',
            'ce-id': `reply-${++this.#n}`,
            'ce-type': String(req.headers['ce-type']),
            'ce-source': '/echo',
            'content-type': 'application/json',
          })
          .end(JSON.stringify({ hop: seen.length }));
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  count(path: string): number {
    return this.deliveries.get(path)?.length ?? 0;
  }

  close(): Promise<void> {
    return new Promise((r) => this.#server.close(() => r()));
  }
}

function brokerAndTrigger(ns: string, broker: string, sub: string, ttl?: number): string {
  const annotations = ttl === undefined ? '' : `\n  annotations: {eddy.dev/broker-ttl: "${ttl}"}`;
  return `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: ${broker}
  namespace: ${ns}${annotations}
spec:
  delivery:
    deadLetterSink: {uri: "${sub}/dls"}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: echo-${broker}, namespace: ${ns}}
spec:
  broker: ${broker}
  filter: {attributes: {type: loop.${broker}}}
  subscriber: {uri: "${sub}/echo-${broker}"}
`;
}

function channelLoop(ns: string, sub: string): string {
  return `apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata: {name: loop, namespace: ${ns}}
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata: {name: echo-channel, namespace: ${ns}}
spec:
  channel: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: loop}
  subscriber: {uri: "${sub}/echo-channel"}
  reply: {ref: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: loop}}
  delivery:
    deadLetterSink: {uri: "${sub}/dls"}
`;
}

async function startDev(
  name: string,
  yaml: string,
  args: string[],
): Promise<{ dev: RunningDev; port: number }> {
  writeFileSync(join(dir, `${name}.yaml`), yaml);
  const [port] = (await freePorts(1)) as [number];
  const dev = spawnEddyDev(
    ['-f', `${name}.yaml`, ...args, '--port', String(port), '--data-dir', join(dir, `${name}-data`)],
    dir,
  );
  return { dev, port };
}

async function stop(dev: RunningDev): Promise<void> {
  dev.child.kill('SIGINT');
  await dev.exited;
}

/** Starts a loop with one event and waits for its cut reply at the DLS; the number of deliveries. */
async function runLoop(
  subscriber: LoopSubscriber,
  url: string,
  type: string,
  path: string,
  timeoutMs: number,
): Promise<IncomingHttpHeaders> {
  const before = subscriber.deadLetters.length;
  expect(await sendJsonEvent(url, type, { hop: 0 })).toBe(202);
  const cut = await waitFor(
    `the cut reply of ${path} at the dead-letter sink`,
    () => subscriber.deadLetters[before],
    {
      timeoutMs,
      describe: () => `${subscriber.count(path)} deliveries so far`,
    },
  );
  // Nothing more comes: the loop is over, not slowed down.
  await new Promise((r) => setTimeout(r, 1_000));
  expect(subscriber.deadLetters).toHaveLength(before + 1);
  return cut;
}

function expectCut(cut: IncomingHttpHeaders, type: string, where: RegExp): void {
  expect(cut['ce-type']).toBe(type);
  expect(cut['ce-source']).toBe('/echo');
  expect(cut['ce-knativebrokerttl']).toBe('0');
  expect(cut['ce-knativeerrordest']).toMatch(where);
  const reason = Buffer.from(String(cut['ce-knativeerrordata']), 'base64').toString();
  expect(reason).toMatch(/^reply loop cut: /);
  expect(reason).toContain('knativebrokerttl 0');
}

function metric(text: string, name: string, route: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{route="${route}"}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('eddy dev: reply loops', () => {
  it('embedded: the default TTL 255 cuts a loop after 255 deliveries, a Broker with eddy.dev/broker-ttl: 5 after 5', {
    timeout: 240_000,
  }, async () => {
    const subscriber = new LoopSubscriber();
    const sub = await subscriber.listen();
    const ns = 'loops';
    const { dev, port } = await startDev(
      'embedded',
      `${brokerAndTrigger(ns, 'wide', sub)}---\n${brokerAndTrigger(ns, 'narrow', sub, 5)}`,
      ['--log-level', 'warn'],
    );
    try {
      await dev.waitFor(new RegExp(`^Trigger ${ns}/echo-wide {2}Ready$`), 60_000);
      await dev.waitFor(new RegExp(`^Trigger ${ns}/echo-narrow {2}Ready$`), 60_000);
      const base = `http://127.0.0.1:${port}`;

      const wide = await runLoop(subscriber, `${base}/${ns}/wide`, 'loop.wide', '/echo-wide', 120_000);
      expect(subscriber.count('/echo-wide')).toBe(255);
      expectCut(wide, 'loop.wide', /wide/);
      // Knative's broker filter removes the TTL before the subscriber sees the event.
      expect(subscriber.deliveries.get('/echo-wide')?.some((h) => 'ce-knativebrokerttl' in h)).toBe(false);

      const narrow = await runLoop(subscriber, `${base}/${ns}/narrow`, 'loop.narrow', '/echo-narrow', 30_000);
      expect(subscriber.count('/echo-narrow')).toBe(5);
      expectCut(narrow, 'loop.narrow', /narrow/);

      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metric(metrics, 'eddy_dispatch_reply_loop_cut_total', `${ns}/echo-wide`)).toBe(1);
      expect(metric(metrics, 'eddy_dispatch_reply_loop_cut_total', `${ns}/echo-narrow`)).toBe(1);
      // Logged once per route, with the reason.
      const logged = dev.lines.filter((l) => l.includes('reply loop cut'));
      expect(logged.filter((l) => l.includes(`Trigger ${ns}/echo-wide`))).toHaveLength(1);
      expect(logged.filter((l) => l.includes(`Trigger ${ns}/echo-narrow`))).toHaveLength(1);

      // An event arriving with a spent TTL is refused (Knative's ingress answers 400), and eddy dev is fine.
      expect(
        await sendJsonEvent(`${base}/${ns}/narrow`, 'loop.narrow', {}, '/x', { knativebrokerttl: '1' }),
      ).toBe(400);
      expect(dev.child.exitCode).toBeNull();
    } finally {
      await stop(dev);
      await subscriber.close();
    }
  });

  it('--kafka --broker-ttl 7: a Trigger loop and a Subscription replying into its own channel end after 7 deliveries', {
    timeout: 240_000,
  }, async () => {
    const subscriber = new LoopSubscriber();
    const sub = await subscriber.listen();
    const ns = `loops-${Date.now().toString(36)}`;
    const { dev, port } = await startDev(
      'kafka',
      `${brokerAndTrigger(ns, 'default', sub)}---\n${channelLoop(ns, sub)}`,
      [
        '--kafka',
        inject('kafkaBrokers').join(','),
        '--broker-ttl',
        '7',
        '--ingresses',
        '1',
        '--dispatchers',
        '1',
        '--sources',
        '1',
      ],
    );
    try {
      await dev.waitFor(new RegExp(`^Trigger ${ns}/echo-default {2}Ready$`), 120_000);
      await dev.waitFor(new RegExp(`^Subscription ${ns}/echo-channel {2}Ready$`), 60_000);
      const base = `http://127.0.0.1:${port}`;

      const trigger = await runLoop(
        subscriber,
        `${base}/${ns}/default`,
        'loop.default',
        '/echo-default',
        60_000,
      );
      expect(subscriber.count('/echo-default')).toBe(7);
      expectCut(trigger, 'loop.default', /default/);

      const channel = await runLoop(
        subscriber,
        `${base}/channels/${ns}/loop`,
        'loop.channel',
        '/echo-channel',
        60_000,
      );
      expect(subscriber.count('/echo-channel')).toBe(7);
      expectCut(channel, 'loop.channel', new RegExp(`/channels/${ns}/loop$`));
      expect(dev.child.exitCode).toBeNull();
    } finally {
      await stop(dev);
      await subscriber.close();
    }
  });

  it('a bad --broker-ttl or --progress-deadline is a usage error naming the flag', async () => {
    const cases: [string[], string][] = [
      [['--broker-ttl', '0'], 'eddy: --broker-ttl: expected an integer from 1 to 255, found "0"'],
      [['--broker-ttl', '256'], 'eddy: --broker-ttl: expected an integer from 1 to 255, found "256"'],
      [['--broker-ttl', 'abc'], 'eddy: --broker-ttl: expected an integer from 1 to 255, found "abc"'],
      [
        ['--progress-deadline', '10'],
        'eddy: --progress-deadline: expected a duration such as "600s", "10m" or "1h", found "10"',
      ],
      [
        ['--progress-deadline', '1.5s'],
        'eddy: --progress-deadline: must be whole seconds (Kubernetes\' progressDeadlineSeconds), found "1.5s"',
      ],
    ];
    for (const [flags, message] of cases) {
      const r = await runEddy(['dev', '--port', '0', ...flags], { cwd: dir });
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr.trim()).toBe(message);
    }
  });

  it('eddy validate: a bad eddy.dev/broker-ttl or serving.knative.dev/progress-deadline is located', async () => {
    writeFileSync(
      join(dir, 'bad.yaml'),
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: b
  annotations: {eddy.dev/broker-ttl: "300"}
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: s}
spec:
  template:
    metadata:
      annotations: {serving.knative.dev/progress-deadline: "ten minutes"}
    spec:
      containers: [{image: x, command: [node]}]
`,
    );
    const r = await runEddy(['validate', '-f', 'bad.yaml'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr + r.stdout).toContain(
      'bad.yaml:5:38: error: #0 Broker default/b: metadata.annotations["eddy.dev/broker-ttl"]: expected an integer from 1 to 255, found "300"',
    );
    expect(r.stderr + r.stdout).toContain(
      'bad.yaml:13:60: error: #1 Service default/s: spec.template.metadata.annotations["serving.knative.dev/progress-deadline"]: expected a duration such as "600s", "10m" or "1h", found "ten minutes"',
    );
  });
});
