// The reconciler's view of replay progress: a reader of the replay checkpoints on the event log,
// opened in the background (a Kafka group join must not hold up `eddy dev`'s start) and opened again
// after a failure. Until it is open, running replays report no progress yet.

import { type EventLog, progressFrom, ReplayCheckpoints } from '@eddy/broker';
import { sleep } from '@eddy/runtime';
import type pino from 'pino';
import type { ReplayProgressFeed } from './reconciler.js';

const REOPEN_DELAY_MS = 5_000;

export class LogReplayProgressFeed implements ReplayProgressFeed {
  #checkpoints: ReplayCheckpoints | undefined;
  #progress: ReplayProgressFeed['progress'] | undefined;
  readonly #listeners = new Set<() => void>();
  readonly #stop = new AbortController();
  readonly #opening: Promise<void>;

  constructor(log: EventLog, logger: pino.Logger) {
    this.#opening = (async () => {
      while (!this.#stop.signal.aborted) {
        try {
          const checkpoints = await ReplayCheckpoints.open({ log, logger });
          if (this.#stop.signal.aborted) {
            await checkpoints.close();
            return;
          }
          this.#checkpoints = checkpoints;
          this.#progress = progressFrom(checkpoints);
          checkpoints.onChange(() => this.#changed());
          this.#changed();
          return;
        } catch (error) {
          logger.warn(
            { err: error },
            `replay progress: cannot read the checkpoints yet: ${(error as Error).message}`,
          );
          await sleep(REOPEN_DELAY_MS, this.#stop.signal);
        }
      }
    })();
  }

  readonly progress: ReplayProgressFeed['progress'] = (uid, targets) => this.#progress?.(uid, targets);

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#stop.abort();
    await this.#opening;
    this.#listeners.clear();
    await this.#checkpoints?.close();
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}
