import { describe, expect, it } from 'vitest';
import { MemberlessCommitter } from './memberless-committer.js';

/** A send that records calls and settles when told. */
function scriptedSend() {
  const calls: { group: string; offsets: [number, number][]; settle: (error?: Error) => void }[] = [];
  let running = 0;
  let maxRunning = 0;
  const send = (group: string, _topic: string, offsets: [number, number][]) =>
    new Promise<void>((resolve, reject) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      calls.push({
        group,
        offsets,
        settle: (error) => {
          running--;
          if (error) reject(error);
          else resolve();
        },
      });
    });
  return { send, calls, maxRunning: () => maxRunning };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('MemberlessCommitter', () => {
  it('never has more requests in flight than its concurrency, however many groups commit', async () => {
    const s = scriptedSend();
    const committer = new MemberlessCommitter(s.send, 4);
    const done = Array.from({ length: 100 }, (_, i) => committer.commit(`g${i}`, 't', [[0, i]]));
    expect(s.calls).toHaveLength(4);
    for (let i = 0; i < 100; i++) {
      s.calls[i]!.settle();
      await tick();
      expect(committer.inFlight).toBeLessThanOrEqual(4);
    }
    await Promise.all(done);
    expect(s.calls).toHaveLength(100);
    expect(s.maxRunning()).toBe(4);
  });

  it('coalesces commits of a group made while one is in flight into the next request, newest offset winning', async () => {
    const s = scriptedSend();
    const committer = new MemberlessCommitter(s.send, 4);
    const first = committer.commit('g', 't', [[0, 1]]);
    const second = committer.commit('g', 't', [
      [0, 5],
      [1, 2],
    ]);
    const third = committer.commit('g', 't', [[0, 7]]);
    // One request per group at a time: an older offset never lands after a newer one.
    expect(s.calls.map((c) => c.offsets)).toEqual([[[0, 1]]]);
    s.calls[0]!.settle();
    await first;
    await tick();
    expect(s.calls.map((c) => c.offsets)).toEqual([
      [[0, 1]],
      [
        [0, 7],
        [1, 2],
      ],
    ]);
    s.calls[1]!.settle();
    await Promise.all([second, third]);
  });

  it('a failed request rejects exactly the commits it carried', async () => {
    const s = scriptedSend();
    const committer = new MemberlessCommitter(s.send, 1);
    const a = committer.commit('a', 't', [[0, 1]]);
    const b = committer.commit('b', 't', [[0, 1]]);
    s.calls[0]!.settle(new Error('coordinator moved'));
    await expect(a).rejects.toThrow('coordinator moved');
    await tick();
    s.calls[1]!.settle();
    await expect(b).resolves.toBeUndefined();
  });
});
