// SqsSource (sources.eddy.dev/v1alpha1): long-polls one SQS queue and deletes a message only after
// the sink accepted its event. Visibility is extended while a send is in flight; a message whose
// send failed is left to SQS (its visibility set to a backoff) so the queue's own redrive policy
// decides when it goes to a dead-letter queue. See README.md "SqsSource".

import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import type { RunningSource, SourceAdapter, SourceContext } from '../sdk/adapter.js';
import { UpstreamError, UpstreamSupervisor } from '../sdk/upstream.js';
import {
  changeVisibility,
  deleteMessages,
  type InFlight,
  type QueueTarget,
  SQS_BATCH_LIMIT,
  VisibilityHeartbeat,
} from './message-batches.js';
import {
  clientConfig,
  DEFAULT_RECEIVERS,
  isQueueMissing,
  receiversOf,
  type SqsSdk,
  type SqsSourceSpec,
} from './sqs-config.js';
import { MalformedSqsMessageError, sqsMessageToEvent } from './sqs-event.js';

export { RECEIVERS_ANNOTATION, type SqsSdk, type SqsSourceSpec } from './sqs-config.js';

export interface SqsSourceOptions {
  /**
   * Loads the AWS SDK; default `import('@aws-sdk/client-sqs')`, done at the first start so that
   * importing @eddy/sources never loads it. Tests pass the harness's Node build of the same package.
   */
  loadSdk?: () => Promise<SqsSdk> | SqsSdk;
  /** Most messages received and not yet deleted or released (default 100). */
  maxInFlight?: number;
  /** How often `ApproximateNumberOfMessages` is read for the lag gauge (default 10 000 ms). */
  lagIntervalMs?: number;
  /** First wait after a failed receive or queue lookup, doubled up to `maxRetryDelayMs` (default 1000). */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /**
   * Visibility set on a message whose send failed, doubled per receive (ApproximateReceiveCount) and
   * capped at the visibility timeout (default 1 s).
   */
  failureBackoffSeconds?: number;
  /** How long start() waits for the first queue lookup before it resolves anyway (default 10 000 ms). */
  startWaitMs?: number;
  /** Concurrent receive loops when the source has no RECEIVERS_ANNOTATION (default 4). */
  receivers?: number;
}

type Settings = Required<Omit<SqsSourceOptions, 'loadSdk' | 'receivers'>>;

/** Visibility timeout when neither the spec nor the queue says (SQS's own default). */
const DEFAULT_VISIBILITY_SECONDS = 30;

interface QueueInfo {
  arn?: string;
  visibilitySeconds: number;
  hasRedrive: boolean;
}

export function createSqsSourceAdapter(options: SqsSourceOptions = {}): SourceAdapter<SqsSourceSpec> {
  const settings: Settings = {
    maxInFlight: options.maxInFlight ?? 100,
    lagIntervalMs: options.lagIntervalMs ?? 10_000,
    retryDelayMs: options.retryDelayMs ?? 1000,
    maxRetryDelayMs: options.maxRetryDelayMs ?? 30_000,
    failureBackoffSeconds: options.failureBackoffSeconds ?? 1,
    startWaitMs: options.startWaitMs ?? 10_000,
  };
  const loadSdk = options.loadSdk ?? (() => import('@aws-sdk/client-sqs'));
  const defaultReceivers = options.receivers ?? DEFAULT_RECEIVERS;

  return {
    apiVersion: 'sources.eddy.dev/v1alpha1',
    kind: 'SqsSource',
    // Every sources process receives from the queue: SQS hands each message to one receiver at a
    // time (visibility timeout) and nothing here creates, purges or deletes the queue.
    placement: 'every-member',
    async start(ctx): Promise<RunningSource> {
      const receivers = receiversOf(ctx.annotations, defaultReceivers);
      const sdk = await loadSdk();
      const client: SQSClient = new sdk.SQSClient(await clientConfig(ctx));
      const source = new SqsSourceRun(ctx, sdk, client, settings);
      await source.start(receivers);
      return source;
    },
  };
}

/** The built-in SqsSource adapter with default options. */
export const sqsSourceAdapter = createSqsSourceAdapter();

/** One running SqsSource: its receive loops and the messages they hold. */
class SqsSourceRun implements RunningSource {
  readonly #ctx: SourceContext<SqsSourceSpec>;
  readonly #sdk: SqsSdk;
  readonly #client: SQSClient;
  readonly #settings: Settings;
  readonly #target: QueueTarget;
  readonly #batchSize: number;
  readonly #waitTimeSeconds: number;
  /** Stops polling on ctx.signal (the runner aborts it before stop()) or on stop() itself. */
  readonly #upstream: UpstreamSupervisor;
  /**
   * The long poll's own abort: an aborted ReceiveMessage is not cancelled on the server, which may
   * still hand it messages (hidden for the visibility timeout, then redelivered). So it is aborted
   * only when no message is being released; otherwise the stop waits for it, since it picks up the
   * released messages at once, and releases them too.
   */
  readonly #pollAbort = new AbortController();
  readonly #inFlight = new Map<string, InFlight>();
  readonly #settling = new Set<Promise<void>>();
  readonly #heartbeat: VisibilityHeartbeat;
  #queue: QueueInfo | undefined;
  /** Room taken by receives under way: the loops together never hold more than maxInFlight. */
  #reserved = 0;
  readonly #waiters = new Set<() => void>();
  #polling: Promise<unknown> = Promise.resolve();

  constructor(ctx: SourceContext<SqsSourceSpec>, sdk: SqsSdk, client: SQSClient, settings: Settings) {
    this.#ctx = ctx;
    this.#sdk = sdk;
    this.#client = client;
    this.#settings = settings;
    const { spec, logger } = ctx;
    this.#target = { sdk, client, queueUrl: spec.queueUrl, logger };
    this.#batchSize = Math.min(spec.batchSize ?? SQS_BATCH_LIMIT, SQS_BATCH_LIMIT);
    this.#waitTimeSeconds = Math.min(spec.waitTimeSeconds ?? 20, 20);
    this.#heartbeat = new VisibilityHeartbeat(this.#target, this.#inFlight);
    this.#upstream = new UpstreamSupervisor(ctx, {
      retryDelayMs: settings.retryDelayMs,
      maxRetryDelayMs: settings.maxRetryDelayMs,
      lag: { intervalMs: settings.lagIntervalMs, read: (signal) => this.#readLag(signal) },
    });
    const onStop = () => {
      if (this.#inFlight.size === 0) this.#pollAbort.abort();
    };
    if (this.#upstream.signal.aborted) onStop();
    else this.#upstream.signal.addEventListener('abort', onStop, { once: true });
  }

  /**
   * The first lookup decides the initial health; an unreachable or missing queue keeps the adapter
   * running (Ready=False) and retrying rather than failing the start.
   */
  async start(receivers: number): Promise<void> {
    const first = this.#ensureQueue();
    await Promise.race([first, this.#upstream.firstAttempt(this.#settings.startWaitMs)]);
    // Several long polls at once: one ReceiveMessage returns at most 10 messages, so a single loop
    // caps throughput at 10 per round trip.
    this.#polling = Promise.all(
      Array.from({ length: receivers }, () =>
        this.#poll().catch((err) => this.#ctx.logger.error({ err }, 'SQS poll loop failed')),
      ),
    );
  }

  async stop(): Promise<void> {
    // The long poll is cancelled (when idle) and pending sends reject `aborted`, so their messages
    // are released (visibility 0); accepted ones are deleted.
    const upstreamStopped = this.#upstream.stop();
    if (this.#inFlight.size === 0) this.#pollAbort.abort();
    await this.#polling;
    await Promise.allSettled([...this.#settling]);
    this.#heartbeat.stop();
    await upstreamStopped;
    this.#client.destroy();
  }

  get #signal(): AbortSignal {
    return this.#upstream.signal;
  }

  #failed(err: unknown, what: string): void {
    const reason = isQueueMissing(err) ? 'QueueNotFound' : 'UpstreamUnreachable';
    const message = `${what} ${this.#target.queueUrl}: ${(err as Error)?.message ?? String(err)}`;
    this.#upstream.failed(new UpstreamError(reason, message, { cause: err }));
  }

  async #lookUpQueue(): Promise<QueueInfo> {
    const { spec, metrics } = this.#ctx;
    const { Attributes = {} } = await this.#client.send(
      new this.#sdk.GetQueueAttributesCommand({
        QueueUrl: this.#target.queueUrl,
        AttributeNames: ['QueueArn', 'VisibilityTimeout', 'RedrivePolicy', 'ApproximateNumberOfMessages'],
      }),
      { abortSignal: this.#signal },
    );
    const queueDefault = Number(Attributes.VisibilityTimeout);
    const lag = Number(Attributes.ApproximateNumberOfMessages);
    if (Number.isFinite(lag)) metrics.setLag(lag);
    return {
      ...(Attributes.QueueArn ? { arn: Attributes.QueueArn } : {}),
      visibilitySeconds:
        spec.visibilityTimeoutSeconds ??
        (Number.isFinite(queueDefault) ? queueDefault : DEFAULT_VISIBILITY_SECONDS),
      hasRedrive: Boolean(Attributes.RedrivePolicy),
    };
  }

  async #ensureQueue(): Promise<QueueInfo | undefined> {
    if (this.#queue) return this.#queue;
    try {
      this.#queue = await this.#lookUpQueue();
      this.#upstream.connected();
      return this.#queue;
    } catch (err) {
      if (this.#signal.aborted) return undefined;
      this.#failed(err, 'cannot read the attributes of queue');
      return undefined;
    }
  }

  async #readLag(signal: AbortSignal): Promise<number | undefined> {
    if (!this.#queue) return undefined;
    const { Attributes = {} } = await this.#client.send(
      new this.#sdk.GetQueueAttributesCommand({
        QueueUrl: this.#target.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
      { abortSignal: signal },
    );
    const lag = Number(Attributes.ApproximateNumberOfMessages);
    return Number.isFinite(lag) ? lag : undefined;
  }

  /** Redelivery wait for a message the sink did not accept, growing with its receive count. */
  #failureWait(entry: InFlight, info: QueueInfo): number {
    const count = Number(entry.message.Attributes?.ApproximateReceiveCount ?? 1);
    return Math.min(
      info.visibilitySeconds,
      Math.round(this.#settings.failureBackoffSeconds * 2 ** Math.min(Math.max(count - 1, 0), 16)),
    );
  }

  async #handleMalformed(entry: InFlight, info: QueueInfo, err: Error): Promise<void> {
    const { message } = entry;
    const { logger, metrics } = this.#ctx;
    metrics.malformed();
    entry.settled = true;
    if (info.hasRedrive) {
      // Made visible at once so the redrive policy moves it to the dead-letter queue soon.
      logger.warn({ messageId: message.MessageId }, `${err.message}; left for the queue's redrive policy`);
      await changeVisibility(this.#target, [entry], () => 0, 'releasing a malformed message');
    } else {
      logger.error(
        { messageId: message.MessageId, body: message.Body?.slice(0, 512) },
        `${err.message}; deleted (the queue has no redrive policy)`,
      );
      await deleteMessages(this.#target, [entry]);
    }
  }

  /**
   * One ReceiveMessage batch -> one emitBatch() (a single batch POST when the sink is an Eddy
   * ingress), then one DeleteMessageBatch for the accepted messages. Messages whose send failed are
   * left to SQS (visibility set to a backoff; the redrive policy applies); those a stop aborted are
   * made visible again at once.
   */
  async #handleBatch(entries: InFlight[], info: QueueInfo): Promise<void> {
    const sendable: { entry: InFlight; event: ReturnType<typeof sqsMessageToEvent>['event'] }[] = [];
    const malformed: Promise<void>[] = [];
    for (const entry of entries) {
      try {
        sendable.push({
          entry,
          event: sqsMessageToEvent(entry.message, info.arn ?? this.#target.queueUrl).event,
        });
      } catch (err) {
        if (!(err instanceof MalformedSqsMessageError)) throw err;
        malformed.push(this.#handleMalformed(entry, info, err));
      }
    }
    const outcomes = await this.#ctx.emitter.emitBatch(
      sendable.map((s) => s.event),
      { concurrency: SQS_BATCH_LIMIT },
    );
    const accepted: InFlight[] = [];
    const aborted: InFlight[] = [];
    const failed: InFlight[] = [];
    outcomes.forEach((outcome, i) => {
      const { entry } = sendable[i]!;
      entry.settled = true;
      if (outcome.ok) accepted.push(entry);
      else if (outcome.error.reason === 'aborted') aborted.push(entry);
      // Not deleted: SQS redelivers it after the backoff, and redrives it past maxReceiveCount.
      else failed.push(entry);
    });
    await Promise.all([
      ...malformed,
      accepted.length > 0 ? deleteMessages(this.#target, accepted) : undefined,
      aborted.length > 0
        ? changeVisibility(this.#target, aborted, () => 0, 'releasing messages on stop')
        : undefined,
      failed.length > 0
        ? changeVisibility(
            this.#target,
            failed,
            (e) => this.#failureWait(e, info),
            'backing off messages the sink did not accept',
          )
        : undefined,
    ]);
  }

  /** Makes messages received during a stop visible again at once, untouched. */
  async #release(messages: Message[]): Promise<void> {
    const entries = messages.flatMap((message) =>
      message.ReceiptHandle
        ? [{ message, receiptHandle: message.ReceiptHandle, visibleAt: 0, settled: true }]
        : [],
    );
    if (entries.length > 0)
      await changeVisibility(this.#target, entries, () => 0, 'releasing messages received during stop');
  }

  #track(messages: Message[], info: QueueInfo): void {
    const entries: InFlight[] = [];
    for (const message of messages) {
      if (!message.ReceiptHandle) continue;
      const entry: InFlight = {
        message,
        receiptHandle: message.ReceiptHandle,
        visibleAt: Date.now() + info.visibilitySeconds * 1000,
        settled: false,
      };
      this.#inFlight.set(message.ReceiptHandle, entry);
      entries.push(entry);
    }
    if (entries.length === 0) return;
    const done: Promise<void> = this.#handleBatch(entries, info)
      .catch((err) =>
        this.#ctx.logger.error({ err, queueUrl: this.#target.queueUrl }, 'SQS message batch handling failed'),
      )
      .finally(() => {
        for (const e of entries) this.#inFlight.delete(e.receiptHandle);
        this.#settling.delete(done);
        this.#wakeWaiters();
      });
    this.#settling.add(done);
  }

  #wakeWaiters(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  async #waitForRoom(): Promise<void> {
    const signal = this.#signal;
    await new Promise<void>((resolve) => {
      const wake = () => {
        this.#waiters.delete(wake);
        signal.removeEventListener('abort', wake);
        resolve();
      };
      this.#waiters.add(wake);
      signal.addEventListener('abort', wake, { once: true });
    });
  }

  /** One receive loop; room is reserved before each receive. */
  async #poll(): Promise<void> {
    const { metrics } = this.#ctx;
    const signal = this.#signal;
    while (!signal.aborted) {
      const info = await this.#ensureQueue();
      if (!info) {
        await this.#upstream.backoff();
        continue;
      }
      this.#heartbeat.start(info.visibilitySeconds);
      const room = Math.min(
        this.#batchSize,
        this.#settings.maxInFlight - this.#inFlight.size - this.#reserved,
      );
      if (room <= 0) {
        await this.#waitForRoom();
        continue;
      }
      this.#reserved += room;
      let messages: Message[];
      try {
        const out = await this.#client.send(
          new this.#sdk.ReceiveMessageCommand({
            QueueUrl: this.#target.queueUrl,
            MaxNumberOfMessages: room,
            WaitTimeSeconds: this.#waitTimeSeconds,
            VisibilityTimeout: info.visibilitySeconds,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['All'],
          }),
          { abortSignal: this.#pollAbort.signal },
        );
        messages = out.Messages ?? [];
        this.#upstream.connected();
      } catch (err) {
        this.#reserved -= room;
        this.#wakeWaiters();
        if (signal.aborted) break;
        this.#failed(err, 'ReceiveMessage failed on queue');
        if (isQueueMissing(err)) this.#queue = undefined;
        await this.#upstream.backoff();
        continue;
      }
      this.#reserved -= room;
      if (signal.aborted) {
        this.#wakeWaiters();
        await this.#release(messages);
        break;
      }
      if (messages.length > 0) metrics.received(messages.length);
      this.#track(messages, info);
      this.#wakeWaiters();
    }
  }
}
