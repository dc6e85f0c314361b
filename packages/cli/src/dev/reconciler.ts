// The reconcile loop: serialized and debounced, it recomputes everything from the store on every
// change (resources, serving runtime status, source health) and hands each data plane its contract:
//   eventing  computeContract (@eddy/broker's control) -> broker data plane
//   serving   reconcileServing to a fixpoint, children written to the store (reconcile-children.ts),
//             withBacklogRoutes -> serving plane
//   sources   source planning (@eddy/sources' control) -> source runner (SinkBindings become Service env)
// then writes every resource's status (lastTransitionTime kept while a condition holds), records an
// event and reports one line per Ready change.
//
// It runs against a ResourceStore (resource-store.ts), the one thing a host provides besides the data
// planes; `eddy dev` gives it FileResourceStore (resources.json), a Kubernetes controller would give
// it one over the API server. What the loop uses of it:
//   read    contractInputs(), list({ kind }), get(key), values (Secret/ConfigMap data), onChange(listener)
//   write   upsertAll(children, { type: 'owner', owner }) and deleteAll(keys) for the serving children
//           and revision GC; setStatus(key, status) for every resource, then flush() once per pass
//   events  recordEvent(key, { type, reason, message }): Ready changes, refused sources, data plane errors

import { isDeepStrictEqual } from 'node:util';
import {
  type AddressResolver,
  type Condition,
  type DataPlaneContract,
  notRunStatus,
  type ResourceStatus,
  resourceKey,
  type ServingContract,
  subscriptionRouteId,
  triggerRouteId,
  type ValueLookupOptions,
  withBacklogRoutes,
  withTransitionTimes,
} from '@eddy/api';
import {
  type BrokerDataPlane,
  type ComputeContractOptions,
  type ComputedContract,
  computeContract,
  KafkaSinkLogs,
  KafkaSinkTopics,
  type SenderAuthOptions,
  senderAuthEnabled,
} from '@eddy/broker';
import type { ReconcileServingInput, ReconcileServingResult, ServingDataPlane } from '@eddy/serving';
import {
  bindWorkload,
  planSinkBindings,
  planSources,
  type ResolvedSinkBinding,
  type SourceDefinition,
  type SourceRunner,
  sinkResolver,
  sourceStatus,
  withBindingEnv,
} from '@eddy/sources';
import type pino from 'pino';
import type { StoredResource } from '../admin/protocol.js';
import { type EventTypeDiscovery, reconcileEventTypes } from './event-types.js';
import { flowStatuses, reconcileFlowChildren } from './flow-children.js';
import { isServingResource, reconcileServingChildren } from './reconcile-children.js';
import type { ResourceStore } from './resource-store.js';
import { collectableRevisions } from './revision-gc.js';
import { formatStatusLine } from './status-line.js';

export interface ServingComponents {
  plane: ServingDataPlane;
  reconcile(input: ReconcileServingInput): ReconcileServingResult;
}

export interface ReconcilerOptions {
  store: ResourceStore;
  broker: Pick<BrokerDataPlane, 'url' | 'apply'>;
  /** Undefined when serving is not available: Services report ServingUnavailable. */
  serving?: ServingComponents;
  runner: SourceRunner;
  /** Whether a source adapter runs this kind (the source registry's `has`). */
  isSourceKind(apiVersion: string, kind: string): boolean;
  /** Environment for EDDY_SECRET_* lookups (the runner must use the same); default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  logger: pino.Logger;
  /** One line per Ready change. */
  onStatusLine?(line: string): void;
  /** Revisions kept per Configuration beyond the routed and latest ones; default 20. */
  revisionsKept?: number;
  /** Quiet time before a scheduled reconcile runs; default 50 ms. */
  debounceMs?: number;
  /** How often source health is polled for changes; default 1000 ms. */
  sourcePollMs?: number;
  now?: () => Date;
  /** Where Replays' progress comes from (the replay checkpoints on the event log); none = Replays wait. */
  replays?: ReplayProgressFeed;
  /** Least time between two passes caused by replay progress alone; default 1000 ms. */
  replayRefreshMs?: number;
  /** The message of a Service's ServingUnavailable status when `serving` is undefined. */
  servingOffMessage?: string;
  /** The first eventing contract's generation (computeContract's `firstGeneration`); default 1. */
  firstContractGeneration?: number;
  /** Reply hop limit of Brokers without `eddy.dev/broker-ttl` (computeContract's brokerTtl). */
  brokerTtl?: number;
  /** What the ingresses observed, for EventTypes (auto-create, discovery data); none = statuses only. */
  eventTypes?: EventTypeDiscovery;
  /** Sender authentication at the ingress (`--ingress-auth`, `--oidc-issuer`). */
  senderAuth?: SenderAuthOptions;
  /** The ingress serves HTTPS: its CA (and plain-HTTP origin when permissive), read at every pass (certificates rotate). */
  ingressTls?: () => { caCerts: string; httpOrigin?: string };
}

/** A replay progress source: computeContract's `replayProgress`, and a signal when it moved. */
export interface ReplayProgressFeed {
  progress: NonNullable<ComputeContractOptions['replayProgress']>;
  onChange(listener: () => void): () => void;
}

function readyOf(status: { conditions?: readonly Condition[] } | undefined): Condition | undefined {
  return status?.conditions?.find((c) => c.type === 'Ready');
}

function sameReady(a: Condition | undefined, b: Condition | undefined): boolean {
  return a?.status === b?.status && a?.reason === b?.reason && a?.message === b?.message;
}

export class Reconciler {
  readonly #o: ReconcilerOptions;
  readonly #now: () => Date;
  #eventing: DataPlaneContract | undefined;
  #servingContract: ServingContract | undefined;
  /**
   * The serving and eventing contract generations the serving plane's contract was last built from:
   * the backlog routes come from the eventing contract, so a new Trigger to a Service changes what
   * the plane must get even when the serving contract itself did not change.
   */
  #appliedServing: { serving: number; eventing: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pending = false;
  #running: Promise<void> | undefined;
  #idleWaiters: (() => void)[] = [];
  #closed = false;
  /** Until start(): changes are noted, not reconciled (the initial files load as one change). */
  #started = false;
  readonly #sourceApplyErrors = new Map<string, string>();
  /**
   * The definition last handed to the runner per source: an unchanged one is not applied again (the
   * runner would re-validate it and rebuild a sink emitter on every status change), nor is one the
   * runner refused (its error stands until the definition changes).
   */
  readonly #sourceDefinitions = new Map<string, SourceDefinition>();
  #sourceSignature = '';
  readonly #shown = new Set<string>();
  readonly #poll: NodeJS.Timeout;
  readonly #unsubscribe: (() => void)[] = [];
  /**
   * Route ids of Triggers/Subscriptions deleted from the store since the broker last applied a
   * contract: their consumer groups go with them, so a new one of the same name starts afresh (a
   * Trigger that is only not Ready keeps its offsets).
   */
  readonly #deletedRoutes = new Set<string>();
  #replayTimer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  /** Failed passes in a row: the backoff before the next try. */
  #failures = 0;
  /** KafkaSinks' TopicReady: their topics created on their own clusters, as Knative's reconciler does. */
  readonly #sinkTopics: KafkaSinkTopics;

  constructor(options: ReconcilerOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => new Date());
    this.#sinkTopics = new KafkaSinkTopics({
      onChange: () => this.schedule(),
      logs: new KafkaSinkLogs({ logger: options.logger }),
    });
    this.#unsubscribe.push(
      options.store.onChange((changes) => {
        for (const change of changes) {
          const [kind, namespace = '', name = ''] = change.key.split('/');
          const id =
            kind === 'Trigger'
              ? triggerRouteId(namespace, name)
              : kind === 'Subscription'
                ? subscriptionRouteId(namespace, name)
                : undefined;
          if (id === undefined) continue;
          if (change.action === 'deleted') this.#deletedRoutes.add(id);
          else this.#deletedRoutes.delete(id);
        }
        this.schedule();
      }),
    );
    if (options.serving) this.#unsubscribe.push(options.serving.plane.subscribe(() => this.schedule()));
    // Progress moves with every commit of a running replay: its status is refreshed at most once a
    // replayRefreshMs, not on every checkpoint.
    if (options.replays)
      this.#unsubscribe.push(
        options.replays.onChange(() => {
          if (this.#replayTimer !== undefined || this.#closed) return;
          this.#replayTimer = setTimeout(() => {
            this.#replayTimer = undefined;
            this.schedule();
          }, options.replayRefreshMs ?? 1000);
          this.#replayTimer.unref();
        }),
      );
    if (options.eventTypes) this.#unsubscribe.push(options.eventTypes.onChange(() => this.schedule()));
    this.#poll = setInterval(() => {
      if (this.#sourceSignatureNow() !== this.#sourceSignature) this.schedule();
    }, options.sourcePollMs ?? 1000);
    this.#poll.unref();
  }

  /** The eventing contract the broker data plane was last given. */
  get eventingContract(): DataPlaneContract | undefined {
    return this.#eventing;
  }

  /** Asks for a reconcile soon (changes arriving together are handled in one pass). */
  schedule(): void {
    if (this.#closed) return;
    this.#pending = true;
    if (!this.#started || this.#timer || this.#running) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#loop();
    }, this.#o.debounceMs ?? 50);
  }

  /** Starts reconciling (at once, and on every change from now on). */
  start(): void {
    this.#started = true;
    this.schedule();
  }

  /** Resolves once no reconcile is scheduled or running. */
  idle(): Promise<void> {
    if (!this.#pending && !this.#running && !this.#timer) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops scheduling and waits for a running pass. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#poll);
    clearTimeout(this.#timer);
    clearTimeout(this.#replayTimer);
    clearTimeout(this.#retryTimer);
    this.#timer = undefined;
    this.#pending = false;
    for (const u of this.#unsubscribe) u();
    await this.#running;
    await this.#sinkTopics.close();
    for (const w of this.#idleWaiters.splice(0)) w();
  }

  async #loop(): Promise<void> {
    if (this.#running) return;
    const run = (async () => {
      while (this.#pending && !this.#closed) {
        this.#pending = false;
        const started = performance.now();
        try {
          await this.#reconcileOnce();
          this.#failures = 0;
          // Changes that came during a long pass (thousands of resources arriving) wait at least as
          // long as the pass took: they are taken together, and the process keeps half its time for
          // everything else it serves (the contract feed, probes, a leader Lease to renew).
          const took = performance.now() - started;
          if (this.#pending && took > (this.#o.debounceMs ?? 50))
            await new Promise((resolve) => setTimeout(resolve, took));
        } catch (error) {
          // Requeued with exponential backoff: a pass that failed (an API server or data plane that
          // refused) is tried again even if nothing changes meanwhile.
          const delay = Math.min(60_000, 500 * 2 ** this.#failures++);
          this.#o.logger.error(
            { err: error, retryInMs: delay },
            `reconcile failed: ${(error as Error).message} (again in ${delay} ms)`,
          );
          clearTimeout(this.#retryTimer);
          this.#retryTimer = setTimeout(() => this.schedule(), delay);
          this.#retryTimer.unref();
        }
      }
    })();
    this.#running = run;
    await run;
    this.#running = undefined;
    if (this.#pending && !this.#closed) this.schedule();
    else for (const w of this.#idleWaiters.splice(0)) w();
  }

  #sourceSignatureNow(): string {
    return JSON.stringify(
      this.#o.runner
        .statuses()
        .map((s) => [s.key, s.ready.status, s.ready.reason, s.ready.message, s.address?.url])
        .sort(),
    );
  }

  /** Where secretKeyRef / configMapKeyRef values come from: the environment, then the store. */
  #values(): ValueLookupOptions {
    return { ...(this.#o.env ? { env: this.#o.env } : {}), store: this.#o.store.values };
  }

  async #reconcileOnce(): Promise<void> {
    const { store } = this.#o;
    let inputs = store.contractInputs();
    // Flows first: their Channels and Subscriptions are part of the eventing contract below.
    if (reconcileFlowChildren(store, inputs)) inputs = store.contractInputs();
    const statuses = new Map<string, ResourceStatus>();
    const serving = this.#o.serving;
    const serviceUrl = serving ? (ns: string, name: string) => serving.plane.routeUrl(ns, name) : undefined;

    // Eventing.
    const eventing = computeContract(inputs, {
      ...(this.#eventing ? { previous: this.#eventing } : {}),
      ...(this.#o.firstContractGeneration !== undefined
        ? { firstGeneration: this.#o.firstContractGeneration }
        : {}),
      brokerIngressUrl: this.#o.broker.url,
      ...(this.#o.brokerTtl !== undefined ? { brokerTtl: this.#o.brokerTtl } : {}),
      ...(this.#o.ingressTls ? { ingressTls: this.#o.ingressTls() } : {}),
      ...(serviceUrl ? { serviceUrl } : {}),
      now: this.#now().getTime(),
      ...(this.#o.replays ? { replayProgress: this.#o.replays.progress } : {}),
      values: this.#values(),
      kafkaSinkTopics: this.#sinkTopics.status,
      ...(this.#o.senderAuth ? { senderAuth: this.#o.senderAuth } : {}),
    });
    this.#sinkTopics.update(eventing.contract.kafkaSinks ?? []);
    for (const [k, s] of eventing.statuses) statuses.set(k, { ...s });
    for (const [k, s] of flowStatuses(inputs, eventing.statuses)) statuses.set(k, s);
    for (const [k, s] of reconcileEventTypes(store, inputs, this.#o.eventTypes)) statuses.set(k, s);
    await this.#applyEventing(eventing);

    const resolver = sinkResolver({ eventingStatuses: statuses, resources: inputs, serviceUrl });

    // SinkBindings: resolved before serving, which runs the bound Services with their env.
    const { bindings, statuses: bindingStatuses } = planSinkBindings(inputs, resolver);
    for (const [k, s] of bindingStatuses) statuses.set(k, s);

    // Serving.
    if (serving) await this.#reconcileServing(serving, bindings, eventing.contract, statuses);
    else
      for (const r of inputs)
        if (isServingResource(r))
          statuses.set(
            resourceKey(r.kind, r.namespace, r.name),
            notRunStatus(
              (r.resource as unknown as StoredResource).metadata.generation ?? 1,
              'ServingUnavailable',
              this.#o.servingOffMessage ?? 'serving is off in this eddy dev',
            ),
          );

    // Sources.
    await this.#reconcileSources(inputs, resolver, statuses);

    this.#writeStatuses(statuses);
  }

  /** Hands the broker data plane the eventing contract when its generation moved. */
  async #applyEventing(eventing: ComputedContract): Promise<void> {
    if (this.#eventing?.generation === eventing.contract.generation && this.#eventing) return;
    this.#eventing = eventing.contract;
    try {
      const deleted = new Set(this.#deletedRoutes);
      await this.#o.broker.apply(eventing.contract, { deleteGroupsOf: (route) => deleted.has(route.id) });
      for (const id of deleted) this.#deletedRoutes.delete(id);
    } catch (error) {
      this.#o.logger.warn({ err: error }, `broker data plane: ${(error as Error).message}`);
      this.#warnAll(
        ['Broker', 'Trigger'],
        'DataPlaneApplyFailed',
        `broker data plane: ${(error as Error).message}`,
      );
    }
  }

  async #reconcileServing(
    serving: ServingComponents,
    bindings: readonly ResolvedSinkBinding[],
    eventing: DataPlaneContract,
    statuses: Map<string, ResourceStatus>,
  ): Promise<void> {
    const { store, logger } = this.#o;
    const result = reconcileServingChildren(store, serving, {
      resources: () =>
        store
          .contractInputs()
          .filter(isServingResource)
          .map((r) => (r.kind === 'Service' && bindings.length > 0 ? withBindings(r, bindings) : r)),
      values: this.#values(),
      previous: this.#servingContract,
      onContract: (contract) => {
        this.#servingContract = contract;
      },
    });
    if (!result) return;
    const collectable = collectableRevisions(store, result.contract, this.#o.revisionsKept);
    if (collectable.length > 0) store.deleteAll(collectable);
    for (const [k, s] of result.statuses) statuses.set(k, { ...s });
    const applied = this.#appliedServing;
    if (applied?.serving !== result.contract.generation || applied.eventing !== eventing.generation) {
      try {
        await serving.plane.apply(withBacklogRoutes(result.contract, eventing));
        this.#appliedServing = { serving: result.contract.generation, eventing: eventing.generation };
      } catch (error) {
        logger.warn({ err: error }, `serving data plane: ${(error as Error).message}`);
        this.#warnAll(
          ['Service', 'Revision'],
          'DataPlaneApplyFailed',
          `serving data plane: ${(error as Error).message}`,
        );
      }
    }
  }

  async #reconcileSources(
    inputs: ReturnType<ResourceStore['contractInputs']>,
    resolver: AddressResolver,
    statuses: Map<string, ResourceStatus>,
  ): Promise<void> {
    const { runner, logger } = this.#o;
    const planned = planSources(inputs, {
      resolver,
      isSourceKind: (apiVersion, kind) => this.#o.isSourceKind(apiVersion, kind),
      values: this.#values(),
      ...(senderAuthEnabled(inputs, this.#o.senderAuth) ? { authentication: true } : {}),
    });
    for (const [k, s] of planned.statuses) statuses.set(k, s);
    const wanted = planned.sources;
    const runningBefore = new Set(runner.statuses().map((s) => s.key));
    await Promise.all(
      [...wanted].map(async ([key, { plan }]) => {
        if (!plan.ok) {
          this.#sourceApplyErrors.delete(key);
          this.#sourceDefinitions.delete(key);
          await runner.remove(key);
          return;
        }
        const unchanged = isDeepStrictEqual(this.#sourceDefinitions.get(key), plan.definition);
        if (unchanged && (runningBefore.has(key) || this.#sourceApplyErrors.has(key))) return;
        this.#sourceDefinitions.set(key, structuredClone(plan.definition));
        try {
          await runner.apply(plan.definition);
          this.#sourceApplyErrors.delete(key);
        } catch (error) {
          const message = (error as Error).message;
          if (this.#sourceApplyErrors.get(key) !== message) {
            logger.warn({ err: error, source: key }, `source ${key}: ${message}`);
            this.#o.store.recordEvent(key, { type: 'Warning', reason: 'InvalidSource', message });
          }
          this.#sourceApplyErrors.set(key, message);
          await runner.remove(key);
        }
      }),
    );
    for (const s of runner.statuses()) if (!wanted.has(s.key)) await runner.remove(s.key);
    for (const key of this.#sourceApplyErrors.keys())
      if (!wanted.has(key)) this.#sourceApplyErrors.delete(key);
    for (const key of this.#sourceDefinitions.keys())
      if (!wanted.has(key)) this.#sourceDefinitions.delete(key);
    this.#sourceSignature = this.#sourceSignatureNow();
    const running = new Map(runner.statuses().map((s) => [s.key, s]));
    for (const [key, { statusKey, generation, plan }] of wanted)
      statuses.set(
        statusKey,
        sourceStatus(generation, plan, running.get(key), this.#sourceApplyErrors.get(key)),
      );
  }

  #writeStatuses(statuses: Map<string, ResourceStatus>): void {
    const { store } = this.#o;
    const now = this.#now();
    let changed = false;
    for (const entry of store.list()) {
      const next = statuses.get(entry.key);
      const before = entry.resource.status;
      if (!next) {
        if (before) {
          store.setStatus(entry.key, undefined);
          changed = true;
        }
        continue;
      }
      const timed = withTransitionTimes(
        next,
        before?.conditions
          ? { conditions: before.conditions as (Condition & { lastTransitionTime?: string })[] }
          : undefined,
        now,
      ) as StoredResource['status'];
      if (JSON.stringify(timed) !== JSON.stringify(before)) {
        store.setStatus(entry.key, timed);
        changed = true;
      }
      const wasReady = readyOf(before);
      const isReady = readyOf(timed);
      const changedReady = !before || !sameReady(wasReady, isReady);
      // Every resource's line once per run (a restart shows where things stand), then on changes.
      if (changedReady || !this.#shown.has(entry.key)) {
        this.#shown.add(entry.key);
        const { kind, metadata } = entry.resource;
        this.#o.onStatusLine?.(formatStatusLine(kind, metadata.namespace, metadata.name, isReady));
      }
      if (changedReady) {
        if (isReady?.status === 'True')
          store.recordEvent(entry.key, {
            type: 'Normal',
            reason: 'Ready',
            message: `${entry.resource.kind} is ready`,
          });
        else if (isReady)
          store.recordEvent(entry.key, {
            type: isReady.status === 'False' ? 'Warning' : 'Normal',
            reason: isReady.reason ?? 'NotReady',
            message: isReady.message ?? `Ready is ${isReady.status}`,
          });
      }
    }
    for (const key of this.#shown) if (!store.get(key)) this.#shown.delete(key);
    if (changed) store.flush();
  }

  /** A Warning event on every resource of some kinds (a data plane refused what they add up to). */
  #warnAll(kinds: readonly string[], reason: string, message: string): void {
    for (const kind of kinds)
      for (const e of this.#o.store.list({ kind }))
        this.#o.store.recordEvent(e.key, { type: 'Warning', reason, message });
  }
}

/** A Service with the env of the SinkBinding that selects it added to every container. */
function withBindings(
  service: ReturnType<ResourceStore['contractInputs']>[number],
  bindings: readonly ResolvedSinkBinding[],
): ReturnType<ResourceStore['contractInputs']>[number] {
  const meta = (service.resource as unknown as StoredResource).metadata;
  const bound = bindWorkload(
    {
      apiVersion: service.apiVersion,
      kind: service.kind,
      namespace: service.namespace,
      name: service.name,
      ...(meta.labels ? { labels: meta.labels } : {}),
    },
    bindings,
  );
  if (!bound.boundBy) return service;
  const resource = structuredClone(service.resource) as {
    spec?: { template?: { spec?: { containers?: { env?: { name: string; value?: string }[] }[] } } };
  };
  for (const c of resource.spec?.template?.spec?.containers ?? [])
    c.env = withBindingEnv(c.env ?? [], bound.env);
  return { ...service, resource: resource as Record<string, unknown> };
}
