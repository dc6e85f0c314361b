// Group commit: every write submitted during one turn of the event loop (appends of concurrent
// producers, offset commits, retention deletes) runs in ONE SQLite transaction, so they share a
// single fsync. A write's promise resolves only after COMMIT returned, i.e. once it is durable.
//
// Writes must not touch the log's in-memory state while they run: they record their changes on
// the transaction (`tx`) and apply them in `afterCommit`, so a rolled-back transaction leaves the
// caches consistent with the database.

import { EventLogUnavailableError } from '../event-log.js';
import { type SqliteStore, unavailable } from './sqlite-store.js';

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

export class WriteBatcher<Tx> {
  readonly #store: SqliteStore;
  readonly #newTransaction: () => Tx;
  readonly #applyTransaction: (tx: Tx) => void;
  #queue: Pending<Tx>[] = [];
  #scheduled = false;
  #closed = false;
  /** Transactions committed so far (group-commit effectiveness: writes per transaction). */
  committedTransactions = 0;

  /**
   * @param newTransaction creates the per-transaction scratch state handed to every write
   * @param applyTransaction applies that state to the caches once COMMIT succeeded
   */
  constructor(store: SqliteStore, newTransaction: () => Tx, applyTransaction: (tx: Tx) => void) {
    this.#store = store;
    this.#newTransaction = newTransaction;
    this.#applyTransaction = applyTransaction;
  }

  submit<T>(write: Write<T, Tx>): Promise<T> {
    if (this.#closed) return Promise.reject(new EventLogUnavailableError('the event log is closed'));
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Runs everything queued now (also used by close to drain). */
  flush(): void {
    this.#scheduled = false;
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      this.#runBatch(batch);
    }
  }

  close(): void {
    this.flush();
    this.#closed = true;
  }

  #runBatch(batch: Pending<Tx>[]): void {
    let remaining = batch;
    // A write that throws (e.g. its topic was deleted meanwhile) spoils the transaction; roll
    // back, fail that write alone, and run the others again from scratch.
    while (remaining.length > 0) {
      const store = this.#store;
      const tx = this.#newTransaction();
      const done: { pending: Pending<Tx>; outcome: WriteResult<unknown> }[] = [];
      try {
        store.db.exec('BEGIN IMMEDIATE');
      } catch (error) {
        for (const pending of remaining) pending.reject(unavailable('cannot write to the event log', error));
        return;
      }
      let failedAt = -1;
      let failure: unknown;
      for (let i = 0; i < remaining.length; i++) {
        const pending = remaining[i]!;
        try {
          done.push({ pending, outcome: pending.write(tx) });
        } catch (error) {
          failedAt = i;
          failure = error;
          break;
        }
      }
      if (failedAt >= 0) {
        store.rollbackQuietly();
        remaining[failedAt]!.reject(asLogError(failure));
        remaining = [...remaining.slice(0, failedAt), ...remaining.slice(failedAt + 1)];
        continue;
      }
      try {
        store.db.exec('COMMIT');
      } catch (error) {
        store.rollbackQuietly();
        for (const pending of remaining) pending.reject(unavailable('cannot commit to the event log', error));
        return;
      }
      this.committedTransactions++;
      this.#applyTransaction(tx);
      for (const { pending, outcome } of done) {
        try {
          outcome.afterCommit?.();
        } finally {
          pending.resolve(outcome.result);
        }
      }
      return;
    }
  }
}

function asLogError(error: unknown): unknown {
  // Our own errors (usage errors) pass through; SQLite failures become "unavailable".
  if (error instanceof Error && (error as { code?: string }).code === 'ERR_SQLITE_ERROR') {
    return unavailable('cannot write to the event log', error);
  }
  return error;
}
