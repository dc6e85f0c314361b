/**
 * `eddy replay` in process against a real HTTP server on 127.0.0.1 that speaks the admin protocol
 * (protocol.ts) for a broker, its triggers and one Replay whose status walks through a given sequence,
 * one step per read, as the control plane would write it. The proof against `eddy dev` itself is
 * test/cli/replay-command.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AdminFile, ApplyRequest, StoredResource } from '../admin/protocol.js';
import type { ReplayStatusView } from '../format/replay-progress.js';
import { run } from '../program.js';
import { fakeTerminal, finishedStatus, runningStatus } from '../testing/replay-fakes.js';
import { runVerb } from '../verb.js';
import { type ReplayOptions, type ReplayRun, runReplay } from './replay.js';
import type { ReplayTerminal } from './replay-wait.js';

const TOKEN = `t-${randomUUID()}`;
let server: Server;
let dataDir = '';
let requests: { method: string; path: string; body: string }[] = [];
/** The statuses the Replay shows, one per read (the last one again after that). */
let statuses: (ReplayStatusView | undefined)[] = [];
let replay: StoredResource | undefined;
let reads = 0;
/** Called on every read of the Replay, before the answer: where a test presses Ctrl-C. */
let onRead: (n: number) => void = () => {};
/** Ctrl-C, as the tests press it. */
let ctrlC = new AbortController();

const meta = (name: string) => ({
  name,
  namespace: 'default',
  generation: 1,
  creationTimestamp: new Date().toISOString(),
});
const objects: Record<string, StoredResource> = {
  'Broker/default/default': {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Broker',
    metadata: meta('default'),
  },
  'Trigger/default/orders': {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: meta('orders'),
    spec: { broker: 'default' },
  },
  'Trigger/default/audit': {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: meta('audit'),
    spec: { broker: 'default' },
  },
  'Trigger/default/elsewhere': {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: meta('elsewhere'),
    spec: { broker: 'other' },
  },
};

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      const path = decodeURIComponent(req.url ?? '');
      requests.push({ method: req.method ?? '', path, body });
      const send = (status: number, value: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(401, { error: 'token' });
      const key = path.replace('/v1/resources/', '');
      if (req.method === 'POST' && path === '/v1/apply') {
        const applied = JSON.parse(body) as ApplyRequest;
        const object = JSON.parse(applied.text) as StoredResource;
        if (!applied.create) return send(400, { error: 'eddy replay must create, never apply over' });
        if (replay && replay.metadata.name === object.metadata.name)
          return send(409, { error: `Replay default/${object.metadata.name} already exists` });
        replay = { ...object, metadata: { ...object.metadata, ...meta(object.metadata.name), uid: 'u1' } };
        return send(200, {
          items: [{ kind: 'Replay', namespace: 'default', name: object.metadata.name, action: 'created' }],
          warnings: [],
        });
      }
      if (replay && key === `Replay/default/${replay.metadata.name}`) {
        if (req.method === 'DELETE') {
          replay = undefined;
          return send(200, { items: [], warnings: [] });
        }
        const n = reads++;
        onRead(n);
        if (!replay) return send(404, { error: `${key} not found` });
        const status = statuses[Math.min(n, statuses.length - 1)];
        return send(200, { ...replay, ...(status ? { status } : {}) });
      }
      if (req.method === 'GET' && objects[key]) return send(200, objects[key]);
      return send(404, { error: `${key} not found` });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  dataDir = await mkdtemp(join(tmpdir(), 'eddy-replay-'));
  const admin: AdminFile = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token: TOKEN,
    pid: process.pid,
    startedAt: new Date().toISOString(),
  };
  await writeFile(join(dataDir, 'admin.json'), JSON.stringify(admin));
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  requests = [];
  statuses = [];
  replay = undefined;
  reads = 0;
  onRead = () => {};
  ctrlC = new AbortController();
});

/** `eddy replay default --from 1h --trigger orders --name r1 <options>` with a fake terminal. */
async function replayWith(
  options: Partial<ReplayOptions> = {},
  terminal: ReplayTerminal = fakeTerminal(false),
): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  let code = -1;
  const output = { out: (l: string) => stdout.push(l), err: (l: string) => stderr.push(l) };
  const flags: ReplayOptions = {
    namespace: 'default',
    dataDir,
    from: '1h',
    trigger: ['orders'],
    name: 'r1',
    wait: true,
    ...options,
  };
  const how: ReplayRun = { interrupted: ctrlC.signal, terminal, pollMs: 1 };
  await runVerb(
    output,
    (c) => {
      code = c;
    },
    () => runReplay('default', flags, output, how),
  );
  return { code, stdout, stderr };
}

const ctrlCOnRead = (at: number) => {
  onRead = (n) => {
    if (n === at) ctrlC.abort('SIGINT');
  };
};

const replayPosts = () => requests.filter((r) => r.method === 'POST' && r.path === '/v1/apply');

describe('eddy replay', () => {
  it('creates the Replay (create-only), follows it to Completed, prints the counts, exits 0', async () => {
    statuses = [undefined, runningStatus(400), finishedStatus(true)];
    const r = await replayWith();
    expect(r.code).toBe(0);
    const posted = JSON.parse(replayPosts()[0]?.body ?? '{}') as ApplyRequest;
    expect(posted.create).toBe(true);
    expect(JSON.parse(posted.text)).toMatchObject({
      kind: 'Replay',
      metadata: { name: 'r1', namespace: 'default' },
      spec: { broker: 'default', target: { triggers: ['orders'] } },
    });
    expect(r.stdout).toEqual([
      'replay.eventing.eddy.dev/r1 created',
      'replay r1 completed in 4s',
      '  matched        1000',
      '  delivered      1000',
      '  dead-lettered     0',
      '  failed            0',
      '  skipped           0',
      '  total          1000',
    ]);
    expect(r.stderr).toEqual(['waiting for eddy dev to start the replay', 'replayed 400/1000 (40%)']);
  });

  it('Failed: the reason on stderr, the counts on stdout, exit 1', async () => {
    statuses = [runningStatus(10), finishedStatus(false, 'trigger orders was deleted')];
    const r = await replayWith();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('eddy: replay r1 failed after 4s: trigger orders was deleted');
    expect(r.stdout).toContain('  total          1000');
  });

  it('completed with deliveries that failed for good: exit 0, with a warning', async () => {
    statuses = [{ ...finishedStatus(true), delivered: 998, failed: 2 }];
    const r = await replayWith();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  failed            2');
    expect(r.stderr).toEqual(['warning: 2 deliveries failed with no dead-letter sink to take them']);
  });

  it('a dry run says how many events it would replay', async () => {
    statuses = [{ ...finishedStatus(true), matched: 42, delivered: 0, skipped: 958 }];
    const r = await replayWith({ dryRun: true });
    expect(r.code).toBe(0);
    expect(r.stdout).toEqual([
      'replay.eventing.eddy.dev/r1 created',
      'dry run: would replay 42 events (matched, of 1000 in the window; 958 skipped)',
    ]);
  });

  it('--no-wait: creates it, says how to follow it, never reads it back', async () => {
    const r = await replayWith({ wait: false });
    expect(r.code).toBe(0);
    expect(r.stdout).toEqual(['replay.eventing.eddy.dev/r1 created']);
    expect(r.stderr).toEqual([
      'follow it with: eddy describe replay r1 (cancel it with: eddy delete replay r1)',
    ]);
    expect(reads).toBe(0);
  });

  it('Ctrl-C on a terminal, answered y: deletes the replay, exit 1 "cancelled"', async () => {
    statuses = [runningStatus(10)];
    ctrlCOnRead(2);
    const terminal = fakeTerminal(true, true, 'y');
    const r = await replayWith({}, terminal);
    expect(terminal.asked).toEqual(['Cancel the replay? [y/N] ']);
    expect(requests.some((q) => q.method === 'DELETE' && q.path === '/v1/resources/Replay/default/r1')).toBe(
      true,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toEqual(['eddy: replay "r1" cancelled (deleted)']);
  });

  it('Ctrl-C on a terminal, answered N (or Enter): leaves it running, exit 0 with the hint', async () => {
    statuses = [runningStatus(10)];
    ctrlCOnRead(1);
    const terminal = fakeTerminal(true, true, '');
    const r = await replayWith({}, terminal);
    expect(terminal.asked).toHaveLength(1);
    expect(requests.some((q) => q.method === 'DELETE')).toBe(false);
    expect(r.code).toBe(0);
    expect(r.stderr).toEqual([
      'replay r1 keeps running; follow it with: eddy describe replay r1 (cancel it with: eddy delete replay r1)',
    ]);
  });

  it('Ctrl-C without a terminal to ask on: leaves it running, never asks, exit 0 with the hint', async () => {
    statuses = [runningStatus(10)];
    ctrlCOnRead(1);
    const terminal = fakeTerminal(false, false, 'y');
    const r = await replayWith({}, terminal);
    expect(terminal.asked).toEqual([]);
    expect(requests.some((q) => q.method === 'DELETE')).toBe(false);
    expect(r.code).toBe(0);
    expect(r.stderr.at(-1)).toMatch(/^replay r1 keeps running; follow it with: eddy describe replay r1/);
  });

  it('SIGTERM on a terminal: nobody to ask, leaves it running, exit 0', async () => {
    statuses = [runningStatus(10)];
    onRead = (n) => {
      if (n === 1) ctrlC.abort('SIGTERM');
    };
    const terminal = fakeTerminal(true, true, 'y');
    const r = await replayWith({}, terminal);
    expect(terminal.asked).toEqual([]);
    expect(r.code).toBe(0);
    expect(requests.some((q) => q.method === 'DELETE')).toBe(false);
  });

  it('deleted by someone else while followed: exit 1', async () => {
    statuses = [runningStatus(10)];
    onRead = (n) => {
      if (n === 1) replay = undefined;
    };
    const r = await replayWith();
    expect(r.code).toBe(1);
    expect(r.stderr.at(-1)).toBe('eddy: replay "r1" was deleted while it ran (cancelled)');
  });

  it('an existing name, an unknown broker, a trigger of another broker: one line each, nothing created', async () => {
    await replayWith({ wait: false });
    requests = [];
    const exists = await replayWith({ wait: false });
    expect(exists.code).toBe(1);
    expect(exists.stderr).toEqual([
      'eddy: replay "r1" already exists (see: eddy describe replay r1; pick another --name)',
    ]);
    const stderr: string[] = [];
    const out = { out: () => {}, err: (l: string) => stderr.push(l) };
    replay = undefined;
    requests = [];
    expect(
      await run(['replay', 'nope', '--from', '1h', '--trigger', 'orders', '--data-dir', dataDir], out),
    ).toBe(1);
    expect(
      await run(['replay', 'default', '--from', '1h', '--trigger', 'elsewhere', '--data-dir', dataDir], out),
    ).toBe(1);
    expect(
      await run(['replay', 'default', '--from', '1h', '--trigger', 'gone', '--data-dir', dataDir], out),
    ).toBe(1);
    expect(stderr).toEqual([
      'eddy: broker "nope" not found in namespace default (see: eddy get brokers -A)',
      'eddy: trigger "elsewhere" is on broker "other", not "default"',
      'eddy: trigger "gone" not found (see: eddy get triggers)',
    ]);
    expect(replayPosts()).toEqual([]);
  });

  it('from the command line: --trigger repeats, --no-wait, --to-ref, --rate; usage errors before any request', async () => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const out = { out: (l: string) => stdout.push(l), err: (l: string) => stderr.push(l) };
    const argv = [
      'replay',
      'default',
      '--from',
      '2h',
      '--to',
      '1h',
      '--to-ref',
      'ksvc/display',
      '--rate',
      '50',
    ];
    expect(await run([...argv, '--name', 'r2', '--no-wait', '--data-dir', dataDir], out)).toBe(0);
    expect(stdout).toEqual(['replay.eventing.eddy.dev/r2 created']);
    expect(JSON.parse((JSON.parse(replayPosts()[0]?.body ?? '{}') as ApplyRequest).text)).toMatchObject({
      spec: {
        target: {
          destination: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'display' } },
        },
        rate: 50,
      },
    });
    requests = [];
    const both = ['--trigger', 'orders', '--trigger', 'audit', '--name', 'r3', '--no-wait'];
    expect(await run(['replay', 'default', '--from', '1h', ...both, '--data-dir', dataDir], out)).toBe(0);
    expect(JSON.parse((JSON.parse(replayPosts()[0]?.body ?? '{}') as ApplyRequest).text)).toMatchObject({
      spec: { target: { triggers: ['orders', 'audit'] } },
    });
    requests = [];
    stderr.length = 0;
    expect(await run(['replay', 'default', '--from', '1h', '--data-dir', dataDir], out)).toBe(2);
    expect(await run(['replay', '--from', '1h', '--trigger', 'orders', '--data-dir', dataDir], out)).toBe(2);
    expect(stderr).toEqual([
      'eddy: missing the target: --trigger <name> (repeatable), --to-uri <url> or --to-ref <kind>/<name>',
      'eddy: missing the broker: eddy replay <broker> --from <time> (--trigger <name> | --to-uri <url> | --to-ref <kind>/<name>)',
    ]);
    expect(requests).toEqual([]);
  });
});
