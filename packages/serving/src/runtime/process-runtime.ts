// Embedded mode's WorkloadRuntime: every replica of a revision is a local process running the
// revision's containers[0].command + args, listening on $PORT (a free 127.0.0.1 port per replica).
// See revision-deployment.ts for the replica lifecycle and reaper.ts for why replicas die with Eddy.

import { namespacedKey } from '@eddy/api';
import { ProcessGroupReaper } from '@eddy/runtime';
import pino from 'pino';
import { Registry } from 'prom-client';
import { PortAllocator } from './port-allocator.js';
import { type RestartBackoffOptions, restartBackoffBounds } from './restart-backoff.js';
import { ProcessRevisionDeployment } from './revision-deployment.js';
import type { RevisionDeployment, WorkloadRuntime, WorkloadSpec } from './runtime.js';
import { runtimeMetrics } from './runtime-metrics.js';
import { StartLimiter, type StartRateOptions } from './start-limiter.js';

export interface ProcessRuntimeOptions {
  /** Default: pino at `warn`. Replica output is logged at info (stdout) and warn (stderr). */
  logger?: pino.Logger;
  /** Default: a new Registry. */
  registry?: Registry;
  /** Crash-restart delays. Default 500 ms doubling to 30 s, reset after 10 s ready. */
  restartBackoff?: RestartBackoffOptions;
  /** Cap on how fast replica processes are started (all revisions together). Default 10/s, burst 10. */
  startRate?: StartRateOptions;
  /** A replica whose readiness probe has not passed this long after start reports ProbeFailed. Default 30 000 ms. */
  readinessDeadlineMs?: number;
  /** When Eddy dies without close(), how long its replicas get between SIGTERM and SIGKILL. Default 2000 ms. */
  reaperGraceMs?: number;
  /** Environment replicas inherit under their spec's env. Default: this process's environment (PATH, HOME, ...). */
  baseEnv?: NodeJS.ProcessEnv;
  /**
   * Also called with every line a replica prints (besides the logger), e.g. for `eddy dev` to show
   * the services' output as plain `<revision> | <line>` the way `docker compose up` does.
   */
  onOutput?: (line: ReplicaOutputLine) => void;
}

export interface ReplicaOutputLine {
  namespace: string;
  revision: string;
  replica: string;
  stream: 'stdout' | 'stderr';
  line: string;
}

export interface ProcessRuntime extends WorkloadRuntime {
  /** The orphan reaper's pid while it runs (it starts with the first replica). */
  readonly reaperPid: number | undefined;
}

export function createProcessRuntime(options: ProcessRuntimeOptions = {}): ProcessRuntime {
  const logger = options.logger ?? pino({ level: 'warn' });
  const readinessDeadlineMs = options.readinessDeadlineMs ?? 30_000;
  if (!Number.isFinite(readinessDeadlineMs) || readinessDeadlineMs <= 0) {
    throw new Error(`process runtime: readinessDeadlineMs must be a number > 0, got ${readinessDeadlineMs}`);
  }
  const backoff = restartBackoffBounds(options.restartBackoff);
  const startLimiter = new StartLimiter(options.startRate);
  const reaper = new ProcessGroupReaper({
    logger,
    ...(options.reaperGraceMs !== undefined ? { graceMs: options.reaperGraceMs } : {}),
  });
  const metrics = runtimeMetrics(options.registry ?? new Registry());
  const ports = new PortAllocator();
  /** Deployable revisions by namespace/name (a closing one leaves at once, so it can be deployed again). */
  const deployments = new Map<string, ProcessRevisionDeployment>();
  /** Deployments whose replicas may still run (what close() waits for). */
  const unfinished = new Set<ProcessRevisionDeployment>();
  let replicaNumber = 0;
  let closed: Promise<void> | undefined;

  return {
    get reaperPid() {
      return reaper.pid;
    },

    deploy(spec: WorkloadSpec): RevisionDeployment {
      const where = `revision ${spec.namespace}/${spec.revision}`;
      if (closed) throw new Error(`${where}: the process runtime is closed`);
      validateSpec(spec, where);
      const key = namespacedKey(spec.namespace, spec.revision);
      if (deployments.has(key)) {
        throw new Error(`${where} is already deployed in this runtime; close its deployment first`);
      }
      const deployment = new ProcessRevisionDeployment(spec, {
        logger,
        metrics,
        reaper,
        ports,
        startLimiter,
        backoff,
        readinessDeadlineMs,
        baseEnv: options.baseEnv ?? process.env,
        onOutput: options.onOutput,
        nextReplicaNumber: () => ++replicaNumber,
        onClosing: (d) => {
          if (deployments.get(key) === d) deployments.delete(key);
        },
        onClosed: (d) => unfinished.delete(d),
      });
      deployments.set(key, deployment);
      unfinished.add(deployment);
      return deployment;
    },

    close(): Promise<void> {
      closed ??= (async () => {
        await Promise.all([...unfinished].map((d) => d.close()));
        startLimiter.clear();
        await reaper.close();
      })();
      return closed;
    },
  };
}

function validateSpec(spec: WorkloadSpec, where: string): void {
  if (!Array.isArray(spec.command) || spec.command.length === 0 || !spec.command[0]) {
    throw new Error(
      `${where}: containers[0].command is empty. Embedded mode runs containers[0].command (+ args) as a ` +
        'local process; image-only revisions need the Kubernetes runtime.',
    );
  }
  const bad = [...spec.command, ...spec.args].findIndex((part) => typeof part !== 'string');
  if (bad >= 0) throw new Error(`${where}: command/args element ${bad} is not a string`);
  if (!Number.isFinite(spec.terminationGraceMs) || spec.terminationGraceMs < 0) {
    throw new Error(`${where}: terminationGraceMs must be a number >= 0, got ${spec.terminationGraceMs}`);
  }
  const probe = spec.readiness;
  if (probe.kind !== 'http' && probe.kind !== 'tcp') {
    throw new Error(`${where}: readiness.kind must be "http" or "tcp", got ${JSON.stringify(probe.kind)}`);
  }
  for (const key of [
    'initialDelayMs',
    'periodMs',
    'timeoutMs',
    'failureThreshold',
    'successThreshold',
  ] as const) {
    if (!Number.isFinite(probe[key]) || probe[key] < 0) {
      throw new Error(`${where}: readiness.${key} must be a number >= 0, got ${probe[key]}`);
    }
  }
}
