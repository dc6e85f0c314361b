// Sequence and Parallel under eddy dev (embedded log), with real HTTP subscribers on 127.0.0.1 that
// transform the event: each step's reply feeds the next and the last goes to the Sequence's reply; a
// Parallel's filters pick the branches, each branch's reply goes to the Parallel's reply; a step that
// keeps failing sends the event to its dead-letter sink.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePorts } from '../harness/free-ports.ts';
import { waitFor } from '../harness/wait.ts';
import { runEddy, sendJsonEvent, spawnEddyDev } from './helpers.ts';

interface Seen {
  type: string;
  body: Record<string, unknown>;
}

const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

/** A subscriber on 127.0.0.1: `respond` gets the event and says the status and the reply (or none). */
async function subscriber(
  respond: (
    type: string,
    body: Record<string, unknown>,
  ) => { status: number; reply?: { type: string; body: unknown } },
): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', () => {
      const type = String(req.headers['ce-type']);
      const body = JSON.parse(text || '{}') as Record<string, unknown>;
      seen.push({ type, body });
      const { status, reply } = respond(type, body);
      if (!reply) return void res.writeHead(status).end();
      res
        .writeHead(status, {
          'ce-specversion': '1.0',
          'ce-id': `${String(req.headers['ce-id'])}-${reply.type}`,
          'ce-type': reply.type,
          'ce-source': '/flows-test',
          'content-type': 'application/json',
        })
        .end(JSON.stringify(reply.body));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, seen };
}

const dir = mkdtempSync(join(tmpdir(), 'eddy-flows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const send = (url: string, type: string, data: unknown) => sendJsonEvent(url, type, data, '/flows-test');

async function addressOf(kind: string, name: string, dataDir: string): Promise<string> {
  return waitFor(`${kind} ${name} Ready with an address`, async () => {
    const r = await runEddy(['get', kind, name, '-o', 'json', '--data-dir', dataDir]);
    if (r.code !== 0) return undefined;
    const o = JSON.parse(r.stdout) as {
      status?: { conditions?: { type: string; status: string }[]; address?: { url: string } };
    };
    const ready = o.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    return ready ? o.status?.address?.url : undefined;
  });
}

describe('flows under eddy dev', () => {
  it('runs a Sequence step by step into its reply, and a Parallel through its filters, and dead-letters a failing step', {
    timeout: 120_000,
  }, async () => {
    const upper = await subscriber((_t, b) => ({
      status: 200,
      reply: { type: 'upper', body: { ...b, upper: true } },
    }));
    const count = await subscriber((_t, b) => ({
      status: 200,
      reply: { type: 'counted', body: { ...b, counted: 1 } },
    }));
    const display = await subscriber(() => ({ status: 202 }));
    const failing = await subscriber(() => ({ status: 500 }));
    const deadLetters = await subscriber(() => ({ status: 202 }));
    const evenFilter = await subscriber((t, b) =>
      Number(b.n) % 2 === 0 ? { status: 200, reply: { type: t, body: b } } : { status: 202 },
    );
    const oddFilter = await subscriber((t, b) =>
      Number(b.n) % 2 === 1 ? { status: 200, reply: { type: t, body: b } } : { status: 202 },
    );
    const even = await subscriber((_t, b) => ({ status: 200, reply: { type: 'even', body: b } }));
    const odd = await subscriber((_t, b) => ({ status: 200, reply: { type: 'odd', body: b } }));
    const parallelDisplay = await subscriber(() => ({ status: 202 }));

    writeFileSync(
      join(dir, 'flows.yaml'),
      `apiVersion: flows.knative.dev/v1
kind: Sequence
metadata: {name: pipeline}
spec:
  channelTemplate: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel}
  steps:
    - uri: ${upper.url}
    - uri: ${count.url}
  reply: {uri: ${display.url}}
---
apiVersion: flows.knative.dev/v1
kind: Sequence
metadata: {name: broken}
spec:
  steps:
    - uri: ${failing.url}
      delivery: {retry: 1, backoffDelay: PT0.1S, deadLetterSink: {uri: ${deadLetters.url}}}
  reply: {uri: ${display.url}}
---
apiVersion: flows.knative.dev/v1
kind: Parallel
metadata: {name: odd-even}
spec:
  branches:
    - filter: {uri: ${evenFilter.url}}
      subscriber: {uri: ${even.url}}
    - filter: {uri: ${oddFilter.url}}
      subscriber: {uri: ${odd.url}}
  reply: {uri: ${parallelDisplay.url}}
`,
    );
    const dataDir = join(dir, '.eddy');
    const [port] = (await freePorts(1)) as [number];
    const dev = spawnEddyDev(['-f', 'flows.yaml', '--port', String(port), '--data-dir', dataDir], dir);
    try {
      await dev.waitFor(/Sequence default\/pipeline\s+Ready/, 60_000);
      const pipeline = await addressOf('sequence', 'pipeline', dataDir);
      expect(await send(pipeline, 'start', { n: 1 })).toBe(202);
      await waitFor('the transformed event at the reply', () =>
        display.seen.find((s) => s.type === 'counted') ? true : undefined,
      );
      expect(display.seen.find((s) => s.type === 'counted')?.body).toEqual({ n: 1, upper: true, counted: 1 });

      const broken = await addressOf('sequence', 'broken', dataDir);
      expect(await send(broken, 'doomed', { n: 9 })).toBe(202);
      await waitFor('the failing step dead-lettered', () => (deadLetters.seen.length > 0 ? true : undefined));
      expect(deadLetters.seen[0]).toMatchObject({ type: 'doomed', body: { n: 9 } });
      expect(failing.seen).toHaveLength(2);

      const parallel = await addressOf('parallel', 'odd-even', dataDir);
      for (const n of [2, 3]) expect(await send(parallel, 'number', { n })).toBe(202);
      await waitFor('both branches replied', () => (parallelDisplay.seen.length >= 2 ? true : undefined));
      expect(parallelDisplay.seen.map((s) => `${s.type}:${String(s.body.n)}`).sort()).toEqual([
        'even:2',
        'odd:3',
      ]);
      // Each filter saw both events and passed one on.
      expect(evenFilter.seen).toHaveLength(2);
      expect(even.seen.map((s) => s.body.n)).toEqual([2]);
    } finally {
      dev.child.kill('SIGINT');
      await dev.exited;
    }
  });
});
