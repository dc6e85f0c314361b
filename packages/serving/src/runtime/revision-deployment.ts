// One revision's replicas in the process runtime. `scale(n)` keeps n replica slots; each slot runs
// one process at a time and restarts it with backoff when it exits unexpectedly. Stopping a replica
// takes it out of the ready set and tells subscribers (the router) first, then SIGTERMs its process
// group and SIGKILLs it after the grace period.

import { resolve as resolvePath } from 'node:path';
import type { ProcessGroupReaper } from '@eddy/runtime';
import type pino from 'pino';
import type { PortAllocator } from './port-allocator.js';
import { ReadinessProber } from './probe.js';
import type { ReplicaOutputLine } from './process-runtime.js';
import { type ReplicaExit, ReplicaProcess } from './replica-process.js';
import { RestartBackoff, type RestartBackoffBounds } from './restart-backoff.js';
import type {
  DeploymentFailure,
  DeploymentStatus,
  Replica,
  RevisionDeployment,
  WorkloadSpec,
} from './runtime.js';
import type { ReplicaCount, ReplicaState, RuntimeMetrics } from './runtime-metrics.js';
import type { StartLimiter } from './start-limiter.js';

export interface DeploymentContext {
  logger: pino.Logger;
  metrics: RuntimeMetrics;
  reaper: ProcessGroupReaper;
  ports: PortAllocator;
  startLimiter: StartLimiter;
  backoff: RestartBackoffBounds;
  /** A replica whose probe has not passed this long after spawn (plus initialDelay) sets ProbeFailed. */
  readinessDeadlineMs: number;
  baseEnv: NodeJS.ProcessEnv;
  onOutput?: ((line: ReplicaOutputLine) => void) | undefined;
  nextReplicaNumber(): number;
  /** close() was called: the revision may be deployed again while this one's replicas drain. */
  onClosing(deployment: ProcessRevisionDeployment): void;
  /** Every replica of a closed deployment has exited. */
  onClosed(deployment: ProcessRevisionDeployment): void;
}

interface Slot {
  seq: number;
  running?: Running;
  /** Cancels a start waiting for the rate limiter or a restart waiting out its backoff. */
  cancelPending?: () => void;
  backoff: RestartBackoff;
  /** Exits in a row without staying ready for resetAfterReadyMs (CrashLoopBackOff from the second). */
  crashes: number;
}

interface Running {
  id: string;
  port: number;
  url: string;
  process: ReplicaProcess;
  prober: ReadinessProber;
  state: ReplicaState;
  spawnedAt: number;
  everReady: boolean;
  /** The slot it serves; undefined once it is terminating. */
  slot: Slot | undefined;
  timers: NodeJS.Timeout[];
  done: Promise<void>;
}

export class ProcessRevisionDeployment implements RevisionDeployment {
  readonly spec: WorkloadSpec;
  readonly #ctx: DeploymentContext;
  readonly #logger: pino.Logger;
  readonly #cwd: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #labels: { namespace: string; revision: string };
  readonly #listeners = new Set<() => void>();
  readonly #slots: Slot[] = [];
  readonly #running: Running[] = [];
  readonly #removeMetricsSource: () => void;
  #slotSeq = 0;
  #desired = 0;
  #restarts = 0;
  #failure: DeploymentFailure | undefined;
  #closed: Promise<void> | undefined;

  constructor(spec: WorkloadSpec, ctx: DeploymentContext) {
    this.spec = spec;
    this.#ctx = ctx;
    this.#labels = { namespace: spec.namespace, revision: spec.revision };
    this.#logger = ctx.logger.child(this.#labels);
    this.#cwd = resolvePath(process.cwd(), spec.workingDir ?? '.');
    this.#env = {
      ...ctx.baseEnv,
      ...spec.env,
      K_SERVICE: spec.service ?? spec.configuration,
      K_CONFIGURATION: spec.configuration,
      K_REVISION: spec.revision,
    };
    this.#removeMetricsSource = ctx.metrics.addSource(() => this.#counts());
  }

  scale(replicas: number): void {
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new Error(
        `revision ${this.spec.namespace}/${this.spec.revision}: scale() needs an integer >= 0, got ${replicas}`,
      );
    }
    if (this.#closed) {
      this.#logger.debug({ replicas }, 'scale() after close() ignored');
      return;
    }
    this.#scaleTo(replicas);
  }

  status(): DeploymentStatus {
    return {
      desired: this.#desired,
      actual: this.#running.length,
      ready: this.#running.filter((r) => r.state === 'ready').length,
      restarts: this.#restarts,
      ...(this.#failure
        ? { failure: { ...this.#failure, lastLogLines: [...this.#failure.lastLogLines] } }
        : {}),
    };
  }

  replicas(): Replica[] {
    return this.#running.map((r) => ({
      id: r.id,
      url: r.url,
      ready: r.state === 'ready',
      ...(r.process.pid !== undefined ? { pid: r.process.pid } : {}),
    }));
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#ctx.onClosing(this);
      this.#scaleTo(0);
      this.#closed = (async () => {
        while (this.#running.length > 0) await Promise.all(this.#running.map((r) => r.done));
        this.#removeMetricsSource();
        this.#listeners.clear();
        this.#ctx.onClosed(this);
      })();
    }
    return this.#closed;
  }

  #scaleTo(replicas: number): void {
    // The data plane repeats its decision every tick; an unchanged one is not news.
    if (replicas === this.#desired && this.#slots.length === replicas) return;
    this.#desired = replicas;
    while (this.#slots.length < replicas) {
      const slot: Slot = { seq: ++this.#slotSeq, backoff: new RestartBackoff(this.#ctx.backoff), crashes: 0 };
      this.#slots.push(slot);
      this.#scheduleStart(slot);
    }
    if (this.#slots.length > replicas) {
      const victims = [...this.#slots].sort(stopFirst).slice(0, this.#slots.length - replicas);
      const stopping: Running[] = [];
      for (const slot of victims) {
        this.#slots.splice(this.#slots.indexOf(slot), 1);
        slot.cancelPending?.();
        slot.cancelPending = undefined;
        if (slot.running) stopping.push(slot.running);
      }
      // Out of the ready set and announced before any signal, so the router stops sending first.
      for (const running of stopping) this.#markTerminating(running);
      this.#notify();
      for (const running of stopping) this.#signalTerminate(running);
      return;
    }
    this.#notify();
  }

  #scheduleStart(slot: Slot): void {
    slot.cancelPending = this.#ctx.startLimiter.schedule(() => {
      slot.cancelPending = undefined;
      void this.#launch(slot);
    });
  }

  async #launch(slot: Slot): Promise<void> {
    let port: number;
    try {
      port = await this.#ctx.ports.take();
    } catch (err) {
      this.#logger.error({ err }, 'no port for a replica');
      if (this.#slots.includes(slot)) this.#restartLater(slot, undefined, undefined, (err as Error).message);
      return;
    }
    if (!this.#slots.includes(slot) || slot.running) {
      this.#ctx.ports.release(port);
      return;
    }
    const id = `${this.spec.namespace}/${this.spec.revision}#${this.#ctx.nextReplicaNumber()}`;
    const replicaLogger = this.#logger.child({ replica: id });
    const command = this.spec.command[0] as string;
    const child = new ReplicaProcess({
      command,
      args: [...this.spec.command.slice(1), ...this.spec.args],
      env: { ...this.#env, PORT: String(port) },
      cwd: this.#cwd,
      onLine: (stream, line) => {
        if (stream === 'stdout') replicaLogger.info({ stream }, line);
        else replicaLogger.warn({ stream }, line);
        this.#ctx.onOutput?.({
          namespace: this.spec.namespace,
          revision: this.spec.revision,
          replica: id,
          stream,
          line,
        });
      },
    });
    const running: Running = {
      id,
      port,
      url: `http://127.0.0.1:${port}`,
      process: child,
      prober: new ReadinessProber(this.spec.readiness, port, {
        onChange: (ready) => this.#onReadiness(running, ready),
      }),
      state: 'starting',
      spawnedAt: performance.now(),
      everReady: false,
      slot,
      timers: [],
      done: Promise.resolve(),
    };
    slot.running = running;
    this.#running.push(running);
    if (child.pid !== undefined) this.#ctx.reaper.watch(child.pid);
    running.done = child.exited.then((exit) => this.#onExit(running, exit));
    if (child.pid !== undefined) {
      replicaLogger.debug({ pid: child.pid, port }, 'replica started');
      running.prober.start();
      const deadlineMs = this.spec.readiness.initialDelayMs + this.#ctx.readinessDeadlineMs;
      running.timers.push(setTimeout(() => this.#onReadinessDeadline(running), deadlineMs));
    }
    this.#notify();
  }

  #onReadiness(running: Running, ready: boolean): void {
    if (running.state === 'terminating') return;
    if (ready) {
      running.state = 'ready';
      if (!running.everReady) {
        running.everReady = true;
        this.#ctx.metrics.startSeconds.observe(this.#labels, (performance.now() - running.spawnedAt) / 1000);
      }
      this.#failure = undefined;
      const slot = running.slot;
      if (slot) {
        running.timers.push(
          setTimeout(() => {
            if (running.state !== 'ready') return;
            slot.backoff.reset();
            slot.crashes = 0;
          }, this.#ctx.backoff.resetAfterReadyMs),
        );
      }
      this.#logger.debug({ replica: running.id }, 'replica ready');
    } else {
      running.state = 'not_ready';
      const last = running.prober.lastResult?.error ?? 'unknown error';
      this.#logger.warn(
        { replica: running.id, probe: last },
        'replica failed its readiness probe; out of rotation',
      );
      if (!this.#running.some((r) => r.state === 'ready')) {
        this.#failure = {
          reason: 'ProbeFailed',
          message: `readiness probe failed ${this.spec.readiness.failureThreshold} times in a row: ${last}`,
          lastLogLines: running.process.logs.lines(),
        };
      }
    }
    this.#notify();
  }

  #onReadinessDeadline(running: Running): void {
    if (running.everReady || running.state === 'terminating' || running.process.leaderExited) return;
    const last = running.prober.lastResult?.error ?? 'no probe has completed';
    this.#failure = {
      reason: 'ProbeFailed',
      message: `readiness probe has not passed within ${formatMs(this.#ctx.readinessDeadlineMs)} of start: ${last}`,
      lastLogLines: running.process.logs.lines(),
    };
    this.#logger.warn({ replica: running.id, probe: last }, 'replica has not become ready');
    this.#notify();
  }

  #markTerminating(running: Running): void {
    running.state = 'terminating';
    running.slot = undefined;
    running.prober.stop();
  }

  #signalTerminate(running: Running): void {
    running.process.signal('SIGTERM');
    running.timers.push(
      setTimeout(() => {
        if (running.process.leaderExited) return;
        this.#logger.warn(
          { replica: running.id, graceMs: this.spec.terminationGraceMs },
          'replica did not exit within its termination grace period; SIGKILL',
        );
        running.process.signal('SIGKILL');
      }, this.spec.terminationGraceMs),
    );
  }

  #onExit(running: Running, exit: ReplicaExit): void {
    running.prober.stop();
    for (const timer of running.timers) clearTimeout(timer);
    this.#ctx.ports.release(running.port);
    if (running.process.pid !== undefined) this.#ctx.reaper.forget(running.process.pid);
    this.#running.splice(this.#running.indexOf(running), 1);
    const slot = running.slot;
    if (running.state === 'terminating' || !slot) {
      this.#logger.debug({ replica: running.id, code: exit.code, signal: exit.signal }, 'replica stopped');
      this.#notify();
      return;
    }
    slot.running = undefined;
    this.#restartLater(slot, running, exit);
    this.#notify();
  }

  /** Records why a slot's process is gone and starts a new one after its backoff. */
  #restartLater(
    slot: Slot,
    running: Running | undefined,
    exit: ReplicaExit | undefined,
    error?: string,
  ): void {
    slot.crashes++;
    const delayMs = slot.backoff.next();
    const failure = this.#describeFailure(running, exit, error);
    if (slot.crashes >= 2 && failure.reason !== 'SpawnFailed') {
      failure.message = `back-off ${formatMs(delayMs)} restarting failed container: ${failure.message}`;
      failure.reason = 'CrashLoopBackOff';
    }
    this.#failure = failure;
    this.#restarts++;
    this.#ctx.metrics.restarts.inc(this.#labels);
    this.#logger.warn(
      {
        replica: running?.id,
        reason: failure.reason,
        restartInMs: delayMs,
        lastLogLines: failure.lastLogLines,
      },
      failure.message,
    );
    const timer = setTimeout(() => {
      slot.cancelPending = undefined;
      if (this.#slots.includes(slot)) this.#scheduleStart(slot);
    }, delayMs);
    slot.cancelPending = () => clearTimeout(timer);
  }

  #describeFailure(
    running: Running | undefined,
    exit: ReplicaExit | undefined,
    error?: string,
  ): DeploymentFailure {
    const lastLogLines = running?.process.logs.lines() ?? [];
    if (!exit || exit.spawnError) {
      const err = exit?.spawnError as NodeJS.ErrnoException | undefined;
      const command = this.spec.command[0] ?? '';
      const why =
        err?.code === 'ENOENT' && !err.message.startsWith('working directory')
          ? `${err.message} (command not found; it is looked up on PATH, or relative to ${this.#cwd})`
          : (err?.message ?? error ?? 'unknown error');
      return {
        reason: 'SpawnFailed',
        message: `cannot start command ${JSON.stringify(command)}: ${why}`,
        lastLogLines,
      };
    }
    const before = running?.everReady ? '' : ' before becoming ready';
    if (exit.signal) {
      return {
        reason: `Signal${exit.signal}`,
        message: `container was killed by signal ${exit.signal}${before}`,
        lastLogLines,
        signal: exit.signal,
      };
    }
    const code = exit.code ?? 0;
    return {
      reason: `ExitCode${code}`,
      message: `container exited with code ${code}${before}`,
      lastLogLines,
      exitCode: code,
    };
  }

  #counts(): ReplicaCount[] {
    const counts = new Map<ReplicaState, number>();
    for (const r of this.#running) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
    return [...counts].map(([state, count]) => ({ ...this.#labels, state, count }));
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch (err) {
        this.#logger.error({ err }, 'deployment listener threw');
      }
    }
  }
}

/** Scale-down order: slots without a process, then not-ready replicas, then ready ones; newest first. */
function stopFirst(a: Slot, b: Slot): number {
  return rank(a) - rank(b) || b.seq - a.seq;
}

function rank(slot: Slot): number {
  if (!slot.running) return 0;
  return slot.running.state === 'ready' ? 2 : 1;
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}
