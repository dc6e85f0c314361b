import { describe, expect, it } from 'vitest';
import { ConditionSet, type ResourceStatus, withTransitionTimes } from './resource-status.js';

describe('ConditionSet', () => {
  it('Ready is the first False in declared order, else the first Unknown, else True; sorted by type', () => {
    const set = new ConditionSet(['B', 'A', 'C']);
    set.markTrue('B');
    set.markUnknown('C', 'Waiting', 'not yet');
    set.markFalse('A', 'Broken', 'a is broken');
    expect(set.conditions()).toEqual([
      { type: 'A', status: 'False', reason: 'Broken', message: 'a is broken' },
      { type: 'B', status: 'True' },
      { type: 'C', status: 'Unknown', reason: 'Waiting', message: 'not yet' },
      { type: 'Ready', status: 'False', reason: 'Broken', message: 'a is broken' },
    ]);
    set.markTrue('A');
    expect(set.conditions().at(-1)).toEqual({
      type: 'Ready',
      status: 'Unknown',
      reason: 'Waiting',
      message: 'not yet',
    });
    set.markTrue('C');
    expect(set.ready).toBe(true);
  });

  it('a condition never marked keeps Ready Unknown', () => {
    const set = new ConditionSet(['A', 'B']);
    set.markTrue('A');
    expect(set.ready).toBe(false);
    expect(set.conditions().find((c) => c.type === 'Ready')?.status).toBe('Unknown');
  });
});

describe('withTransitionTimes', () => {
  it('keeps the time of unchanged conditions and stamps changed or new ones', () => {
    const before = new Date('2024-01-01T00:00:00Z');
    const later = new Date('2024-01-02T00:00:00Z');
    const first: ResourceStatus = {
      observedGeneration: 1,
      conditions: [
        { type: 'A', status: 'True' },
        { type: 'Ready', status: 'False', reason: 'X', message: 'x' },
      ],
    };
    const stamped = withTransitionTimes(first, undefined, before);
    expect(stamped.conditions.map((c) => c.lastTransitionTime)).toEqual([
      before.toISOString(),
      before.toISOString(),
    ]);
    const second: ResourceStatus = {
      observedGeneration: 2,
      conditions: [
        { type: 'A', status: 'True' },
        { type: 'B', status: 'True' },
        { type: 'Ready', status: 'True' },
      ],
    };
    expect(withTransitionTimes(second, stamped, later).conditions).toEqual([
      { type: 'A', status: 'True', lastTransitionTime: before.toISOString() },
      { type: 'B', status: 'True', lastTransitionTime: later.toISOString() },
      { type: 'Ready', status: 'True', lastTransitionTime: later.toISOString() },
    ]);
  });
});
