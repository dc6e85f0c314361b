// The broker data plane: one ingress server (brokers and channels, /healthz, /readyz, /metrics) and
// one dispatcher (every Trigger and Subscription route), both driven by the control plane's
// DataPlaneContract, sharing one event log, one deliverer and one metrics registry. As a process of
// its own (`component`), it is only the ingress or only the dispatcher (which then answers the
// probes on a server of its own): on Kafka, several of each share the work of one contract.
//
// apply() is serialized and ignores a contract whose generation is not newer than the running one,
// so a stale or re-delivered contract (a file re-read, a watcher firing twice) changes nothing.
// Topics first, then routes: a route's consumer can only start once its topic exists, and the
// ingress is the one that ensures topics.

import type { DataPlaneContract, DispatchRoute } from '@eddy/api';
import { type ProbeResult, type ProbeServer, sleep, startProbeServer } from '@eddy/runtime';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createDeliverer, type Deliverer, type DelivererOptions } from '../delivery/index.js';
import { createDispatcher, type Dispatcher, type DispatcherOptions } from '../dispatcher/index.js';
import type { EventLog } from '../eventlog/event-log.js';
import {
  createIngress,
  type Ingress,
  type IngressOptions,
  type ObservedEventType,
} from '../ingress/index.js';
import { eventLogHealth } from '../probes/probes.js';

/** What this data plane runs: both halves (one process), or one of them (scale-out). */
export type DataPlaneComponent = 'all' | 'ingress' | 'dispatcher';

export interface BrokerDataPlaneOptions {
  log: EventLog;
  /** Default `all`. */
  component?: DataPlaneComponent;
  /** One registry for ingress, dispatcher and delivery metrics, served at /metrics. Default a new one. */
  registry?: Registry;
  /** Default pino at `warn`. */
  logger?: pino.Logger;
  /** The one HTTP server: `host` (default 127.0.0.1), `port` (default 0: a free one, see `url`), `reusePort`, `maxBodyBytes`, `healthTimeoutMs`; a dispatcher-only plane uses host, port and reusePort for its probes. */
  ingress?: Omit<IngressOptions, 'log' | 'registry' | 'logger' | 'ensureTopics'>;
  /** The route consumers: `retryState`, `retryStateTopic`, `lagIntervalMs`, `maxBatchSize`, and `deleteRemovedGroups`. */
  dispatcher?: Omit<DispatcherOptions, 'log' | 'deliverer' | 'registry' | 'logger'> & {
    /** Delete consumer groups and retry state of routes a new contract removes. Default false. */
    deleteRemovedGroups?: boolean;
  };
  /** HTTP delivery: `defaultTimeoutMs`, `maxReplyBytes`, connection pool settings. */
  deliverer?: Omit<DelivererOptions, 'registry' | 'logger'>;
  /** How long apply() waits for a contract's topics before starting its routes anyway. Default 30 s. */
  topicWaitMs?: number;
}

export interface ApplyOptions {
  /**
   * Among the routes this contract removes, those whose consumer group and retry state are deleted
   * too (their Trigger/Subscription was deleted, so a new one of the same name starts afresh, as a
   * Knative trigger with a new UID would). The data plane's `deleteRemovedGroups` covers all of them.
   */
  deleteGroupsOf?: (route: DispatchRoute) => boolean;
}

export interface ApplyResult {
  /** False when the contract was ignored because its generation is not newer. */
  applied: boolean;
  /** The generation running after the call. */
  generation: number | undefined;
}

export interface BrokerDataPlane {
  /** Base URL of the ingress, e.g. http://127.0.0.1:8080 (brokers at /<ns>/<name>, channels at /channels/<ns>/<name>); a dispatcher's probe server. */
  readonly url: string;
  /** With permissive TLS (an https `url`), the ingress' plain-HTTP base URL too. */
  readonly httpUrl?: string | undefined;
  readonly component: DataPlaneComponent;
  readonly registry: Registry;
  /** Generation of the contract running now; undefined before the first apply(). */
  readonly generation: number | undefined;
  /**
   * Runs `contract`: ingress routes switch at once, topics are ensured, then dispatch routes are
   * started, updated in place or stopped. Resolves once the routes run. Rejects (having changed
   * nothing) for a malformed contract or clashing paths/routes; rejects after switching when a
   * route's consumer could not start yet (it keeps retrying).
   */
  apply(contract: DataPlaneContract, options?: ApplyOptions): Promise<ApplyResult>;
  /** Records a route's group has not committed yet (0 without a dispatcher). */
  lag(routeId: string): Promise<number>;
  /** The kinds of events the ingress accepted (none without an ingress), rates as of `now`. */
  observedEventTypes(now?: number): ObservedEventType[];
  /** /readyz: the last contract is applied and its topics and routes are up. */
  ready(): ProbeResult;
  /**
   * Stops accepting events, then drains the dispatcher (finished events committed, deliveries in
   * flight aborted and left uncommitted for the next run). Does not close the log.
   */
  close(): Promise<void>;
}

/** Creates the data plane and starts listening (with no routes until apply()). */
export async function createBrokerDataPlane(options: BrokerDataPlaneOptions): Promise<BrokerDataPlane> {
  if (options?.log === undefined) throw new TypeError('createBrokerDataPlane: options.log is required');
  const component = options.component ?? 'all';
  const registry = options.registry ?? new Registry();
  const logger = options.logger ?? pino({ level: 'warn' });
  const topicWaitMs = options.topicWaitMs ?? 30_000;
  const { deleteRemovedGroups = false, ...dispatcherOptions } = options.dispatcher ?? {};
  const ingress =
    component === 'dispatcher'
      ? undefined
      : createIngress({ ...options.ingress, log: options.log, registry, logger });
  const deliverer =
    component === 'ingress' ? undefined : createDeliverer({ ...options.deliverer, registry, logger });
  const dispatcher =
    deliverer === undefined
      ? undefined
      : createDispatcher({ ...dispatcherOptions, log: options.log, deliverer, registry, logger });
  const parts: Parts = { logger, log: options.log, ingress, dispatcher, deliverer };
  const plane = new DataPlane(registry, component, parts, { topicWaitMs, deleteRemovedGroups });
  try {
    if (ingress) {
      plane.url = await ingress.listen();
      plane.httpUrl = ingress.httpUrl;
    } else {
      const probes = await startProbeServer({
        host: options.ingress?.host ?? '127.0.0.1',
        port: options.ingress?.port ?? 0,
        reusePort: options.ingress?.reusePort ?? false,
        probes: {
          registry,
          health: () => eventLogHealth(options.log, options.ingress?.healthTimeoutMs ?? 2_000),
          ready: () => plane.ready(),
        },
        logger,
        component: 'dispatcher',
      });
      plane.url = probes.url;
      parts.probes = probes;
    }
  } catch (error) {
    await Promise.allSettled([ingress?.close(), dispatcher?.close(), deliverer?.close()]);
    throw error;
  }
  return plane;
}

interface Parts {
  logger: pino.Logger;
  log: EventLog;
  ingress: Ingress | undefined;
  dispatcher: Dispatcher | undefined;
  deliverer: Deliverer | undefined;
  probes?: ProbeServer;
}

class DataPlane implements BrokerDataPlane {
  url = '';
  httpUrl: string | undefined;
  #generation: number | undefined;
  /** Why routes of the last contract could not start (they keep retrying). */
  #routeFailure: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed: Promise<void> | undefined;

  constructor(
    readonly registry: Registry,
    readonly component: DataPlaneComponent,
    readonly parts: Parts,
    readonly settings: { topicWaitMs: number; deleteRemovedGroups: boolean },
  ) {}

  get generation(): number | undefined {
    return this.#generation;
  }

  apply(contract: DataPlaneContract, options: ApplyOptions = {}): Promise<ApplyResult> {
    try {
      checkContract(contract);
    } catch (error) {
      return Promise.reject(error);
    }
    const run = this.#queue.then(() => this.#apply(contract, options));
    this.#queue = run.catch(() => {});
    return run;
  }

  lag(routeId: string): Promise<number> {
    return this.parts.dispatcher?.lag(routeId) ?? Promise.resolve(0);
  }

  observedEventTypes(now = Date.now()): ObservedEventType[] {
    return this.parts.ingress?.eventTypes.snapshot(now) ?? [];
  }

  ready(): ProbeResult {
    const ingress = this.parts.ingress?.ready();
    // Routes that could not start keep retrying on their own; they are named, not held against
    // readiness, or one unreachable topic would take every route of the process out of service.
    const ok = this.#generation !== undefined && (ingress?.ok ?? true);
    return {
      ok,
      component: this.component,
      generation: this.#generation ?? null,
      ...(ingress ? { notReady: ingress.notReady } : {}),
      ...(this.#routeFailure ? { routes: this.#routeFailure } : {}),
    };
  }

  async #apply(contract: DataPlaneContract, options: ApplyOptions): Promise<ApplyResult> {
    const { logger, ingress, dispatcher } = this.parts;
    if (this.#closed !== undefined) throw new Error('apply: the data plane is closed');
    // The running generation again is news only when its routes failed to start: the watch tries a
    // failed contract again.
    const retry = contract.generation === this.#generation && this.#routeFailure !== undefined;
    if (this.#generation !== undefined && contract.generation <= this.#generation && !retry) {
      logger.info(
        { generation: contract.generation, running: this.#generation },
        `data plane: ignoring contract generation ${contract.generation} (running ${this.#generation})`,
      );
      return { applied: false, generation: this.#generation };
    }
    // Throws synchronously (nothing changed) when two routes share a path.
    const topicsReady = ingress?.updateContract(
      contract.brokers,
      contract.channels,
      contract.kafkaSinks ?? [],
      contract.senderTrust,
    );
    this.#generation = contract.generation;
    // A dispatcher on its own waits for the ingress (another process) to create the topics, so its
    // routes start cleanly instead of failing and retrying.
    const topicsExist = topicsReady ?? (dispatcher ? this.#routeTopicsExist(contract) : undefined);
    if (topicsExist) {
      const waited = await Promise.race([
        topicsExist.then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), this.settings.topicWaitMs).unref()),
      ]);
      if (!waited) {
        logger.warn(
          { generation: contract.generation },
          `data plane: topics of contract generation ${contract.generation} not ready after ${this.settings.topicWaitMs} ms; starting routes anyway (they retry)`,
        );
      }
    }
    if (dispatcher) {
      const pick = options.deleteGroupsOf;
      try {
        await dispatcher.updateRoutes(contract.routes, {
          deleteRemovedGroups: this.settings.deleteRemovedGroups || (pick ?? false),
        });
        await dispatcher.updateReplays(contract.replays ?? []);
        this.#routeFailure = undefined;
      } catch (error) {
        this.#routeFailure = (error as Error).message;
        throw error;
      }
    }
    logger.info(
      {
        component: this.component,
        generation: contract.generation,
        brokers: contract.brokers.length,
        channels: contract.channels.length,
        routes: contract.routes.length,
      },
      `data plane: applied contract generation ${contract.generation}`,
    );
    return { applied: true, generation: contract.generation };
  }

  /** Resolves once every topic the contract's routes read exists (polled; stops when closed). */
  async #routeTopicsExist(contract: DataPlaneContract): Promise<void> {
    const wanted = new Set(contract.routes.map((route) => route.topic));
    while (wanted.size > 0 && this.#closed === undefined) {
      try {
        for (const topic of await this.parts.log.listTopics()) wanted.delete(topic.name);
      } catch {
        // The log is not reachable yet: the same as the topics not being there yet.
      }
      if (wanted.size > 0) await sleep(250);
    }
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      const { ingress, dispatcher, deliverer, probes } = this.parts;
      await this.#queue;
      // Stop accepting first, so nothing new lands while the dispatcher drains.
      await ingress?.close();
      await dispatcher?.close();
      await deliverer?.close();
      await probes?.close();
    })();
    return this.#closed;
  }
}

/** Shape checks a contract read from a file needs before anything uses it. */
export function checkContract(contract: unknown): asserts contract is DataPlaneContract {
  if (contract === null || typeof contract !== 'object' || Array.isArray(contract)) {
    throw new TypeError('data-plane contract: expected an object with generation, brokers, channels, routes');
  }
  const c = contract as Record<string, unknown>;
  if (typeof c.generation !== 'number' || !Number.isFinite(c.generation)) {
    throw new TypeError(
      `data-plane contract: "generation" must be a number, got ${JSON.stringify(c.generation)}`,
    );
  }
  for (const field of ['brokers', 'channels', 'routes'] as const) {
    if (!Array.isArray(c[field])) {
      throw new TypeError(`data-plane contract: "${field}" must be an array, got ${typeof c[field]}`);
    }
  }
}
