/**
 * Issue 10's acceptance, with the built CLI spawned as a user runs it:
 *
 * - `eddy dev -f <absolute path>/examples/quickstart` started from the temp directory (/tmp) brings
 *   every resource Ready: the services' and the ContainerSource's relative commands resolve against
 *   the manifests' directory, not the one eddy dev was started in;
 * - `eddy get githubsource github -o json` has `status.address.url`, and a POST signed with the
 *   webhook secret to that URL is delivered;
 * - `eddy apply -f -` resolves relative paths against the directory it is run in.
 *
 * The whole examples/quickstart folder (YAML and services) is copied to `<tmp>/checkout/examples/`, far
 * from the repository and from eddy dev's working directory, with a free webhook port instead of the
 * fixed 8099 that a test machine may have taken. The webhook secret is the quickstart's own Secret
 * manifest (no EDDY_SECRET_* variable is set).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cp, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../harness/free-ports.ts';
import { waitFor } from '../harness/wait.ts';
import { buildCli, type CliRun, MAIN, ROOT, runEddy } from './helpers.ts';
import {
  DevOutput,
  editCopy,
  isReady,
  postIssueOpened,
  quickstartEnv,
  type Resource,
  readReceived,
  resourcesOf,
  stopDev,
} from './quickstart-kit.ts';

const WEBHOOK_SECRET = 'quickstart-demo-webhook-secret';

let work = '';
let quickstart = '';
let dataDir = '';
let eventsLog = '';
let webhookPort = 0;
let dev: ChildProcess | undefined;
const devOutput = new DevOutput();

const env = () => quickstartEnv(dataDir, eventsLog);

function eddy(args: string[], cwd = tmpdir()): Promise<CliRun> {
  return runEddy(args, { env: env(), cwd, timeoutMs: 30_000 });
}

async function getJson(kind: string, name?: string): Promise<Resource[]> {
  return resourcesOf(await eddy(['get', kind, ...(name ? [name] : []), '-o', 'json']), kind);
}

const fromDev = (timeoutMs: number) => devOutput.waiting(timeoutMs);
const received = () => readReceived(eventsLog);

// Every kind the quickstart has, with what eddy dev derives from it (Configurations, Routes, Revisions).
const KINDS = [
  'brokers',
  'triggers',
  'services',
  'configurations',
  'routes',
  'revisions',
  'githubsources',
  'pingsources',
  'containersources',
];

beforeAll(async () => {
  buildCli();
  work = await realpath(await mkdtemp(join(tmpdir(), 'eddy-anywhere-')));
  quickstart = join(work, 'checkout', 'examples', 'quickstart');
  dataDir = join(work, 'data');
  eventsLog = join(work, 'events.jsonl');
  await cp(join(ROOT, 'examples/quickstart'), quickstart, { recursive: true });
  [webhookPort = 0] = await freePorts(1);
  await editCopy(join(quickstart, 'github-source.yaml'), [
    ['webhook-port: "8099"', `webhook-port: "${webhookPort}"`],
  ]);

  dev = devOutput.spawn(['-f', quickstart, '--data-dir', dataDir, '--port', '0'], {
    cwd: tmpdir(),
    env: env(),
  });
}, 180_000);

afterAll(async () => {
  await stopDev(dev);
  if (work) await rm(work, { recursive: true, force: true });
}, 60_000);

describe(`eddy dev -f <absolute path>/examples/quickstart, started from ${tmpdir()}`, () => {
  it('brings every resource Ready', async () => {
    const notReady = await waitFor(
      'every resource Ready',
      async () => {
        const pending: string[] = [];
        let total = 0;
        for (const kind of KINDS) {
          for (const r of await getJson(kind)) {
            total++;
            if (!isReady(r)) pending.push(`${r.kind}/${r.metadata.name}`);
          }
        }
        return pending.length === 0 && total >= 12 ? pending : undefined;
      },
      fromDev(90_000),
    );
    expect(notReady).toEqual([]);
    // What runs: the manifests' directory, whatever eddy dev's own is.
    const [display] = await getJson('ksvc', 'event-display');
    expect(display?.spec?.template?.spec?.containers?.[0]).toMatchObject({
      command: ['node', join(quickstart, 'services/event-display.mjs')],
      workingDir: quickstart,
    });
  }, 120_000);

  it('the ContainerSource and the services run: shop orders reach both services', async () => {
    await waitFor(
      'shop orders at both services',
      async () => {
        const events = (await received()).filter((e) => e.source === '/shop/orders' && e.status < 300);
        return events.some((e) => e.service === 'event-display') &&
          events.some((e) => e.service === 'order-processor')
          ? true
          : undefined;
      },
      fromDev(30_000),
    );
  }, 60_000);

  it('eddy get githubsource -o json has status.address.url; a POST signed with the secret to it is delivered', async () => {
    const [source] = await getJson('githubsource', 'github');
    const url = source?.status?.address?.url;
    expect(url).toBe(`http://127.0.0.1:${webhookPort}/`);
    const table = await eddy(['get', 'githubsources']);
    expect(table.stdout).toMatch(/^NAME\s+URL\s+SINK\s+READY\s+REASON\s+AGE\n/);
    expect(table.stdout).toContain(`github   http://127.0.0.1:${webhookPort}/   `);

    const { delivery, status } = await postIssueOpened(url ?? '', WEBHOOK_SECRET);
    expect(status).toBe(202);
    const got = await waitFor(
      'the webhook event at event-display',
      async () =>
        (await received()).find((e) => e.id === delivery && e.service === 'event-display' && e.status < 300),
      fromDev(30_000),
    );
    expect(got).toMatchObject({
      type: 'dev.knative.source.github.issues',
      source: 'https://github.com/your-org/your-repo',
    });
  }, 60_000);

  it('eddy apply -f - resolves relative paths against the directory it is run in', async () => {
    const manifest = `apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: {name: stdin-shop}
spec:
  template:
    spec:
      containers:
        - command: [node, services/shop.mjs]
          env: [{name: INTERVAL_MS, value: "500"}]
  ceOverrides:
    extensions: {via: stdin}
  sink:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}
`;
    const applied = await new Promise<CliRun>((done) => {
      const child = spawn(process.execPath, [MAIN, 'apply', '-f', '-'], { cwd: quickstart, env: env() });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString('utf8');
      });
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString('utf8');
      });
      child.once('exit', (code) => done({ code: code ?? -1, stdout, stderr }));
      child.stdin.end(manifest);
    });
    expect(applied).toEqual({
      code: 0,
      stdout: 'containersource.sources.knative.dev/stdin-shop created\n',
      stderr: '',
    });
    const [source] = await getJson('containersource', 'stdin-shop');
    expect(source?.spec?.template?.spec?.containers?.[0]).toMatchObject({
      command: ['node', join(quickstart, 'services/shop.mjs')],
      workingDir: quickstart,
    });
    await waitFor(
      'an order from the stdin-applied source',
      async () => (await received()).find((e) => e.via === 'stdin' && e.service === 'event-display'),
      fromDev(30_000),
    );
  }, 60_000);
});
