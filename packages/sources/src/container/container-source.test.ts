import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataValue } from '@eddy/api';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSourceRegistry } from '../builtins.js';
import type { SourceDefinition } from '../sdk/adapter.js';
import type { SourceRunner } from '../sdk/runner.js';
import { closeSourceTestBed, startSourceTestBed } from '../testing/source-test-bed.js';
import type { TestSink } from '../testing/test-sink.js';
import { waitUntil } from '../testing/wait-until.js';
import { createContainerSourceAdapter, sourceContainerEnv } from './container-source.js';

const fixture = fileURLToPath(new URL('./fixtures/emit-once.mjs', import.meta.url));

function containerSource(
  sink: string,
  env: { name: string; value?: string; valueFrom?: unknown }[],
): SourceDefinition {
  return {
    apiVersion: 'sources.knative.dev/v1',
    kind: 'ContainerSource',
    namespace: 'demo',
    name: 'heartbeat',
    spec: {
      template: {
        spec: { containers: [{ name: 'main', command: [process.execPath], args: [fixture], env }] },
      },
      sink: { uri: sink },
    },
    sink,
    ceOverrides: { extensions: { team: 'blue' } },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('ContainerSource', () => {
  let sink: TestSink;
  let runner: SourceRunner;
  let output: { namespace: string; name: string; stream: string; line: string }[];
  beforeEach(async () => {
    output = [];
    // The runner's own secrets must not reach the container's environment.
    process.env.EDDY_SECRET_RUNNER_ONLY_TOKEN = 'runner-only';
    const adapters = createSourceRegistry();
    adapters.register(
      createContainerSourceAdapter({
        restartDelayMs: 200,
        stableAfterMs: 5_000,
        stopGraceMs: 500,
        onOutput: (line) => output.push(line),
      }),
      { replace: true },
    );
    ({ sink, runner } = await startSourceTestBed({
      adapters,
      logger: pino({ level: 'silent' }),
      env: { EDDY_SECRET_FIXTURE_TOKEN: 's3cret' },
      // The ConfigMap demo/settings, as eddy dev's store serves it.
      values: {
        secret: () => undefined,
        configMap: (ns, name) =>
          ns === 'demo' && name === 'settings'
            ? new Map([['message', Buffer.from('from-configmap')]])
            : undefined,
      },
    }));
  });
  afterEach(async () => {
    delete process.env.EDDY_SECRET_RUNNER_ONLY_TOKEN;
    await closeSourceTestBed({ runner, sink });
  });

  it('runs the command with K_SINK, K_CE_OVERRIDES and env; stop ends the process', async () => {
    const status = await runner.apply(
      containerSource(sink.url, [
        { name: 'MODE', value: 'serve' },
        { name: 'MESSAGE', value: 'hi' },
        { name: 'SECRET', valueFrom: { secretKeyRef: { name: 'fixture', key: 'token' } } },
      ]),
    );
    expect(status.ready).toMatchObject({ status: 'True', reason: 'Running' });
    await sink.waitFor((r) => r.length >= 1, 10_000);
    const [event] = sink.accepted();
    expect(event?.team).toBe('blue');
    const data = dataValue(event!) as { pid: number; message: string; secret: string; leaked?: string };
    expect(data.message).toBe('hi');
    expect(data.secret).toBe('s3cret');
    expect(data.leaked).toBeUndefined();
    expect(alive(data.pid)).toBe(true);
    // What the container printed also reaches onOutput (eddy dev's `<name> | <line>`).
    await waitUntil(() => output.length > 0, 5_000, 'the container output', 50);
    expect(output).toContainEqual({
      namespace: 'demo',
      name: 'heartbeat',
      stream: 'stdout',
      line: `sent from ${data.pid}`,
    });
    await runner.close();
    expect(alive(data.pid)).toBe(false);
  });

  it('env valueFrom.configMapKeyRef comes from the ConfigMap; a missing key fails the start naming it', async () => {
    await runner.apply(
      containerSource(sink.url, [
        { name: 'MODE', value: 'serve' },
        { name: 'MESSAGE', valueFrom: { configMapKeyRef: { name: 'settings', key: 'message' } } },
      ]),
    );
    await sink.waitFor((r) => r.length >= 1, 10_000);
    expect((dataValue(sink.accepted()[0]!) as { message?: string } | undefined)?.message).toBe(
      'from-configmap',
    );
    const status = await runner.apply(
      containerSource(sink.url, [
        { name: 'MODE', value: 'serve' },
        { name: 'MESSAGE', valueFrom: { configMapKeyRef: { name: 'settings', key: 'nope' } } },
      ]),
    );
    expect(status.ready).toMatchObject({
      status: 'False',
      reason: 'StartFailed',
      message:
        'configmap demo/settings key nope not found (looked for ConfigMap demo/settings, whose keys are message)',
    });
  });

  it('kills a process that ignores SIGTERM after the grace period', async () => {
    await runner.apply(containerSource(sink.url, [{ name: 'MODE', value: 'stubborn' }]));
    await sink.waitFor((r) => r.length >= 1, 10_000);
    const accepted = sink.accepted()[0];
    const pid = accepted === undefined ? -1 : (dataValue(accepted) as { pid: number }).pid;
    const started = performance.now();
    await runner.close();
    expect(performance.now() - started).toBeGreaterThanOrEqual(450);
    expect(alive(pid)).toBe(false);
  });

  it('restarts a crashing process with growing delays and reports CrashLoop with its last output', async () => {
    await runner.apply(containerSource(sink.url, [{ name: 'MODE', value: 'crash' }]));
    await sink.waitFor((r) => r.length >= 4, 15_000);
    const pids = sink.accepted().map((e) => (dataValue(e) as { pid: number }).pid);
    expect(new Set(pids).size).toBe(pids.length);
    const at = sink.requests.map((r) => r.at);
    const gaps = at.slice(1).map((t, i) => t - (at[i] ?? 0));
    // restart delays 200, 400, 800 ms (+ process start-up time)
    expect(gaps[0]).toBeGreaterThanOrEqual(200);
    expect(gaps[1]).toBeGreaterThanOrEqual(400);
    expect(gaps[2]).toBeGreaterThanOrEqual(800);
    const [status] = runner.statuses();
    expect(status?.ready.status).toBe('False');
    expect(status?.ready.reason).toBe('CrashLoop');
    expect(status?.ready.message).toMatch(/exited with code 3; restart \d+ in \d+ ms; last output: .*boom/);
  });

  it('fails to start without a command, naming the field', async () => {
    const def = containerSource(sink.url, []);
    (
      def.spec as { template: { spec: { containers: { command?: string[]; image?: string }[] } } }
    ).template.spec.containers = [{ image: 'ghcr.io/x/y' }];
    const status = await runner.apply(def);
    expect(status.ready.status).toBe('False');
    expect(status.ready.reason).toBe('StartFailed');
    expect(status.ready.message).toMatch(/containers\[0\]\.command: required in embedded mode/);
  });

  it('fails to start in a working directory that does not exist, naming the field and the directory', async () => {
    const def = containerSource(sink.url, []);
    const missing = join(tmpdir(), `eddy-no-such-dir-${process.pid}`);
    (def.spec as { template: { spec: { containers: { workingDir?: string }[] } } }).template.spec
      .containers[0]!.workingDir = missing;
    const status = await runner.apply(def);
    expect(status.ready).toMatchObject({ status: 'False', reason: 'StartFailed' });
    expect(status.ready.message).toMatch(
      new RegExp(
        `^spec\\.template\\.spec\\.containers\\[0\\]\\.workingDir: working directory ${missing} cannot be used: ENOENT`,
      ),
    );
  });

  it('puts K_CE_OVERRIDES only when overrides exist', () => {
    expect(sourceContainerEnv('http://x/', undefined)).toEqual({ K_SINK: 'http://x/' });
    expect(sourceContainerEnv('http://x/', { extensions: { a: 'b' } })).toEqual({
      K_SINK: 'http://x/',
      K_CE_OVERRIDES: '{"extensions":{"a":"b"}}',
    });
  });
});

describe('ContainerSource orphans', () => {
  it('its container dies within seconds when the Eddy process running it is SIGKILLed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-container-orphan-'));
    const pidFile = join(dir, 'pid');
    const holder = spawn(
      process.execPath,
      [fileURLToPath(new URL('./fixtures/container-holder.mjs', import.meta.url)), pidFile],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    holder.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    try {
      await waitUntil(
        () => {
          if (holder.exitCode !== null) throw new Error(`holder exited early: ${stderr}`);
          return existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '';
        },
        15_000,
        'the container to write its pid',
        50,
      ).catch((err: Error) => {
        throw new Error(`${err.message}: ${stderr}`);
      });
      const pid = Number(readFileSync(pidFile, 'utf8'));
      expect(alive(pid)).toBe(true);
      holder.kill('SIGKILL');
      await waitUntil(() => !alive(pid), 8_000, `container ${pid} to die`).catch(() => {});
      expect(alive(pid), `container ${pid} outlived its SIGKILLed parent`).toBe(false);
    } finally {
      if (holder.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
