// The offset lookups of many consumers starting together, as few requests: thousands of consumers
// joining a shared topic reader at once each ask for their group's committed offsets and the topic's
// offsets. One request per consumer is what broke 10,000 Triggers (10,000 OffsetFetch requests queued
// on the admin client's one connection timed out). Kafka's OffsetFetch (v8+) takes many groups in one
// request, so committedOffsets calls made in the same turn of the event loop are sent together, in
// chunks; topicOffsets callers share one lookup that started after they asked (freshCall).
import { freshCall } from '@eddy/runtime';
import type { OffsetLookup } from './start-positions.js';

/** Committed offsets of many groups on one topic: per group, per partition, null where none. */
export type CommittedOffsetsOfGroups = (
  groups: string[],
  topic: string,
) => Promise<Map<string, Map<number, number | null>>>;

/** Groups per OffsetFetch request: large requests keep the coordinator busy past a request timeout. */
export const DEFAULT_GROUPS_PER_REQUEST = 500;

interface Waiting {
  group: string;
  resolve: (offsets: Map<number, number | null>) => void;
  reject: (error: unknown) => void;
}

/** `lookup` with committedOffsets batched through `ofGroups` and topicOffsets shared. */
export function batchingLookup(
  lookup: OffsetLookup,
  ofGroups: CommittedOffsetsOfGroups,
  groupsPerRequest = DEFAULT_GROUPS_PER_REQUEST,
): OffsetLookup {
  /** Per topic: the calls waiting for the next flush. */
  const waiting = new Map<string, Waiting[]>();
  const topicOffsets = new Map<string, () => ReturnType<OffsetLookup['topicOffsets']>>();

  const flush = async (topic: string): Promise<void> => {
    const calls = waiting.get(topic) ?? [];
    waiting.delete(topic);
    const groups = [...new Set(calls.map((c) => c.group))];
    // One chunk at a time: the chunks of one flush go to the same coordinators anyway.
    for (let i = 0; i < groups.length; i += groupsPerRequest) {
      const chunk = groups.slice(i, i + groupsPerRequest);
      const inChunk = new Set(chunk);
      const mine = calls.filter((c) => inChunk.has(c.group));
      try {
        const offsets = await ofGroups(chunk, topic);
        for (const call of mine) call.resolve(offsets.get(call.group) ?? new Map());
      } catch (error) {
        for (const call of mine) call.reject(error);
      }
    }
  };

  return {
    topicOffsets: (topic) => {
      let shared = topicOffsets.get(topic);
      if (shared === undefined) {
        shared = freshCall(() => lookup.topicOffsets(topic));
        topicOffsets.set(topic, shared);
      }
      return shared();
    },
    offsetsForTimestamp: (topic, timestamp) => lookup.offsetsForTimestamp(topic, timestamp),
    committedOffsets: (group, topic) =>
      new Promise((resolve, reject) => {
        let calls = waiting.get(topic);
        if (calls === undefined) {
          calls = [];
          waiting.set(topic, calls);
          // Everything asked in this turn of the event loop goes in the same requests.
          setImmediate(() => void flush(topic));
        }
        calls.push({ group, resolve, reject });
      }),
  };
}
