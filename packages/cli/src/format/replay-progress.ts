// How far a Replay got, read from its status (@eddy/api's ReplayStatus): shared by `eddy replay`'s
// progress bar and lines, `eddy get replays` and `eddy describe replay`, so they never disagree.

import type { Condition, ReplayStatus } from '@eddy/api';
import { humanDuration } from './age.js';

/** A Replay's status as the admin API returns it: any field may be missing (not reconciled yet). */
export type ReplayStatusView = Partial<ReplayStatus>;

export interface ReplayProgress {
  done: number;
  total: number;
}

export function succeededCondition(status: ReplayStatusView | undefined): Condition | undefined {
  return status?.conditions?.find((c) => c.type === 'Succeeded');
}

/**
 * Waiting, Running, Suspended, Completed or Failed (the Succeeded condition's reason); undefined until
 * the control plane has looked at the Replay.
 */
export function replayState(status: ReplayStatusView | undefined): string | undefined {
  const c = succeededCondition(status);
  if (!c) return undefined;
  if (c.reason) return c.reason;
  return c.status === 'True' ? 'Completed' : c.status === 'False' ? 'Failed' : 'Running';
}

/**
 * Events of the window behind the read position. From the offsets rather than the counters: the
 * counters count one delivery per event and target, the offsets (the lowest over targets) count
 * events, as `total` does. Undefined while the window's size is not known yet.
 */
export function replayProgress(status: ReplayStatusView | undefined): ReplayProgress | undefined {
  const total = status?.total;
  if (typeof total !== 'number') return undefined;
  if (succeededCondition(status)?.status === 'True') return { done: total, total };
  if (!status?.progress) return { done: 0, total };
  const remaining = status.progress.reduce((sum, p) => sum + Math.max(0, p.end - p.offset), 0);
  return { done: Math.min(total, Math.max(0, total - remaining)), total };
}

/** Events per second over a sliding window of (time, done) samples. */
export class RateMeter {
  readonly #samples: { at: number; done: number }[] = [];

  constructor(readonly windowMs = 10_000) {}

  /** Adds a sample; the rate once the samples span at least a second, else undefined. */
  add(at: number, done: number): number | undefined {
    this.#samples.push({ at, done });
    // Keep one sample at or before the window's start, so the rate always spans the whole window.
    while (this.#samples.length > 2 && (this.#samples[1]?.at ?? at) <= at - this.windowMs)
      this.#samples.shift();
    const first = this.#samples[0];
    if (!first || at - first.at < 1000) return undefined;
    return Math.max(0, (done - first.done) / ((at - first.at) / 1000));
  }
}

const percent = (p: ReplayProgress) => (p.total === 0 ? 100 : Math.floor((p.done * 100) / p.total));

function rateText(rate: number): string {
  return `${rate >= 10 ? Math.round(rate) : Math.round(rate * 10) / 10}/s`;
}

/** `210/s, ETA 18s`; nothing while the rate is unknown, no ETA while nothing moves. */
function speedParts(p: ReplayProgress, rate: number | undefined): string[] {
  if (rate === undefined) return [];
  const parts = [rateText(rate)];
  if (rate > 0) parts.push(`ETA ${humanDuration(((p.total - p.done) / rate) * 1000)}`);
  return parts;
}

/** `1200/5000 (24%)` */
export function progressText(p: ReplayProgress): string {
  return `${p.done}/${p.total} (${percent(p)}%)`;
}

/** `replayed 1200/5000 (24%), 210/s, ETA 18s` */
export function progressLine(p: ReplayProgress, rate?: number): string {
  return [`replayed ${progressText(p)}`, ...speedParts(p, rate)].join(', ');
}

/** `[#######.............] 1200/5000 24%  210/s  ETA 18s`, at most `columns` wide. */
export function progressBar(p: ReplayProgress, rate: number | undefined, columns: number): string {
  const tail = [`${p.done}/${p.total} ${percent(p)}%`, ...speedParts(p, rate)].join('  ');
  const width = Math.max(10, Math.min(40, columns - tail.length - 4));
  const filled = p.total === 0 ? width : Math.floor((p.done * width) / p.total);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${tail}`;
}

/**
 * What a Replay is doing, in one line, for the states without a moving count: not started yet
 * (with why, when the control plane says), suspended, or running before its total is known.
 */
export function replayWaitingLine(status: ReplayStatusView | undefined): string | undefined {
  const state = replayState(status);
  const p = replayProgress(status);
  if (state === 'Suspended')
    return `suspended${p ? ` at ${progressText(p)}` : ''} (spec.suspend: false resumes it)`;
  if (state === 'Running' && !p) return 'replaying (the size of the window is not known yet)';
  if (p && state !== undefined && state !== 'Waiting') return undefined;
  const why =
    succeededCondition(status)?.message ?? status?.conditions?.find((c) => c.type === 'Ready')?.message;
  return `waiting for eddy dev to start the replay${why ? ` (${why})` : ''}`;
}

/** The counters, one aligned `label  value` line each, in the order they add up. */
export function replayCountLines(status: ReplayStatusView | undefined): string[] {
  const n = (v: number | undefined) => (typeof v === 'number' ? String(v) : '-');
  const rows: [string, string][] = [
    ['matched', n(status?.matched)],
    ['delivered', n(status?.delivered)],
    ['dead-lettered', n(status?.deadLettered)],
    ['failed', n(status?.failed)],
    ['skipped', n(status?.skipped)],
    ['total', n(status?.total)],
  ];
  const width = Math.max(...rows.map(([, v]) => v.length));
  return rows.map(([label, v]) => `${label.padEnd(15)}${v.padStart(width)}`);
}

/** `completed in 3m12s`-style duration between two RFC 3339 times; undefined when either is missing. */
export function replayDuration(status: ReplayStatusView | undefined): string | undefined {
  const start = status?.startTime ? Date.parse(status.startTime) : Number.NaN;
  const end = status?.completionTime ? Date.parse(status.completionTime) : Number.NaN;
  return Number.isNaN(start) || Number.isNaN(end) ? undefined : humanDuration(end - start);
}
