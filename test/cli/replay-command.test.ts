/**
 * `eddy replay`, `eddy get/describe/delete replay` as a user runs them (the built CLI spawned with this
 * Node) against a real `eddy dev` (in process, embedded log, a temp data dir) with a broker, a trigger
 * to a real subscriber and three events in the log.
 *
 * The replay is real: eddy dev's reconciler fills its status and its dispatcher re-delivers the window.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { resourceKey } from '@eddy/api';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevServer, startDevServer } from '../../packages/cli/src/dev/dev-server.ts';
import {
  admin,
  Cleanups,
  type Subscriber,
  startSubscriber,
} from '../../packages/cli/src/dev/testing/dev-test-kit.ts';
import { brokerYaml, triggerYaml } from '../../packages/cli/src/testing/manifests.ts';
import { waitFor } from '../harness/wait.ts';
import { buildCli, MAIN, runEddy } from './helpers.ts';

const cleanups = new Cleanups();
let server: DevServer;
let subscriber: Subscriber;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  buildCli();
  subscriber = await startSubscriber();
  cleanups.push(() => subscriber.close());
  const dataDir = join(cleanups.tempDir('eddy-replay-e2e-'), '.eddy');
  server = await startDevServer({ dataDir, files: [], port: 0 });
  cleanups.push(() => server.close());
  env = { ...process.env, EDDY_DATA_DIR: dataDir };
  await mesh();
}, 180_000);

afterAll(() => cleanups.run());

const eddy = (...args: string[]) => runEddy(args, { env });

/** The broker, a trigger to the subscriber, and three events in the log (delivered live once). */
async function mesh(): Promise<void> {
  const text = `${brokerYaml()}---\n${triggerYaml('to-sub', `{uri: "${subscriber.url}/in"}`)}`;
  expect((await admin(server, 'POST', '/v1/apply', { text, file: 'mesh.yaml' })).status).toBe(200);
  await server.settled();
  for (const id of ['e1', 'e2', 'e3']) {
    const res = await request(`${server.ingressUrl}/default/default`, {
      method: 'POST',
      headers: { 'ce-specversion': '1.0', 'ce-type': 'com.example.t', 'ce-source': '/test', 'ce-id': id },
      body: 'x',
    });
    await res.body.text();
    expect(res.statusCode).toBe(202);
  }
  await waitFor('the live deliveries', () => subscriber.received.length >= 3);
}

const exitOf = (child: ChildProcess) =>
  new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', r)));

/** `eddy replay <args>` spawned, its output kept as it comes. */
function spawnReplay(args: string[]) {
  const child = spawn(process.execPath, [MAIN, 'replay', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout?.on('data', (c: Buffer) => {
    out.stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    out.stderr += c.toString();
  });
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { child, out, exited: exitOf(child) };
}

const stored = (name: string) => server.store.get(resourceKey('Replay', 'default', name))?.resource;
const fromOf = (name: string) => (stored(name)?.spec as { from?: string } | undefined)?.from ?? '';

describe('eddy replay against eddy dev', () => {
  it('--no-wait creates the Replay once; get, describe and delete see it', async () => {
    const created = await eddy(
      'replay',
      'default',
      '--from',
      '1h',
      '--trigger',
      'to-sub',
      '--name',
      'r1',
      '--no-wait',
    );
    expect(created).toMatchObject({ code: 0, stdout: 'replay.eventing.eddy.dev/r1 created\n' });
    expect(created.stderr).toBe(
      'follow it with: eddy describe replay r1 (cancel it with: eddy delete replay r1)\n',
    );
    expect(stored('r1')?.spec).toMatchObject({ broker: 'default', target: { triggers: ['to-sub'] } });
    const asked = fromOf('r1');
    const from = Date.parse(asked);
    expect(Date.now() - from).toBeGreaterThan(3_590_000);
    expect(Date.now() - from).toBeLessThan(3_700_000);

    // Never over an existing one.
    const again = await eddy(
      'replay',
      'default',
      '--from',
      '2h',
      '--trigger',
      'to-sub',
      '--name',
      'r1',
      '--no-wait',
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      'eddy: replay "r1" already exists (see: eddy describe replay r1; pick another --name)\n',
    );
    expect(fromOf('r1')).toBe(asked);

    const table = await eddy('get', 'replays');
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME +BROKER +STATUS +PROGRESS +DELIVERED +FAILED +AGE$/);
    expect(table.stdout.split('\n')[1]).toMatch(/^r1 +default +/);
    const described = await eddy('describe', 'replay', 'r1');
    expect(described.code).toBe(0);
    expect(described.stdout).toContain(`Window:       ${asked} .. `);
    expect(described.stdout).toMatch(/\nState: +\S+/);
    expect(described.stdout).toContain('Counts:');

    expect(await eddy('delete', 'replay', 'r1')).toMatchObject({
      code: 0,
      stdout: 'replay.eventing.eddy.dev "r1" deleted\n',
    });
    expect(stored('r1')).toBeUndefined();
  });

  it('waits until the replay completes, then prints the counts and exits 0', async () => {
    const run = spawnReplay(['default', '--from', '1h', '--trigger', 'to-sub', '--name', 'r2']);
    const live = subscriber.received.length;
    expect(await run.exited).toBe(0);
    expect(run.out.stdout).toMatch(
      /^replay\.eventing\.eddy\.dev\/r2 created\nreplay r2 completed( in \S+)?\n/,
    );
    expect(run.out.stdout).toMatch(/\n {2}delivered +3\n/);
    expect(run.out.stdout).toMatch(/\n {2}total +3\n/);

    // The three events again, marked as a replay.
    const again = subscriber.received.slice(live);
    expect(again.map((e) => e.id).sort()).toEqual(['e1', 'e2', 'e3']);
    expect(new Set(again.map((e) => e.headers['ce-eddyreplay']))).toEqual(new Set(['default/r2']));
    const table = await eddy('get', 'replay', 'r2');
    expect(table.stdout.split('\n')[1]).toMatch(/^r2 +default +Completed +3\/3 +3 +0 +\S+$/);
  });

  it('Ctrl-C without a terminal leaves the replay running and exits 0 with how to follow or cancel it', async () => {
    // --rate keeps a real replay of three events running for a while.
    const run = spawnReplay([
      'default',
      '--from',
      '1h',
      '--trigger',
      'to-sub',
      '--name',
      'r3',
      '--rate',
      '0.1',
    ]);
    await waitFor('the replay followed', () => run.out.stderr.length > 0 && stored('r3'));
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.out.stderr).toContain(
      'replay r3 keeps running; follow it with: eddy describe replay r3 (cancel it with: eddy delete replay r3)\n',
    );
    expect(stored('r3')).toBeDefined();
    expect(await eddy('delete', 'replay', 'r3')).toMatchObject({ code: 0 });
  });
});
