// Reading a response body without trusting its size: a subscriber that answers with gigabytes,
// or trickles bytes forever, must cost at most a fixed amount of memory (and the attempt's
// timeout, which aborts the stream). Used by the broker's deliverer and the source emitter.

import type { Readable } from 'node:stream';

/**
 * How much of a response body a client reads (and throws away) after it has what it needs, so a
 * small body leaves the keep-alive connection reusable; beyond it the connection is dropped.
 */
export const DRAIN_LIMIT_BYTES = 64 * 1024;

export interface BoundedBody {
  /** The first `keepBytes` bytes. */
  bytes: Buffer;
  /** Bytes seen in total (kept + discarded). */
  seen: number;
  /** True when the body ended within `readLimit`; false when it was cut off (stream destroyed). */
  complete: boolean;
}

/**
 * Keeps the first `keepBytes` of `body`, reads on (discarding) up to `readLimit` bytes so a
 * small body leaves the keep-alive connection reusable, and destroys the stream beyond that.
 */
export async function readBounded(
  body: Readable,
  keepBytes: number,
  readLimit: number,
): Promise<BoundedBody> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let seen = 0;
  for await (const chunk of body) {
    const buf: Buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    seen += buf.length;
    if (keptBytes < keepBytes) {
      const part = buf.subarray(0, keepBytes - keptBytes);
      kept.push(part);
      keptBytes += part.length;
    }
    if (seen > readLimit) {
      // Leaving the loop early destroys the stream (and with it the connection).
      return { bytes: Buffer.concat(kept, keptBytes), seen, complete: false };
    }
  }
  return { bytes: Buffer.concat(kept, keptBytes), seen, complete: true };
}
