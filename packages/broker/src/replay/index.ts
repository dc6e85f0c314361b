export {
  DEFAULT_REPLAY_CHECKPOINT_TOPIC,
  type ReplayCheckpoint,
  ReplayCheckpoints,
  type ReplayCheckpointsOptions,
  type ReplaySnapshot,
} from './replay-checkpoints.js';
export { progressFrom, type ReplayProgress, replayProgress } from './replay-progress.js';
