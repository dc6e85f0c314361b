// The dispatcher: one consumer group per route (Trigger or Subscription), started, updated and
// stopped as the control plane's contract changes. See route-consumer.ts for what happens to
// each event and when offsets are committed, retry-state.ts for how attempts survive restarts.

import { type DispatchRoute, MAX_BROKER_TTL, type ReplayPlan } from '@eddy/api';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { Deliverer } from '../delivery/index.js';
import type { EventLog } from '../eventlog/event-log.js';
import { compileFilter } from '../filters/index.js';
import { DEFAULT_REPLAY_CHECKPOINT_TOPIC, ReplayCheckpoints } from '../replay/replay-checkpoints.js';
import { ReplayRunner } from '../replay/replay-runner.js';
import { type DispatchMetrics, dispatchMetrics } from './dispatch-metrics.js';
import { createLogRetryStateStore, DEFAULT_RETRY_STATE_TOPIC, type RetryStateStore } from './retry-state.js';
import { RouteConsumer, type RouteSettings } from './route-consumer.js';

export interface DispatcherOptions {
  log: EventLog;
  deliverer: Deliverer;
  registry?: Registry;
  logger?: pino.Logger;
  /**
   * Where attempts already made survive rebalances, restarts and crashes. Default: a store on the
   * event log itself (topic `retryStateTopic`), opened on the first updateRoutes() and closed by
   * close(). A store passed in is not closed by the dispatcher.
   */
  retryState?: RetryStateStore;
  /** State topic of the default retry state store. Default `eddy-dispatcher-retry-state`. */
  retryStateTopic?: string;
  /** State topic of replay checkpoints. Default `eddy-replay-checkpoints`. */
  replayCheckpointTopic?: string;
  /** How often `eddy_dispatch_lag` is refreshed. Default 10 000 ms; 0 = never (call lag()). */
  lagIntervalMs?: number;
  /** Records per handler call of the event log. Default 100. */
  maxBatchSize?: number;
}

export interface UpdateRoutesOptions {
  /**
   * Also delete the consumer groups (committed offsets) and retry state of routes that are
   * removed (or whose group changed): all of them (true), or those the function picks (e.g. the
   * routes whose Trigger was deleted, as opposed to one that is only not Ready for a while).
   * Default false: a route that comes back resumes.
   */
  deleteRemovedGroups?: boolean | ((route: DispatchRoute) => boolean);
}

export interface Dispatcher {
  /**
   * Makes the running routes exactly `routes`: new routes start (resolving once their group has
   * its partitions), removed routes stop, and a route whose topic and group are unchanged gets its
   * new filter, subscriber, delivery, reply, ordering and maxInFlight in place, without re-reading
   * or skipping anything. Invalid routes reject the whole call before anything changes. A route
   * whose consumer cannot start yet stays registered and keeps retrying; the call then rejects
   * naming it.
   */
  updateRoutes(routes: DispatchRoute[], options?: UpdateRoutesOptions): Promise<void>;
  /**
   * Makes the running replays exactly the unsuspended `plans` (replay/replay-runner.ts); a replay no
   * longer listed is stopped and its consumer groups, retry state and checkpoints are deleted.
   */
  updateReplays(plans: readonly ReplayPlan[]): Promise<void>;
  /** Records the route's group has not committed yet, summed over partitions. */
  lag(routeId: string): Promise<number>;
  /** The routes currently running. */
  routes(): DispatchRoute[];
  /**
   * Stops every route: no more fetching, deliveries in flight are aborted (retries included) and
   * stay uncommitted, every finished event is committed, groups are left.
   */
  close(): Promise<void>;
}

/** A route the dispatcher cannot run; names the route and the field. */
export class InvalidRouteError extends Error {
  override readonly name = 'InvalidRouteError';
}

/** Lag lookups in flight at once when refreshing the gauge (each is a few admin calls on Kafka). */
const LAG_LOOKUP_CONCURRENCY = 8;

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  return new RouteDispatcher(options);
}

class RouteDispatcher implements Dispatcher {
  readonly #log: EventLog;
  readonly #deliverer: Deliverer;
  readonly #logger: pino.Logger;
  readonly #metrics: DispatchMetrics;
  readonly #maxBatchSize: number;
  readonly #retryStateTopic: string;
  #retryState: RetryStateStore | undefined;
  #ownsRetryState = false;
  readonly #consumers = new Map<string, RouteConsumer>();
  #updates: Promise<unknown> = Promise.resolve();
  #lagTimer: NodeJS.Timeout | undefined;
  #lagRefresh: Promise<void> | undefined;
  #closed: Promise<void> | undefined;
  readonly #replayCheckpointTopic: string;
  #checkpoints: Promise<ReplayCheckpoints> | undefined;
  #replays: ReplayRunner | undefined;
  #replayUpdates: Promise<unknown> = Promise.resolve();

  constructor(options: DispatcherOptions) {
    if (options?.log === undefined) throw new TypeError('createDispatcher: options.log is required');
    if (options.deliverer === undefined)
      throw new TypeError('createDispatcher: options.deliverer is required');
    this.#log = options.log;
    this.#deliverer = options.deliverer;
    this.#logger = options.logger ?? pino({ level: 'warn' });
    this.#metrics = dispatchMetrics(options.registry ?? new Registry());
    this.#maxBatchSize = options.maxBatchSize ?? 100;
    if (!Number.isInteger(this.#maxBatchSize) || this.#maxBatchSize < 1) {
      throw new RangeError(
        `createDispatcher: maxBatchSize must be an integer >= 1, got ${options.maxBatchSize}`,
      );
    }
    this.#retryState = options.retryState;
    this.#retryStateTopic = options.retryStateTopic ?? DEFAULT_RETRY_STATE_TOPIC;
    this.#replayCheckpointTopic = options.replayCheckpointTopic ?? DEFAULT_REPLAY_CHECKPOINT_TOPIC;
    const lagIntervalMs = options.lagIntervalMs ?? 10_000;
    if (!(lagIntervalMs >= 0)) {
      throw new RangeError(`createDispatcher: lagIntervalMs must be >= 0, got ${options.lagIntervalMs}`);
    }
    if (lagIntervalMs > 0) {
      this.#lagTimer = setInterval(() => void this.#refreshLag(), lagIntervalMs);
      this.#lagTimer.unref();
    }
  }

  updateRoutes(routes: DispatchRoute[], options: UpdateRoutesOptions = {}): Promise<void> {
    if (this.#closed !== undefined)
      return Promise.reject(new Error('updateRoutes: the dispatcher is closed'));
    // Validate synchronously so a bad contract is reported before any earlier update finishes.
    const settings = validateRoutes(routes);
    const run = this.#updates.then(() => this.#apply(settings, options));
    this.#updates = run.catch(() => {});
    return run;
  }

  updateReplays(plans: readonly ReplayPlan[]): Promise<void> {
    if (this.#closed !== undefined)
      return Promise.reject(new Error('updateReplays: the dispatcher is closed'));
    const run = this.#replayUpdates.then(async () => {
      if (this.#closed !== undefined) throw new Error('updateReplays: the dispatcher is closed');
      if (this.#replays === undefined) {
        if (plans.length === 0) return;
        this.#replays = new ReplayRunner({
          log: this.#log,
          deliverer: this.#deliverer,
          retryState: await this.#retryStateStore(),
          metrics: this.#metrics,
          logger: this.#logger,
          maxBatchSize: this.#maxBatchSize,
          checkpoints: () => this.#replayCheckpoints(),
        });
      }
      await this.#replays.update(plans);
    });
    this.#replayUpdates = run.catch(() => {});
    return run;
  }

  #replayCheckpoints(): Promise<ReplayCheckpoints> {
    this.#checkpoints ??= ReplayCheckpoints.open({
      log: this.#log,
      topic: this.#replayCheckpointTopic,
      logger: this.#logger,
    }).catch((error: unknown) => {
      this.#checkpoints = undefined;
      throw error;
    });
    return this.#checkpoints;
  }

  async lag(routeId: string): Promise<number> {
    const consumer = this.#consumers.get(routeId);
    if (consumer === undefined) throw new Error(`lag: no route "${routeId}" is running`);
    return consumer.lag();
  }

  routes(): DispatchRoute[] {
    return [...this.#consumers.values()].map((c) => c.route);
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      clearInterval(this.#lagTimer);
      await this.#lagRefresh;
      await this.#updates;
      await this.#replayUpdates;
      await this.#replays?.close();
      await (await this.#checkpoints?.catch(() => undefined))?.close();
      const consumers = [...this.#consumers.values()];
      this.#consumers.clear();
      await Promise.all(consumers.map((c) => c.stop()));
      if (this.#ownsRetryState) await this.#retryState?.close();
    })();
    return this.#closed;
  }

  async #apply(settings: Map<string, RouteSettings>, options: UpdateRoutesOptions): Promise<void> {
    if (this.#closed !== undefined) throw new Error('updateRoutes: the dispatcher is closed');
    const retryState = await this.#retryStateStore();
    const stopping: RouteConsumer[] = [];
    const starting: RouteConsumer[] = [];
    for (const [id, consumer] of this.#consumers) {
      const next = settings.get(id);
      if (
        next !== undefined &&
        next.route.topic === consumer.route.topic &&
        next.route.group === consumer.route.group
      ) {
        consumer.update(next);
        continue;
      }
      stopping.push(consumer);
      this.#consumers.delete(id);
    }
    await Promise.all(
      stopping.map(async (consumer) => {
        await consumer.stop();
        this.#metrics.removeRoute(consumer.route.id);
        const remove = options.deleteRemovedGroups;
        if (remove === true || (typeof remove === 'function' && remove(consumer.route))) {
          // A group that cannot be deleted now only means a re-created route resumes instead of
          // starting afresh; it must not keep the other routes of this update from starting.
          try {
            await this.#log.deleteGroup(consumer.route.group);
            await retryState.deleteGroup(consumer.route.group);
          } catch (error) {
            this.#logger.warn(
              { err: error, route: consumer.route.id, group: consumer.route.group },
              `dispatcher: could not delete the consumer group of removed route ${consumer.route.id}: ${(error as Error).message}`,
            );
          }
        }
      }),
    );
    for (const [id, next] of settings) {
      if (this.#consumers.has(id)) continue;
      const consumer = new RouteConsumer(next, {
        log: this.#log,
        deliverer: this.#deliverer,
        retryState,
        metrics: this.#metrics,
        logger: this.#logger,
        maxBatchSize: this.#maxBatchSize,
      });
      this.#consumers.set(id, consumer);
      starting.push(consumer);
    }
    const failures: string[] = [];
    await Promise.all(
      starting.map((consumer) =>
        consumer.start().catch((error: unknown) => {
          failures.push(`${consumer.route.id}: ${error instanceof Error ? error.message : String(error)}`);
        }),
      ),
    );
    if (failures.length > 0) {
      throw new Error(
        `updateRoutes: ${failures.length} route(s) could not start yet (retrying): ${failures.join('; ')}`,
      );
    }
  }

  async #retryStateStore(): Promise<RetryStateStore> {
    if (this.#retryState === undefined) {
      this.#retryState = await createLogRetryStateStore({
        log: this.#log,
        topic: this.#retryStateTopic,
        logger: this.#logger,
      });
      this.#ownsRetryState = true;
    }
    return this.#retryState;
  }

  /** Refreshes every route's lag gauge, a few routes at a time; a refresh still running is not doubled. */
  #refreshLag(): Promise<void> {
    this.#lagRefresh ??= (async () => {
      if (this.#log.lagOfGroups !== undefined) {
        await this.#refreshLagOfGroups(this.#log.lagOfGroups.bind(this.#log));
        return;
      }
      const queue = [...this.#consumers];
      const worker = async () => {
        for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
          const [id, consumer] = next;
          try {
            const lag = await consumer.lag();
            // A route removed meanwhile must not get its series back.
            if (this.#consumers.get(id) === consumer) this.#metrics.lag.set({ route: id }, lag);
          } catch (error) {
            this.#logger.debug({ err: error, route: id }, 'could not read lag');
          }
        }
      };
      await Promise.all(Array.from({ length: LAG_LOOKUP_CONCURRENCY }, worker));
    })().finally(() => {
      this.#lagRefresh = undefined;
    });
    return this.#lagRefresh;
  }

  /** The same, with the lag of many routes' groups read together (a topic's groups per call). */
  async #refreshLagOfGroups(lagOfGroups: NonNullable<EventLog['lagOfGroups']>): Promise<void> {
    const byTopic = new Map<string, [string, RouteConsumer][]>();
    for (const entry of this.#consumers) {
      const list = byTopic.get(entry[1].route.topic) ?? [];
      byTopic.set(entry[1].route.topic, list);
      list.push(entry);
    }
    for (const [topic, entries] of byTopic) {
      for (let i = 0; i < entries.length; i += LAG_GROUPS_PER_CALL) {
        const chunk = entries.slice(i, i + LAG_GROUPS_PER_CALL);
        try {
          const lags = await lagOfGroups(
            chunk.map(([, c]) => c.route.group),
            topic,
          );
          for (const [id, consumer] of chunk) {
            const partitions = lags.get(consumer.route.group);
            // A route removed meanwhile must not get its series back.
            if (partitions !== undefined && this.#consumers.get(id) === consumer)
              this.#metrics.lag.set({ route: id }, consumer.lagOf(partitions));
          }
        } catch (error) {
          this.#logger.debug({ err: error, topic }, 'could not read lag');
        }
      }
    }
  }
}

/** Routes per lagOfGroups call: thousands of routes' lag in a few requests. */
const LAG_GROUPS_PER_CALL = 1_000;

function validateRoutes(routes: DispatchRoute[]): Map<string, RouteSettings> {
  if (!Array.isArray(routes)) throw new InvalidRouteError('updateRoutes: routes must be an array');
  const settings = new Map<string, RouteSettings>();
  for (const [i, route] of routes.entries()) {
    const where = `routes[${i}]${typeof route?.id === 'string' && route.id !== '' ? ` (${route.id})` : ''}`;
    const fail = (field: string, expected: string, got: unknown) => {
      throw new InvalidRouteError(`${where}.${field}: expected ${expected}, got ${JSON.stringify(got)}`);
    };
    if (route === null || typeof route !== 'object')
      throw new InvalidRouteError(`${where}: expected a route object`);
    for (const field of ['id', 'topic', 'group', 'subscriber'] as const) {
      if (typeof route[field] !== 'string' || route[field] === '')
        fail(field, 'a non-empty string', route[field]);
    }
    if (settings.has(route.id)) throw new InvalidRouteError(`${where}.id: duplicate route id "${route.id}"`);
    if (route.ordering !== 'ordered' && route.ordering !== 'unordered') {
      fail('ordering', '"ordered" or "unordered"', route.ordering);
    }
    if (!Number.isInteger(route.maxInFlight) || route.maxInFlight < 1) {
      fail('maxInFlight', 'an integer >= 1', route.maxInFlight);
    }
    const reply = route.reply as { kind?: unknown; topic?: unknown; url?: unknown } | undefined;
    if (
      reply === undefined ||
      !(
        reply.kind === 'drop' ||
        (reply.kind === 'topic' && typeof reply.topic === 'string' && reply.topic !== '') ||
        (reply.kind === 'url' && typeof reply.url === 'string' && reply.url !== '')
      )
    ) {
      fail('reply', '{kind:"drop"}, {kind:"topic",topic} or {kind:"url",url}', route.reply);
    }
    const start = route.startFrom as unknown;
    if (
      start !== 'earliest' &&
      start !== 'latest' &&
      !(
        start !== null &&
        typeof start === 'object' &&
        Number.isFinite((start as { timestamp?: unknown }).timestamp)
      )
    ) {
      fail('startFrom', '"earliest", "latest" or {timestamp}', start);
    }
    if (route.delivery === null || typeof route.delivery !== 'object')
      fail('delivery', 'resolved delivery settings', route.delivery);
    if (
      route.ttl !== undefined &&
      (!Number.isInteger(route.ttl) || route.ttl < 1 || route.ttl > MAX_BROKER_TTL)
    )
      fail('ttl', `an integer from 1 to ${MAX_BROKER_TTL}`, route.ttl);
    let filter: RouteSettings['filter'];
    try {
      filter = compileFilter(route.filter, `${where}.filter`);
    } catch (error) {
      throw new InvalidRouteError(error instanceof Error ? error.message : String(error));
    }
    settings.set(route.id, { route, filter });
  }
  return settings;
}
