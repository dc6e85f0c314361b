export { type BoundedBody, DRAIN_LIMIT_BYTES, readBounded } from './bounded-body.js';
export { CommitTracker } from './commit-tracker.js';
export { ContractFeed, type Generational, type MemberReport, type MemberState } from './contract-feed.js';
export {
  type ContractWatch,
  type ContractWatchOptions,
  isUrlSource,
  type WatchLogger,
  watchContract,
} from './contract-watch.js';
export { describeError } from './describe-error.js';
export { isRunning } from './process-alive.js';
export * from './process-group-reaper.js';
export { sleep, TimeoutError, withTimeout } from './timers.js';
export { type WaitFor, type WaitOptions, waitFor, waitForWith } from './wait-for.js';
export { workingDirectoryProblem } from './working-directory.js';
