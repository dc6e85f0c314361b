// Writing to a streaming HTTP answer (tail, export) with backpressure: the producer awaits each write,
// so a slow client pauses the reading of the log instead of filling memory.

import type { ServerResponse } from 'node:http';

/** Writes one chunk, resolving once the socket took it (or is gone). */
export function writer(res: ServerResponse): (line: string) => Promise<void> {
  return (line) =>
    new Promise((resolve) => {
      if (res.destroyed || res.writableEnded) return resolve();
      if (res.write(line)) return resolve();
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.once('drain', done);
      res.once('close', done);
    });
}
