// SqsSource (sources.eddy.dev/v1alpha1): long-polls one SQS queue and deletes a message only after
// the sink accepted its event. Visibility is extended while a send is in flight; a message whose
// send failed is left to SQS (its visibility set to a backoff) so the queue's own redrive policy
// decides when it goes to a dead-letter queue. See README.md "SqsSource".

import type { Message, SQSClient, SQSClientConfig } from '@aws-sdk/client-sqs';
import type { SqsSource } from '@eddy/api';
import type { RunningSource, SourceAdapter, SourceContext } from '../sdk/adapter.js';
import { MalformedSqsMessageError, sqsMessageToEvent } from './sqs-event.js';

export type SqsSourceSpec = SqsSource['spec'];
/** The parts of `@aws-sdk/client-sqs` the adapter uses. */
export type SqsSdk = Pick<
  typeof import('@aws-sdk/client-sqs'),
  | 'SQSClient'
  | 'ReceiveMessageCommand'
  | 'DeleteMessageBatchCommand'
  | 'ChangeMessageVisibilityBatchCommand'
  | 'GetQueueAttributesCommand'
>;

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

/**
 * How many ReceiveMessage long polls run at once (1-16, default 4). All of them together still hold
 * at most maxInFlight messages.
 */
export const RECEIVERS_ANNOTATION = 'sqs.sources.eddy.dev/receivers';
const DEFAULT_RECEIVERS = 4;
const MAX_RECEIVERS = 16;

function receiversOf(annotations: Readonly<Record<string, string>>, fallback: number): number {
  const raw = annotations[RECEIVERS_ANNOTATION];
  if (raw === undefined) return fallback;
  const n = Number(raw.trim());
  if (!Number.isInteger(n) || n < 1 || n > MAX_RECEIVERS || raw.trim() === '') {
    throw new Error(
      `metadata.annotations["${RECEIVERS_ANNOTATION}"]: expected an integer from 1 to ${MAX_RECEIVERS}, found ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

/** Visibility timeout when neither the spec nor the queue says (SQS's own default). */
const DEFAULT_VISIBILITY_SECONDS = 30;
const SQS_BATCH_LIMIT = 10;

interface InFlight {
  message: Message;
  receiptHandle: string;
  /** When SQS makes the message visible again (Date.now() ms) unless extended. */
  visibleAt: number;
  /** Its outcome is decided (delete or visibility change under way): no more extensions. */
  settled: boolean;
}

interface QueueInfo {
  arn?: string;
  visibilitySeconds: number;
  hasRedrive: boolean;
}

function regionOf(spec: SqsSourceSpec): string {
  if (spec.region) return spec.region;
  let host = '';
  try {
    host = new URL(spec.queueUrl).host;
  } catch {
    throw new Error(
      `spec.queueUrl: expected an absolute http(s) queue URL, found ${JSON.stringify(spec.queueUrl)}`,
    );
  }
  const match = /^sqs\.([a-z0-9-]+)\.amazonaws\.com$/.exec(host);
  if (match?.[1]) return match[1];
  if (spec.endpoint) return 'us-east-1'; // SQS-compatible servers ignore it, the SDK requires one
  throw new Error(
    `spec.region: required, the queue URL ${spec.queueUrl} is not an AWS one (sqs.<region>.amazonaws.com)`,
  );
}

async function clientConfig(ctx: SourceContext<SqsSourceSpec>): Promise<SQSClientConfig> {
  const { spec } = ctx;
  const config: SQSClientConfig = { region: regionOf(spec) };
  if (spec.endpoint) config.endpoint = spec.endpoint;
  if (spec.credentials) {
    const secret = async (
      field: string,
      ref: { secretKeyRef?: { name: string; key: string } } | undefined,
    ) => {
      try {
        return await ctx.secrets.resolve(ref);
      } catch (err) {
        throw new Error(`spec.credentials.${field}: ${(err as Error).message}`);
      }
    };
    const accessKeyId = await secret('accessKeyId', spec.credentials.accessKeyId);
    const secretAccessKey = await secret('secretAccessKey', spec.credentials.secretAccessKey);
    const sessionToken = spec.credentials.sessionToken
      ? await secret('sessionToken', spec.credentials.sessionToken)
      : undefined;
    if (!accessKeyId)
      throw new Error('spec.credentials.accessKeyId: no secretKeyRef given or the secret is empty');
    if (!secretAccessKey)
      throw new Error('spec.credentials.secretAccessKey: no secretKeyRef given or the secret is empty');
    config.credentials = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  }
  return config;
}

function errorName(err: unknown): string {
  return (err as { name?: string })?.name ?? '';
}

function isQueueMissing(err: unknown): boolean {
  const name = errorName(err);
  const code = (err as { Code?: string })?.Code ?? '';
  return /QueueDoesNotExist|NonExistentQueue/.test(`${name} ${code} ${(err as Error)?.message ?? ''}`);
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export function createSqsSourceAdapter(options: SqsSourceOptions = {}): SourceAdapter<SqsSourceSpec> {
  const maxInFlight = options.maxInFlight ?? 100;
  const lagIntervalMs = options.lagIntervalMs ?? 10_000;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
  const failureBackoffSeconds = options.failureBackoffSeconds ?? 1;
  const startWaitMs = options.startWaitMs ?? 10_000;
  const loadSdk = options.loadSdk ?? (() => import('@aws-sdk/client-sqs'));
  const defaultReceivers = options.receivers ?? DEFAULT_RECEIVERS;

  return {
    apiVersion: 'sources.eddy.dev/v1alpha1',
    kind: 'SqsSource',
    async start(ctx): Promise<RunningSource> {
      const receivers = receiversOf(ctx.annotations, defaultReceivers);
      const sdk = await loadSdk();
      const config = await clientConfig(ctx);
      const { spec, logger, metrics } = ctx;
      // Stops polling on ctx.signal (the runner aborts it before stop()) or on stop() itself.
      const stopping = new AbortController();
      const signal = stopping.signal;
      // The long poll has its own controller: an aborted ReceiveMessage is not cancelled on the
      // server, which may still hand it messages (hidden for the visibility timeout, then
      // redelivered). So it is aborted only when no message is being released; otherwise the
      // stop waits for it, since it picks up the released messages at once, and releases them too.
      const pollAbort = new AbortController();
      const onStop = () => {
        stopping.abort();
        if (inFlight.size === 0) pollAbort.abort();
      };
      ctx.signal.addEventListener('abort', onStop, { once: true });
      const queueUrl = spec.queueUrl;
      const batchSize = Math.min(spec.batchSize ?? SQS_BATCH_LIMIT, SQS_BATCH_LIMIT);
      const waitTimeSeconds = Math.min(spec.waitTimeSeconds ?? 20, 20);
      const client: SQSClient = new sdk.SQSClient(config);

      let queue: QueueInfo | undefined;
      let failures = 0;
      const inFlight = new Map<string, InFlight>();
      const settling = new Set<Promise<void>>();
      if (ctx.signal.aborted) onStop();

      const unhealthy = (err: unknown, what: string) => {
        const missing = isQueueMissing(err);
        const message = `${what} ${queueUrl}: ${(err as Error)?.message ?? String(err)}`;
        ctx.setHealth({ ready: false, reason: missing ? 'QueueNotFound' : 'UpstreamUnreachable', message });
        logger.warn({ err, queueUrl }, message);
      };
      const backoff = () => Math.min(maxRetryDelayMs, retryDelayMs * 2 ** Math.min(failures - 1, 16));

      async function lookUpQueue(): Promise<QueueInfo> {
        const { Attributes = {} } = await client.send(
          new sdk.GetQueueAttributesCommand({
            QueueUrl: queueUrl,
            AttributeNames: ['QueueArn', 'VisibilityTimeout', 'RedrivePolicy', 'ApproximateNumberOfMessages'],
          }),
          { abortSignal: signal },
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

      async function ensureQueue(): Promise<QueueInfo | undefined> {
        if (queue) return queue;
        try {
          queue = await lookUpQueue();
          failures = 0;
          ctx.setHealth({ ready: true, reason: 'Running' });
          return queue;
        } catch (err) {
          if (signal.aborted) return undefined;
          failures++;
          unhealthy(err, 'cannot read the attributes of queue');
          return undefined;
        }
      }

      // --- deletes and visibility changes, batched by 10 -------------------------------------
      async function deleteMessages(entries: InFlight[]): Promise<void> {
        for (let i = 0; i < entries.length; i += SQS_BATCH_LIMIT) {
          const chunk = entries.slice(i, i + SQS_BATCH_LIMIT);
          try {
            const out = await client.send(
              new sdk.DeleteMessageBatchCommand({
                QueueUrl: queueUrl,
                Entries: chunk.map((e, n) => ({ Id: String(n), ReceiptHandle: e.receiptHandle })),
              }),
            );
            for (const f of out.Failed ?? []) {
              const entry = chunk[Number(f.Id)];
              logger.warn(
                { messageId: entry?.message.MessageId, code: f.Code },
                `delete of an accepted message failed (${f.Message ?? f.Code}); SQS will redeliver it (a duplicate)`,
              );
            }
          } catch (err) {
            logger.warn(
              { err },
              `DeleteMessageBatch failed; ${chunk.length} accepted messages will be redelivered`,
            );
          }
        }
      }

      async function changeVisibility(entries: InFlight[], seconds: (e: InFlight) => number, why: string) {
        for (let i = 0; i < entries.length; i += SQS_BATCH_LIMIT) {
          const chunk = entries.slice(i, i + SQS_BATCH_LIMIT);
          try {
            const out = await client.send(
              new sdk.ChangeMessageVisibilityBatchCommand({
                QueueUrl: queueUrl,
                Entries: chunk.map((e, n) => ({
                  Id: String(n),
                  ReceiptHandle: e.receiptHandle,
                  VisibilityTimeout: seconds(e),
                })),
              }),
            );
            for (const f of out.Failed ?? []) {
              logger.warn(
                { messageId: chunk[Number(f.Id)]?.message.MessageId, code: f.Code },
                `${why}: ChangeMessageVisibility failed (${f.Message ?? f.Code})`,
              );
            }
          } catch (err) {
            logger.warn({ err }, `${why}: ChangeMessageVisibilityBatch failed`);
          }
        }
      }

      // Extends the visibility of messages whose sends are still in flight before it runs out.
      let heartbeat: ReturnType<typeof setInterval> | undefined;
      let extending = false;
      function startHeartbeat(visibilitySeconds: number) {
        if (heartbeat || visibilitySeconds <= 0) return;
        const periodMs = Math.max(200, Math.min(5_000, (visibilitySeconds * 1000) / 4));
        heartbeat = setInterval(() => {
          if (extending) return;
          const now = Date.now();
          const due = [...inFlight.values()].filter(
            (e) => !e.settled && e.visibleAt - now < (visibilitySeconds * 1000) / 2,
          );
          if (due.length === 0) return;
          extending = true;
          for (const e of due) e.visibleAt = now + visibilitySeconds * 1000;
          changeVisibility(
            due,
            () => visibilitySeconds,
            'extending visibility of in-flight messages',
          ).finally(() => {
            extending = false;
          });
        }, periodMs);
        heartbeat.unref();
      }

      // --- one received batch --------------------------------------------------------------------
      /** Redelivery wait for a message the sink did not accept, growing with its receive count. */
      const failureWait = (entry: InFlight, info: QueueInfo) => {
        const count = Number(entry.message.Attributes?.ApproximateReceiveCount ?? 1);
        return Math.min(
          info.visibilitySeconds,
          Math.round(failureBackoffSeconds * 2 ** Math.min(Math.max(count - 1, 0), 16)),
        );
      };

      async function handleMalformed(entry: InFlight, info: QueueInfo, err: Error): Promise<void> {
        const { message } = entry;
        metrics.malformed();
        entry.settled = true;
        if (info.hasRedrive) {
          // Made visible at once so the redrive policy moves it to the dead-letter queue soon.
          logger.warn(
            { messageId: message.MessageId },
            `${err.message}; left for the queue's redrive policy`,
          );
          await changeVisibility([entry], () => 0, 'releasing a malformed message');
        } else {
          logger.error(
            { messageId: message.MessageId, body: message.Body?.slice(0, 512) },
            `${err.message}; deleted (the queue has no redrive policy)`,
          );
          await deleteMessages([entry]);
        }
      }

      /**
       * One ReceiveMessage batch -> one emitBatch() (a single batch POST when the sink is an Eddy
       * ingress), then one DeleteMessageBatch for the accepted messages. Messages whose send
       * failed are left to SQS (visibility set to a backoff; the redrive policy applies); those a
       * stop aborted are made visible again at once.
       */
      async function handleBatch(entries: InFlight[], info: QueueInfo): Promise<void> {
        const sendable: { entry: InFlight; event: ReturnType<typeof sqsMessageToEvent>['event'] }[] = [];
        const malformed: Promise<void>[] = [];
        for (const entry of entries) {
          try {
            sendable.push({ entry, event: sqsMessageToEvent(entry.message, info.arn ?? queueUrl).event });
          } catch (err) {
            if (!(err instanceof MalformedSqsMessageError)) throw err;
            malformed.push(handleMalformed(entry, info, err));
          }
        }
        const outcomes = await ctx.emitter.emitBatch(
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
          accepted.length > 0 ? deleteMessages(accepted) : undefined,
          aborted.length > 0 ? changeVisibility(aborted, () => 0, 'releasing messages on stop') : undefined,
          failed.length > 0
            ? changeVisibility(
                failed,
                (e) => failureWait(e, info),
                'backing off messages the sink did not accept',
              )
            : undefined,
        ]);
      }

      /** Makes messages received during a stop visible again at once, untouched. */
      async function release(messages: Message[]): Promise<void> {
        const entries = messages.flatMap((message) =>
          message.ReceiptHandle
            ? [{ message, receiptHandle: message.ReceiptHandle, visibleAt: 0, settled: true }]
            : [],
        );
        if (entries.length > 0)
          await changeVisibility(entries, () => 0, 'releasing messages received during stop');
      }

      function track(messages: Message[], info: QueueInfo) {
        const entries: InFlight[] = [];
        for (const message of messages) {
          if (!message.ReceiptHandle) continue;
          const entry: InFlight = {
            message,
            receiptHandle: message.ReceiptHandle,
            visibleAt: Date.now() + info.visibilitySeconds * 1000,
            settled: false,
          };
          inFlight.set(message.ReceiptHandle, entry);
          entries.push(entry);
        }
        if (entries.length === 0) return;
        const done = handleBatch(entries, info)
          .catch((err) => logger.error({ err, queueUrl }, 'SQS message batch handling failed'))
          .finally(() => {
            for (const e of entries) inFlight.delete(e.receiptHandle);
            settling.delete(done);
            wakeWaiters();
          });
        settling.add(done);
      }

      // --- the receive loops -------------------------------------------------------------------
      // Several long polls at once (the receivers annotation): one ReceiveMessage returns at most
      // 10 messages, so a single loop caps throughput at 10 per round trip. Room is reserved
      // before each receive, so the loops together never hold more than maxInFlight messages.
      let reserved = 0;
      const waiters = new Set<() => void>();
      const wakeWaiters = () => {
        for (const wake of [...waiters]) wake();
      };
      async function waitForRoom(): Promise<void> {
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            signal.removeEventListener('abort', wake);
            resolve();
          };
          waiters.add(wake);
          signal.addEventListener('abort', wake, { once: true });
        });
      }

      async function poll(): Promise<void> {
        while (!signal.aborted) {
          const info = await ensureQueue();
          if (!info) {
            await sleep(backoff(), signal);
            continue;
          }
          startHeartbeat(info.visibilitySeconds);
          const room = Math.min(batchSize, maxInFlight - inFlight.size - reserved);
          if (room <= 0) {
            await waitForRoom();
            continue;
          }
          reserved += room;
          let messages: Message[];
          try {
            const out = await client.send(
              new sdk.ReceiveMessageCommand({
                QueueUrl: queueUrl,
                MaxNumberOfMessages: room,
                WaitTimeSeconds: waitTimeSeconds,
                VisibilityTimeout: info.visibilitySeconds,
                MessageAttributeNames: ['All'],
                MessageSystemAttributeNames: ['All'],
              }),
              { abortSignal: pollAbort.signal },
            );
            messages = out.Messages ?? [];
            if (failures > 0) ctx.setHealth({ ready: true, reason: 'Running' });
            failures = 0;
          } catch (err) {
            reserved -= room;
            wakeWaiters();
            if (signal.aborted) break;
            failures++;
            unhealthy(err, 'ReceiveMessage failed on queue');
            if (isQueueMissing(err)) queue = undefined;
            await sleep(backoff(), signal);
            continue;
          }
          reserved -= room;
          if (signal.aborted) {
            wakeWaiters();
            await release(messages);
            break;
          }
          if (messages.length > 0) metrics.received(messages.length);
          track(messages, info);
          wakeWaiters();
        }
      }

      async function refreshLag(): Promise<void> {
        try {
          const { Attributes = {} } = await client.send(
            new sdk.GetQueueAttributesCommand({
              QueueUrl: queueUrl,
              AttributeNames: ['ApproximateNumberOfMessages'],
            }),
            { abortSignal: signal },
          );
          const lag = Number(Attributes.ApproximateNumberOfMessages);
          if (Number.isFinite(lag)) metrics.setLag(lag);
        } catch (err) {
          if (!signal.aborted) logger.debug({ err }, 'lag lookup failed');
        }
      }
      let lagRunning: Promise<void> | undefined;
      const lagTimer = setInterval(() => {
        if (!lagRunning && queue) lagRunning = refreshLag().finally(() => (lagRunning = undefined));
      }, lagIntervalMs);
      lagTimer.unref();

      // The first lookup decides the initial health; an unreachable or missing queue keeps the
      // adapter running (Ready=False) and retrying rather than failing the start.
      const first = ensureQueue();
      await Promise.race([first, sleep(startWaitMs, signal)]);
      const polling = Promise.all(
        Array.from({ length: receivers }, () =>
          poll().catch((err) => logger.error({ err }, 'SQS poll loop failed')),
        ),
      );

      return {
        async stop() {
          onStop();
          // ctx.signal is aborted by now: the long poll is cancelled and pending sends reject
          // `aborted`, so their messages are released (visibility 0); accepted ones are deleted.
          await polling;
          await Promise.allSettled([...settling]);
          clearInterval(lagTimer);
          if (heartbeat) clearInterval(heartbeat);
          await lagRunning;
          client.destroy();
        },
      };
    },
  };
}

/** The built-in SqsSource adapter with default options. */
export const sqsSourceAdapter = createSqsSourceAdapter();
