// How the process runtime reports and recovers from replicas that do not work: crashes before
// ready (ExitCode<n>, then CrashLoopBackOff, restarted with growing delays), commands that cannot
// be started (SpawnFailed), probes that never pass or start failing (ProbeFailed, out of rotation).
import { fileURLToPath } from 'node:url';
import type { ResolvedProbe } from '@eddy/api';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../testing/wait.js';
import { createProcessRuntime, type ProcessRuntime } from './process-runtime.js';
import type { DeploymentFailure, WorkloadSpec } from './runtime.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

const httpProbe: ResolvedProbe = {
  kind: 'http',
  path: '/healthz',
  initialDelayMs: 0,
  periodMs: 100,
  timeoutMs: 1000,
  failureThreshold: 2,
  successThreshold: 2,
};

function spec(overrides: Partial<WorkloadSpec> = {}): WorkloadSpec {
  return {
    namespace: 'default',
    revision: 'broken-00001',
    configuration: 'broken',
    service: 'broken',
    command: [process.execPath, fixture('http-app.mjs')],
    args: [],
    env: {},
    readiness: httpProbe,
    terminationGraceMs: 5000,
    ...overrides,
  };
}

// The runtime warns about every failure these tests cause on purpose.
const logger = pino({ level: 'silent' });

let runtime: ProcessRuntime | undefined;
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

describe('process runtime failures', () => {
  it('reports a crash before ready as ExitCode1 with the last log lines, then CrashLoopBackOff, restarting with backoff', async () => {
    const registry = new Registry();
    runtime = createProcessRuntime({ logger, registry, restartBackoff: { initialMs: 300, maxMs: 5000 } });
    const deployment = runtime.deploy(spec({ command: [process.execPath, fixture('crash-app.mjs')] }));
    const failures: DeploymentFailure[] = [];
    // When each replica process appeared and when it was gone, in order.
    const appeared: number[] = [];
    const gone: number[] = [];
    const seen = new Set<string>();
    let live = new Set<string>();
    deployment.subscribe(() => {
      const status = deployment.status();
      if (status.failure && status.failure !== failures.at(-1)) {
        if (JSON.stringify(status.failure) !== JSON.stringify(failures.at(-1))) failures.push(status.failure);
      }
      const now = Date.now();
      const ids = new Set(deployment.replicas().map((r) => r.id));
      for (const id of ids) {
        if (!seen.has(id)) {
          seen.add(id);
          appeared.push(now);
        }
      }
      for (const id of live) if (!ids.has(id)) gone.push(now);
      live = ids;
    });
    deployment.scale(1);
    await waitFor('4 processes', () => appeared.length >= 4, 20_000);

    expect(failures[0]).toEqual({
      reason: 'ExitCode1',
      message: 'container exited with code 1 before becoming ready',
      exitCode: 1,
      lastLogLines: [
        ...Array.from({ length: 19 }, (_, i) => `boot line ${i + 7}`),
        'fatal: missing configuration DATABASE_URL',
      ],
    });
    expect(failures[1]).toMatchObject({
      reason: 'CrashLoopBackOff',
      message:
        'back-off 0.6s restarting failed container: container exited with code 1 before becoming ready',
      exitCode: 1,
    });
    expect(failures[2]?.message).toMatch(/^back-off 1\.2s /);
    // Delay from each exit to the next start: 300, 600, 1200 ms (lower bounds; the machine may be slow).
    const delays = [0, 1, 2].map((i) => (appeared[i + 1] ?? 0) - (gone[i] ?? 0));
    expect(delays[0]).toBeGreaterThanOrEqual(280);
    expect(delays[1]).toBeGreaterThanOrEqual(580);
    expect(delays[2]).toBeGreaterThanOrEqual(1180);
    expect(deployment.status()).toMatchObject({ desired: 1, ready: 0 });
    expect(deployment.status().restarts).toBeGreaterThanOrEqual(3);
    expect(await registry.metrics()).toMatch(
      /eddy_serving_replica_restarts_total\{namespace="default",revision="broken-00001"\} [3-9]/,
    );
  });

  it('restarts a replica that crashes after it was ready; a replica that stayed ready resets its backoff', async () => {
    runtime = createProcessRuntime({
      logger,
      restartBackoff: { initialMs: 200, maxMs: 5000, resetAfterReadyMs: 300 },
    });
    const deployment = runtime.deploy(spec({ env: { EXIT_AFTER_MS: '1200', EXIT_CODE: '3' } }));
    // The failure message at each restart.
    const failures: string[] = [];
    deployment.subscribe(() => {
      const { restarts = 0, failure } = deployment.status();
      if (restarts > failures.length) failures.push(failure?.message ?? '(none)');
    });
    deployment.scale(1);
    await waitFor('two restarts', () => (deployment.status().restarts ?? 0) >= 2, 15_000);
    // Each process was ready for longer than resetAfterReadyMs: no CrashLoopBackOff, never a longer delay.
    expect(failures.slice(0, 2)).toEqual(['container exited with code 3', 'container exited with code 3']);
    await waitFor('ready again', () => deployment.status().ready === 1, 10_000);
    expect(deployment.status().failure).toBeUndefined();
  });

  it('reports a signal that kills a replica before ready as Signal<NAME>', async () => {
    runtime = createProcessRuntime({ logger, restartBackoff: { initialMs: 5000 } });
    const deployment = runtime.deploy(spec({ env: { HEALTH: 'fail' } }));
    deployment.scale(1);
    await waitFor('running', () => deployment.replicas()[0]?.pid !== undefined);
    process.kill(deployment.replicas()[0]?.pid ?? 0, 'SIGSEGV');
    await waitFor('failure', () => deployment.status().failure !== undefined);
    expect(deployment.status().failure).toMatchObject({
      reason: 'SignalSIGSEGV',
      message: 'container was killed by signal SIGSEGV before becoming ready',
      signal: 'SIGSEGV',
    });
  });

  it('reports a command that cannot be started as SpawnFailed with the OS error', async () => {
    runtime = createProcessRuntime({ logger, restartBackoff: { initialMs: 200 } });
    const deployment = runtime.deploy(spec({ command: ['eddy-no-such-command-4711', '--serve'] }));
    deployment.scale(1);
    await waitFor('failure', () => deployment.status().failure !== undefined);
    const failure = deployment.status().failure;
    expect(failure?.reason).toBe('SpawnFailed');
    expect(failure?.message).toMatch(
      /^cannot start command "eddy-no-such-command-4711": .*ENOENT.*command not found/,
    );
    expect(failure?.lastLogLines).toEqual([]);
    await waitFor('retried', () => (deployment.status().restarts ?? 0) >= 2);
    expect(deployment.status()).toMatchObject({ desired: 1, ready: 0, failure: { reason: 'SpawnFailed' } });

    const badDir = runtime.deploy(spec({ revision: 'broken-00002', workingDir: 'no/such/dir' }));
    badDir.scale(1);
    await waitFor('failure', () => badDir.status().failure !== undefined);
    expect(badDir.status().failure?.reason).toBe('SpawnFailed');
    expect(badDir.status().failure?.message).toMatch(
      /working directory .*no\/such\/dir cannot be used: ENOENT/,
    );
  });

  it('keeps a replica whose probe never passes out of rotation and reports ProbeFailed', async () => {
    runtime = createProcessRuntime({ logger, readinessDeadlineMs: 3000 });
    const deployment = runtime.deploy(spec({ env: { HEALTH: 'fail' } }));
    deployment.scale(1);
    await waitFor('ProbeFailed', () => deployment.status().failure !== undefined);
    expect(deployment.status()).toMatchObject({
      desired: 1,
      actual: 1,
      ready: 0,
      restarts: 0,
      failure: {
        reason: 'ProbeFailed',
        message: 'readiness probe has not passed within 3s of start: GET /healthz returned 503',
      },
    });
    expect(deployment.status().failure?.lastLogLines).toEqual([expect.stringMatching(/^listening on \d+$/)]);
    expect(deployment.replicas()).toEqual([expect.objectContaining({ ready: false })]);
    // It keeps running (readiness does not restart it) and answers when asked directly.
    const res = await fetch(`${deployment.replicas()[0]?.url}/`);
    expect(res.status).toBe(200);
  });

  it('takes a replica out after failureThreshold failed probes and back after successThreshold', async () => {
    runtime = createProcessRuntime({ logger });
    const deployment = runtime.deploy(spec());
    deployment.scale(1);
    await waitFor('ready', () => deployment.status().ready === 1);
    const [replica] = deployment.replicas();
    await fetch(`${replica?.url}/toggle-health`);
    await waitFor('out of rotation', () => deployment.status().ready === 0, 5000);
    expect(deployment.status()).toMatchObject({ actual: 1, failure: { reason: 'ProbeFailed' } });
    expect(deployment.status().failure?.message).toBe(
      'readiness probe failed 2 times in a row: GET /healthz returned 503',
    );
    expect(deployment.replicas()).toEqual([
      { id: replica?.id, url: replica?.url, pid: replica?.pid, ready: false },
    ]);
    await fetch(`${replica?.url}/toggle-health`);
    await waitFor('back in rotation', () => deployment.status().ready === 1, 5000);
    expect(deployment.status().failure).toBeUndefined();
    expect(deployment.replicas()[0]?.id).toBe(replica?.id);
  });
});
