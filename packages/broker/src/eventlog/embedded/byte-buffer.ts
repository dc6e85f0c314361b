// A transaction travels to the writer thread as one byte buffer, transferred with the message
// rather than copied: structured-cloning an object (and a Uint8Array) per record or statement
// costs about as much as the INSERT it feeds. Only the main thread writes; only the writer thread
// reads.

// Small: most transactions of an ingress under load hold a few events, and every transaction
// allocates its own buffer (it is transferred away); larger ones grow by doubling.
const INITIAL_BYTES = 8 * 1024;

export class ByteWriter {
  #buffer: Buffer = Buffer.allocUnsafeSlow(INITIAL_BYTES);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  u8(value: number): void {
    this.#reserve(1);
    this.#length = this.#buffer.writeUInt8(value, this.#length);
  }

  u32(value: number): void {
    this.#reserve(4);
    this.#length = this.#buffer.writeUInt32LE(value, this.#length);
  }

  /** Offsets, timestamps and ids: integers beyond 32 bits, exact up to 2^53 as doubles. */
  f64(value: number): void {
    this.#reserve(8);
    this.#length = this.#buffer.writeDoubleLE(value, this.#length);
  }

  string(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    this.#reserve(4 + text.length * 3);
    const written = this.#buffer.write(text, this.#length + 4, 'utf8');
    this.#buffer.writeUInt32LE(written, this.#length);
    this.#length += 4 + written;
  }

  bytes(data: Uint8Array): void {
    this.#reserve(4 + data.byteLength);
    this.#buffer.writeUInt32LE(data.byteLength, this.#length);
    this.#buffer.set(data, this.#length + 4);
    this.#length += 4 + data.byteLength;
  }

  /** The written bytes' backing store (to transfer; the writer must not be used afterwards). */
  take(): ArrayBuffer {
    return this.#buffer.buffer as ArrayBuffer;
  }

  #reserve(bytes: number): void {
    const needed = this.#length + bytes;
    if (needed <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(needed, this.#buffer.length * 2));
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }
}

export class ByteReader {
  readonly #buffer: Buffer;
  readonly #length: number;
  #at = 0;

  constructor(buffer: ArrayBuffer, length: number) {
    this.#buffer = Buffer.from(buffer, 0, length);
    this.#length = length;
  }

  get done(): boolean {
    return this.#at >= this.#length;
  }

  u8(): number {
    return this.#buffer.readUInt8(this.#at++);
  }

  u32(): number {
    const value = this.#buffer.readUInt32LE(this.#at);
    this.#at += 4;
    return value;
  }

  f64(): number {
    const value = this.#buffer.readDoubleLE(this.#at);
    this.#at += 8;
    return value;
  }

  string(): string {
    const start = this.#span();
    return this.#buffer.toString('utf8', start, this.#at);
  }

  /** A view into the buffer (no copy); SQLite copies it when it binds. */
  bytes(): Uint8Array {
    const start = this.#span();
    return this.#buffer.subarray(start, this.#at);
  }

  /** Skips a length-prefixed field; returns where its bytes start. */
  #span(): number {
    const length = this.u32();
    const start = this.#at;
    this.#at = start + length;
    return start;
  }
}
