import { describe, expect, it } from 'vitest';
import type { ReadyCondition, SourceStatus } from '../sdk/runner.js';
import { mergeMemberStatuses } from './member-statuses.js';

const status = (
  ready: Omit<ReadyCondition, 'type' | 'lastTransitionTime'>,
  address?: string,
): SourceStatus => ({
  key: 'SqsSource/demo/orders',
  apiVersion: 'sources.eddy.dev/v1alpha1',
  kind: 'SqsSource',
  namespace: 'demo',
  name: 'orders',
  ready: { type: 'Ready', lastTransitionTime: '2026-01-01T00:00:00Z', ...ready },
  ...(address ? { address: { url: address } } : {}),
});
const ready = (address?: string) => status({ status: 'True', reason: 'Started' }, address);

describe('mergeMemberStatuses', () => {
  it('takes a source placed on one member from that member, as it is', () => {
    const down = status({ status: 'False', reason: 'SourcesProcessDown', message: 'exited' });
    expect(mergeMemberStatuses([{ member: 'sources-2 (shard 1/2)', status: down }])).toEqual(down);
  });

  it('is Ready when every member is, with the address one of them reports', () => {
    const merged = mergeMemberStatuses([
      { member: 'sources-1', status: ready() },
      { member: 'sources-2', status: ready('http://127.0.0.1:9/') },
    ]);
    expect(merged.ready).toMatchObject({ status: 'True', reason: 'Started' });
    expect(merged.address).toEqual({ url: 'http://127.0.0.1:9/' });
  });

  it('names the member that is not Ready, False before Unknown, with how many are', () => {
    const merged = mergeMemberStatuses([
      { member: 'sources-1', status: ready('http://127.0.0.1:9/') },
      { member: 'sources-2', status: status({ status: 'Unknown', reason: 'Starting', message: 'waiting' }) },
      {
        member: 'sources-3',
        status: status({ status: 'False', reason: 'QueueNotFound', message: 'no such queue' }),
      },
    ]);
    expect(merged.ready).toMatchObject({
      status: 'False',
      reason: 'QueueNotFound',
      message: 'sources-3: no such queue (1 of 3 members Ready)',
    });
    expect(merged.address).toBeUndefined();
    expect(
      mergeMemberStatuses([
        { member: 'sources-1', status: status({ status: 'Unknown', reason: 'Starting' }) },
        { member: 'sources-2', status: ready() },
      ]).ready.message,
    ).toBe('sources-1 is Starting (1 of 2 members Ready)');
  });
});
