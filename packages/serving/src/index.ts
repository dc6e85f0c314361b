export const packageName = '@eddy/serving';
export type {
  Autoscaler,
  Decision,
  DecisionInput,
  DecisionReason,
  MetricSample,
} from './autoscaler/autoscaler.js';
export { createAutoscaler } from './autoscaler/kpa.js';
export {
  type ReconcileServingInput,
  type ReconcileServingResult,
  reconcileServing,
  type ServingResourceStatus,
} from './control/reconcile-serving.js';
export {
  BACKLOG_ANNOTATION,
  LAG_TARGET_ANNOTATION,
  type ParsedScalingSettings,
  parseScalingSettings,
  type ScalingPlatform,
  type ScalingProblem,
  scalingSettings,
} from './control/scaling-settings.js';
export { createServingDataPlane } from './plane/create-serving-plane.js';
export {
  type BacklogReaderFactory,
  type ClosableBacklogReader,
  parseServingArgs,
  type RunningServing,
  runServing,
  type ServingMainOptions,
  servingEnvName,
  servingMain,
  servingUsage,
} from './plane/main.js';
export {
  DEFAULT_ROUTER_TIMEOUT_MS,
  PrimaryRouter,
  type PrimaryRouterOptions,
} from './plane/primary-router.js';
export {
  asServingProcessReport,
  REPORTED_DECISIONS,
  reportedDecisions,
  type ServingProcessReport,
  servingProcessReport,
} from './plane/process-report.js';
export { replicaOutputOf } from './plane/replica-output-log.js';
export {
  type RunningServingRouter,
  runServingRouter,
  type ServingRouterOptions,
} from './plane/router-process.js';
export {
  checkEndpointsDocument,
  checkStatsPush,
  ENDPOINTS_PATH,
  type EndpointsDocument,
  type RevisionEndpoints,
  type RouterStatsPush,
  STATS_PATH,
} from './plane/scale-out.js';
export type {
  RevisionRuntimeStatus,
  ServingDataPlane,
  ServingDataPlaneOptions,
  TimedDecision,
} from './plane/serving-plane.js';
export { StatAggregator } from './plane/stat-aggregator.js';
export { revisionAddress, routeAddress, tagAddress } from './router/addresses.js';
export {
  type RouterShare,
  replicaCapacity,
  replicaOrdinal,
  shareOf,
  WHOLE_SHARE,
} from './router/capacity-split.js';
export { type CreateRouterOptions, createRouter } from './router/create-router.js';
export type { RevisionStats, Router, RouterRevision, RouterRoute } from './router/router.js';
export {
  createProcessRuntime,
  type ProcessRuntime,
  type ProcessRuntimeOptions,
  type ReplicaOutputLine,
} from './runtime/process-runtime.js';
export type {
  DeploymentFailure,
  DeploymentStatus,
  Replica,
  RevisionDeployment,
  WorkloadRuntime,
  WorkloadSpec,
} from './runtime/runtime.js';
