// The main thread's handle on the writer thread (writer-thread.ts). Requests go over the worker's
// port in order and the thread answers each after its COMMIT returned. Two ways to wait:
// - write(): a promise, for the group commits of the batcher (the event loop keeps running);
// - writeSync(): blocks the main thread until the transaction is done (Atomics.wait), for the
//   rare topic changes whose callers expect the caches updated when the call returns.
// If the thread dies, every pending and later request fails with EventLogUnavailableError.

import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { EventLogUnavailableError } from '../event-log.js';
import { unavailable } from './sqlite-store.js';
import type { WriteReply, WriteRequest } from './write-ops.js';
import type { FromWriter, ToWriter, WriterData } from './writer-thread.js';

/** How long writeSync waits for a thread that neither answers nor is known dead. */
const SYNC_TIMEOUT_MS = 60_000;

// Tests run the TypeScript sources, and a worker thread is plain Node, which strips the types but
// does not map the sources' `.js` import suffixes to their `.ts` files: a resolve hook does that
// (as in fixtures/append-and-crash.mjs). The built package starts writer-thread.js directly.
const SOURCE_BOOTSTRAP = `
const { registerHooks } = require('node:module');
const { workerData } = require('node:worker_threads');
registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (specifier.startsWith('.') && specifier.endsWith('.js')) {
        return nextResolve(specifier.slice(0, -3) + '.ts', context);
      }
      throw error;
    }
  },
});
import(workerData.entry);
`;

interface Pending {
  resolve: (reply: WriteReply) => void;
  reject: (error: unknown) => void;
}

export class WriterClient {
  readonly databasePath: string;
  readonly #worker: Worker;
  readonly #syncPort: MessagePort;
  readonly #syncFlag: Int32Array;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #failure: EventLogUnavailableError | undefined;
  #closed: Promise<void> | undefined;

  /** Starts the thread; resolves once it opened (and locked) the database. */
  static start(dataDir: string): Promise<WriterClient> {
    const { port1, port2 } = new MessageChannel();
    const syncFlag = new Int32Array(new SharedArrayBuffer(4));
    const data: WriterData = { dataDir, syncPort: port2, syncFlag };
    const entry = new URL(
      `./writer-thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`,
      import.meta.url,
    );
    const worker = entry.pathname.endsWith('.ts')
      ? new Worker(SOURCE_BOOTSTRAP, {
          eval: true,
          workerData: { ...data, entry: entry.href },
          transferList: [port2],
        })
      : new Worker(entry, { workerData: data, transferList: [port2] });
    return new Promise((resolve, reject) => {
      const onExit = (code: number) =>
        reject(
          new EventLogUnavailableError(`the event log writer thread exited (code ${code}) while opening`),
        );
      const onError = (error: Error) => reject(unavailable('the event log writer thread failed', error));
      worker.once('exit', onExit);
      worker.once('error', onError);
      worker.once('message', (message: FromWriter) => {
        worker.off('exit', onExit);
        worker.off('error', onError);
        if (message.type === 'ready') {
          resolve(new WriterClient(worker, port1, syncFlag, message.path));
        } else {
          port1.close();
          reject(
            new EventLogUnavailableError(message.type === 'openFailed' ? message.message : 'unexpected'),
          );
        }
      });
    });
  }

  private constructor(worker: Worker, syncPort: MessagePort, syncFlag: Int32Array, databasePath: string) {
    this.#worker = worker;
    this.#syncPort = syncPort;
    this.#syncFlag = syncFlag;
    this.databasePath = databasePath;
    // Referenced only while a request is pending, so an idle log does not keep the process alive.
    worker.unref();
    worker.on('message', (message: FromWriter) => this.#onMessage(message));
    worker.on('error', (error) => this.#fail(unavailable('the event log writer thread failed', error)));
    worker.on('exit', (code) =>
      this.#fail(new EventLogUnavailableError(`the event log writer thread exited (code ${code})`)),
    );
  }

  /** Set once the thread is gone (closed or dead); requests fail with it. */
  get failure(): EventLogUnavailableError | undefined {
    return this.#failure;
  }

  write(request: WriteRequest, transfer: ArrayBuffer[]): Promise<WriteReply> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise<WriteReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) this.#worker.ref();
      this.#post({ type: 'write', id, request }, transfer);
    });
  }

  writeSync(request: WriteRequest, transfer: ArrayBuffer[]): WriteReply {
    if (this.#failure !== undefined) throw this.#failure;
    Atomics.store(this.#syncFlag, 0, 0);
    this.#post({ type: 'writeSync', request }, transfer);
    // The thread finishes the transaction it is in first; it answers on the sync port, then wakes us.
    if (Atomics.wait(this.#syncFlag, 0, 0, SYNC_TIMEOUT_MS) === 'timed-out') {
      throw new EventLogUnavailableError(
        `the event log writer thread did not answer within ${SYNC_TIMEOUT_MS} ms`,
      );
    }
    const received = receiveMessageOnPort(this.#syncPort);
    if (received === undefined)
      throw new EventLogUnavailableError('the event log writer thread sent no reply');
    return received.message as WriteReply;
  }

  /** Closes the database on the thread once the requests sent so far are done, and ends it. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      if (this.#failure !== undefined) {
        resolve();
        return;
      }
      this.#worker.ref();
      this.#worker.once('exit', () => resolve());
      this.#post({ type: 'close' }, []);
    }).finally(() => this.#syncPort.close());
    return this.#closed;
  }

  /** Ends the thread at once, as a crash would (tests). */
  async terminate(): Promise<void> {
    await this.#worker.terminate();
  }

  #post(message: ToWriter, transfer: ArrayBuffer[]): void {
    this.#worker.postMessage(message, transfer);
  }

  #onMessage(message: FromWriter): void {
    if (message.type === 'closed') {
      this.#fail(new EventLogUnavailableError('the event log is closed'));
      return;
    }
    if (message.type !== 'written') return;
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return;
    this.#pending.delete(message.id);
    if (this.#pending.size === 0) this.#worker.unref();
    pending.resolve(message.reply);
  }

  #fail(error: EventLogUnavailableError): void {
    this.#failure ??= error;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const { reject } of pending) reject(this.#failure);
  }
}
