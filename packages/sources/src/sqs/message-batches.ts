// Settling received SQS messages, ten per request (SQS's batch limit): deleting the accepted ones,
// changing the visibility of the others, and extending it while their sends are in flight.

import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import type { SqsSdk } from './sqs-config.js';

export const SQS_BATCH_LIMIT = 10;

/** A received message not yet deleted or released. */
export interface InFlight {
  message: Message;
  receiptHandle: string;
  /** When SQS makes the message visible again (Date.now() ms) unless extended. */
  visibleAt: number;
  /** Its outcome is decided (delete or visibility change under way): no more extensions. */
  settled: boolean;
}

/** The queue the batches go to. */
export interface QueueTarget {
  sdk: SqsSdk;
  client: SQSClient;
  queueUrl: string;
  logger: Logger;
}

/** Deletes accepted messages; a failed delete is logged (SQS redelivers the message: a duplicate). */
export async function deleteMessages(target: QueueTarget, entries: readonly InFlight[]): Promise<void> {
  const { sdk, client, queueUrl, logger } = target;
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

/** Sets each message's visibility timeout to `seconds(entry)`; `why` names the change in logs. */
export async function changeVisibility(
  target: QueueTarget,
  entries: readonly InFlight[],
  seconds: (e: InFlight) => number,
  why: string,
): Promise<void> {
  const { sdk, client, queueUrl, logger } = target;
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

/**
 * Extends the visibility of in-flight messages before it runs out: every quarter of the visibility
 * timeout (0.2..5 s), each unsettled message with less than half of it left gets a full one again.
 */
export class VisibilityHeartbeat {
  readonly #target: QueueTarget;
  readonly #inFlight: ReadonlyMap<string, InFlight>;
  #timer: NodeJS.Timeout | undefined;
  #extending = false;

  constructor(target: QueueTarget, inFlight: ReadonlyMap<string, InFlight>) {
    this.#target = target;
    this.#inFlight = inFlight;
  }

  /** Starts beating for this visibility timeout (once; later calls do nothing). */
  start(visibilitySeconds: number): void {
    if (this.#timer || visibilitySeconds <= 0) return;
    const visibilityMs = visibilitySeconds * 1000;
    const periodMs = Math.max(200, Math.min(5_000, visibilityMs / 4));
    this.#timer = setInterval(() => {
      if (this.#extending) return;
      const now = Date.now();
      const due = [...this.#inFlight.values()].filter(
        (e) => !e.settled && e.visibleAt - now < visibilityMs / 2,
      );
      if (due.length === 0) return;
      this.#extending = true;
      for (const e of due) e.visibleAt = now + visibilityMs;
      changeVisibility(
        this.#target,
        due,
        () => visibilitySeconds,
        'extending visibility of in-flight messages',
      ).finally(() => {
        this.#extending = false;
      });
    }, periodMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
