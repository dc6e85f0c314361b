// How a data-plane process keeps its contract-feed status current without flooding the control plane:
// it builds its status every `intervalMs` (default 2 s) and sends it when its signature moved, and
// every `refreshMs` (default 30 s) anyway so values that decay with time (rates) fall off once nothing
// moves. `flush()` checks at once, for changes a control plane waits on (a source turning Ready).
// A process sends ONE status object: a report replaces the member's previous status, so everything it
// reports (its event types, its counters, its sources) goes through one reporter.

export interface StatusReporterOptions<T> {
  /** What the process reports now. */
  build(): T | Promise<T>;
  /** Changes when the status is worth sending; equal signatures are not sent again before refreshMs. */
  signature(status: T): string;
  /** Where it goes: the contract watch's report(). */
  send(status: T): void;
  /** How often the status is built and compared: the least time between two sends; default 2000 ms. */
  intervalMs?: number;
  /** Longest time without a send; default 30_000 ms. */
  refreshMs?: number;
  /** Told when build() throws (the reporter keeps running). */
  onError?(error: unknown): void;
}

export interface StatusReporter {
  /** Builds the status now and sends it if its signature moved (not throttled). */
  flush(): Promise<void>;
  stop(): void;
}

export function startStatusReporter<T>(options: StatusReporterOptions<T>): StatusReporter {
  const intervalMs = options.intervalMs ?? 2_000;
  const refreshMs = options.refreshMs ?? 30_000;
  if (!(intervalMs > 0) || !(refreshMs >= intervalMs))
    throw new RangeError(
      `status reporter: intervalMs must be > 0 and refreshMs >= intervalMs, got ${intervalMs} and ${refreshMs}`,
    );
  let sent: string | undefined;
  let sentAt = 0;
  let stopped = false;
  // One build at a time: a flush during a tick's build checks again after it.
  let queue = Promise.resolve();
  const run = async () => {
    try {
      const status = await options.build();
      if (stopped) return;
      const signature = options.signature(status);
      const now = Date.now();
      if (signature === sent && now - sentAt < refreshMs) return;
      sent = signature;
      sentAt = now;
      options.send(status);
    } catch (error) {
      options.onError?.(error);
    }
  };
  const check = (): Promise<void> => {
    queue = queue.then(run);
    return queue;
  };
  const timer = setInterval(() => void check(), intervalMs);
  timer.unref();
  return {
    flush: check,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
