// Following a Replay's status until it succeeds or fails, as `eddy replay` does without --no-wait: a
// bar redrawn in place on a terminal, otherwise a line every few seconds (a CI log stays readable).
// Everything it touches comes in through ReplayWatch and ReplayTerminal, so tests drive it with a
// status sequence and a fake terminal.

import type { StoredResource } from '../admin/protocol.js';
import {
  progressBar,
  progressLine,
  RateMeter,
  type ReplayStatusView,
  replayProgress,
  replayWaitingLine,
  succeededCondition,
} from '../format/replay-progress.js';
import type { Output } from '../output.js';

export interface ReplayWatch {
  /** The Replay as stored now; undefined once it is gone. */
  fetch(): Promise<StoredResource | undefined>;
}

/** The terminal `eddy replay` runs in (terminal.ts is the real one). */
export interface ReplayTerminal {
  /** stderr is a terminal: the progress is a bar redrawn in place. */
  readonly tty: boolean;
  /** stdin is a terminal too: Ctrl-C asks before cancelling. */
  readonly interactive: boolean;
  readonly columns: number;
  /** Replaces the line being redrawn. */
  draw(line: string): void;
  /** Erases it, before anything else is printed. */
  clear(): void;
  /** Asks and returns what was typed ('' for a bare Enter or a second Ctrl-C). */
  ask(question: string): Promise<string>;
}

export interface FollowOptions {
  /** Aborted by Ctrl-C (SIGINT) or SIGTERM: stop following. */
  interrupted: AbortSignal;
  terminal: ReplayTerminal;
  now?: () => number;
  /** Between status reads; default 1 s. */
  pollMs?: number;
  /** Without a terminal, between progress lines; default 5 s. */
  lineEveryMs?: number;
}

export type FollowOutcome =
  | { outcome: 'finished'; resource: StoredResource }
  /** Deleted (or deleted and created again) by someone else while we followed it. */
  | { outcome: 'gone' }
  | { outcome: 'interrupted' };

export const statusOf = (r: StoredResource | undefined) => r?.status as ReplayStatusView | undefined;

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** `work`, or undefined as soon as `signal` aborts (the request itself is left to finish). */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Polls the Replay until its Succeeded condition is True or False, showing the progress meanwhile. */
export async function followReplay(
  watch: ReplayWatch,
  output: Output,
  options: FollowOptions,
): Promise<FollowOutcome> {
  const { interrupted, terminal } = options;
  const now = options.now ?? Date.now;
  const pollMs = options.pollMs ?? 1000;
  const lineEveryMs = options.lineEveryMs ?? 5000;
  const meter = new RateMeter();
  let uid: string | undefined;
  let lastLine: { at: number; kind: string } | undefined;

  const show = (status: ReplayStatusView | undefined, rate: number | undefined) => {
    const waiting = replayWaitingLine(status);
    const p = replayProgress(status);
    if (terminal.tty) {
      terminal.draw(waiting ?? (p ? progressBar(p, rate, terminal.columns) : ''));
      return;
    }
    // A line when the kind of news changes (started, suspended), else every lineEveryMs.
    const kind = waiting ?? 'progress';
    const at = now();
    if (lastLine && lastLine.kind === kind && at - lastLine.at < lineEveryMs) return;
    lastLine = { at, kind };
    output.err(waiting ?? (p ? progressLine(p, rate) : ''));
  };

  try {
    while (!interrupted.aborted) {
      const resource = await unlessAborted(watch.fetch(), interrupted);
      if (interrupted.aborted) break;
      if (!resource || (uid !== undefined && resource.metadata.uid !== uid)) return { outcome: 'gone' };
      uid = resource.metadata.uid;
      const status = statusOf(resource);
      const done = succeededCondition(status)?.status;
      if (done === 'True' || done === 'False') return { outcome: 'finished', resource };
      const p = replayProgress(status);
      show(status, p ? meter.add(now(), p.done) : undefined);
      await pause(pollMs, interrupted);
    }
    return { outcome: 'interrupted' };
  } finally {
    if (terminal.tty) terminal.clear();
  }
}
