// One route's consumer: its consumer group reads the route's topic; each event is filtered,
// delivered, its reply forwarded, and its offset committed only once its outcome is final, in
// offset order per partition.
//
// - unordered: up to `maxInFlight` events of the route at once (all partitions together); the
//   batch handler returns once every record of the batch has started, and waits for a free slot
//   before starting the next, so the log's backpressure bounds memory whatever the backlog.
//   Completions come in any order; each partition commits up to its lowest unfinished offset.
// - ordered: one event at a time per partition; the next starts when the previous is final.
//
// Route changes that keep the topic and group (filter, subscriber, delivery, reply, ordering,
// maxInFlight) apply in place: events that have not started use the new settings, events in
// flight finish with the old ones, and nothing is re-read or skipped.

import { randomUUID } from 'node:crypto';
import type { DispatchRoute, PlainEvent } from '@eddy/api';
import { CommitTracker, sleep } from '@eddy/runtime';
import type pino from 'pino';
import { withErrorExtensions } from '../delivery/error-extensions.js';
import type { AttemptFailure, Deliverer } from '../delivery/index.js';
import type {
  CommitOffset,
  Consumer,
  EventLog,
  LogRecord,
  PartitionLag,
  RecordBatch,
} from '../eventlog/event-log.js';
import type { EventFilter } from '../filters/index.js';
import type { DispatchMetrics, EventOutcome } from './dispatch-metrics.js';
import { loopCutReason, replyTtl, setTtl, withoutTtl } from './reply-ttl.js';
import type { RetryKey, RetryState, RetryStateStore } from './retry-state.js';

export interface RouteSettings {
  route: DispatchRoute;
  filter: EventFilter;
}

/**
 * What a replay adds to a route's consumer (replay/replay-target.ts); a Trigger's or Subscription's
 * route has none.
 */
export interface RouteHooks {
  /** This member starts reading the partition (an assignment): runs before its first batch. */
  onPartition?(partition: number): Promise<void>;
  /** Records passed (and committed) at once, neither delivered nor counted: already replayed, or past the window. */
  skip?(record: LogRecord): boolean;
  /** Waits before a record that passed the filter is delivered (a rate limit); resolves early when aborted. */
  pace?(signal: AbortSignal): Promise<void>;
  /** The event as it is delivered (the replay extension added). */
  transform?(event: PlainEvent): PlainEvent;
  /** Count what passes the filter (`matched`) instead of delivering it. */
  dryRun?(): boolean;
  /** A record's final outcome in this member (not yet committed). */
  onOutcome?(record: LogRecord, outcome: EventOutcome | 'matched'): void;
  /** Runs before the group commits these offsets; a rejection fails the commit, which is tried again. */
  beforeCommit?(offsets: CommitOffset[]): Promise<void>;
  onAssignment?(assigned: number[]): void;
}

export interface RouteConsumerDeps {
  log: EventLog;
  deliverer: Deliverer;
  retryState: RetryStateStore;
  metrics: DispatchMetrics;
  logger: pino.Logger;
  /** Records per handler call. */
  maxBatchSize: number;
  hooks?: RouteHooks;
}

/** How long a consumer that missed its ready timeout may take to commit what it finished. */
const FLUSH_BEFORE_RESTART_MS = 5_000;

/** Longest wait between two tries of something that failed (a commit, a reply append, a restart). */
const MAX_BACKOFF_MS = 30_000;

function backoff(failures: number): number {
  return Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(failures, 16));
}

/** Sleeps; false when the signal fired first. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  await sleep(ms, signal);
  return !signal.aborted;
}

class PartitionState {
  tracker = new CommitTracker();
  /** Processing of offsets started by any tracker of this partition that has not settled. */
  readonly running = new Map<number, Promise<boolean>>();
  readonly abort = new AbortController();
  readonly signal: AbortSignal;
  owned = true;
  synced: Promise<void> | undefined;

  constructor(routeSignal: AbortSignal) {
    this.signal = AbortSignal.any([routeSignal, this.abort.signal]);
  }
}

export class RouteConsumer {
  #settings: RouteSettings;
  readonly #deps: RouteConsumerDeps;
  readonly #topic: string;
  /** Signs this consumer's retry state writes (RetryState.owner). */
  readonly #me = randomUUID();
  readonly #group: string;
  #consumer: Consumer | undefined;
  readonly #partitions = new Map<number, PartitionState>();
  #stopping = false;
  readonly #stop = new AbortController();
  #inFlight = 0;
  #waiters: ((granted: boolean) => void)[] = [];
  readonly #pending = new Set<Promise<void>>();
  /** Retry-state clears under way: a graceful stop waits for them, so a restart finds none left over. */
  readonly #clearing = new Set<Promise<void>>();
  #committing: Promise<void> | undefined;
  /** Offsets per partition whose retry state says final and awaits a commit. */
  readonly #finalEntries = new Map<number, Set<number>>();
  #commitAgain = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #restarts = 0;
  #restarting: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  /** A cut reply loop is logged as a warning once per route, then at debug level. */
  #loopCutLogged = false;
  readonly #untrackInFlight: () => void;

  constructor(settings: RouteSettings, deps: RouteConsumerDeps) {
    this.#settings = settings;
    this.#deps = deps;
    this.#topic = settings.route.topic;
    this.#group = settings.route.group;
    this.#untrackInFlight = deps.metrics.inFlight.track({ route: settings.route.id }, () => this.#inFlight);
  }

  get route(): DispatchRoute {
    return this.#settings.route;
  }

  /** Applies new settings of the same topic and group to events not started yet. */
  update(settings: RouteSettings): void {
    if (settings.route.topic !== this.#topic || settings.route.group !== this.#group) {
      throw new Error(`route ${settings.route.id}: topic and group cannot change in place`);
    }
    this.#settings = settings;
    this.#grant();
  }

  /** Joins the group; resolves once the member has its partitions. On failure it keeps retrying in the background. */
  async start(): Promise<void> {
    try {
      await this.#startConsumer();
    } catch (error) {
      this.#scheduleRestart(error);
      throw error;
    }
  }

  /**
   * Records not yet committed by the group, summed over partitions. A partition the group never
   * committed counts from where this member started reading it (the log alone would count the
   * whole retained topic for a route that starts at "latest").
   */
  async lag(): Promise<number> {
    return this.lagOf(await this.#deps.log.lag(this.#group, this.#topic));
  }

  /** lag() from the group's partitions as the log reported them (read for many routes at once). */
  lagOf(partitions: PartitionLag[]): number {
    let sum = 0;
    for (const p of partitions) {
      if (p.committed !== null) {
        sum += p.lag;
        continue;
      }
      const tracker = this.#partitions.get(p.partition)?.tracker;
      if (tracker !== undefined && tracker.highestStarted >= 0) {
        sum += Math.max(0, p.end - tracker.lowestUnfinished);
      } else if (this.#settings.route.startFrom !== 'latest' || this.#consumer?.status !== 'running') {
        sum += p.lag;
      }
    }
    return sum;
  }

  /**
   * Stops fetching, aborts deliveries in flight (they stay uncommitted and are delivered again by
   * the next owner, with their attempts kept in the retry state), commits every finished event,
   * and leaves the group. The group's committed offsets stay.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#shutdown();
    return this.#stopped;
  }

  async #shutdown(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    for (const waiter of this.#waiters.splice(0)) waiter(false);
    this.#stop.abort();
    // A restart under way finishes first (it sees the stop and closes what it opened).
    await this.#restarting;
    await this.#settle();
    await this.#flushCommits();
    await Promise.allSettled([...this.#clearing]);
    await this.#consumer?.close();
    this.#untrackInFlight();
  }

  async #settle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  async #startConsumer(): Promise<void> {
    const { route } = this.#settings;
    const consumer = await this.#deps.log.consume({
      group: this.#group,
      topic: this.#topic,
      start: 'committed',
      initial: route.startFrom,
      // Everything a route needs of its group is its committed offsets: a log that can read many
      // routes' topics through one shared reader may (thousands of Triggers on Kafka).
      sharedReader: true,
      commitInitial: true,
      maxBatchSize: this.#deps.maxBatchSize,
      handler: (batch) => this.#onBatch(batch),
      onAssignment: (assigned) => this.#onAssignment(assigned),
      onError: (error) => this.#onConsumerError(error),
    });
    this.#consumer = consumer;
    if (this.#stopping) {
      await consumer.close();
      return;
    }
    try {
      await consumer.ready();
    } catch (error) {
      // ready() gave up, but the member may have joined meanwhile and finished events: their
      // commits (in flight, or not yet taken) go through it before it leaves, or the next member
      // delivers them again. That is how kafkajs' 5,000-Trigger bench run delivered 17 probes twice:
      // 4,403 of 5,000 members missed the 60 s ready timeout and were restarted.
      // Bounded: a commit that keeps failing retries until the consumer is closed.
      await Promise.race([this.#flushCommits().catch(() => {}), sleep(FLUSH_BEFORE_RESTART_MS)]);
      await consumer.close().catch(() => {});
      throw error;
    }
    this.#restarts = 0;
  }

  #onConsumerError(error: Error): void {
    if (this.#stopping) return;
    this.#deps.logger.error({ err: error, route: this.route.id }, 'route consumer stopped; restarting');
    // The member left its group: whatever is in flight is no longer ours to commit.
    for (const [partition, state] of this.#partitions) this.#revoke(partition, state);
    this.#scheduleRestart(error);
  }

  #scheduleRestart(error: unknown): void {
    if (this.#stopping) return;
    const delay = backoff(this.#restarts++);
    this.#deps.logger.warn(
      { err: error, route: this.route.id, delayMs: delay },
      'starting the route consumer again',
    );
    this.#restartTimer = setTimeout(() => {
      this.#restarting = (async () => {
        await this.#settle();
        if (this.#stopping) return;
        try {
          await this.#startConsumer();
        } catch (startError) {
          this.#scheduleRestart(startError);
        }
      })();
    }, delay);
  }

  #onAssignment(assigned: number[]): void {
    this.#deps.hooks?.onAssignment?.(assigned);
    const keep = new Set(assigned);
    for (const [partition, state] of this.#partitions) {
      if (!keep.has(partition)) this.#revoke(partition, state);
    }
  }

  /** The partition went to another member: stop its deliveries and never commit it again. */
  #revoke(partition: number, state: PartitionState): void {
    state.owned = false;
    state.abort.abort();
    this.#partitions.delete(partition);
  }

  #partition(partition: number): PartitionState {
    let state = this.#partitions.get(partition);
    if (state === undefined) {
      state = new PartitionState(this.#stop.signal);
      // Attempts recorded by the previous owner must be visible before this member retries.
      const onPartition = this.#deps.hooks?.onPartition;
      state.synced =
        onPartition === undefined
          ? this.#deps.retryState.sync()
          : Promise.all([this.#deps.retryState.sync(), onPartition(partition)]).then(() => {});
      this.#partitions.set(partition, state);
    }
    return state;
  }

  async #onBatch(batch: RecordBatch): Promise<void> {
    if (this.#stopping) return;
    const state = this.#partition(batch.partition);
    try {
      await state.synced;
    } catch (error) {
      // Without the retry state this member could exceed the configured attempts; let the
      // consumer restart (the batch is not committed, so nothing is lost).
      throw new Error(`route ${this.route.id}: retry state unavailable: ${(error as Error).message}`);
    }
    const hooks = this.#deps.hooks;
    let filtered = 0;
    try {
      for (const record of batch.records) {
        if (this.#stopping || !state.owned) return;
        if (record.offset <= state.tracker.highestStarted) {
          // Read again (a seek, or the log re-fetching from the committed offset after a
          // rebalance): progress from the old position must no longer be committed. Events of
          // the old position still in flight are joined, not delivered twice (see #track).
          state.tracker = new CommitTracker();
        }
        if (hooks?.skip?.(record) === true && !state.running.has(record.offset)) {
          const first = state.tracker.highestStarted < 0;
          state.tracker.pass(record.offset);
          if (first) this.#scheduleCommit();
          continue;
        }
        // Filtered out: final at once, without a delivery slot or a promise. Through a shared
        // reader every route sees every record of its topic, and most fail its filter.
        if (!state.running.has(record.offset) && !this.#passes(record)) {
          const first = state.tracker.highestStarted < 0;
          state.tracker.pass(record.offset);
          hooks?.onOutcome?.(record, 'filtered');
          filtered++;
          if (first) this.#scheduleCommit();
          continue;
        }
        if (hooks?.pace !== undefined && hooks.dryRun?.() !== true) {
          await hooks.pace(state.signal);
          if (this.#stopping || !state.owned) return;
        }
        if (!(await this.#start(state, record))) return;
      }
    } finally {
      if (filtered > 0) {
        this.#deps.metrics.events.inc({ route: this.route.id, outcome: 'filtered' }, filtered);
        if (state.owned) this.#scheduleCommit();
      }
    }
  }

  /** Whether the route's filter passes the event; a filter that throws fails it. */
  #passes(record: LogRecord): boolean {
    try {
      return this.#settings.filter(record.event) !== 'fail';
    } catch {
      return false;
    }
  }

  /**
   * Starts one record: ordered, waits until it is final; unordered, waits for a delivery slot.
   * False when the batch must stop here (stopping, or the partition was revoked).
   */
  async #start(state: PartitionState, record: LogRecord): Promise<boolean> {
    if (this.#settings.route.ordering === 'ordered') {
      await this.#track(state, record);
      return true;
    }
    if (!(await this.#acquire())) return false;
    if (!state.owned) {
      this.#release();
      return false;
    }
    void this.#track(state, record).finally(() => this.#release());
    return true;
  }

  /** Runs one record and marks it finished in the tracker that started it. */
  #track(state: PartitionState, record: LogRecord): Promise<void> {
    const tracker = state.tracker;
    const first = tracker.highestStarted < 0;
    tracker.begin(record.offset);
    // Committing the first offset at once records where the group starts, so lag is exact
    // from then on and a restart does not fall back to the route's start position.
    if (first) this.#scheduleCommit();
    let running = state.running.get(record.offset);
    if (running === undefined) {
      const started = this.#process(record, state.signal);
      running = started;
      state.running.set(record.offset, started);
      void started.finally(() => {
        if (state.running.get(record.offset) === started) state.running.delete(record.offset);
      });
    }
    const work = running.then((final) => {
      if (!final) return;
      tracker.finish(record.offset);
      if (state.owned && state.tracker === tracker) this.#scheduleCommit();
    });
    this.#pending.add(work);
    void work.finally(() => this.#pending.delete(work));
    return work;
  }

  async #acquire(): Promise<boolean> {
    if (this.#stopping) return false;
    if (this.#inFlight < this.#settings.route.maxInFlight) {
      this.#take();
      return true;
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #take(): void {
    this.#inFlight++;
  }

  #release(): void {
    this.#inFlight--;
    this.#grant();
  }

  #grant(): void {
    while (this.#waiters.length > 0 && this.#inFlight < this.#settings.route.maxInFlight) {
      this.#take();
      this.#waiters.shift()!(true);
    }
  }

  /** Filters and delivers one event; true when its outcome is final. Never rejects. */
  async #process(record: LogRecord, signal: AbortSignal): Promise<boolean> {
    const { route, filter } = this.#settings;
    let result: ReturnType<EventFilter>;
    try {
      result = filter(record.event);
    } catch {
      result = 'fail';
    }
    const hooks = this.#deps.hooks;
    if (result === 'fail') {
      this.#count(route, 'filtered');
      hooks?.onOutcome?.(record, 'filtered');
      return true;
    }
    if (hooks?.dryRun?.() === true) {
      hooks.onOutcome?.(record, 'matched');
      return true;
    }
    const key: RetryKey = {
      group: route.group,
      topic: route.topic,
      partition: record.partition,
      offset: record.offset,
    };
    for (let failures = 0; ; failures++) {
      if (signal.aborted) return false;
      try {
        return await this.#deliver(route, record, key, signal);
      } catch (error) {
        if (signal.aborted) return false;
        if (error instanceof SupersededError) {
          // Another member retries it too: go on from its state (or its final outcome) instead.
          this.#deps.logger.info(
            { route: route.id, partition: record.partition, offset: record.offset },
            'another member recorded attempts for this event; continuing from its state',
          );
          failures = -1;
          if (!(await pause(SUPERSEDED_PAUSE_MS, signal))) return false;
          continue;
        }
        this.#deps.logger.error(
          { err: error, route: route.id, partition: record.partition, offset: record.offset },
          'delivery failed unexpectedly; trying again',
        );
        if (!(await pause(backoff(failures), signal))) return false;
      }
    }
  }

  async #deliver(
    route: DispatchRoute,
    logRecord: LogRecord,
    key: RetryKey,
    signal: AbortSignal,
  ): Promise<boolean> {
    const hooks = this.#deps.hooks;
    const stored = hooks?.transform ? hooks.transform(logRecord.event) : logRecord.event;
    const event = route.kind === 'Trigger' ? withoutTtl(stored) : stored;
    const previous = await this.#deps.retryState.get(key);
    if (previous?.final) {
      // An earlier owner finished it and its commit did not land: finished it stays.
      this.#finalized(key);
      return true;
    }
    let recorded = previous !== undefined;
    let lastFailure = previous?.lastFailure;
    /** The state as this member last read or wrote it. */
    let expected = previous;
    const record = async (state: RetryState) => {
      recorded = true;
      const signed = { ...state, owner: this.#me };
      await this.#record(key, signed, signal);
      expected = signed;
    };
    const outcome = await this.#deps.deliverer.deliver({
      event,
      route,
      attemptsMade: previous?.attempts,
      lastFailure,
      notBefore: previous?.notBefore,
      signal,
      onAttemptFailed: async (failure: AttemptFailure) => {
        lastFailure = failure;
        await record({ attempts: failure.attempt, lastFailure: failure, notBefore: notBeforeOf(failure) });
      },
      // Counted before it is sent: whoever resumes this event after a crash mid-request must not
      // make this attempt again. And only if nobody else wrote meanwhile (see RetryState.owner).
      onAttemptStarting: async (attempt: number) => {
        if (!sameRetryState(await this.#deps.retryState.get(key), expected)) throw new SupersededError();
        await record({ attempts: attempt, ...(lastFailure ? { lastFailure } : {}) });
      },
    });
    switch (outcome.kind) {
      case 'aborted':
        return false;
      case 'delivered':
        if (outcome.reply !== undefined && !(await this.#reply(route, stored, outcome.reply, signal)))
          return false;
        this.#count(route, 'delivered');
        hooks?.onOutcome?.(logRecord, 'delivered');
        break;
      case 'dead-lettered':
        this.#count(route, 'dead_lettered');
        hooks?.onOutcome?.(logRecord, 'dead_lettered');
        break;
      case 'dropped':
        this.#count(route, 'dropped');
        hooks?.onOutcome?.(logRecord, 'dropped');
        break;
    }
    if (recorded) {
      // Final, but not committed yet: until a commit covers it, whoever reads it again must see it
      // as done, not as an event with no attempts (which would give it retry+1 more).
      const state: RetryState = { attempts: expected?.attempts ?? 0, final: true, owner: this.#me };
      await this.#deps.retryState.put(key, state).catch((error: unknown) => {
        this.#deps.logger.warn({ err: error, route: route.id, ...key }, 'could not mark retry state final');
      });
      this.#finalized(key);
    }
    return true;
  }

  /** Remembers a final entry, deleted once a commit of its partition passes it. */
  #finalized(key: RetryKey): void {
    const offsets = this.#finalEntries.get(key.partition) ?? new Set<number>();
    this.#finalEntries.set(key.partition, offsets);
    offsets.add(key.offset);
  }

  /** After a commit: final entries below the committed offsets are not needed by anyone again. */
  #forgetCommitted(offsets: CommitOffset[]): void {
    for (const { partition, offset: committed } of offsets) {
      const finals = this.#finalEntries.get(partition);
      if (finals === undefined) continue;
      for (const offset of finals) {
        if (offset >= committed) continue;
        finals.delete(offset);
        const key = { group: this.#group, topic: this.#topic, partition, offset };
        // If this fails the entry lingers until the state topic's retention; it says "final",
        // which stays true.
        const clearing = this.#deps.retryState.delete(key).catch((error: unknown) => {
          this.#deps.logger.warn({ err: error, route: this.route.id, ...key }, 'could not clear retry state');
        });
        this.#clearing.add(clearing);
        void clearing.finally(() => this.#clearing.delete(clearing));
      }
    }
  }

  /** Persists attempts made (a failure, or a retry about to be sent); retried until it works or the delivery is aborted. */
  async #record(key: RetryKey, state: RetryState, signal: AbortSignal): Promise<void> {
    for (let failures = 0; ; failures++) {
      try {
        await this.#deps.retryState.put(key, state);
        return;
      } catch (error) {
        this.#deps.logger.warn({ err: error, route: this.route.id, ...key }, 'could not record an attempt');
        if (!(await pause(backoff(failures), signal))) throw error;
      }
    }
  }

  /** Sends a reply where the route says; false when aborted before it was stored or delivered. */
  async #reply(
    route: DispatchRoute,
    received: PlainEvent,
    answer: PlainEvent,
    signal: AbortSignal,
  ): Promise<boolean> {
    const target = route.reply;
    if (target.kind === 'drop') {
      this.#deps.metrics.replies.inc({ route: route.id, target: 'none', outcome: 'dropped' });
      return true;
    }
    const ttl = replyTtl(received, route.ttl);
    const reply = setTtl(answer, ttl);
    if (ttl <= 0) return this.#cutLoop(route, received, reply, signal);
    switch (target.kind) {
      case 'topic':
        for (let failures = 0; ; failures++) {
          try {
            await this.#deps.log.append(target.topic, [reply]);
            this.#deps.metrics.replies.inc({ route: route.id, target: 'topic', outcome: 'stored' });
            return true;
          } catch (error) {
            this.#deps.logger.warn(
              { err: error, route: route.id, topic: target.topic },
              'could not store a reply',
            );
            if (!(await pause(backoff(failures), signal))) return false;
          }
        }
      case 'url': {
        const outcome = await this.#deps.deliverer.deliver({
          event: reply,
          route: {
            ...route,
            subscriber: target.url,
            subscriberAudience: target.audience,
            subscriberCACerts: target.caCerts,
            reply: { kind: 'drop' },
          },
          signal,
        });
        if (outcome.kind === 'aborted') return false;
        const result = outcome.kind === 'dead-lettered' ? 'dead_lettered' : outcome.kind;
        this.#deps.metrics.replies.inc({ route: route.id, target: 'url', outcome: result });
        return true;
      }
    }
  }

  /**
   * A reply whose TTL is spent goes to the route's dead-letter sink with the reason, or is dropped; either
   * way the event that caused it is done (committed), so the loop ends instead of being retried.
   */
  async #cutLoop(
    route: DispatchRoute,
    received: PlainEvent,
    reply: PlainEvent,
    signal: AbortSignal,
  ): Promise<boolean> {
    const reason = loopCutReason(route, received);
    const target =
      route.reply.kind === 'topic' ? route.reply.topic : route.reply.kind === 'url' ? route.reply.url : '';
    const sink = route.delivery.deadLetterSink;
    let outcome: 'dead_lettered' | 'dropped' = 'dropped';
    let detail = 'no dead-letter sink: dropped';
    if (sink !== undefined) {
      const sent = await this.#deps.deliverer.deliver({
        event: withErrorExtensions(reply, target, { body: Buffer.from(reason) }),
        route: {
          ...route,
          subscriber: sink,
          reply: { kind: 'drop' },
          delivery: { ...route.delivery, deadLetterSink: undefined },
        },
        signal,
      });
      if (sent.kind === 'aborted') return false;
      if (sent.kind === 'delivered') {
        outcome = 'dead_lettered';
        detail = `sent to the dead-letter sink ${sink}`;
      } else detail = `the dead-letter sink ${sink} failed too: dropped`;
    }
    this.#deps.metrics.replyLoopCuts.inc({ route: route.id });
    this.#deps.metrics.replies.inc({
      route: route.id,
      target: route.reply.kind === 'url' ? 'url' : 'topic',
      outcome,
    });
    const fields = { route: route.id, eventId: received.id, replyId: reply.id };
    if (this.#loopCutLogged) this.#deps.logger.debug(fields, `${reason}; ${detail}`);
    else this.#deps.logger.warn(fields, `${reason}; ${detail} (logged once per route)`);
    this.#loopCutLogged = true;
    return true;
  }

  #count(route: DispatchRoute, outcome: EventOutcome): void {
    this.#deps.metrics.events.inc({ route: route.id, outcome });
  }

  #scheduleCommit(): void {
    if (this.#committing !== undefined) {
      this.#commitAgain = true;
      return;
    }
    this.#committing = this.#commitLoop().finally(() => {
      this.#committing = undefined;
    });
  }

  async #flushCommits(): Promise<void> {
    await this.#committing;
    this.#scheduleCommit();
    await this.#committing;
  }

  /** Commits what every owned partition may commit; coalesces completions that arrive meanwhile. */
  async #commitLoop(): Promise<void> {
    for (let failures = 0; ; ) {
      this.#commitAgain = false;
      const consumer = this.#consumer;
      if (consumer === undefined || consumer.status !== 'running') return;
      const offsets: CommitOffset[] = [];
      const taken: { tracker: CommitTracker; offset: number; previous: number }[] = [];
      for (const [partition, state] of this.#partitions) {
        if (!state.owned) continue;
        const previous = state.tracker.committed;
        const offset = state.tracker.takeCommit();
        if (offset === undefined) continue;
        offsets.push({ topic: this.#topic, partition, offset });
        taken.push({ tracker: state.tracker, offset, previous });
      }
      if (offsets.length > 0) {
        try {
          await this.#deps.hooks?.beforeCommit?.(offsets);
          await consumer.commit(offsets);
          failures = 0;
          this.#forgetCommitted(offsets);
        } catch (error) {
          for (const t of taken) t.tracker.commitFailed(t.offset, t.previous);
          this.#deps.logger.warn({ err: error, route: this.route.id }, 'commit failed; will try again');
          if (consumer.status !== 'running') return;
          // While stopping, one more try; uncommitted work is delivered again, never lost.
          if (this.#stopping && failures > 0) return;
          // A stop cuts the wait short: its final flush tries once more right away.
          await pause(backoff(failures++), this.#stop.signal);
          this.#commitAgain = true;
        }
      }
      if (!this.#commitAgain) return;
    }
  }
}

/** Epoch ms before which the next attempt may not start, when there is one. */
function notBeforeOf(failure: AttemptFailure): number | undefined {
  return failure.nextDelayMs === undefined ? undefined : Date.now() + failure.nextDelayMs;
}

/** A retry's state was written by another member since this one last saw it. */
class SupersededError extends Error {
  override readonly name = 'SupersededError';
}

/** Lets the other member's writes reach this member's retry state reader before it looks again. */
const SUPERSEDED_PAUSE_MS = 200;

function sameRetryState(a: RetryState | undefined, b: RetryState | undefined): boolean {
  return a?.owner === b?.owner && a?.attempts === b?.attempts && a?.final === b?.final;
}
