// Records travel to the writer thread packed into one buffer per transaction, transferred with the
// batch rather than copied: structured-cloning an object (and a Uint8Array) per record costs about
// as much as the INSERT it feeds. Only the main thread packs; only the writer thread unpacks.

import type { EncodedEvent } from './event-codec.js';

const HAS_KEY = 1;
const HAS_TYPES = 2;
const HAS_DATA = 4;
/** `data` is a string (JSON or text); otherwise bytes. Kept so SQLite stores the same type. */
const DATA_IS_TEXT = 8;
/** topic id u32, partition u32, offset f64, timestamp f64, data kind u8, flags u8. */
const HEADER_BYTES = 26;
const INITIAL_BYTES = 64 * 1024;

export class RecordPacker {
  #buffer: Buffer = Buffer.allocUnsafeSlow(INITIAL_BYTES);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  add(topicId: number, partition: number, offset: number, timestamp: number, event: EncodedEvent): void {
    const { key, attributes, attributeTypes, data } = event;
    let flags = 0;
    if (key !== null) flags |= HAS_KEY;
    if (attributeTypes !== null) flags |= HAS_TYPES;
    if (data !== null) flags |= typeof data === 'string' ? HAS_DATA | DATA_IS_TEXT : HAS_DATA;
    this.#reserve(HEADER_BYTES);
    const buffer = this.#buffer;
    let at = this.#length;
    buffer.writeUInt32LE(topicId, at);
    buffer.writeUInt32LE(partition, at + 4);
    buffer.writeDoubleLE(offset, at + 8);
    buffer.writeDoubleLE(timestamp, at + 16);
    buffer.writeUInt8(event.dataKind, at + 24);
    buffer.writeUInt8(flags, at + 25);
    this.#length = at + HEADER_BYTES;
    if (key !== null) this.#string(key);
    this.#string(attributes);
    if (attributeTypes !== null) this.#string(attributeTypes);
    if (typeof data === 'string') this.#string(data);
    else if (data !== null) {
      this.#reserve(4 + data.byteLength);
      at = this.#length;
      this.#buffer.writeUInt32LE(data.byteLength, at);
      this.#buffer.set(data, at + 4);
      this.#length = at + 4 + data.byteLength;
    }
  }

  /** The packed bytes (to transfer; the packer must not be used afterwards). */
  take(): ArrayBuffer {
    return this.#buffer.buffer as ArrayBuffer;
  }

  #string(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    this.#reserve(4 + text.length * 3);
    const at = this.#length;
    const written = this.#buffer.write(text, at + 4, 'utf8');
    this.#buffer.writeUInt32LE(written, at);
    this.#length = at + 4 + written;
  }

  #reserve(bytes: number): void {
    const needed = this.#length + bytes;
    if (needed <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(needed, this.#buffer.length * 2));
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }
}

/** One unpacked record, in the column order of the INSERT. */
export type RecordValues = [
  topicId: number,
  partition: number,
  offset: number,
  timestamp: number,
  key: string | null,
  attributes: string,
  attributeTypes: string | null,
  dataKind: number,
  data: string | Uint8Array | null,
];

export class RecordUnpacker {
  readonly #buffer: Buffer;
  #at = 0;

  constructor(packed: ArrayBuffer) {
    this.#buffer = Buffer.from(packed);
  }

  next(): RecordValues {
    const buffer = this.#buffer;
    const at = this.#at;
    const flags = buffer.readUInt8(at + 25);
    this.#at = at + HEADER_BYTES;
    const key = flags & HAS_KEY ? this.#string() : null;
    const attributes = this.#string();
    const attributeTypes = flags & HAS_TYPES ? this.#string() : null;
    let data: string | Uint8Array | null = null;
    if (flags & DATA_IS_TEXT) data = this.#string();
    else if (flags & HAS_DATA) data = this.#bytes();
    return [
      buffer.readUInt32LE(at),
      buffer.readUInt32LE(at + 4),
      buffer.readDoubleLE(at + 8),
      buffer.readDoubleLE(at + 16),
      key,
      attributes,
      attributeTypes,
      buffer.readUInt8(at + 24),
      data,
    ];
  }

  #string(): string {
    const length = this.#buffer.readUInt32LE(this.#at);
    const start = this.#at + 4;
    this.#at = start + length;
    return this.#buffer.toString('utf8', start, start + length);
  }

  #bytes(): Uint8Array {
    const length = this.#buffer.readUInt32LE(this.#at);
    const start = this.#at + 4;
    this.#at = start + length;
    return this.#buffer.subarray(start, start + length);
  }
}
