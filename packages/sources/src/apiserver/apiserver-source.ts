// ApiServerSource (sources.knative.dev/v1): Kubernetes objects' add/update/delete as CloudEvents, in
// Knative's event format (apiserver-event.ts), against any cluster the sources component has a
// kubeconfig for. README "ApiServerSource".
//
// Identity: Knative's adapter runs as a Pod under `serviceAccountName` (defaulted to `default`), so
// the API server enforces that account's RBAC. Eddy's components run with the kubeconfig's (often
// admin) identity, so the adapter impersonates `system:serviceaccount:<namespace>:<serviceAccountName>`
// for everything it reads: the same RBAC decides what it sees, the default included.
//
// Lifecycle: a check (every few seconds until it passes, then every minute) resolves the namespaces
// (the source's own; all for `namespaceSelector: {}`; else the ones the selector picks now), looks the
// resources up in discovery and asks SelfSubjectAccessReview, as the impersonated account, for get,
// list and watch on each resource in each namespace. Anything missing: NotReady naming it, nothing
// watched; so granting the Role later makes the source Ready without a restart. Then one
// ResourceStream per resource and namespace (resource-stream.ts) feeds changes, through the `owner`
// filter and the `filters`, into one ordered queue that the emitter drains.
//
// Delivery: one event at a time, in the order observed. The API server cannot redeliver a change, so
// an event whose retries ran out is retried again (Ready=False SinkUnreachable meanwhile), not dropped;
// while more than MAX_QUEUED changes wait the watches stop and resume from their resourceVersion
// (or list and compare, if it expired), so memory stays bounded and nothing is skipped. An event the
// sink refuses for good (a 4xx other than 404/408/409/429) is counted and logged by the emitter and
// left, as a broker's dispatcher would without a dead-letter sink.

import { randomUUID } from 'node:crypto';
import { compileFilter, type PlainEvent } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import type { KubeConfig } from '@kubernetes/client-node';
import type { EventInit, RunningSource, SourceContext } from '../sdk/adapter.js';
import { EmitError } from '../sdk/emitter.js';
import type { ApiServerSourceAdapterOptions } from './adapter.js';
import {
  type ApiServerSourceSpec,
  apiServerEvent,
  type ChangeAction,
  eventMode,
  isEmptySelector,
  type KubeObject,
  labelSelectorString,
  type MissingPermission,
  missingPermissionsMessage,
  ownerFilterPasses,
  REQUIRED_VERBS,
  serviceAccountUser,
} from './apiserver-event.js';
import {
  type DiscoveredResource,
  discoverResource,
  impersonating,
  KubeApiError,
  listNamespaces,
  loadKubeConfig,
  selfAccessAllowed,
  serverUrl,
} from './kube-client.js';
import { ResourceStream, type StreamProblem } from './resource-stream.js';

export { apiServerSourceAdapter, createApiServerSourceAdapter } from './adapter.js';
export type { ApiServerSourceAdapterOptions };

/** Changes waiting for the sink above which the watches pause (and below half of which they resume). */
export const MAX_QUEUED = 1_000;
const SINK_RETRY_DELAY_MS = 1_000;
const MAX_SINK_RETRY_DELAY_MS = 30_000;
/** start() waits this long for the first check, so `apply()` usually returns with the real status. */
const FIRST_CHECK_WAIT_MS = 10_000;

interface Problem {
  reason: string;
  message: string;
}

interface WatchTarget {
  key: string;
  resource: DiscoveredResource;
  namespace: string;
  labelSelector: string;
}

export async function startApiServerSource(
  ctx: SourceContext<ApiServerSourceSpec>,
  options: ApiServerSourceAdapterOptions,
): Promise<RunningSource> {
  const { spec, signal } = ctx;
  const loaded = loadKubeConfig(ctx.kubeconfig, options.env ?? process.env);
  if (!loaded.ok) {
    // Nothing to retry until the sources component is started with a cluster: say so and idle.
    ctx.setHealth({ ready: false, reason: loaded.reason, message: loaded.message });
    return { async stop() {} };
  }
  // Throws for an expression the validator would have refused: a start failure names it.
  const filter = compileFilter({ filters: spec.filters ?? [] }, 'spec.filters');
  const source = new ApiServerSourceRun(ctx, options, loaded.config, filter);
  source.start();
  await Promise.race([source.firstCheck, sleep(FIRST_CHECK_WAIT_MS, signal)]);
  return { stop: () => source.stop() };
}

class ApiServerSourceRun {
  readonly #ctx: SourceContext<ApiServerSourceSpec>;
  readonly #options: ApiServerSourceAdapterOptions;
  /** The kubeconfig's own identity: namespaces (as Knative's controller lists them). */
  readonly #admin: KubeConfig;
  /** The ServiceAccount's identity: discovery, access reviews, lists and watches. */
  readonly #as: KubeConfig;
  readonly #user: string;
  readonly #source: string;
  readonly #filter: ReturnType<typeof compileFilter>;
  readonly #mode;
  readonly #maxQueued: number;
  readonly #streams = new Map<string, { stop: AbortController; done: Promise<void> }>();
  readonly #streamProblems = new Map<string, Problem>();
  readonly #queue: EventInit[] = [];
  #draining: Promise<void> | undefined;
  #resume: Array<() => void> = [];
  #setupProblem: Problem | undefined;
  #sinkProblem: Problem | undefined;
  #reported = '';
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  readonly firstCheck: Promise<void>;
  #firstCheckDone!: () => void;

  constructor(
    ctx: SourceContext<ApiServerSourceSpec>,
    options: ApiServerSourceAdapterOptions,
    config: KubeConfig,
    filter: ReturnType<typeof compileFilter>,
  ) {
    this.#ctx = ctx;
    this.#options = options;
    this.#admin = config;
    this.#user = serviceAccountUser(ctx.namespace, ctx.spec.serviceAccountName || 'default');
    this.#as = impersonating(config, this.#user);
    this.#source = serverUrl(config);
    this.#filter = filter;
    this.#mode = eventMode(ctx.spec);
    this.#maxQueued = options.maxQueued ?? MAX_QUEUED;
    this.firstCheck = new Promise((resolve) => {
      this.#firstCheckDone = resolve;
    });
  }

  start(): void {
    this.#loop = this.#checkLoop();
  }

  async stop(): Promise<void> {
    this.#wake?.();
    await this.#loop;
    await Promise.all([...this.#streams.values()].map((s) => s.done));
    await this.#draining;
    if (this.#queue.length > 0)
      this.#ctx.logger.warn(
        { unconfirmed: this.#queue.length },
        'ApiServerSource stopped with changes the sink has not confirmed (the API server cannot send them again)',
      );
  }

  // ---- checks: namespaces, discovery, rights ------------------------------------------------

  async #checkLoop(): Promise<void> {
    const { signal } = this.#ctx;
    while (!signal.aborted) {
      await this.#check();
      this.#firstCheckDone();
      const ready = this.#setupProblem === undefined;
      const wait = ready
        ? (this.#options.readyRecheckIntervalMs ?? 60_000)
        : (this.#options.recheckIntervalMs ?? 5_000);
      // Sleeps until the next check is due, or a watch's 403 (or stop()) wakes it.
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          this.#wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, wait);
        this.#wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
    for (const stream of this.#streams.values()) stream.stop.abort();
  }

  async #check(): Promise<void> {
    const { spec, signal, logger } = this.#ctx;
    try {
      const namespaces = await this.#namespaces();
      const targets: WatchTarget[] = [];
      const missing: MissingPermission[] = [];
      for (const [i, watched] of (spec.resources ?? []).entries()) {
        const resource = await discoverResource(this.#as, watched.apiVersion, watched.kind, signal);
        if (!resource) {
          this.#setProblem({
            reason: 'ResourceNotFound',
            message: `spec.resources[${i}]: the API server serves no kind ${watched.kind} in ${watched.apiVersion}`,
          });
          this.#syncStreams([]);
          return;
        }
        const labelSelector = labelSelectorString(watched.selector);
        for (const namespace of resource.namespaced ? namespaces : ['']) {
          const verbs: string[] = [];
          for (const verb of REQUIRED_VERBS) {
            const allowed = await selfAccessAllowed(
              this.#as,
              { verb, group: resource.group, resource: resource.resource, namespace },
              signal,
            );
            if (!allowed) verbs.push(verb);
          }
          if (verbs.length > 0)
            missing.push({ verbs, resource: resource.resource, group: resource.group, namespace });
          targets.push({ key: `${i}:${namespace}`, resource, namespace, labelSelector });
        }
      }
      if (missing.length > 0) {
        this.#setProblem({
          reason: 'InsufficientPermissions',
          message: missingPermissionsMessage(this.#user, missing),
        });
        this.#syncStreams([]);
        return;
      }
      this.#setProblem(undefined);
      this.#syncStreams(targets);
    } catch (error) {
      if (signal.aborted) return;
      const status = error instanceof KubeApiError ? error.status : undefined;
      logger.warn({ err: error }, 'ApiServerSource check failed');
      this.#setProblem(
        status === 401 || status === 403
          ? {
              reason: 'PermissionCheckFailed',
              // Usually a kubeconfig user without the `impersonate` right; the API server's message says.
              message: `checking what ${this.#user} may do failed: ${(error as Error).message}`,
            }
          : {
              reason: 'UpstreamUnreachable',
              message: `Kubernetes API server ${this.#source}: ${(error as Error).message}`,
            },
      );
    }
  }

  /** Knative's rule: no selector = the source's namespace; `{}` = all (`''`); else the ones it selects now. */
  async #namespaces(): Promise<string[]> {
    const selector = this.#ctx.spec.namespaceSelector;
    if (!selector) return [this.#ctx.namespace];
    if (isEmptySelector(selector)) return [''];
    return listNamespaces(this.#admin, labelSelectorString(selector), this.#ctx.signal);
  }

  #syncStreams(targets: readonly WatchTarget[]): void {
    const wanted = new Map(targets.map((t) => [`${t.key}:${t.labelSelector}`, t]));
    for (const [key, stream] of this.#streams) {
      if (wanted.has(key)) continue;
      stream.stop.abort();
      this.#streams.delete(key);
      this.#streamProblems.delete(key);
    }
    for (const [key, target] of wanted) {
      if (this.#streams.has(key)) continue;
      const stop = new AbortController();
      const streamSignal = AbortSignal.any([this.#ctx.signal, stop.signal]);
      const stream = new ResourceStream({
        config: this.#as,
        resource: target.resource,
        namespace: target.namespace,
        labelSelector: target.labelSelector,
        logger: this.#ctx.logger,
        signal: streamSignal,
        onChange: (action, object) => this.#onChange(action, object),
        congested: () => this.#queue.length >= this.#maxQueued,
        uncongested: () => new Promise<void>((resolve) => this.#resume.push(resolve)),
        onProblem: (problem) => this.#onStreamProblem(key, target, problem),
      });
      this.#streams.set(key, { stop, done: stream.run() });
    }
    this.#report();
  }

  #onStreamProblem(key: string, target: WatchTarget, problem: StreamProblem | undefined): void {
    if (!problem) this.#streamProblems.delete(key);
    else if (problem.status === 403) {
      this.#streamProblems.set(key, {
        reason: 'InsufficientPermissions',
        message: missingPermissionsMessage(this.#user, [
          {
            verbs: [problem.verb],
            resource: target.resource.resource,
            group: target.resource.group,
            namespace: target.namespace,
          },
        ]),
      });
      // Rights were taken away: the check stops the watches until they are back.
      this.#wake?.();
    } else
      this.#streamProblems.set(key, {
        reason: 'UpstreamUnreachable',
        message: `${problem.verb} ${target.resource.resource}${target.namespace ? ` in namespace "${target.namespace}"` : ''} on ${this.#source} failed: ${problem.message}`,
      });
    this.#report();
  }

  // ---- changes -> events --------------------------------------------------------------------

  #onChange(action: ChangeAction, object: KubeObject): void {
    this.#ctx.metrics.received();

    if (!ownerFilterPasses(this.#ctx.spec.owner, object)) return;
    const event = apiServerEvent(this.#source, this.#mode, action, object, randomUUID());
    // Filters see the event as it will be sent (Knative filters the built event too).
    const plain = { specversion: '1.0', time: new Date().toISOString(), ...event } as PlainEvent;
    if (this.#filter(plain) === 'fail') return;
    this.#queue.push({ ...event, time: plain.time });
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = undefined;
    });
  }

  async #drain(): Promise<void> {
    const { emitter, signal, logger } = this.#ctx;
    let failures = 0;
    while (this.#queue.length > 0 && !signal.aborted) {
      const event = this.#queue[0] as EventInit;
      try {
        await emitter.send(event);
        failures = 0;
        this.#done();
        if (this.#sinkProblem) {
          this.#sinkProblem = undefined;
          this.#report();
        }
      } catch (error) {
        if (!(error instanceof EmitError)) {
          logger.error({ err: error }, 'ApiServerSource send failed unexpectedly');
          this.#done();
          continue;
        }
        if (error.reason === 'aborted') return;
        if (error.reason !== 'retries_exhausted') {
          // Refused for good: counted and logged by the emitter; the next change goes on.
          this.#done();
          continue;
        }
        failures++;
        this.#sinkProblem = {
          reason: 'SinkUnreachable',
          message: `the sink ${this.#ctx.sink} does not accept events (${error.message}); ${this.#queue.length} change(s) waiting`,
        };
        this.#report();
        await sleep(Math.min(SINK_RETRY_DELAY_MS * 2 ** (failures - 1), MAX_SINK_RETRY_DELAY_MS), signal);
      }
    }
  }

  /** The first queued event is settled: drop it, and let paused watches go on once half the room is free. */
  #done(): void {
    this.#queue.shift();
    if (this.#resume.length > 0 && this.#queue.length <= this.#maxQueued / 2) {
      const resume = this.#resume;
      this.#resume = [];
      for (const r of resume) r();
    }
  }

  // ---- health -------------------------------------------------------------------------------

  #setProblem(problem: Problem | undefined): void {
    this.#setupProblem = problem;
    this.#report();
  }

  /** Ready unless the check, the sink or a watch has a problem (in that order of precedence). */
  #report(): void {
    const problem = this.#setupProblem ?? this.#sinkProblem ?? [...this.#streamProblems.values()][0];
    const text = JSON.stringify(problem ?? null);
    if (text === this.#reported) return;
    this.#reported = text;
    this.#ctx.setHealth(problem ? { ready: false, ...problem } : { ready: true, reason: 'Watching' });
  }
}
