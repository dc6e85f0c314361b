// The process runtime against real replica processes (tiny Node programs in fixtures/) and real
// HTTP/TCP on 127.0.0.1: readiness, env, scaling, draining on SIGTERM, SIGKILL after the grace.
import { execFileSync } from 'node:child_process';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResolvedProbe } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive } from '../testing/processes.js';
import { waitFor } from '../testing/wait.js';
import { createProcessRuntime, type ProcessRuntime, type ReplicaOutputLine } from './process-runtime.js';
import type { WorkloadSpec } from './runtime.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

const httpProbe: ResolvedProbe = {
  kind: 'http',
  path: '/healthz',
  initialDelayMs: 0,
  periodMs: 200,
  timeoutMs: 1000,
  failureThreshold: 3,
  successThreshold: 1,
};

function spec(overrides: Partial<WorkloadSpec> = {}): WorkloadSpec {
  return {
    namespace: 'default',
    revision: 'hello-00001',
    configuration: 'hello',
    service: 'hello',
    command: [process.execPath, fixture('http-app.mjs')],
    args: [],
    env: {},
    readiness: httpProbe,
    terminationGraceMs: 10_000,
    ...overrides,
  };
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

let runtime: ProcessRuntime | undefined;
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

describe('process runtime', () => {
  it('rejects a revision without a command, naming what embedded mode needs', () => {
    runtime = createProcessRuntime();
    expect(() => runtime?.deploy(spec({ command: [] }))).toThrow(
      /default\/hello-00001: containers\[0\]\.command is empty.*image-only revisions need the Kubernetes runtime/s,
    );
    expect(() => runtime?.deploy(spec({ command: [''] }))).toThrow(/command is empty/);
    const deployment = runtime.deploy(spec());
    expect(() => runtime?.deploy(spec())).toThrow(/revision default\/hello-00001 is already deployed/);
    expect(() => deployment.scale(-1)).toThrow(/scale\(\) needs an integer >= 0, got -1/);
    // A closing deployment no longer blocks deploying the revision again.
    void deployment.close();
    expect(() => runtime?.deploy(spec())).not.toThrow();
  });

  it('runs a replica with PORT, K_* and env in workingDir, ready only once its HTTP probe passes', async () => {
    const registry = new Registry();
    runtime = createProcessRuntime({ registry });
    const workingDir = relative(process.cwd(), fileURLToPath(new URL('./fixtures', import.meta.url)));
    const deployment = runtime.deploy(
      spec({
        command: [process.execPath],
        args: ['http-app.mjs'],
        workingDir,
        env: { GREETING: 'hi', READY_AFTER_MS: '700', PORT: '1' },
      }),
    );
    deployment.scale(1);
    await waitFor('the replica process', () => deployment.status().actual === 1);
    const [starting] = deployment.replicas();
    // The app listens at once but answers 503 on /healthz for 700 ms: started, not ready.
    await sleep(300);
    expect(deployment.status()).toMatchObject({ desired: 1, actual: 1, ready: 0 });
    await waitFor('ready', () => deployment.status().ready === 1);
    const [replica] = deployment.replicas();
    expect(replica?.id).toBe(starting?.id);
    expect(replica?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const env = JSON.parse((await get(`${replica?.url}/env`)).body);
    expect(env).toEqual({
      PORT: new URL(replica?.url ?? '').port,
      K_SERVICE: 'hello',
      K_CONFIGURATION: 'hello',
      K_REVISION: 'hello-00001',
      GREETING: 'hi',
      cwd: fileURLToPath(new URL('./fixtures', import.meta.url)),
    });
    const metrics = await registry.metrics();
    expect(metrics).toContain(
      'eddy_serving_replicas{namespace="default",revision="hello-00001",state="ready"} 1',
    );
    expect(metrics).toMatch(
      /eddy_serving_replica_start_seconds_count\{namespace="default",revision="hello-00001"\} 1/,
    );
  });

  it('logs every stdout line at info and stderr line at warn with revision and replica', async () => {
    const entries: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => entries.push(JSON.parse(line)) });
    const output: ReplicaOutputLine[] = [];
    runtime = createProcessRuntime({
      logger,
      restartBackoff: { initialMs: 10_000 },
      onOutput: (line) => output.push(line),
    });
    const deployment = runtime.deploy(spec({ command: [process.execPath, fixture('crash-app.mjs')] }));
    deployment.scale(1);
    await waitFor('the crash', () => deployment.status().failure !== undefined);
    const id = `default/hello-00001#1`;
    // The same lines reach onOutput (what `eddy dev` prints), in order, with their stream.
    expect(output).toHaveLength(26);
    expect(output[0]).toEqual({
      namespace: 'default',
      revision: 'hello-00001',
      replica: id,
      stream: 'stdout',
      line: 'boot line 1',
    });
    expect(output[25]).toMatchObject({ stream: 'stderr', line: 'fatal: missing configuration DATABASE_URL' });
    const fields = { namespace: 'default', revision: 'hello-00001', replica: id };
    const lines = entries.filter((e) => e.stream !== undefined);
    expect(lines).toHaveLength(26);
    expect(lines[0]).toMatchObject({ ...fields, level: 30, stream: 'stdout', msg: 'boot line 1' });
    expect(lines[24]).toMatchObject({ ...fields, level: 30, stream: 'stdout', msg: 'boot line 25' });
    expect(lines[25]).toMatchObject({
      ...fields,
      level: 40,
      stream: 'stderr',
      msg: 'fatal: missing configuration DATABASE_URL',
    });
    expect(entries.at(-1)).toMatchObject({
      ...fields,
      level: 40,
      reason: 'ExitCode1',
      msg: 'container exited with code 1 before becoming ready',
    });
  });

  it('uses the configuration as K_SERVICE when the revision has no service', async () => {
    runtime = createProcessRuntime();
    const { service: _none, ...noService } = spec({
      configuration: 'standalone',
      revision: 'standalone-00003',
    });
    const deployment = runtime.deploy(noService);
    deployment.scale(1);
    await waitFor('ready', () => deployment.status().ready === 1);
    const env = JSON.parse((await get(`${deployment.replicas()[0]?.url}/env`)).body);
    expect(env).toMatchObject({
      K_SERVICE: 'standalone',
      K_CONFIGURATION: 'standalone',
      K_REVISION: 'standalone-00003',
    });
  });

  it('detects readiness by TCP connect for an app that speaks no HTTP (an HTTP probe never passes)', async () => {
    runtime = createProcessRuntime();
    const tcp = runtime.deploy(
      spec({
        revision: 'tcp-00001',
        command: [process.execPath, fixture('tcp-app.mjs')],
        readiness: { ...httpProbe, kind: 'tcp' },
      }),
    );
    const http = runtime.deploy(
      spec({ revision: 'tcp-00002', command: [process.execPath, fixture('tcp-app.mjs')] }),
    );
    tcp.scale(1);
    http.scale(1);
    await waitFor('tcp-probed replica ready', () => tcp.status().ready === 1);
    // Give the HTTP-probed one as long again plus a margin: it runs but never becomes ready.
    await waitFor('http-probed replica running', () => http.status().actual === 1);
    await sleep(1000);
    expect(http.status()).toMatchObject({ actual: 1, ready: 0 });
  });

  it('scales 0 -> 3 -> 1 -> 0, stopping the newest replicas first', async () => {
    const registry = new Registry();
    runtime = createProcessRuntime({ registry });
    const deployment = runtime.deploy(spec());
    let notifications = 0;
    deployment.subscribe(() => notifications++);
    expect(deployment.status()).toMatchObject({ desired: 0, actual: 0, ready: 0 });
    deployment.scale(3);
    await waitFor('3 ready', () => deployment.status().ready === 3);
    const three = deployment.replicas();
    expect(new Set(three.map((r) => r.url)).size).toBe(3);
    for (const r of three) expect((await get(r.url)).body).toBe('hello from hello-00001');
    const numberOf = (id: string) => Number(id.split('#')[1]);
    const oldest = [...three].sort((a, b) => numberOf(a.id) - numberOf(b.id))[0];

    deployment.scale(1);
    expect(deployment.status()).toMatchObject({ desired: 1, ready: 1 });
    await waitFor('2 stopped', () => deployment.status().actual === 1);
    expect(deployment.replicas().map((r) => r.id)).toEqual([oldest?.id]);
    for (const r of three.filter((r) => r.id !== oldest?.id)) expect(isAlive(r.pid ?? 0)).toBe(false);
    expect(await registry.metrics()).toContain(
      'eddy_serving_replicas{namespace="default",revision="hello-00001",state="ready"} 1',
    );

    deployment.scale(0);
    await waitFor('all stopped', () => deployment.status().actual === 0);
    expect(isAlive(oldest?.pid ?? 0)).toBe(false);
    expect(deployment.status()).toEqual({ desired: 0, actual: 0, ready: 0, restarts: 0 });
    expect(notifications).toBeGreaterThan(6);
  });

  it('on scale-down tells subscribers first, then SIGTERMs; the app drains its in-flight request', async () => {
    runtime = createProcessRuntime();
    const deployment = runtime.deploy(spec());
    deployment.scale(1);
    await waitFor('ready', () => deployment.status().ready === 1);
    const [replica] = deployment.replicas();
    const url = replica?.url ?? '';

    const inFlight = get(`${url}/slow?ms=1500`);
    await sleep(200);
    let seenBySubscriber: { ready: boolean | undefined; appGotSigterm: string } | undefined;
    deployment.subscribe(() => {
      if (seenBySubscriber) return;
      // Asks the app synchronously, from inside the notification, whether SIGTERM has arrived.
      let appGotSigterm: string;
      try {
        appGotSigterm = execFileSync(process.execPath, [
          '-e',
          `fetch(${JSON.stringify(`${url}/sigterm`)}).then((r) => r.text()).then((t) => process.stdout.write(t))`,
        ]).toString();
      } catch {
        appGotSigterm = 'unreachable';
      }
      seenBySubscriber = {
        ready: deployment.replicas().find((r) => r.id === replica?.id)?.ready,
        appGotSigterm,
      };
    });
    const started = Date.now();
    const closed = deployment.close();
    expect(seenBySubscriber).toEqual({ ready: false, appGotSigterm: 'no' });
    expect(deployment.status().ready).toBe(0);

    const response = await inFlight;
    expect(response).toEqual({ status: 200, body: 'done after 1500 ms' });
    await closed;
    // Drained and exited on its own, long before the 10 s grace.
    expect(Date.now() - started).toBeLessThan(8000);
    expect(isAlive(replica?.pid ?? 0)).toBe(false);
    expect(deployment.status()).toMatchObject({ actual: 0, restarts: 0 });
    expect(deployment.status().failure).toBeUndefined();
  });

  it('SIGKILLs the process group of an app that ignores SIGTERM after terminationGraceMs', async () => {
    runtime = createProcessRuntime({ logger: pino({ level: 'silent' }) });
    const deployment = runtime.deploy(
      spec({ env: { IGNORE_SIGTERM: '1', SPAWN_GRANDCHILD: '1' }, terminationGraceMs: 1000 }),
    );
    deployment.scale(1);
    await waitFor('ready', () => deployment.status().ready === 1);
    const [replica] = deployment.replicas();
    const grandchild = Number((await get(`${replica?.url}/grandchild`)).body);
    expect(isAlive(grandchild)).toBe(true);

    const started = Date.now();
    deployment.scale(0);
    await sleep(500);
    // Still running half-way through the grace period: SIGTERM alone did not stop it.
    expect(deployment.status().actual).toBe(1);
    expect(isAlive(replica?.pid ?? 0)).toBe(true);
    await waitFor('killed', () => deployment.status().actual === 0, 8000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(isAlive(replica?.pid ?? 0)).toBe(false);
    await waitFor('grandchild killed with the group', () => !isAlive(grandchild), 3000);
    expect(deployment.status().failure).toBeUndefined();
  });
});
