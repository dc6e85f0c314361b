// The writer thread: owns the event log's write connection and runs one transaction per request,
// in arrival order. A COMMIT (an fsync of the WAL) blocks only this thread, so the main thread
// keeps parsing HTTP, delivering and gathering the next group of writes meanwhile.
// Started by writer-client.ts; see there for the protocol.

import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { SqliteWriter } from './sqlite-store.js';
import { applyOps, OpError, type WriteReply, type WriteRequest } from './write-ops.js';

export interface WriterData {
  dataDir: string;
  /** Replies to synchronous requests go here, then `syncFlag` is set and notified. */
  syncPort: MessagePort;
  syncFlag: Int32Array;
}

export type ToWriter =
  | { type: 'write'; id: number; request: WriteRequest }
  | { type: 'writeSync'; request: WriteRequest }
  | { type: 'close' };

export type FromWriter =
  | { type: 'ready'; path: string }
  | { type: 'openFailed'; message: string }
  | { type: 'written'; id: number; reply: WriteReply }
  | { type: 'closed' };

function runTransaction(writer: SqliteWriter, request: WriteRequest): WriteReply {
  try {
    writer.db.exec('BEGIN IMMEDIATE');
  } catch (error) {
    return { ok: false, stage: 'begin', write: -1, message: describe(error) };
  }
  let results: unknown[];
  try {
    results = applyOps(writer, request);
  } catch (error) {
    writer.rollbackQuietly();
    const write = error instanceof OpError ? error.write : -1;
    return { ok: false, stage: 'write', write, message: describe(error) };
  }
  try {
    writer.db.exec('COMMIT');
  } catch (error) {
    writer.rollbackQuietly();
    return { ok: false, stage: 'commit', write: -1, message: describe(error) };
  }
  return { ok: true, results };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function main(): void {
  const port = parentPort;
  if (port === null) throw new Error('writer-thread.ts runs as a worker thread');
  const { dataDir, syncPort, syncFlag } = workerData as WriterData;
  const send = (message: FromWriter) => port.postMessage(message);
  let writer: SqliteWriter;
  try {
    writer = new SqliteWriter(dataDir);
  } catch (error) {
    send({ type: 'openFailed', message: describe(error) });
    return;
  }
  send({ type: 'ready', path: writer.path });
  port.on('message', (message: ToWriter) => {
    switch (message.type) {
      case 'write':
        send({ type: 'written', id: message.id, reply: runTransaction(writer, message.request) });
        break;
      case 'writeSync': {
        syncPort.postMessage(runTransaction(writer, message.request));
        Atomics.store(syncFlag, 0, 1);
        Atomics.notify(syncFlag, 0);
        break;
      }
      case 'close':
        writer.close();
        send({ type: 'closed' });
        port.close();
        break;
    }
  });
}

main();
