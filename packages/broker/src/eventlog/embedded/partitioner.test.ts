import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { partitionForKey } from './partitioner.js';

describe('partitionForKey', () => {
  // kafkajs's default partitioner is Java-compatible murmur2; agreeing with it means a
  // partitionkey lands on the same partition in embedded mode and on Kafka.
  const kafkajs = Partitioners.DefaultPartitioner();

  it('matches the Kafka default partitioner for keys of every length and partition counts', () => {
    const keys = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'order-17', 'ünïcödé ✓', 'x'.repeat(1000)];
    for (let i = 0; i < 200; i++) keys.push(`key-${i}-${'z'.repeat(i % 7)}`);
    for (const partitions of [1, 2, 3, 7, 12, 100]) {
      const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
        partitionId,
        leader: 0,
        replicas: [0],
        isr: [0],
        partitionErrorCode: 0,
        offlineReplicas: [],
      }));
      for (const key of keys) {
        const expected = kafkajs({ topic: 't', partitionMetadata, message: { key, value: null } });
        expect(partitionForKey(key, partitions), `key ${JSON.stringify(key)} over ${partitions}`).toBe(
          expected,
        );
      }
    }
  });

  it('spreads keys over the partitions', () => {
    const counts = new Map<number, number>();
    for (let i = 0; i < 1000; i++) {
      const partition = partitionForKey(`key-${i}`, 4);
      counts.set(partition, (counts.get(partition) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([0, 1, 2, 3]);
    for (const count of counts.values()) expect(count).toBeGreaterThan(150);
  });
});
