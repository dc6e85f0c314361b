// What a write transaction does, as data: the main thread records the statements of one
// transaction (WriteOps) into one byte buffer (byte-buffer.ts), the writer thread runs them
// (applyOps). One opcode byte per statement, then its fields; a marker closes each write, so a
// failure can be pinned on the write whose statement failed.

import { ByteReader, ByteWriter } from './byte-buffer.js';
import type { EncodedEvent } from './event-codec.js';
import type { SqliteWriter } from './sqlite-store.js';

const Op = {
  endWrite: 0,
  record: 1,
  partition: 2,
  deleteRecords: 3,
  purgeTopicChunk: 4,
  groupOffset: 5,
  deleteGroup: 6,
  createTopic: 7,
  updateTopic: 8,
  deleteTopic: 9,
} as const;

// Record flags: which nullable columns are present. Text and bytes travel alike (UTF-8 bytes);
// the data kind says which `data` is (see SqliteWriter.insertRecord).
const HAS_KEY = 1;
const HAS_TYPES = 2;
const HAS_DATA = 4;

/** One transaction for the writer thread. */
export interface WriteRequest {
  ops: ArrayBuffer;
  length: number;
}

export interface WriteFailure {
  /** `write`: the write at `write` failed and the transaction rolled back; else BEGIN or COMMIT did. */
  stage: 'begin' | 'write' | 'commit';
  write: number;
  message: string;
}

/** `results`: the values of the ops that produce one (see Output), in order. */
export type WriteReply = { ok: true; results: unknown[] } | ({ ok: false } & WriteFailure);

/** A value a write transaction produces, available once it committed. */
export class Output<T> {
  value: T | undefined;
}

/** Records the statements of one transaction on the main thread. */
export class WriteOps {
  readonly #bytes = new ByteWriter();
  readonly #outputs: Output<unknown>[] = [];

  insertRecord(
    topicId: number,
    partition: number,
    offset: number,
    timestamp: number,
    event: EncodedEvent,
  ): void {
    const { key, attributes, attributeTypes, data } = event;
    let flags = 0;
    if (key !== null) flags |= HAS_KEY;
    if (attributeTypes !== null) flags |= HAS_TYPES;
    if (data !== null) flags |= HAS_DATA;
    const bytes = this.#bytes;
    bytes.u8(Op.record);
    bytes.f64(topicId);
    bytes.u32(partition);
    bytes.f64(offset);
    bytes.f64(timestamp);
    bytes.u8(event.dataKind);
    bytes.u8(flags);
    if (key !== null) bytes.string(key);
    bytes.string(attributes);
    if (attributeTypes !== null) bytes.string(attributeTypes);
    if (typeof data === 'string') bytes.string(data);
    else if (data !== null) bytes.bytes(data);
  }

  upsertPartition(
    topicId: number,
    partition: number,
    start: number,
    next: number,
    lastTimestamp: number,
  ): void {
    this.#op(Op.partition, topicId, partition, start, next, lastTimestamp);
  }

  deleteRecords(topicId: number, partition: number, from: number, until: number): void {
    this.#op(Op.deleteRecords, topicId, partition, from, until);
  }

  /** Deletes up to `limit` records of a deleted topic; true once none are left. */
  purgeTopicChunk(topicId: number, limit: number): Output<boolean> {
    this.#op(Op.purgeTopicChunk, topicId, limit);
    return this.#output();
  }

  upsertGroupOffset(group: string, topicId: number, partition: number, committed: number): void {
    this.#bytes.u8(Op.groupOffset);
    this.#bytes.string(group);
    this.#numbers(topicId, partition, committed);
  }

  deleteGroup(group: string): void {
    this.#bytes.u8(Op.deleteGroup);
    this.#bytes.string(group);
  }

  /** Creates the topic and its partitions' rows; the new topic's id. */
  createTopic(name: string, partitions: number, retentionMs: number | null): Output<number> {
    this.#bytes.u8(Op.createTopic);
    this.#bytes.string(name);
    this.#numbers(partitions, retentionMs ?? Number.NaN);
    return this.#output();
  }

  updateTopic(topicId: number, partitions: number, retentionMs: number | null, fromPartition: number): void {
    this.#op(Op.updateTopic, topicId, partitions, retentionMs ?? Number.NaN, fromPartition);
  }

  deleteTopic(topicId: number): void {
    this.#op(Op.deleteTopic, topicId);
  }

  /** Closes the current write: what follows belongs to the next one. */
  endWrite(): void {
    this.#bytes.u8(Op.endWrite);
  }

  /** The transaction to send, and what to transfer with it. The recorder is spent afterwards. */
  request(): { request: WriteRequest; transfer: ArrayBuffer[] } {
    const ops = this.#bytes.take();
    return { request: { ops, length: this.#bytes.length }, transfer: [ops] };
  }

  /** Hands the committed transaction's results to the outputs the writes hold. */
  settle(results: unknown[]): void {
    for (const [i, output] of this.#outputs.entries()) output.value = results[i];
  }

  #op(op: number, ...numbers: number[]): void {
    this.#bytes.u8(op);
    this.#numbers(...numbers);
  }

  #numbers(...numbers: number[]): void {
    for (const n of numbers) this.#bytes.f64(n);
  }

  #output<T>(): Output<T> {
    const output = new Output<T>();
    this.#outputs.push(output as Output<unknown>);
    return output;
  }
}

/** Why a transaction's statements failed, and in which write. */
export class OpError extends Error {
  /** Index of the write (in submission order within the transaction). */
  readonly write: number;

  constructor(write: number, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.write = write;
  }
}

/**
 * Runs a transaction's statements on the writer thread's connection (inside its transaction).
 * Returns the values of the ops that produce one; throws OpError naming the failed write.
 */
export function applyOps(writer: SqliteWriter, request: WriteRequest): unknown[] {
  const ops = new ByteReader(request.ops, request.length);
  const results: unknown[] = [];
  let write = 0;
  try {
    while (!ops.done) {
      const result = applyOp(writer, ops.u8(), ops);
      if (result === END_WRITE) write++;
      else if (result !== undefined) results.push(result);
    }
  } catch (error) {
    throw new OpError(write, error);
  }
  return results;
}

const END_WRITE = Symbol('end of write');

function applyOp(writer: SqliteWriter, op: number, ops: ByteReader): unknown {
  switch (op) {
    case Op.endWrite:
      return END_WRITE;
    case Op.record: {
      const topicId = ops.f64();
      const partition = ops.u32();
      const offset = ops.f64();
      const timestamp = ops.f64();
      const dataKind = ops.u8();
      const flags = ops.u8();
      const key = flags & HAS_KEY ? ops.bytes() : null;
      const attributes = ops.bytes();
      const attributeTypes = flags & HAS_TYPES ? ops.bytes() : null;
      const data = flags & HAS_DATA ? ops.bytes() : null;
      writer.insertRecord.run(
        topicId,
        partition,
        offset,
        timestamp,
        key,
        attributes,
        attributeTypes,
        dataKind,
        data,
      );
      return undefined;
    }
    case Op.partition:
      writer.upsertPartition.run(ops.f64(), ops.f64(), ops.f64(), ops.f64(), ops.f64());
      return undefined;
    case Op.deleteRecords:
      writer.deleteRecordsBelow.run(ops.f64(), ops.f64(), ops.f64(), ops.f64());
      return undefined;
    case Op.purgeTopicChunk: {
      const topicId = ops.f64();
      const limit = ops.f64();
      const result = writer.purgeRecordsChunk.run(topicId, limit);
      const finished = Number(result.changes) < limit;
      if (finished) writer.deleteDeletedTopic.run(topicId);
      return finished;
    }
    case Op.groupOffset:
      writer.upsertGroupOffset.run(ops.string(), ops.f64(), ops.f64(), ops.f64());
      return undefined;
    case Op.deleteGroup:
      writer.deleteGroupOffsets.run(ops.string());
      return undefined;
    case Op.createTopic: {
      const name = ops.string();
      const partitions = ops.f64();
      const retentionMs = nullable(ops.f64());
      const topicId = Number(writer.insertTopic.run(name, partitions, retentionMs).lastInsertRowid);
      for (let index = 0; index < partitions; index++) writer.upsertPartition.run(topicId, index, 0, 0, 0);
      return topicId;
    }
    case Op.updateTopic: {
      const topicId = ops.f64();
      const partitions = ops.f64();
      const retentionMs = nullable(ops.f64());
      const fromPartition = ops.f64();
      writer.updateTopic.run(partitions, retentionMs, topicId);
      for (let index = fromPartition; index < partitions; index++) {
        writer.upsertPartition.run(topicId, index, 0, 0, 0);
      }
      return undefined;
    }
    case Op.deleteTopic: {
      const topicId = ops.f64();
      writer.deleteTopicRow.run(topicId);
      writer.deleteTopicPartitions.run(topicId);
      writer.deleteTopicOffsets.run(topicId);
      writer.insertDeletedTopic.run(topicId);
      return undefined;
    }
    default:
      throw new Error(`unknown write op ${op}`);
  }
}

/** retention_ms NULL travels as NaN. */
function nullable(value: number): number | null {
  return Number.isNaN(value) ? null : value;
}
