// Group commit, pipelined: every write submitted while the writer thread is busy (appends of
// concurrent producers, offset commits, retention deletes) goes into the NEXT transaction, so they
// share one fsync; while the thread commits batch N, the main thread gathers batch N+1. A write's
// promise resolves only after its COMMIT returned on the writer thread, i.e. once it is durable.
//
// Writes run on the main thread, when their batch is built: they record statements on the
// transaction (`tx.ops`) and stage their changes to the caches on it, applied in `afterCommit` —
// so a failed transaction leaves the caches consistent with the database. One batch is in flight
// at a time, so each batch is built from committed state only.

import { EventLogUnavailableError } from '../event-log.js';
import { unavailable } from './sqlite-store.js';
import type { WriteOps, WriteReply } from './write-ops.js';
import type { WriterClient } from './writer-client.js';

export interface WriteResult<T> {
  result: T;
  /** Applies the write's effect to in-memory state; runs only after COMMIT succeeded. */
  afterCommit?: () => void;
}

export type Write<T, Tx> = (tx: Tx) => WriteResult<T>;

interface Pending<Tx> {
  write: Write<unknown, Tx>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface Built<Tx> {
  tx: Tx;
  done: { pending: Pending<Tx>; outcome: WriteResult<unknown> }[];
}

export class WriteBatcher<Tx extends { readonly ops: WriteOps }> {
  readonly #writer: WriterClient;
  readonly #newTransaction: () => Tx;
  readonly #applyTransaction: (tx: Tx) => void;
  #queue: Pending<Tx>[] = [];
  #scheduled = false;
  #inFlight: Promise<void> | undefined;
  #closed = false;
  /** Transactions committed so far (group-commit effectiveness: writes per transaction). */
  committedTransactions = 0;

  /**
   * @param newTransaction creates the per-transaction scratch state handed to every write
   * @param applyTransaction applies that state to the caches once COMMIT succeeded
   */
  constructor(writer: WriterClient, newTransaction: () => Tx, applyTransaction: (tx: Tx) => void) {
    this.#writer = writer;
    this.#newTransaction = newTransaction;
    this.#applyTransaction = applyTransaction;
  }

  submit<T>(write: Write<T, Tx>): Promise<T> {
    if (this.#closed) return Promise.reject(new EventLogUnavailableError('the event log is closed'));
    if (this.#writer.failure !== undefined) return Promise.reject(this.#writer.failure);
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
      // The first write of an idle log waits for the end of this event-loop turn, so the writes
      // of the turn share its transaction; later ones wait for the transaction in flight.
      if (!this.#scheduled && this.#inFlight === undefined) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#next();
        });
      }
    });
  }

  /** Refuses new writes, and resolves once everything submitted before is committed (or failed). */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#inFlight !== undefined || this.#queue.length > 0) {
      if (this.#inFlight === undefined) this.#next();
      await this.#inFlight;
    }
  }

  #next(): void {
    if (this.#inFlight !== undefined || this.#queue.length === 0) return;
    const batch = this.#queue;
    this.#queue = [];
    const built = this.#build(batch);
    if (built === undefined) return;
    const { request, transfer } = built.tx.ops.request();
    this.#inFlight = this.#writer
      .write(request, transfer)
      .then(
        (reply) => this.#settle(built, reply),
        (error: unknown) => {
          for (const { pending } of built.done) pending.reject(error);
        },
      )
      .finally(() => {
        this.#inFlight = undefined;
        this.#next();
      });
  }

  /** Runs the writes into one transaction; a write that throws fails alone, the others are rebuilt. */
  #build(batch: Pending<Tx>[]): Built<Tx> | undefined {
    let remaining = batch;
    for (;;) {
      if (remaining.length === 0) return undefined;
      const tx = this.#newTransaction();
      const done: Built<Tx>['done'] = [];
      let failedAt = -1;
      for (let i = 0; i < remaining.length; i++) {
        const pending = remaining[i]!;
        try {
          done.push({ pending, outcome: pending.write(tx) });
        } catch (error) {
          failedAt = i;
          pending.reject(error);
          break;
        }
        tx.ops.endWrite();
      }
      if (failedAt < 0) return { tx, done };
      // Its staged changes and statements are mixed into the transaction's: start over without it.
      remaining = [...remaining.slice(0, failedAt), ...remaining.slice(failedAt + 1)];
    }
  }

  #settle({ tx, done }: Built<Tx>, reply: WriteReply): void {
    if (!reply.ok) {
      if (reply.stage === 'write' && done[reply.write] !== undefined) {
        // That write's statement failed and the transaction rolled back: fail it, retry the others.
        done[reply.write]?.pending.reject(unavailable('cannot write to the event log', reply.message));
        const others = done.filter((_, i) => i !== reply.write).map(({ pending }) => pending);
        this.#queue = [...others, ...this.#queue];
        return;
      }
      const what =
        reply.stage === 'begin' ? 'cannot write to the event log' : 'cannot commit to the event log';
      for (const { pending } of done) pending.reject(unavailable(what, reply.message));
      return;
    }
    this.committedTransactions++;
    tx.ops.settle(reply.results);
    this.#applyTransaction(tx);
    for (const { pending, outcome } of done) {
      try {
        outcome.afterCommit?.();
      } finally {
        pending.resolve(outcome.result);
      }
    }
  }
}
