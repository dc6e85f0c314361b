// `eddy describe replay`: the status read for a person (the window as resolved, where it stands, the
// counters, each partition's position) instead of the generic YAML block.

import type { StoredResource } from '../admin/protocol.js';
import { age } from './age.js';
import {
  progressText,
  type ReplayStatusView,
  replayCountLines,
  replayDuration,
  replayProgress,
  replayState,
} from './replay-progress.js';
import { renderTable } from './table.js';

const field = (label: string, value: string) => `${`${label}:`.padEnd(14)}${value}`;
const at = (time: string, now: number) => `${time} (${age(time, now)} ago)`;

export function replayStatusLines(r: StoredResource, now: number): string[] {
  const status = r.status as ReplayStatusView | undefined;
  const spec = (r.spec ?? {}) as { from?: string; to?: string };
  const out: string[] = [];
  const window = status?.window ?? { from: spec.from ?? '?', to: spec.to ?? '(when the replay starts)' };
  out.push(field('Window', `${window.from} .. ${window.to}`));
  out.push(field('State', replayState(status) ?? '<not started>'));
  const p = replayProgress(status);
  if (p) out.push(field('Progress', progressText(p)));
  if (status?.startTime) out.push(field('Started', at(status.startTime, now)));
  if (status?.completionTime) {
    const took = replayDuration(status);
    out.push(field('Completed', `${at(status.completionTime, now)}${took ? `, took ${took}` : ''}`));
  }
  if (status?.lastReplayedTime) out.push(field('Latest event', status.lastReplayedTime));
  out.push('Counts:', ...replayCountLines(status).map((l) => `  ${l}`));
  const partitions = [...(status?.progress ?? [])].sort((a, b) => a.partition - b.partition);
  if (partitions.length > 0) {
    out.push('Partitions:');
    out.push(
      ...renderTable(
        ['PARTITION', 'NEXT OFFSET', 'END', 'LEFT'],
        partitions.map((x) => [x.partition, x.offset, x.end, Math.max(0, x.end - x.offset)].map(String)),
      ).map((l) => `  ${l}`),
    );
  }
  return out;
}
