// The serving data plane glue: one router, one runtime, one autoscaler per revision. apply() makes the
// running set of revisions and routes match a ServingContract; a tick feeds the router's per-revision
// stats and each revision's backlog to its autoscaler and scales the revision's deployment to the
// decision; a request waiting at the activator triggers a decision at once.

import { backlogInFlightLimit, namespacedKey, type ServingContract, type ServingRevision } from '@eddy/api';
import { type InProcessHandler, withTimeout } from '@eddy/runtime';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { Autoscaler, Decision } from '../autoscaler/autoscaler.js';
import { createAutoscaler } from '../autoscaler/kpa.js';
import { createRouter } from '../router/create-router.js';
import type { RevisionStats, Router, RouterRevision, RouterRoute } from '../router/router.js';
import { createProcessRuntime } from '../runtime/process-runtime.js';
import type {
  DeploymentFailure,
  RevisionDeployment,
  WorkloadRuntime,
  WorkloadSpec,
} from '../runtime/runtime.js';
import { ProgressDeadline } from './progress-deadline.js';
import { revisionConditions } from './revision-conditions.js';
import { createServingMetrics, type ServingMetrics } from './serving-metrics.js';
import type {
  RevisionRuntimeStatus,
  ServingDataPlane,
  ServingDataPlaneOptions,
  TimedDecision,
} from './serving-plane.js';

export const DEFAULT_TICK_MS = 1000;
export const DEFAULT_MAX_REPLICAS_CAP = 10;
/** Decisions kept per revision for `decisions()`. */
const DECISION_HISTORY = 50;

interface RevisionState {
  readonly key: string;
  revision: ServingRevision;
  readonly deployment: RevisionDeployment;
  readonly autoscaler: Autoscaler;
  readonly unsubscribe: () => void;
  everReady: boolean;
  /** What the plane last gave deployment.scale() (after the cap). */
  scaledTo: number;
  lastDecision?: TimedDecision;
  readonly history: TimedDecision[];
  /** Last good lag per backlog route (a failed read keeps the previous value). */
  readonly lagByRoute: Map<string, number>;
  /** Routes whose lag read failed and was logged (logged again only after it recovers). */
  readonly lagFailing: Set<string>;
  lag: number;
  concurrency: number;
  rps: number;
  /** In flight at replicas plus queued at the activator, as of the last tick or demand. */
  inFlight: number;
  capLogged: boolean;
  /** The failure last given to router.setFailure. */
  failureLine?: string;
  readonly progress: ProgressDeadline;
}

export async function createServingDataPlane(
  options: ServingDataPlaneOptions = {},
): Promise<ServingDataPlane> {
  const tickMs = options.tickMs ?? DEFAULT_TICK_MS;
  const cap = options.maxReplicasCap ?? DEFAULT_MAX_REPLICAS_CAP;
  if (!Number.isInteger(cap) || cap < 1)
    throw new TypeError(`createServingDataPlane: maxReplicasCap must be an integer >= 1, got ${cap}`);
  if (!(tickMs > 0)) throw new TypeError(`createServingDataPlane: tickMs must be > 0, got ${tickMs}`);
  const registry = options.registry ?? new Registry();
  const logger = options.logger ?? pino({ level: 'warn' });
  const runtime =
    options.runtime ?? createProcessRuntime({ logger, registry, onOutput: options.onReplicaOutput });
  let router: Router;
  try {
    router =
      options.router ??
      (await createRouter({
        host: options.host,
        port: options.port,
        logger,
        registry,
        ...(options.tls ? { tls: options.tls } : {}),
      }));
  } catch (error) {
    if (options.runtime === undefined) await runtime.close();
    throw error;
  }
  return new ServingPlane(router, runtime, options, registry, logger, tickMs, cap);
}

class ServingPlane implements ServingDataPlane {
  readonly #revisions = new Map<string, RevisionState>();
  /** Revisions the runtime refused to deploy, with why. */
  readonly #rejected = new Map<string, { revision: ServingRevision; failure: DeploymentFailure }>();
  readonly #listeners = new Set<() => void>();
  readonly #closing = new Set<Promise<void>>();
  readonly #metrics: ServingMetrics;
  #generation: number | undefined;
  #appliedText: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  readonly #router: Router;
  readonly #runtime: WorkloadRuntime;
  readonly #options: ServingDataPlaneOptions;
  readonly #logger: pino.Logger;
  readonly #tickMs: number;
  readonly #cap: number;

  constructor(
    router: Router,
    runtime: WorkloadRuntime,
    options: ServingDataPlaneOptions,
    registry: Registry,
    logger: pino.Logger,
    tickMs: number,
    cap: number,
  ) {
    this.#router = router;
    this.#runtime = runtime;
    this.#options = options;
    this.#logger = logger;
    this.#tickMs = tickMs;
    this.#cap = cap;
    this.#metrics = createServingMetrics(registry);
    router.onDemand((namespace, revision) => this.#onDemand(namespace, revision));
    this.#schedule();
  }

  /** A lag read slower than this counts as failed (the tick must not hang on a stuck log). */
  get #lagTimeoutMs(): number {
    return Math.max(2 * this.#tickMs, 2_000);
  }

  get url(): string {
    return this.#router.url;
  }

  get inProcessHandler(): InProcessHandler | undefined {
    return this.#router.requestInProcess?.bind(this.#router);
  }

  routeUrl(namespace: string, name: string): string {
    return this.#router.routeUrl(namespace, name);
  }

  tagUrl(namespace: string, name: string, tag: string): string {
    return this.#router.tagUrl(namespace, name, tag);
  }

  apply(contract: ServingContract): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('serving data plane is closed'));
    const run = this.#queue.then(() => this.#apply(contract));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  statuses(): RevisionRuntimeStatus[] {
    const rejected = [...this.#rejected.values()].map(({ revision, failure }) =>
      rejectedStatus(revision, failure),
    );
    return [...[...this.#revisions.values()].map((state) => this.#status(state)), ...rejected];
  }

  decisions(namespace: string, revision: string): TimedDecision[] {
    return [...(this.#revisions.get(namespacedKey(namespace, revision))?.history ?? [])];
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#queue;
    await this.#ticking;
    for (const state of this.#revisions.values()) state.unsubscribe();
    const results = await Promise.allSettled([
      this.#router.close(),
      ...[...this.#revisions.values()].map((s) => s.deployment.close()),
      ...this.#closing,
      this.#runtime.close(),
    ]);
    this.#revisions.clear();
    this.#listeners.clear();
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async #apply(contract: ServingContract): Promise<void> {
    if (this.#closed) throw new Error('serving data plane is closed');
    if (this.#generation !== undefined && contract.generation < this.#generation) {
      this.#logger.debug(
        { generation: contract.generation, running: this.#generation },
        'serving contract older than the running one ignored',
      );
      return;
    }
    // The control loop re-applies the same contract whenever any status changes: nothing to do.
    const text = JSON.stringify(contract);
    if (contract.generation === this.#generation && text === this.#appliedText) return;
    const wanted = new Map(contract.revisions.map((r) => [namespacedKey(r.namespace, r.name), r]));
    const added: RevisionState[] = [];
    for (const [key, { revision }] of this.#rejected)
      if (!wanted.has(key)) {
        this.#rejected.delete(key);
        this.#router.setFailure?.(revision.namespace, revision.name, undefined);
      }
    for (const [key, revision] of wanted) {
      const state = this.#revisions.get(key);
      if (state && sameWorkload(state.revision, revision)) {
        this.#update(state, revision);
        continue;
      }
      if (state) {
        // Same revision, other process spec: only env `valueFrom` can do that (a Secret or ConfigMap
        // value changed). Its replicas are replaced, as a pod restarted with the new value would be:
        // the runtime runs one deployment per revision, so the old one stops first.
        this.#logger.info(
          { namespace: revision.namespace, revision: revision.name },
          'revision environment changed (a referenced Secret or ConfigMap value); restarting its replicas',
        );
        this.#revisions.delete(key);
        await this.#undeploy(state, false);
      }
      // A spec the runtime cannot run (e.g. no command in embedded mode) fails alone: it is reported
      // in statuses() and gets no replicas; the router answers its requests with 503.
      try {
        added.push(this.#deploy(key, revision));
        this.#rejected.delete(key);
      } catch (error) {
        if (!this.#rejected.has(key))
          this.#logger.warn({ err: error, revision: key }, 'the runtime cannot run this revision');
        this.#rejected.set(key, { revision, failure: cannotRun(error) });
      }
    }
    const removed = [...this.#revisions.values()].filter((s) => !wanted.has(s.key));
    for (const state of removed) this.#revisions.delete(state.key);
    this.#router.update(contract.revisions.map(routerRevision), contract.routes.map(routerRoute));
    for (const { revision, failure } of this.#rejected.values())
      this.#router.setFailure?.(revision.namespace, revision.name, failureLine(failure));
    for (const state of added) {
      this.#router.setFailure?.(state.revision.namespace, state.revision.name, undefined);
      this.#router.setReplicas(state.revision.namespace, state.revision.name, readyReplicas(state));
      this.#initialScale(state);
    }
    for (const state of removed) void this.#undeploy(state);
    this.#generation = contract.generation;
    // A rejected spec is tried again on the next apply, even of the same contract.
    this.#appliedText = this.#rejected.size === 0 ? text : undefined;
    if (added.length > 0 || removed.length > 0) this.#notify();
  }

  #deploy(key: string, revision: ServingRevision): RevisionState {
    const deployment = this.#runtime.deploy(workloadSpec(revision));
    const autoscaler = createAutoscaler(revision.scaling);
    const state: RevisionState = {
      key,
      revision,
      deployment,
      autoscaler,
      unsubscribe: () => undefined,
      everReady: false,
      scaledTo: 0,
      history: [],
      lagByRoute: new Map(),
      lagFailing: new Set(),
      lag: 0,
      concurrency: 0,
      rps: 0,
      inFlight: 0,
      capLogged: false,
      progress: new ProgressDeadline(revision.progressDeadlineMs),
    };
    (state as { unsubscribe: () => void }).unsubscribe = deployment.subscribe(() =>
      this.#onDeploymentChange(state),
    );
    this.#revisions.set(key, state);
    this.#logger.info({ namespace: revision.namespace, revision: revision.name }, 'revision deployed');
    return state;
  }

  /** Revisions are immutable; only scaling settings, routing and backlog routes can change. */
  #update(state: RevisionState, revision: ServingRevision): void {
    if (JSON.stringify(state.revision.scaling) !== JSON.stringify(revision.scaling))
      state.autoscaler.update(revision.scaling);
    for (const routeId of state.lagByRoute.keys())
      if (!revision.backlog.some((b) => b.routeId === routeId)) state.lagByRoute.delete(routeId);
    state.revision = revision;
  }

  /**
   * Stops a revision's replicas (resolves once they are stopped); `gone`: the revision itself went, else
   * a new deployment of it follows.
   */
  #undeploy(state: RevisionState, gone = true): Promise<void> {
    state.unsubscribe();
    if (gone) {
      this.#router.setFailure?.(state.revision.namespace, state.revision.name, undefined);
      this.#revisions.delete(state.key);
      this.#metrics.remove(state.revision.namespace, state.revision.name);
    }
    const closing = state.deployment
      .close()
      .catch((error: unknown) =>
        this.#logger.warn(
          { err: error, namespace: state.revision.namespace, revision: state.revision.name },
          'revision did not close cleanly',
        ),
      );
    this.#closing.add(closing);
    void closing.finally(() => this.#closing.delete(closing));
    if (gone)
      this.#logger.info(
        { namespace: state.revision.namespace, revision: state.revision.name },
        'revision removed',
      );
    return closing;
  }

  /** Knative starts a new revision at initial-scale (0 when nothing routes to it). */
  #initialScale(state: RevisionState): void {
    const { scaling, routed } = state.revision;
    const initial = routed ? Math.max(scaling.initialScale, scaling.minScale) : 0;
    this.#scale(state, this.#capped(state, initial));
  }

  #capped(state: RevisionState, desired: number): number {
    if (desired <= this.#cap) {
      state.capLogged = false;
      return desired;
    }
    if (!state.capLogged) {
      state.capLogged = true;
      const { maxScale } = state.revision.scaling;
      this.#logger.warn(
        {
          namespace: state.revision.namespace,
          revision: state.revision.name,
          desired,
          cap: this.#cap,
          maxScale,
        },
        `desired ${desired} replicas capped at ${this.#cap} (embedded mode's maxReplicasCap; max-scale ${maxScale === 0 ? 'unbounded' : maxScale})`,
      );
    }
    return this.#cap;
  }

  #scale(state: RevisionState, replicas: number): void {
    const wasExceeded = state.progress.exceeded !== undefined;
    const exceeded = state.progress.observe(Date.now(), replicas, state.deployment.status());
    if (exceeded && !wasExceeded) {
      const { namespace, name } = state.revision;
      this.#logger.warn({ namespace, revision: name, lastLogLines: exceeded.lastLogLines }, exceeded.message);
      this.#notify();
    }
    // Like Knative's KPA after a failed activation: scaled to zero, and kept there.
    const target = exceeded ? 0 : replicas;
    state.scaledTo = target;
    state.deployment.scale(target);
    if (exceeded && !wasExceeded) this.#onDeploymentChange(state);
  }

  /** The runtime's failure, unless the progress deadline passed (which says why it is not retried). */
  #failure(state: RevisionState): DeploymentFailure | undefined {
    return state.progress.exceeded ?? state.deployment.status().failure;
  }

  #onDeploymentChange(state: RevisionState): void {
    if (this.#revisions.get(state.key) !== state) return;
    const ready = readyReplicas(state);
    if (ready.length > 0) state.everReady = true;
    this.#router.setReplicas(state.revision.namespace, state.revision.name, ready);
    const status = state.deployment.status();
    // While replicas keep failing, a request that waits for one gets the reason at once (the router
    // applies it only while no replica is ready).
    const current = this.#failure(state);
    const failure = current ? failureLine(current) : undefined;
    if (failure !== state.failureLine) {
      state.failureLine = failure;
      this.#router.setFailure?.(state.revision.namespace, state.revision.name, failure);
    }
    this.#metrics.replicas(state.revision.namespace, state.revision.name, status);
    this.#notify();
  }

  /** Called from the router's request path: must not throw. */
  #onDemand(namespace: string, name: string): void {
    const state = this.#revisions.get(namespacedKey(namespace, name));
    if (!state || this.#closed) return;
    try {
      // At least the request that is waiting; the tick will replace this with the router's count.
      state.inFlight = Math.max(state.inFlight, 1);
      const decision = this.#decide(state, Date.now());
      const activation = state.revision.routed ? state.revision.scaling.activationScale : 0;
      const target = Math.max(decision.desired, activation, state.scaledTo);
      this.#scale(state, this.#capped(state, target));
    } catch (error) {
      this.#logger.error({ err: error, revision: state.key }, 'scale from zero on demand failed');
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#ticking = this.#tick()
        .catch((error: unknown) => this.#logger.error({ err: error }, 'serving autoscaler tick failed'))
        .finally(() => {
          this.#ticking = undefined;
          this.#schedule();
        });
    }, this.#tickMs);
    this.#timer.unref?.();
  }

  async #tick(): Promise<void> {
    const now = Date.now();
    const stats = this.#router.takeStats(now);
    for (const s of stats) this.#record(s, now);
    const states = [...this.#revisions.values()];
    await Promise.all(states.map((state) => this.#readLag(state)));
    if (this.#closed) return;
    for (const state of states) {
      if (this.#revisions.get(state.key) !== state) continue;
      try {
        const decision = this.#decide(state, Date.now());
        this.#scale(state, this.#capped(state, decision.desired));
      } catch (error) {
        this.#logger.error({ err: error, revision: state.key }, 'autoscaling decision failed');
      }
      this.#metrics.replicas(state.revision.namespace, state.revision.name, state.deployment.status());
    }
  }

  #record(stats: RevisionStats, now: number): void {
    const state = this.#revisions.get(namespacedKey(stats.namespace, stats.revision));
    if (!state) return;
    state.autoscaler.record({ time: now, concurrency: stats.concurrency, rps: stats.rps });
    state.concurrency = stats.concurrency;
    state.rps = stats.rps;
    state.inFlight = stats.inFlight + stats.queued;
    this.#metrics.traffic(stats.namespace, stats.revision, stats.concurrency, stats.rps);
  }

  async #readLag(state: RevisionState): Promise<void> {
    const reader = this.#options.backlog;
    const routes = state.revision.backlog;
    if (!reader || routes.length === 0 || !state.revision.scaling.backlog) {
      state.lag = 0;
      return;
    }
    await Promise.all(
      routes.map(async ({ routeId, group, topic }) => {
        try {
          const ms = this.#lagTimeoutMs;
          const lag = await withTimeout(
            reader.lag(routeId, { group, topic }),
            ms,
            `lag of ${routeId}: no answer within ${ms} ms`,
          );
          if (!Number.isFinite(lag) || lag < 0) throw new Error(`lag of ${routeId} is ${lag}`);
          state.lagByRoute.set(routeId, lag);
          if (state.lagFailing.delete(routeId))
            this.#logger.info({ revision: state.key, routeId }, 'backlog lag readable again');
        } catch (error) {
          if (!state.lagFailing.has(routeId)) {
            state.lagFailing.add(routeId);
            this.#logger.warn(
              { err: error, revision: state.key, routeId, keeping: state.lagByRoute.get(routeId) ?? 0 },
              'cannot read backlog lag; keeping the last value',
            );
          }
        }
      }),
    );
    let lag = 0;
    for (const { routeId, share } of routes) lag += (state.lagByRoute.get(routeId) ?? 0) * share;
    state.lag = lag;
    this.#metrics.lag(state.revision.namespace, state.revision.name, lag);
  }

  #decide(state: RevisionState, now: number): Decision {
    const status = state.deployment.status();
    const decision = state.autoscaler.decide({
      now,
      readyReplicas: status.ready,
      actualReplicas: status.actual,
      lag: state.lag,
      inFlight: state.inFlight,
      routed: state.revision.routed,
      backlogInFlightLimit: backlogInFlightLimit(state.revision.backlog),
    });
    const { namespace, name } = state.revision;
    const previous = state.lastDecision;
    const timed: TimedDecision = { ...decision, at: new Date(now).toISOString() };
    state.lastDecision = timed;
    this.#metrics.decision(namespace, name, decision);
    if (
      previous === undefined ||
      previous.desired !== decision.desired ||
      previous.reason !== decision.reason
    ) {
      state.history.push(timed);
      if (state.history.length > DECISION_HISTORY) state.history.shift();
      this.#logger.info(
        {
          namespace,
          revision: name,
          desired: decision.desired,
          reason: decision.reason,
          panic: decision.panic,
          lag: state.lag,
          ready: status.ready,
        },
        `${namespace}/${name}: ${decision.desired} replicas (${decision.reason}): ${decision.detail}`,
      );
      this.#notify();
    }
    return decision;
  }

  #status(state: RevisionState): RevisionRuntimeStatus {
    const status = state.deployment.status();
    const failure = this.#failure(state);
    const { namespace, name } = state.revision;
    return {
      namespace,
      name,
      desiredReplicas: state.scaledTo,
      actualReplicas: status.actual,
      readyReplicas: status.ready,
      everReady: state.everReady,
      ...(failure ? { failure } : {}),
      conditions: revisionConditions({
        desired: state.scaledTo,
        ready: status.ready,
        everReady: state.everReady,
        failure,
      }),
      ...(state.lastDecision ? { lastDecision: state.lastDecision } : {}),
      concurrency: state.concurrency,
      rps: state.rps,
      lag: state.lag,
    };
  }

  #notify(): void {
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch (error) {
        this.#logger.warn({ err: error }, 'serving status listener threw');
      }
    }
  }
}

function failureLine(failure: DeploymentFailure): string {
  return `${failure.reason}: ${failure.message}`;
}

function cannotRun(error: unknown): DeploymentFailure {
  return {
    reason: 'CannotRun',
    message: error instanceof Error ? error.message : String(error),
    lastLogLines: [],
  };
}

function rejectedStatus(revision: ServingRevision, failure: DeploymentFailure): RevisionRuntimeStatus {
  const facts = { desired: 0, ready: 0, everReady: false, failure };
  return {
    namespace: revision.namespace,
    name: revision.name,
    desiredReplicas: 0,
    actualReplicas: 0,
    readyReplicas: 0,
    everReady: false,
    failure,
    conditions: revisionConditions(facts),
    concurrency: 0,
    rps: 0,
    lag: 0,
  };
}

function readyReplicas(state: RevisionState) {
  return state.deployment.replicas().filter((r) => r.ready);
}

/** Whether two versions of a revision run the same processes (the rest can change in place). */
function sameWorkload(a: ServingRevision, b: ServingRevision): boolean {
  return JSON.stringify(workloadSpec(a)) === JSON.stringify(workloadSpec(b));
}

function workloadSpec(revision: ServingRevision): WorkloadSpec {
  return {
    namespace: revision.namespace,
    revision: revision.name,
    configuration: revision.configuration,
    ...(revision.service !== undefined ? { service: revision.service } : {}),
    command: revision.command,
    args: revision.args,
    env: revision.env,
    ...(revision.workingDir !== undefined ? { workingDir: revision.workingDir } : {}),
    readiness: revision.readiness,
    terminationGraceMs: revision.terminationGraceMs,
    ...(revision.progressDeadlineMs !== undefined ? { progressDeadlineMs: revision.progressDeadlineMs } : {}),
    ...(revision.podSpec !== undefined ? { podSpec: revision.podSpec } : {}),
  };
}

/** A contract's revision as the router takes it (also what an extra router process gives its own). */
export function routerRevision(revision: ServingRevision): RouterRevision {
  return {
    namespace: revision.namespace,
    name: revision.name,
    containerConcurrency: revision.containerConcurrency,
    timeoutMs: revision.timeoutMs,
    ...(revision.responseStartTimeoutMs !== undefined
      ? { responseStartTimeoutMs: revision.responseStartTimeoutMs }
      : {}),
    ...(revision.idleTimeoutMs !== undefined ? { idleTimeoutMs: revision.idleTimeoutMs } : {}),
  };
}

/** A contract's route as the router takes it. */
export function routerRoute(route: ServingContract['routes'][number]): RouterRoute {
  return {
    namespace: route.namespace,
    name: route.name,
    traffic: route.traffic.map((t) => ({
      revisionName: t.revisionName,
      percent: t.percent,
      ...(t.tag !== undefined ? { tag: t.tag } : {}),
    })),
  };
}
