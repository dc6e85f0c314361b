// The source adapter SDK: the contract third-party adapters implement, and what runs them.
export type {
  BatchSendOptions,
  CeOverrides,
  CloudEventEmitter,
  ConfigMapKeyRef,
  ConfigMapResolver,
  EmitOutcome,
  EmitterPolicy,
  EventInit,
  RunningSource,
  SecretKeyRef,
  SecretResolver,
  SendOptions,
  SourceAdapter,
  SourceContext,
  SourceDefinition,
  SourceHealth,
  SourceMetrics,
  SourcePlacement,
} from './adapter.js';
export {
  createEmitter,
  DEFAULT_EMITTER_POLICY,
  DEFAULT_MAX_BATCH_BYTES,
  DEFAULT_MAX_BATCH_EVENTS,
  EmitError,
  type EmitErrorReason,
  type EmitterOptions,
} from './emitter.js';
export { type FailureReason, type SourceMetricsRecorder, sourceMetrics } from './metrics.js';
export {
  adapterShapeProblem,
  type LoadPackageOptions,
  SourceRegistry,
  SourceRegistryError,
} from './registry.js';
export {
  checkSourceDefinition,
  createSourceRunner,
  type ReadyCondition,
  type SourceRunner,
  type SourceRunnerOptions,
  type SourceStatus,
  sourceKey,
} from './runner.js';
export {
  createConfigMapResolver,
  createEnvSecretResolver,
  type EnvSecretResolverOptions,
  SecretNotFoundError,
  secretEnvName,
} from './secrets.js';
export {
  UpstreamError,
  type UpstreamLagOptions,
  type UpstreamOptions,
  type UpstreamSession,
  UpstreamSupervisor,
} from './upstream.js';
