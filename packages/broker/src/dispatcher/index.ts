export { type DispatchMetrics, dispatchMetrics, type EventOutcome } from './dispatch-metrics.js';
export {
  createDispatcher,
  type Dispatcher,
  type DispatcherOptions,
  InvalidRouteError,
  type UpdateRoutesOptions,
} from './dispatcher.js';
export {
  createLogRetryStateStore,
  createMemoryRetryStateStore,
  DEFAULT_RETRY_STATE_TOPIC,
  type LogRetryStateStoreOptions,
  type RecordedFailure,
  type RetryKey,
  type RetryState,
  type RetryStateStore,
} from './retry-state.js';
