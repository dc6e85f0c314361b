export const packageName = '@eddy/sources';
export { builtinAdapters, createSourceRegistry } from './builtins.js';
export {
  type ContainerSourceOptions,
  type ContainerSourceSpec,
  containerSourceAdapter,
  createContainerSourceAdapter,
  sourceContainerEnv,
} from './container/container-source.js';
export { PING_EVENT_TYPE, type PingSourceSpec, pingEventSource } from './ping/ping-event.js';
export { MAX_TICKS_IN_FLIGHT, parseSchedule, pingSourceAdapter } from './ping/ping-source.js';
export * from './sdk/index.js';
export {
  type BindableWorkload,
  bindWorkload,
  matchesLabelSelector,
  type ResolvedSinkBinding,
  sinkBindingEnv,
  sinkBindingSelects,
  type WorkloadBinding,
  withBindingEnv,
} from './sinkbinding/sink-binding.js';
