// The ids the Services' replicas wrote (service.ts: one file per replica, a sequence number a line),
// read as they grow: per Service, how many times each event arrived.
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

export class ReceivedIds {
  readonly #dir: string;
  readonly #files = new Map<string, { offset: number; partial: string }>();
  /** Service -> times each sequence number arrived (saturates at 255). */
  readonly counts = new Map<string, Uint8Array>();
  readonly #capacity: number;

  constructor(dir: string, services: string[], capacity: number) {
    this.#dir = dir;
    this.#capacity = capacity;
    for (const s of services) this.counts.set(s, new Uint8Array(capacity));
  }

  /** Reads what the replicas appended since the last call; the lines per Service. */
  poll(): Map<string, number> {
    const added = new Map<string, number>();
    for (const name of readdirSync(this.#dir)) {
      const service = /^(.+)-\d+\.ids$/.exec(name)?.[1];
      const counts = service ? this.counts.get(service) : undefined;
      if (!service || !counts) continue;
      const file = join(this.#dir, name);
      const state = this.#files.get(name) ?? { offset: 0, partial: '' };
      this.#files.set(name, state);
      const size = statSync(file).size;
      if (size <= state.offset) continue;
      const buffer = Buffer.alloc(size - state.offset);
      const fd = openSync(file, 'r');
      try {
        readSync(fd, buffer, 0, buffer.length, state.offset);
      } finally {
        closeSync(fd);
      }
      state.offset = size;
      const lines = (state.partial + buffer.toString('latin1')).split('\n');
      state.partial = lines.pop() ?? '';
      for (const line of lines) {
        const seq = Number(line);
        if (!Number.isInteger(seq) || seq < 0 || seq >= this.#capacity) continue;
        if ((counts[seq] as number) < 255) counts[seq] = (counts[seq] as number) + 1;
      }
      added.set(service, (added.get(service) ?? 0) + lines.length);
    }
    return added;
  }

  /** Per Service: acknowledged events never received, and events received more than once (extra copies). */
  tally(
    acked: Uint8Array,
    upTo: number,
  ): Map<string, { lost: number; duplicates: number; lostSample: number[] }> {
    const out = new Map<string, { lost: number; duplicates: number; lostSample: number[] }>();
    for (const [service, counts] of this.counts) {
      let lost = 0;
      let duplicates = 0;
      const lostSample: number[] = [];
      for (let i = 0; i < upTo; i++) {
        const n = counts[i] as number;
        if (acked[i] && n === 0) {
          lost++;
          if (lostSample.length < 10) lostSample.push(i);
        }
        if (n > 1) duplicates += n - 1;
      }
      out.set(service, { lost, duplicates, lostSample });
    }
    return out;
  }
}
