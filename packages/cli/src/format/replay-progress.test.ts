import { describe, expect, it } from 'vitest';
import type { StoredResource } from '../admin/protocol.js';
import { renderResources } from '../commands/get.js';
import { renderDescribe } from './describe-text.js';
import {
  progressBar,
  progressLine,
  RateMeter,
  type ReplayStatusView,
  replayCountLines,
  replayProgress,
  replayState,
  replayWaitingLine,
} from './replay-progress.js';

const succeeded = (status: 'True' | 'False' | 'Unknown', reason: string, message?: string) => ({
  type: 'Succeeded',
  status,
  reason,
  ...(message ? { message } : {}),
});

/** 5000 events in two partitions: 0..2500 and 0..2500, read up to 700 and 500. */
const running: ReplayStatusView = {
  observedGeneration: 1,
  conditions: [{ type: 'Ready', status: 'True' }, succeeded('Unknown', 'Running')],
  matched: 1100,
  delivered: 1000,
  deadLettered: 50,
  failed: 50,
  skipped: 100,
  total: 5000,
  progress: [
    { partition: 1, offset: 500, end: 2500 },
    { partition: 0, offset: 700, end: 2500 },
  ],
  startTime: '2026-12-06T10:00:00Z',
  window: { from: '2026-12-06T08:00:00Z', to: '2026-12-06T10:00:00Z' },
};

const completed: ReplayStatusView = {
  ...running,
  conditions: [{ type: 'Ready', status: 'True' }, succeeded('True', 'Completed')],
  progress: [
    { partition: 0, offset: 2500, end: 2500 },
    { partition: 1, offset: 2500, end: 2500 },
  ],
  completionTime: '2026-12-06T10:03:12Z',
  lastReplayedTime: '2026-12-06T09:59:58Z',
};

describe('replay progress', () => {
  it('counts events behind the read position from the offsets, not the per-target counters', () => {
    expect(replayProgress(running)).toEqual({ done: 1200, total: 5000 });
    expect(replayProgress(completed)).toEqual({ done: 5000, total: 5000 });
    // Not started: the window's size is not known yet; started without positions: nothing done.
    expect(replayProgress({ conditions: [succeeded('Unknown', 'Waiting')] })).toBeUndefined();
    expect(replayProgress({ total: 10 })).toEqual({ done: 0, total: 10 });
    // An offset past the end (compaction, a racing reader) never makes more than the total.
    expect(replayProgress({ total: 10, progress: [{ partition: 0, offset: 99, end: 10 }] })).toEqual({
      done: 10,
      total: 10,
    });
  });

  it('the state is the Succeeded reason, or what its status says without one', () => {
    expect(replayState(running)).toBe('Running');
    expect(replayState(completed)).toBe('Completed');
    expect(replayState({ conditions: [{ type: 'Succeeded', status: 'False' }] })).toBe('Failed');
    expect(replayState({})).toBeUndefined();
  });

  it('rate over a sliding window, and the ETA it gives', () => {
    const meter = new RateMeter(10_000);
    expect(meter.add(0, 0)).toBeUndefined();
    expect(meter.add(500, 100)).toBeUndefined(); // less than a second of samples
    expect(meter.add(2000, 420)).toBe(210);
    // Old samples leave the window: the rate follows a slow-down.
    for (let t = 3000; t <= 20_000; t += 1000) meter.add(t, 420 + (t - 2000) / 100);
    expect(meter.add(21_000, 610)).toBeCloseTo(10, 0);

    expect(progressLine({ done: 1200, total: 5000 }, 210)).toBe('replayed 1200/5000 (24%), 210/s, ETA 18s');
    expect(progressLine({ done: 1200, total: 5000 })).toBe('replayed 1200/5000 (24%)');
    expect(progressLine({ done: 1200, total: 5000 }, 0)).toBe('replayed 1200/5000 (24%), 0/s');
    expect(progressLine({ done: 3, total: 10 }, 0.25)).toBe('replayed 3/10 (30%), 0.3/s, ETA 28s');
    expect(progressLine({ done: 0, total: 0 }, 5)).toBe('replayed 0/0 (100%), 5/s, ETA 0s');
  });

  it('the bar fits the terminal', () => {
    const bar = progressBar({ done: 1200, total: 5000 }, 210, 60);
    expect(bar).toBe(`[${'#'.repeat(6)}${'.'.repeat(21)}] 1200/5000 24%  210/s  ETA 18s`);
    expect(bar.length).toBeLessThanOrEqual(60);
    expect(progressBar({ done: 1, total: 2 }, undefined, 200)).toBe(
      `[${'#'.repeat(20)}${'.'.repeat(20)}] 1/2 50%`,
    );
    // A narrow terminal still gets a 10-wide bar.
    expect(progressBar({ done: 2, total: 2 }, undefined, 5)).toBe(`[${'#'.repeat(10)}] 2/2 100%`);
  });

  it('before it starts and while suspended, a line saying so (with why)', () => {
    expect(replayWaitingLine(undefined)).toBe('waiting for eddy dev to start the replay');
    expect(
      replayWaitingLine({
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'BrokerNotReady',
            message: 'broker default is not ready',
          },
          succeeded('Unknown', 'Waiting'),
        ],
      }),
    ).toBe('waiting for eddy dev to start the replay (broker default is not ready)');
    expect(replayWaitingLine({ ...running, conditions: [succeeded('Unknown', 'Suspended')] })).toBe(
      'suspended at 1200/5000 (24%) (spec.suspend: false resumes it)',
    );
    expect(replayWaitingLine({ conditions: [succeeded('Unknown', 'Running')] })).toBe(
      'replaying (the size of the window is not known yet)',
    );
    expect(replayWaitingLine(running)).toBeUndefined();
  });

  it('counts, aligned; unknown ones as -', () => {
    expect(replayCountLines(running)).toEqual([
      'matched        1100',
      'delivered      1000',
      'dead-lettered    50',
      'failed           50',
      'skipped         100',
      'total          5000',
    ]);
    expect(replayCountLines(undefined)[0]).toBe('matched        -');
  });
});

const created = '2026-12-06T09:59:00Z';
const now = Date.parse('2026-12-06T10:05:00Z');

function replay(name: string, status: ReplayStatusView | undefined, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'eventing.eddy.dev/v1alpha1',
    kind: 'Replay',
    metadata: { name, namespace: 'default', generation: 1, creationTimestamp: created },
    spec: { broker: 'default', from: '2026-12-06T08:00:00Z', target: { triggers: ['orders'] }, ...spec },
    ...(status ? { status } : {}),
  } as StoredResource;
}

describe('eddy get replays, eddy describe replay', () => {
  it('columns: broker, Succeeded reason, progress, delivered, failed, age; -o wide adds target and message', () => {
    const rows = [
      replay('a', running),
      replay('b', completed, { dryRun: true }),
      replay('c', undefined, { target: { destination: { ref: { kind: 'Service', name: 'display' } } } }),
    ];
    const table = renderResources('Replay', rows, 'table', {
      allNamespaces: false,
      single: false,
      context: { now },
    });
    expect(table).toEqual([
      'NAME   BROKER    STATUS                PROGRESS    DELIVERED   FAILED   AGE',
      'a      default   Running               1200/5000   1000        50       6m',
      'b      default   Completed (dry run)   5000/5000   1000        50       6m',
      'c      default                                                          6m',
    ]);
    const wide = renderResources('Replay', rows, 'wide', {
      allNamespaces: false,
      single: false,
      context: { now },
    });
    expect(wide[0]).toMatch(/DEAD-LETTERED +TARGET +AGE +MESSAGE$/);
    expect(wide[1]).toContain('triggers orders');
    expect(wide[3]).toContain('ref Service/display');
  });

  it('describe shows the window, state, progress, times, counts and each partition', () => {
    const lines = renderDescribe({ resource: replay('a', completed), events: [] }, now);
    const from = lines.indexOf('Spec:');
    expect(lines.slice(lines.indexOf('Window:       2026-12-06T08:00:00Z .. 2026-12-06T10:00:00Z'))).toEqual([
      'Window:       2026-12-06T08:00:00Z .. 2026-12-06T10:00:00Z',
      'State:        Completed',
      'Progress:     5000/5000 (100%)',
      'Started:      2026-12-06T10:00:00Z (5m ago)',
      'Completed:    2026-12-06T10:03:12Z (108s ago), took 3m12s',
      'Latest event: 2026-12-06T09:59:58Z',
      'Counts:',
      '  matched        1100',
      '  delivered      1000',
      '  dead-lettered    50',
      '  failed           50',
      '  skipped         100',
      '  total          5000',
      'Partitions:',
      '  PARTITION   NEXT OFFSET   END    LEFT',
      '  0           2500          2500   0',
      '  1           2500          2500   0',
      'Conditions:',
      ...lines.slice(lines.indexOf('Conditions:') + 1),
    ]);
    expect(from).toBeGreaterThan(0);
    expect(lines).not.toContain('Status:');
    // Not reconciled yet: the window as asked, and no state.
    const fresh = renderDescribe({ resource: replay('c', undefined), events: [] }, now);
    expect(fresh).toContain('Window:       2026-12-06T08:00:00Z .. (when the replay starts)');
    expect(fresh).toContain('State:        <not started>');
  });
});
