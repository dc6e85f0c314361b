// A Replay as the data plane runs it, and the status the control plane reports for it. The window is
// resolved to epoch ms; each target is a DispatchRoute of its own (its own consumer group, so a
// replay has its own read position and in-flight limit and never moves a Trigger's offsets).

import type { DispatchRoute, ResolvedFilter } from './data-plane-contract.js';
import type { Condition } from './resource-status.js';

/**
 * The CloudEvents extension every replayed delivery carries: `<namespace>/<name>` of the Replay, so a
 * subscriber can tell a replay from live traffic. Lower-case letters only, as CloudEvents asks.
 */
export const REPLAY_EXTENSION = 'eddyreplay';

export interface ReplayPlan {
  namespace: string;
  name: string;
  /** `<namespace>/<name>`: the value of the `eddyreplay` extension. */
  id: string;
  /**
   * Unique per Replay object (its metadata.uid): names its consumer groups and checkpoints, so a Replay
   * deleted and created again under the same name starts afresh.
   */
  uid: string;
  /** The broker's (or channel's) topic. */
  topic: string;
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive: spec.to, at most the moment the replay started. */
  to: number;
  /** The Replay's own filter; an event must pass it and its target's. */
  filter?: ResolvedFilter;
  /**
   * One route per target: a Trigger's (Subscription's) filter, subscriber, delivery, reply and ordering,
   * or the Destination with the Replay's delivery; `id` is `replay/<namespace>/<name>/<target>`.
   */
  targets: DispatchRoute[];
  /** Events per second, all targets and dispatcher processes together. */
  rate?: number;
  dryRun: boolean;
  /** Stopped with its position kept. */
  suspended: boolean;
}

/** Counters of a replay, summed over partitions and targets (a delivery per event and target). */
export interface ReplayCounts {
  /** Passed the Replay's and the target's filters (dry run: what would be delivered). */
  matched: number;
  delivered: number;
  deadLettered: number;
  /** No attempt succeeded and there is no dead-letter sink. */
  failed: number;
  /** Filtered out. */
  skipped: number;
}

export interface ReplayPartitionProgress {
  partition: number;
  /** Next offset to replay (the lowest over targets). */
  offset: number;
  /** First offset after the window. */
  end: number;
}

/** status of a Replay. */
export interface ReplayStatus extends ReplayCounts {
  observedGeneration: number;
  /** `Ready` and `Succeeded` (reasons Waiting, Running, Suspended, Completed, Failed). */
  conditions: Condition[];
  /** Events in the window (per target), known from the log's offsets when the replay starts. */
  total?: number;
  progress?: ReplayPartitionProgress[];
  /** When the replay first ran (RFC 3339); the default end of the window. */
  startTime?: string;
  completionTime?: string;
  /** The append time of the latest event replayed (RFC 3339). */
  lastReplayedTime?: string;
  /** The window as resolved (RFC 3339). */
  window?: { from: string; to: string };
}

/** `replay/<namespace>/<name>/<target>`: a replay target's route id, never a Trigger's. */
export function replayTargetId(namespace: string, name: string, target: string): string {
  return `replay/${namespace}/${name}/${target}`;
}

/** A replay target's consumer group. */
export function replayGroup(uid: string, target: string): string {
  return `eddy-replay-${uid}-${target}`;
}
