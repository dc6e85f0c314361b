import { describe, expect, it } from 'vitest';
import type { StoredResource } from '../admin/protocol.js';
import type { ReplayStatusView } from '../format/replay-progress.js';
import type { Output } from '../output.js';
import { cond, fakeTerminal, finishedStatus, runningStatus } from '../testing/replay-fakes.js';
import { type FollowOptions, followReplay, type ReplayTerminal } from './replay-wait.js';

const replay = (status: ReplayStatusView | undefined, uid = 'u1'): StoredResource => ({
  apiVersion: 'eventing.eddy.dev/v1alpha1',
  kind: 'Replay',
  metadata: {
    name: 'r1',
    namespace: 'default',
    generation: 1,
    creationTimestamp: '2026-12-06T10:00:00Z',
    uid,
  },
  spec: { broker: 'default', from: '2026-12-06T09:00:00Z', target: { triggers: ['t'] } },
  ...(status ? { status: status as StoredResource['status'] } : {}),
});

/**
 * Follows a replay whose reads return `sequence` one after the other (the last one again after that),
 * on a clock that moves a second per read; `onRead(i)` runs before read i is answered.
 */
async function follow(
  sequence: (StoredResource | undefined)[],
  terminal: ReplayTerminal,
  onRead: (i: number, stop: AbortController) => void = () => {},
  options: Partial<FollowOptions> = {},
) {
  const stderr: string[] = [];
  const output: Output = { out: () => {}, err: (l) => stderr.push(l) };
  let clock = 0;
  let reads = 0;
  const stop = new AbortController();
  const outcome = await followReplay(
    {
      fetch: async () => {
        const i = reads++;
        onRead(i, stop);
        clock += 1000;
        return sequence[Math.min(i, sequence.length - 1)];
      },
    },
    output,
    { interrupted: stop.signal, terminal, now: () => clock, pollMs: 1, ...options },
  );
  return { outcome, stderr, reads };
}

describe('following a replay', () => {
  it('without a terminal: a line when it starts, then one every 5 s, until Succeeded is True', async () => {
    const sequence = [
      replay(undefined),
      replay({ conditions: cond('Unknown', 'Waiting') as ReplayStatusView['conditions'] }),
      ...[0, 100, 200, 300, 400, 500, 600, 700, 800, 900].map((d) => replay(runningStatus(d))),
      replay(finishedStatus(true)),
    ];
    const { outcome, stderr } = await follow(sequence, fakeTerminal(false));
    expect(outcome).toMatchObject({ outcome: 'finished' });
    expect(stderr).toEqual([
      'waiting for eddy dev to start the replay',
      'replayed 0/1000 (0%)',
      'replayed 500/1000 (50%), 100/s, ETA 5s',
    ]);
  });

  it('on a terminal: a bar redrawn on every read, erased at the end; nothing else printed', async () => {
    const sequence = [replay(runningStatus(0)), replay(runningStatus(250)), replay(runningStatus(500))];
    const terminal = fakeTerminal(true);
    const { outcome, stderr } = await follow([...sequence, replay(finishedStatus(false, 'boom'))], terminal);
    expect(outcome).toMatchObject({ outcome: 'finished' });
    expect(stderr).toEqual([]);
    expect(terminal.drawn).toEqual([
      `[${'.'.repeat(40)}] 0/1000 0%`,
      `[${'#'.repeat(7)}${'.'.repeat(22)}] 250/1000 25%  250/s  ETA 3s`,
      `[${'#'.repeat(14)}${'.'.repeat(15)}] 500/1000 50%  250/s  ETA 2s`,
    ]);
    expect(terminal.cleared).toBe(1);
  });

  it('suspended: says so once, not every read', async () => {
    const suspended = replay({
      ...runningStatus(300),
      conditions: cond('Unknown', 'Suspended') as ReplayStatusView['conditions'],
    });
    const { stderr } = await follow(
      [suspended, suspended, suspended, replay(finishedStatus(true))],
      fakeTerminal(false),
    );
    expect(stderr).toEqual(['suspended at 300/1000 (30%) (spec.suspend: false resumes it)']);
  });

  it('Ctrl-C stops following at once, even in the middle of a read', async () => {
    const running = replay(runningStatus(10));
    const { outcome, reads } = await follow([running], fakeTerminal(false), (i, stop) => {
      if (i === 2) stop.abort();
    });
    expect(outcome).toEqual({ outcome: 'interrupted' });
    expect(reads).toBe(3);
  });

  it('deleted, or deleted and created again under the name: gone', async () => {
    expect((await follow([replay(runningStatus(1)), undefined], fakeTerminal(false))).outcome).toEqual({
      outcome: 'gone',
    });
    expect(
      (await follow([replay(runningStatus(1)), replay(runningStatus(0), 'u2')], fakeTerminal(false))).outcome,
    ).toEqual({ outcome: 'gone' });
  });
});
