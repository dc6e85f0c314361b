// KafkaSource: a consumer group whose records go to the sink as CloudEvents (kafka-event.ts maps
// them). Offsets are committed by hand and only past records that are final (accepted, malformed,
// or refused for good), because Kafka has no redelivery of its own: an uncommitted record is read
// again, so a sink outage loses nothing. README "KafkaSource" has the details.

import { CommitTracker, describeError, sleep } from '@eddy/runtime';
import type {
  Admin,
  EachBatchPayload,
  Kafka as KafkaClient,
  KafkaMessage,
  LogEntry,
  logLevel as LogLevel,
} from 'kafkajs';
import kafkajs from 'kafkajs';
import type { Logger } from 'pino';
import type { RunningSource, SourceAdapter, SourceContext } from '../sdk/adapter.js';
import { type UpstreamSession, UpstreamSupervisor } from '../sdk/upstream.js';
import {
  checkSpec,
  connectionSecurity,
  defaultConsumerGroup,
  type KafkaSourceSpec,
  type Ordering,
  resolveOrdering,
} from './kafka-config.js';
import { type KeyType, MalformedRecordError, parseKeyType, recordToEvent } from './kafka-event.js';

// kafkajs is CommonJS: its values are read off the default export, which works under plain Node ESM.
const { Kafka, logLevel } = kafkajs;

export interface KafkaSourceOptions {
  /** Records in flight per partition with `unordered` (default 32). */
  maxInFlight?: number;
  /** Partitions processed at once by one consumer (default 8). */
  partitionsConsumedConcurrently?: number;
  /** How often the upstream lag is refreshed (default 10 s). */
  lagIntervalMs?: number;
  /** Pause before a record whose delivery failed is read again (default 1 s). */
  redeliveryPauseMs?: number;
  /** How long start() waits for the first group join before returning (default 10 s). */
  startWaitMs?: number;
  /** First reconnect delay after the consumer failed, doubling up to maxReconnectDelayMs (default 1 s). */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** kafkajs consumer session timeout (default 30 s). */
  sessionTimeoutMs?: number;
  /** Longest a fetch waits for new records; also bounds how long a stop waits for a fetch (default 1 s). */
  maxWaitTimeMs?: number;
  /** kafkajs connection timeout (default 3 s). */
  connectionTimeoutMs?: number;
}

const DEFAULTS: Required<KafkaSourceOptions> = {
  maxInFlight: 32,
  partitionsConsumedConcurrently: 8,
  lagIntervalMs: 10_000,
  redeliveryPauseMs: 1_000,
  startWaitMs: 10_000,
  reconnectDelayMs: 1_000,
  maxReconnectDelayMs: 30_000,
  sessionTimeoutMs: 30_000,
  maxWaitTimeMs: 1_000,
  connectionTimeoutMs: 3_000,
};

export function createKafkaSourceAdapter(options: KafkaSourceOptions = {}): SourceAdapter<KafkaSourceSpec> {
  const settings = { ...DEFAULTS, ...options };
  return {
    apiVersion: ['sources.knative.dev/v1', 'sources.knative.dev/v1beta1'],
    kind: 'KafkaSource',
    // Every sources process joins the source's one consumer group: Kafka spreads the partitions.
    placement: 'every-member',
    start: (context) => startKafkaSource(context, settings),
  };
}

export const kafkaSourceAdapter: SourceAdapter<KafkaSourceSpec> = createKafkaSourceAdapter();

async function startKafkaSource(
  context: SourceContext<KafkaSourceSpec>,
  settings: Required<KafkaSourceOptions>,
): Promise<RunningSource> {
  const { spec, namespace, name, logger, metrics, emitter } = context;
  checkSpec(spec);
  const ordering = resolveOrdering(spec, context.annotations);
  const keyType = parseKeyType(context.annotations);
  const groupId = spec.consumerGroup || defaultConsumerGroup(namespace, name);
  const fromBeginning = spec.initialOffset === 'earliest';
  const topics = [...new Set(spec.topics.map((t) => t.trim()))];
  const security = await connectionSecurity(spec.net, context.secrets);

  const kafka: KafkaClient = new Kafka({
    clientId: `eddy-kafkasource-${namespace}-${name}`,
    brokers: spec.bootstrapServers.map((s) => s.trim()),
    connectionTimeout: settings.connectionTimeoutMs,
    retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 3_000 },
    logLevel: kafkaLogLevel(logger),
    logCreator: kafkaLogCreator(logger),
    ...security,
  });

  let admin: Admin | undefined;
  // Ready = the consumer is in its group and the admin client (lag) reaches Kafka.
  const upstream = new UpstreamSupervisor(context, {
    retryDelayMs: settings.reconnectDelayMs,
    maxRetryDelayMs: settings.maxReconnectDelayMs,
    lag: {
      intervalMs: settings.lagIntervalMs,
      affectsHealth: true,
      read: async () => {
        try {
          if (!admin) {
            admin = kafka.admin({ retry: { retries: 1, initialRetryTime: 300, maxRetryTime: 1_000 } });
            await admin.connect();
          }
          return await groupLag(admin, groupId, topics, fromBeginning);
        } catch (err) {
          const broken = admin;
          admin = undefined;
          await broken?.disconnect().catch(() => {});
          throw err;
        }
      },
    },
  });
  const stopping = upstream.signal;

  /** The record as an event, or undefined when it is malformed (logged and counted here). */
  function toEvent(topic: string, partition: number, message: KafkaMessage) {
    try {
      return recordToEvent(message, { namespace, name, topic, partition }, keyType);
    } catch (err) {
      if (!(err instanceof MalformedRecordError)) throw err;
      metrics.malformed();
      logger.warn(
        { topic, partition, offset: message.offset, reason: err.message },
        'malformed Kafka record skipped',
      );
      return undefined;
    }
  }

  function makeEachBatch() {
    return async ({
      batch,
      resolveOffset,
      heartbeat,
      isRunning,
      isStale,
      commitOffsetsIfNecessary,
    }: EachBatchPayload): Promise<void> => {
      const { topic, partition } = batch;
      const commits = new CommitTracker();
      const committer = partitionCommitter(commitOffsetsIfNecessary, topic, partition, logger);
      let again = false;
      // Where this batch starts reading: a commit point at it would only re-state the position.
      let resolved = Number(batch.messages[0]?.offset ?? Number.MAX_SAFE_INTEGER);
      const advance = () => {
        const point = commits.commitPoint;
        if (point === undefined || point <= resolved) return;
        resolved = point;
        resolveOffset(String(point - 1));
        committer.commit(point);
      };
      // Ends the batch's sends on a stop or when the partition is no longer ours (rebalance):
      // what was not accepted stays uncommitted and is read again by whoever owns it.
      const halt = new AbortController();
      const onStop = () => halt.abort();
      stopping.addEventListener('abort', onStop, { once: true });
      const check = setInterval(() => {
        if (!isRunning() || isStale()) halt.abort();
      }, 250);
      // kafkajs only heartbeats between batches or when asked; a batch waiting on a slow sink must
      // not cost the consumer its group membership.
      const beat = setInterval(() => heartbeat().catch(() => {}), 3_000);
      try {
        if (batch.messages.length > 0) metrics.received(batch.messages.length);
        const pending: { offset: number; event: NonNullable<ReturnType<typeof toEvent>> }[] = [];
        for (const message of batch.messages) {
          const offset = Number(message.offset);
          commits.begin(offset);
          const event = toEvent(topic, partition, message);
          if (event) pending.push({ offset, event });
          else commits.finish(offset);
        }
        advance();
        // One fetch batch -> batch POSTs when the sink is an Eddy ingress, else one POST per record
        // (ordered: one at a time; unordered: up to maxInFlight at once, committed in offset order).
        await emitter.emitBatch(
          pending.map((p) => p.event),
          {
            ordered: ordering === 'ordered',
            concurrency: settings.maxInFlight,
            signal: halt.signal,
            onOutcome: (index, outcome) => {
              const offset = pending[index]!.offset;
              // Refused for good: the emitter logged and counted it. Kafka has no redrive, so
              // re-reading it would only block the partition; Knative drops such an event too
              // when there is no dead letter sink.
              if (
                outcome.ok ||
                outcome.error.reason === 'rejected' ||
                outcome.error.reason === 'unencodable'
              ) {
                commits.finish(offset);
                advance();
              } else {
                again = true;
              }
            },
          },
        );
      } catch (err) {
        again = true;
        logger.error({ err, topic, partition }, 'Kafka batch handling failed');
      } finally {
        clearInterval(beat);
        clearInterval(check);
        stopping.removeEventListener('abort', onStop);
      }
      advance();
      await committer.settled();
      // Unresolved records are fetched again by kafkajs; the pause keeps that from spinning.
      if (again && !stopping.aborted) await sleep(settings.redeliveryPauseMs, stopping);
    };
  }

  /** One consumer, from connecting until it crashes for good or the source stops. */
  async function runConsumer(session: UpstreamSession): Promise<void> {
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: settings.sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.floor(settings.sessionTimeoutMs / 10)),
      maxWaitTimeInMs: settings.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5_000 },
    });
    const crashed = new Promise<never>((_, reject) => {
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        session.unhealthy(payload.error);
        if (!payload.restart) reject(payload.error);
      });
    });
    crashed.catch(() => {});
    consumer.on(consumer.events.GROUP_JOIN, () => session.connected());
    try {
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: settings.partitionsConsumedConcurrently,
        eachBatch: makeEachBatch(),
      });
      await Promise.race([crashed, session.stopped]);
    } finally {
      // Stops fetching, waits for the batches in progress (their sends abort with the source's
      // signal, what finished is committed inside them) and leaves the group.
      await consumer
        .disconnect()
        .catch((err: unknown) => logger.warn({ err }, 'Kafka consumer disconnect failed'));
    }
  }

  upstream.run(runConsumer);

  // Bounded: a Kafka that is not reachable yet is reported through health, not a failed start.
  if (!(await upstream.firstAttempt(settings.startWaitMs)) && !upstream.reported) {
    upstream.notReady('Joining', `consumer group ${groupId} not joined within ${settings.startWaitMs} ms`);
  }

  return {
    async stop() {
      await upstream.stop();
      await admin?.disconnect().catch(() => {});
    },
  };
}

/** Sum over the topics' partitions of high watermark - committed offset. */
async function groupLag(
  admin: Admin,
  groupId: string,
  topics: string[],
  fromBeginning: boolean,
): Promise<number> {
  const committed = await admin.fetchOffsets({ groupId, topics });
  let lag = 0;
  for (const topic of topics) {
    const watermarks = await admin.fetchTopicOffsets(topic);
    const byPartition = new Map(
      (committed.find((c) => c.topic === topic)?.partitions ?? []).map((p) => [
        p.partition,
        Number(p.offset),
      ]),
    );
    for (const w of watermarks) {
      const high = Number(w.high);
      const at = byPartition.get(w.partition) ?? -1;
      // No commit yet: the group starts at the low watermark (earliest) or at the end (latest).
      const from = at >= 0 ? at : fromBeginning ? Number(w.low) : high;
      lag += Math.max(0, high - from);
    }
  }
  return lag;
}

/**
 * Coalesces a partition's commits: at most one request in flight, the newest point wins. Commits go
 * through the batch's own commit function: consumer.commitOffsets() silently does nothing once a
 * stop began, and a stop is exactly when the records that finished must still be committed.
 */
function partitionCommitter(
  commitOffsets: EachBatchPayload['commitOffsetsIfNecessary'],
  topic: string,
  partition: number,
  logger: Logger,
) {
  let wanted = -1;
  let done = -1;
  let running: Promise<void> | undefined;
  async function loop(): Promise<void> {
    while (wanted > done) {
      const point = wanted;
      try {
        await commitOffsets({ topics: [{ topic, partitions: [{ partition, offset: String(point) }] }] });
        done = point;
      } catch (err) {
        // The records stay uncommitted: read again by whoever owns the partition next (at-least-once).
        logger.warn(
          { err: describeError(err), topic, partition, offset: point },
          'Kafka offset commit failed',
        );
        return;
      }
    }
  }
  return {
    commit(point: number): void {
      wanted = Math.max(wanted, point);
      running ??= loop().finally(() => {
        running = undefined;
      });
    },
    async settled(): Promise<void> {
      while (running) await running;
    },
  };
}

function kafkaLogLevel(logger: Logger): LogLevel {
  if (logger.levelVal <= 20) return logLevel.DEBUG;
  if (logger.levelVal <= 40) return logLevel.WARN;
  if (logger.levelVal <= 50) return logLevel.ERROR;
  return logLevel.NOTHING;
}

/** kafkajs logs into the source's pino logger; its info chatter goes to debug. */
function kafkaLogCreator(logger: Logger) {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _t, logger: _l, ...fields } = log;
      const context = { kafkajs: namespace, ...fields };
      if (level === logLevel.ERROR) logger.error(context, message);
      else if (level === logLevel.WARN) logger.warn(context, message);
      else logger.debug(context, message);
    };
}

export type { KeyType, Ordering };
