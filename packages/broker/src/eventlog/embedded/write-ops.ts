// What a write transaction does, as data: the main thread records the statements of one
// transaction (WriteOps), the writer thread runs them (applyOp). Operations are small tuples
// (cheap to clone, a handful per transaction) except the records, which are packed into one
// transferred buffer (record-buffer.ts).

import type { EncodedEvent } from './event-codec.js';
import { RecordPacker, type RecordUnpacker } from './record-buffer.js';
import type { SqliteWriter } from './sqlite-store.js';

export type WriteOp =
  /** The next `count` packed records. */
  | ['records', count: number]
  | ['partition', topicId: number, partition: number, start: number, next: number, lastTimestamp: number]
  | ['deleteRecords', topicId: number, partition: number, from: number, until: number]
  /** Deletes up to `limit` records of a deleted topic; result: true once none are left. */
  | ['purgeTopicChunk', topicId: number, limit: number]
  | ['groupOffset', group: string, topicId: number, partition: number, committed: number]
  | ['deleteGroup', group: string]
  /** Result: the new topic's id. */
  | ['createTopic', name: string, partitions: number, retentionMs: number | null]
  | ['updateTopic', topicId: number, partitions: number, retentionMs: number | null, fromPartition: number]
  | ['deleteTopic', topicId: number];

/** One transaction for the writer thread. */
export interface WriteRequest {
  ops: WriteOp[];
  /** Where each write's ops end (exclusive), so a failure can be pinned on one write. */
  writeEnds: number[];
  records: ArrayBuffer | null;
}

export interface WriteFailure {
  /** `write`: the write at `write` failed and the transaction rolled back; else BEGIN or COMMIT did. */
  stage: 'begin' | 'write' | 'commit';
  write: number;
  message: string;
}

export type WriteReply =
  | { ok: true; results: [op: number, value: unknown][] }
  | ({ ok: false } & WriteFailure);

/** A value a write transaction produces, available once it committed. */
export class Output<T> {
  value: T | undefined;
}

/** Records the statements of one transaction on the main thread. */
export class WriteOps {
  readonly #ops: WriteOp[] = [];
  readonly #writeEnds: number[] = [];
  readonly #outputs = new Map<number, Output<unknown>>();
  #packer: RecordPacker | undefined;
  #writeStart = 0;

  insertRecord(
    topicId: number,
    partition: number,
    offset: number,
    timestamp: number,
    event: EncodedEvent,
  ): void {
    this.#packer ??= new RecordPacker();
    this.#packer.add(topicId, partition, offset, timestamp, event);
    const last = this.#ops.at(-1);
    // Consecutive records of one write share an op; a write's ops never merge into another's.
    if (last?.[0] === 'records' && this.#ops.length > this.#writeStart) last[1]++;
    else this.#ops.push(['records', 1]);
  }

  upsertPartition(
    topicId: number,
    partition: number,
    start: number,
    next: number,
    lastTimestamp: number,
  ): void {
    this.#ops.push(['partition', topicId, partition, start, next, lastTimestamp]);
  }

  deleteRecords(topicId: number, partition: number, from: number, until: number): void {
    this.#ops.push(['deleteRecords', topicId, partition, from, until]);
  }

  purgeTopicChunk(topicId: number, limit: number): Output<boolean> {
    return this.#output(['purgeTopicChunk', topicId, limit]);
  }

  upsertGroupOffset(group: string, topicId: number, partition: number, committed: number): void {
    this.#ops.push(['groupOffset', group, topicId, partition, committed]);
  }

  deleteGroup(group: string): void {
    this.#ops.push(['deleteGroup', group]);
  }

  createTopic(name: string, partitions: number, retentionMs: number | null): Output<number> {
    return this.#output(['createTopic', name, partitions, retentionMs]);
  }

  updateTopic(topicId: number, partitions: number, retentionMs: number | null, fromPartition: number): void {
    this.#ops.push(['updateTopic', topicId, partitions, retentionMs, fromPartition]);
  }

  deleteTopic(topicId: number): void {
    this.#ops.push(['deleteTopic', topicId]);
  }

  /** Closes the current write: what follows belongs to the next one. */
  endWrite(): void {
    this.#writeEnds.push(this.#ops.length);
    this.#writeStart = this.#ops.length;
  }

  /** The transaction to send, and what to transfer with it. */
  request(): { request: WriteRequest; transfer: ArrayBuffer[] } {
    const records = this.#packer?.take() ?? null;
    this.#packer = undefined;
    return {
      request: { ops: this.#ops, writeEnds: this.#writeEnds, records },
      transfer: records === null ? [] : [records],
    };
  }

  /** Hands the committed transaction's results to the outputs the writes hold. */
  settle(results: [op: number, value: unknown][]): void {
    for (const [op, value] of results) {
      const output = this.#outputs.get(op);
      if (output !== undefined) output.value = value;
    }
  }

  #output<T>(op: WriteOp): Output<T> {
    const output = new Output<T>();
    this.#outputs.set(this.#ops.length, output as Output<unknown>);
    this.#ops.push(op);
    return output;
  }
}

/** Runs one operation on the writer thread's connection (inside its transaction). */
export function applyOp(writer: SqliteWriter, op: WriteOp, records: RecordUnpacker | undefined): unknown {
  switch (op[0]) {
    case 'records': {
      if (records === undefined) throw new Error('records op without packed records');
      for (let i = 0; i < op[1]; i++) writer.insertRecord.run(...records.next());
      return undefined;
    }
    case 'partition':
      writer.upsertPartition.run(op[1], op[2], op[3], op[4], op[5]);
      return undefined;
    case 'deleteRecords':
      writer.deleteRecordsBelow.run(op[1], op[2], op[3], op[4]);
      return undefined;
    case 'purgeTopicChunk': {
      const result = writer.purgeRecordsChunk.run(op[1], op[2]);
      const finished = Number(result.changes) < op[2];
      if (finished) writer.deleteDeletedTopic.run(op[1]);
      return finished;
    }
    case 'groupOffset':
      writer.upsertGroupOffset.run(op[1], op[2], op[3], op[4]);
      return undefined;
    case 'deleteGroup':
      writer.deleteGroupOffsets.run(op[1]);
      return undefined;
    case 'createTopic': {
      const [, name, partitions, retentionMs] = op;
      const topicId = Number(writer.insertTopic.run(name, partitions, retentionMs).lastInsertRowid);
      for (let index = 0; index < partitions; index++) writer.upsertPartition.run(topicId, index, 0, 0, 0);
      return topicId;
    }
    case 'updateTopic': {
      const [, topicId, partitions, retentionMs, fromPartition] = op;
      writer.updateTopic.run(partitions, retentionMs, topicId);
      for (let index = fromPartition; index < partitions; index++) {
        writer.upsertPartition.run(topicId, index, 0, 0, 0);
      }
      return undefined;
    }
    case 'deleteTopic':
      writer.deleteTopicRow.run(op[1]);
      writer.deleteTopicPartitions.run(op[1]);
      writer.deleteTopicOffsets.run(op[1]);
      writer.insertDeletedTopic.run(op[1]);
      return undefined;
  }
}
