import { describe, expect, it } from 'vitest';
import { createSourceRegistry } from '../builtins.js';
import type { SourceDefinition } from '../sdk/adapter.js';
import { parseShard, placedSources, runsOn, SINGLE_SHARD, sourceMembers, sourceOwner } from './placement.js';

const keys = Array.from({ length: 1_000 }, (_, i) => `PingSource/ns-${i % 7}/source-${i}`);

describe('source placement', () => {
  it('is deterministic: the same owner for a key and count, whoever computes it', () => {
    for (const key of keys.slice(0, 50))
      for (let n = 1; n <= 5; n++) expect(sourceOwner(key, n)).toBe(sourceOwner(key, n));
    // Pinned values: a change of the hash would move sources between running members.
    expect([1, 2, 3, 4, 5].map((n) => sourceOwner('PingSource/demo/every-second', n))).toEqual([
      0, 0, 2, 2, 2,
    ]);
  });

  it('gives every once-placed source exactly one owner for N = 1..5, spread over the members', () => {
    for (let n = 1; n <= 5; n++) {
      const perMember = new Array<number>(n).fill(0);
      for (const key of keys) {
        const owners = Array.from({ length: n }, (_, index) => index).filter((index) =>
          runsOn('once', key, { index, count: n }),
        );
        expect(owners, `${key} with ${n} members`).toEqual([sourceOwner(key, n)]);
        perMember[owners[0] ?? 0] = (perMember[owners[0] ?? 0] ?? 0) + 1;
      }
      // Balanced within 30% of the fair share (1,000 keys).
      for (const count of perMember)
        expect(Math.abs(count - keys.length / n)).toBeLessThan((0.3 * keys.length) / n);
    }
  });

  it('runs an every-member source on all members', () => {
    for (let n = 1; n <= 5; n++) {
      expect(sourceMembers('every-member', 'SqsSource/demo/q', n)).toHaveLength(n);
      for (let index = 0; index < n; index++)
        expect(runsOn('every-member', 'SqsSource/demo/q', { index, count: n })).toBe(true);
    }
  });

  it('moves few sources from N to N+1 members: only to the new member, about 1/(N+1) of them', () => {
    for (let n = 1; n <= 4; n++) {
      let moved = 0;
      for (const key of keys) {
        const before = sourceOwner(key, n);
        const after = sourceOwner(key, n + 1);
        if (before !== after) {
          moved++;
          expect(after, `${key} moved between old members`).toBe(n);
        }
      }
      const fair = keys.length / (n + 1);
      expect(moved).toBeGreaterThan(fair * 0.7);
      expect(moved).toBeLessThan(fair * 1.3);
    }
  });

  it('picks the sources of a contract a member runs, by each kind the registry declares', () => {
    const registry = createSourceRegistry();
    const def = (kind: string, name: string, apiVersion = 'sources.knative.dev/v1'): SourceDefinition => ({
      apiVersion,
      kind,
      namespace: 'demo',
      name,
      spec: {},
      sink: 'http://127.0.0.1:1/',
    });
    const sources = [
      ...Array.from({ length: 20 }, (_, i) => def('PingSource', `p${i}`)),
      def('SqsSource', 'orders', 'sources.eddy.dev/v1alpha1'),
      def('PubSubSource', 'feed', 'sources.eddy.dev/v1alpha1'),
      def('KafkaSource', 'records'),
      def('ContainerSource', 'box'),
      def('GitHubSource', 'hooks', 'sources.knative.dev/v1alpha1'),
      def('NoSuchSource', 'unknown', 'example.com/v1'),
    ];
    const placement = (apiVersion: string, kind: string) => registry.placement(apiVersion, kind);
    expect(placement('sources.eddy.dev/v1alpha1', 'SqsSource')).toBe('every-member');
    expect(placement('sources.knative.dev/v1beta1', 'KafkaSource')).toBe('every-member');
    expect(placement('sources.knative.dev/v1beta2', 'PingSource')).toBe('once');
    expect(placement('example.com/v1', 'NoSuchSource')).toBe('once');
    expect(placedSources(sources, SINGLE_SHARD, placement)).toEqual(sources);
    const three = [0, 1, 2].map((index) => placedSources(sources, { index, count: 3 }, placement));
    for (const member of three)
      expect(
        member.filter((s) => ['SqsSource', 'PubSubSource', 'KafkaSource'].includes(s.kind)),
      ).toHaveLength(3);
    const once = sources.filter((s) => !['SqsSource', 'PubSubSource', 'KafkaSource'].includes(s.kind));
    const placedOnce = three.flatMap((member) =>
      member.filter((s) => !['SqsSource', 'PubSubSource', 'KafkaSource'].includes(s.kind)),
    );
    expect(placedOnce.map((s) => s.name).sort()).toEqual(once.map((s) => s.name).sort());
    expect(three.every((member) => member.length > 3)).toBe(true);
  });

  it('a third-party adapter declares its placement; anything else is refused naming the field', () => {
    const registry = createSourceRegistry({ builtins: false });
    const adapter = {
      apiVersion: 'example.com/v1',
      kind: 'QueueSource',
      start: () => ({ stop: async () => {} }),
    };
    registry.register({ ...adapter, placement: 'every-member' });
    registry.register({ ...adapter, kind: 'TimerSource' });
    expect(registry.placement('example.com/v1', 'QueueSource')).toBe('every-member');
    expect(registry.placement('example.com/v1', 'TimerSource')).toBe('once');
    expect(() => registry.register({ ...adapter, kind: 'BadSource', placement: 'all' as never })).toThrow(
      /BadSource: "placement" must be "once" or "every-member", found "all"/,
    );
  });

  it('parses i/N shards and says what it expects otherwise', () => {
    expect(parseShard('0/1')).toEqual({ index: 0, count: 1 });
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    for (const bad of ['3/3', '1', '-1/2', '0/0', '0/65', 'a/b', '1/2/3'])
      expect(() => parseShard(bad), bad).toThrow(/expected <index>\/<count> with 0 <= index < count <= 64/);
  });
});
