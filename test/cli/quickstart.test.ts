/**
 * Issue 6's acceptance test: the quickstart driven through the CLI as a user drives it, with spawned
 * processes only (`node packages/cli/dist/main.js ...`, what `./eddy` runs).
 *
 * `eddy dev` runs on a copy of examples/quickstart in a temp dir (so editing the YAML does not touch the
 * repository; the services' relative commands, `node services/...`, resolve against the copy), with
 * EVENTS_LOG in its environment, which the service replicas inherit: each appends every event it
 * receives to that file as a JSON line.
 *
 * The tests run in order and share the one mesh: routing, tail, a filter edited live, dead letters,
 * kill -9 right after acknowledged sends + restart on the same data dir, deleting a trigger, bad input
 * against the running server, and a clean stop.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '@eddy/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../harness/free-ports.ts';
import { waitFor } from '../harness/wait.ts';
import { buildCli, type CliRun, expectOneLine, MAIN, ROOT, runEddy } from './helpers.ts';
import {
  DevOutput,
  editCopy,
  isReady,
  postIssueOpened,
  quickstartEnv,
  type Received,
  type Resource,
  readReceived,
  resourcesOf,
  stopDev,
} from './quickstart-kit.ts';

const WEBHOOK_SECRET = `s-${randomUUID()}`;

let work = '';
let manifests = '';
let dataDir = '';
let eventsLog = '';
let dev: ChildProcess | undefined;
const devOutput = new DevOutput();
let webhookPort = 0;

async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}

/** No EDDY_SECRET_* variable: the GitHubSource's secret comes from the Secret in its manifest. */
const env = () => {
  const out = quickstartEnv(dataDir, eventsLog);
  for (const name of Object.keys(out)) if (name.startsWith('EDDY_SECRET_')) delete out[name];
  return out;
};

function eddy(...args: string[]): Promise<CliRun> {
  return runEddy(args, { env: env(), timeoutMs: 30_000 });
}

function startDev(): ChildProcess {
  return devOutput.spawn(['-f', manifests, '--data-dir', dataDir, '--port', '0'], { cwd: ROOT, env: env() });
}

const fromDev = (timeoutMs: number) => devOutput.waiting(timeoutMs);
const received = () => readReceived(eventsLog);

/** Ids the service answered 2xx for (on its main path, not dead letters). */
async function deliveredTo(service: string): Promise<Set<string>> {
  return new Set(
    (await received())
      .filter((e) => e.service === service && e.path === '/' && e.status < 300)
      .map((e) => e.id),
  );
}

async function waitDelivered(service: string, ids: readonly string[], timeoutMs = 30_000): Promise<void> {
  await waitFor(
    `${ids.length} event(s) at ${service}`,
    async () => {
      const got = await deliveredTo(service);
      return ids.every((id) => got.has(id)) ? true : undefined;
    },
    fromDev(timeoutMs),
  );
}

async function getJson(kind: string, name?: string): Promise<Resource[]> {
  return resourcesOf(await eddy('get', kind, ...(name ? [name] : []), '-o', 'json'), kind);
}

const MESH: [string, string[]][] = [
  ['brokers', ['default']],
  ['triggers', ['everything-to-display', 'orders-to-processor']],
  ['services', ['event-display', 'order-processor']],
  // Ready with no environment variable: its webhook secret is the Secret in github-source.yaml.
  ['githubsources', ['github']],
  ['pingsources', ['heartbeat']],
  ['containersources', ['shop']],
];

async function waitMeshReady(mesh = MESH): Promise<void> {
  await waitFor(
    'the quickstart to be Ready',
    async () => {
      for (const [kind, names] of mesh) {
        const items = await getJson(kind);
        for (const name of names) {
          const r = items.find((i) => i.metadata.name === name);
          if (!r || !isReady(r)) return undefined;
        }
      }
      return true;
    },
    fromDev(90_000),
  );
}

interface SendArgs {
  type: string;
  source?: string;
  data?: string;
  extra?: string[];
}

/** `eddy send` and the id it printed (the broker acknowledged the event). */
async function send({
  type,
  source = '/shop',
  data = '{"order": 1}',
  extra = [],
}: SendArgs): Promise<string> {
  const r = await eddy(
    'send',
    '--broker',
    'default',
    '--type',
    type,
    '--source',
    source,
    '--data',
    data,
    ...extra,
  );
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const id = r.stdout.trim();
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  return id;
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })));
}

beforeAll(async () => {
  buildCli();
  work = await mkdtemp(join(tmpdir(), 'eddy-quickstart-'));
  manifests = join(work, 'quickstart');
  dataDir = join(work, 'data');
  eventsLog = join(work, 'events.jsonl');
  await mkdir(manifests);
  for (const f of await readdir(join(ROOT, 'examples/quickstart'))) {
    if (f.endsWith('.yaml')) await copyFile(join(ROOT, 'examples/quickstart', f), join(manifests, f));
  }
  // The services' commands are relative to the manifests.
  await cp(join(ROOT, 'examples/quickstart/services'), join(manifests, 'services'), { recursive: true });
  // The quickstart's fixed webhook port may be taken on a test machine: the copy gets a free one.
  webhookPort = await freePort();
  // The webhook secret is the Secret in the same file: the copy gets a fresh value, so the test shows
  // that the file's value is the one used.
  await editCopy(join(manifests, 'github-source.yaml'), [
    ['webhook-port: "8099"', `webhook-port: "${webhookPort}"`],
    ['secret: quickstart-demo-webhook-secret', `secret: ${WEBHOOK_SECRET}`],
  ]);
  dev = startDev();
  await waitMeshReady();
}, 180_000);

afterAll(async () => {
  await stopDev(dev);
  if (work) await rm(work, { recursive: true, force: true });
}, 60_000);

describe('the quickstart, through the CLI', () => {
  it('on its own, the shop ContainerSource feeds both services within seconds; cancelled orders only reach event-display', async () => {
    const fromShop = async (service: string, type: string) =>
      (await received()).filter(
        (e) => e.service === service && e.source === '/shop/orders' && e.type === `com.example.order.${type}`,
      );
    await waitFor(
      'shop orders at both services',
      async () =>
        (await fromShop('order-processor', 'created')).length > 0 &&
        (await fromShop('event-display', 'cancelled')).length > 0
          ? true
          : undefined,
      fromDev(30_000),
    );
    expect(await fromShop('order-processor', 'cancelled')).toEqual([]);
    // eddy dev shows what the services and the ContainerSource print, one `<name> | <line>` each.
    expect(devOutput.text).toMatch(/^shop \| \[shop\] sent com\.example\.order\.created order-1$/m);
    expect(devOutput.text).toMatch(
      /^order-processor-00001 \| \[order-processor\] .*com\.example\.order\.created/m,
    );
  });

  it('eddy send: events reach the services whose triggers match, and not the filtered-out one', async () => {
    const created = await send({ type: 'com.example.order.created' });
    const cancelled = await send({ type: 'com.example.order.cancelled' });
    const elsewhere = await send({ type: 'com.example.order.updated', source: '/warehouse' });
    await waitDelivered('event-display', [created, cancelled, elsewhere]);
    await waitDelivered('order-processor', [created]);
    // The display got all three, so the broker has evaluated them; a late delivery to the processor
    // would need a trigger that matched them. Give it a moment anyway.
    await sleep(1500);
    const processor = await deliveredTo('order-processor');
    expect(processor.has(cancelled)).toBe(false);
    expect(processor.has(elsewhere)).toBe(false);
    const atProcessor = (await received()).find((e) => e.id === created && e.service === 'order-processor');
    expect(atProcessor).toMatchObject({
      type: 'com.example.order.created',
      source: '/shop',
      data: { order: 1 },
    });
  });

  it('eddy get shows the mesh Ready, with addresses and the service URLs', async () => {
    const brokers = await eddy('get', 'brokers');
    expect(brokers.code).toBe(0);
    expect(brokers.stdout).toMatch(/^NAME\s+URL\s+READY\s+REASON\s+AGE\n/);
    expect(brokers.stdout).toMatch(/\ndefault\s+http:\/\/127\.0\.0\.1:\d+\/default\/default\s+True\s+\d+/);
    const services = await eddy('get', 'ksvc');
    expect(services.stdout).toMatch(
      /^NAME\s+URL\s+LATESTCREATED\s+LATESTREADY\s+REPLICAS\s+READY\s+REASON\s+AGE\n/,
    );
    expect(services.stdout).toMatch(
      /\norder-processor\s+http:\/\/\S+\s+order-processor-00001\s+order-processor-00001\s/,
    );
    const describe = await eddy('describe', 'trigger', 'orders-to-processor');
    expect(describe.code).toBe(0);
    expect(describe.stdout).toMatch(/^Name:\s+orders-to-processor$/m);
    expect(describe.stdout).toMatch(/^Conditions:\n\s+TYPE\s+STATUS/m);
  });

  it('a GitHub webhook delivery, signed with the Secret from the manifest (no environment variable), reaches event-display; a forged one is refused', async () => {
    // The webhook URL a user reads off `eddy get githubsource github -o json` (the Deployed condition).
    const [source] = await getJson('githubsource', 'github');
    const deployed = source?.status?.conditions?.find((c) => c.type === 'Deployed');
    expect(deployed?.message).toBe(`webhook endpoint http://127.0.0.1:${webhookPort}/`);
    const url = `http://127.0.0.1:${webhookPort}/`;
    const { delivery, status } = await postIssueOpened(url, WEBHOOK_SECRET);
    expect(status).toBe(202);
    await waitDelivered('event-display', [delivery]);
    const got = (await received()).find((e) => e.id === delivery);
    expect(got).toMatchObject({
      type: 'dev.knative.source.github.issues',
      source: 'https://github.com/your-org/your-repo',
    });
    const forged = await postIssueOpened(url, 'a guess');
    expect(forged.status).toBe(401);
  });

  it('eddy get / describe secret show the keys and sizes, never the value', async () => {
    const table = await eddy('get', 'secrets');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+TYPE\s+DATA\s+AGE\ngithub-webhook\s+Opaque\s+1\s+\S+\n$/);
    const yaml = await eddy('get', 'secret', 'github-webhook', '-o', 'yaml');
    expect(yaml.stdout).toContain(`secret: "<redacted: ${WEBHOOK_SECRET.length} bytes>"`);
    const json = await eddy('get', 'secrets', '-o', 'json');
    const described = await eddy('describe', 'secret', 'github-webhook');
    expect(described.stdout).toMatch(new RegExp(`^Data:\n  secret:\\s+${WEBHOOK_SECRET.length} bytes$`, 'm'));
    for (const r of [table, yaml, json, described]) {
      expect(r.code).toBe(0);
      expect(r.stdout + r.stderr).not.toContain(WEBHOOK_SECRET);
    }
    expect(await readFile(join(dataDir, 'resources.json'), 'utf8')).not.toContain(WEBHOOK_SECRET);
    expect(devOutput.text).not.toContain(WEBHOOK_SECRET);
  });

  it('eddy tail streams the events passing the broker that match its filter, and stops on Ctrl-C', async () => {
    const child = spawn(
      process.execPath,
      [MAIN, 'tail', 'default', '--filter', "type = 'com.example.tailed'", '-o', 'json'],
      {
        cwd: ROOT,
        env: env(),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString('utf8');
    });
    try {
      await waitFor(
        'eddy tail to be live',
        async () => (err.includes('tailing default/default') ? true : undefined),
        fromDev(20_000),
      );
      const skipped = await send({ type: 'com.example.not-tailed' });
      const shown = await send({ type: 'com.example.tailed', data: '{"tail": true}' });
      await waitFor(
        'the tailed event',
        async () => (out.includes(shown) ? true : undefined),
        fromDev(20_000),
      );
      child.kill('SIGINT');
      const { code } = await exited(child);
      expect(code).toBe(0);
      const events = out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Received);
      expect(events.map((e) => e.id)).toContain(shown);
      expect(events.map((e) => e.id)).not.toContain(skipped);
      expect(events.every((e) => e.type === 'com.example.tailed')).toBe(true);
      expect(events.find((e) => e.id === shown)).toMatchObject({ source: '/shop', data: { tail: true } });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('editing the trigger filter in the YAML changes the routing without a restart', async () => {
    const file = join(manifests, 'triggers.yaml');
    const before = await readFile(file, 'utf8');
    const after = before.replace(
      "'com.example.order.updated')",
      "'com.example.order.updated', 'com.example.order.cancelled')",
    );
    expect(after).not.toBe(before);
    const [old] = await getJson('trigger', 'orders-to-processor');
    await writeFile(file, after);
    await waitFor(
      'the edited trigger to be reconciled',
      async () => {
        const [t] = await getJson('trigger', 'orders-to-processor');
        return t &&
          t.metadata.generation > (old?.metadata.generation ?? 1) &&
          t.status?.observedGeneration === t.metadata.generation &&
          isReady(t)
          ? true
          : undefined;
      },
      fromDev(30_000),
    );
    const cancelled = await send({ type: 'com.example.order.cancelled' });
    await waitDelivered('order-processor', [cancelled]);
  });

  it('an order the processor refuses is retried, then dead-lettered to event-display /dead-letters', async () => {
    const doomed = await send({ type: 'com.example.order.created', data: '{"fail": true}' });
    const dead = await waitFor(
      'the dead letter',
      async () => (await received()).find((e) => e.id === doomed && e.path === '/dead-letters'),
      fromDev(30_000),
    );
    expect(dead).toMatchObject({ service: 'event-display', knativeerrorcode: '500' });
    // 1 attempt + 2 retries reached the processor before the dead-letter sink.
    const attempts = (await received()).filter((e) => e.id === doomed && e.service === 'order-processor');
    expect(attempts.length).toBeGreaterThanOrEqual(3);
  });

  it('kill -9 right after sends were acknowledged, restart on the same data dir: every acknowledged event is delivered', async () => {
    const ids = await Promise.all(
      Array.from({ length: 12 }, (_, i) => send({ type: 'com.example.order.created', data: `{"n": ${i}}` })),
    );
    dev!.kill('SIGKILL');
    await exited(dev!);
    devOutput.text += '\n--- killed with SIGKILL; restarting ---\n';
    dev = startDev();
    await waitMeshReady(MESH.filter(([kind]) => kind !== 'githubsources' && kind !== 'pingsources'));
    await waitDelivered('order-processor', ids, 45_000);
    await waitDelivered('event-display', ids, 30_000);
  }, 150_000);

  it('eddy delete trigger: no more deliveries through it', async () => {
    const r = await eddy('delete', 'trigger', 'orders-to-processor');
    expect(r).toMatchObject({
      code: 0,
      stdout: 'trigger.eventing.knative.dev "orders-to-processor" deleted\n',
    });
    expectOneLine(
      await eddy('get', 'trigger', 'orders-to-processor'),
      'non-zero',
      'eddy: trigger.eventing.knative.dev "orders-to-processor" not found',
    );
    const order = await send({ type: 'com.example.order.created' });
    await waitDelivered('event-display', [order]);
    await sleep(2000);
    expect((await deliveredTo('order-processor')).has(order)).toBe(false);
  }, 60_000);

  it('bad input against the running server: one line each, non-zero exit', async () => {
    expectOneLine(
      await eddy('get', 'brokr'),
      'non-zero',
      'eddy: unknown kind "brokr" (did you mean broker?)',
    );
    expectOneLine(
      await eddy('describe', 'ksvc', 'nope'),
      'non-zero',
      'eddy: service.serving.knative.dev "nope" not found',
    );
    expectOneLine(
      await eddy('delete', 'broker', 'nope'),
      'non-zero',
      'eddy: broker.eventing.knative.dev "nope" not found',
    );
    expectOneLine(
      await eddy('send', '--broker', 'nope', '--type', 't', '--source', 's'),
      'non-zero',
      'eddy: broker "nope" not found in namespace default (see: eddy get brokers -A)',
    );
    expectOneLine(
      await eddy('tail', 'nope'),
      'non-zero',
      'eddy: broker "nope" not found in namespace default (see: eddy get brokers -A)',
    );
    const broken = join(work, 'broken.yaml');
    await writeFile(
      broken,
      'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: t\n spec: {}\n',
    );
    expectOneLine(
      await eddy('apply', '-f', broken),
      'non-zero',
      new RegExp(`^eddy: nothing applied: ${broken}:\\d+:\\d+: error: `),
    );

    const admin = JSON.parse(await readFile(join(dataDir, 'admin.json'), 'utf8')) as { url: string };
    const wrong = join(work, 'wrong-token');
    await mkdir(wrong);
    await writeFile(join(wrong, 'admin.json'), JSON.stringify({ ...admin, token: 'not-the-token' }));
    expectOneLine(
      await eddy('get', 'brokers', '--data-dir', wrong),
      'non-zero',
      `eddy: eddy dev at ${admin.url} rejected the token from ${wrong}/admin.json (401: missing or wrong admin token (the Authorization header must be "Bearer <token>" from <data-dir>/admin.json)); is that file from another eddy dev?`,
    );
    const { token: _, ...noToken } = admin as { url: string; token?: string };
    await writeFile(join(wrong, 'admin.json'), JSON.stringify(noToken));
    expectOneLine(
      await eddy('get', 'brokers', '--data-dir', wrong),
      'non-zero',
      `eddy: ${wrong}/admin.json has no token; restart eddy dev to rewrite it`,
    );
  }, 60_000);

  it('Ctrl-C stops eddy dev cleanly; then the verbs say no eddy dev is running', async () => {
    dev!.kill('SIGINT');
    const { code } = await exited(dev!);
    expect(code).toBe(0);
    expectOneLine(
      await eddy('get', 'brokers'),
      'non-zero',
      `eddy: no eddy dev is running for data dir ${dataDir} (start one with: eddy dev -f <dir> --data-dir ${dataDir})`,
    );
  }, 60_000);
});
