export const packageName = '@eddy/sources';
export { loadAdapterPackages, withContainerOutput } from './adapter-packages.js';
export { apiServerSourceAdapter, createApiServerSourceAdapter } from './apiserver/adapter.js';
export {
  APISERVER_EVENT_TYPES,
  type ApiServerSourceSpec,
  apiServerEvent,
  labelSelectorString,
  ownerFilterPasses,
  selfLink,
} from './apiserver/apiserver-event.js';
export { builtinAdapters, createSourceRegistry } from './builtins.js';
export {
  type ContainerSourceOptions,
  type ContainerSourceSpec,
  containerSourceAdapter,
  createContainerSourceAdapter,
  sourceContainerEnv,
} from './container/container-source.js';
export { type MemberSourceStatus, mergeMemberStatuses } from './control/member-statuses.js';
export {
  MAX_SOURCE_SHARDS,
  parseShard,
  placedSources,
  runsOn,
  SINGLE_SHARD,
  SOURCE_PLACEMENTS,
  type SourceShard,
  shardText,
  sourceMembers,
  sourceOwner,
} from './control/placement.js';
export {
  planSinkBinding,
  planSinkBindings,
  type SinkBindingLike,
} from './control/plan-sink-bindings.js';
export {
  type PlannedSource,
  type PlanSourcesOptions,
  planSource,
  planSources,
  type SourceLike,
  type SourcePlan,
  type SourcesPlan,
} from './control/plan-sources.js';
export { type SinkResolverInput, sinkIsEddyIngress, sinkResolver } from './control/sink-resolver.js';
export { type SourceStatusOutput, sourceStatus } from './control/source-status.js';
export {
  GITHUB_EVENT_SOURCE_PREFIX,
  GITHUB_EVENT_TYPE_PREFIX,
  githubCloudEvent,
  githubEventSource,
  githubEventType,
} from './github/github-event.js';
export {
  createGitHubSourceAdapter,
  type GitHubSourceOptions,
  type GitHubSourceSpec,
  githubSourceAdapter,
} from './github/github-source.js';
export {
  createKafkaSourceAdapter,
  type KafkaSourceOptions,
  kafkaSourceAdapter,
} from './kafka/kafka-source.js';
export { PING_EVENT_TYPE, type PingSourceSpec, pingEventSource } from './ping/ping-event.js';
export { MAX_TICKS_IN_FLIGHT, parseSchedule, pingSourceAdapter } from './ping/ping-source.js';
export {
  CONTAINER_OUTPUT_FIELD,
  type ContainerOutputLine,
  containerOutputLine,
  parseContainerOutputLine,
} from './process/container-output.js';
export {
  type ContractValueObjects,
  checkSourcesContract,
  contractValueStore,
  referencedValues,
  reportedSourceStatuses,
  type SourcesContract,
  type SourcesContractValues,
  type SourcesProcessStatus,
} from './process/contract.js';
export { ContractApplier, type ContractApplierOptions } from './process/contract-applier.js';
export {
  envName as sourcesEnvName,
  parseSourcesArgs,
  type RunningSources,
  runSources,
  SOURCES_MAIN,
  type SourcesMainOptions,
  sourcesMain,
  usage as sourcesUsage,
} from './process/main.js';
export { PUBSUB_MESSAGE_PUBLISHED_TYPE } from './pubsub/pubsub-event.js';
export {
  createPubSubSourceAdapter,
  type PubSubModule,
  type PubSubSourceOptions,
  type PubSubSourceSpec,
  pubsubSourceAdapter,
} from './pubsub/pubsub-source.js';
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
export { MalformedSqsMessageError, SQS_EVENT_TYPE, sqsMessageToEvent } from './sqs/sqs-event.js';
export {
  createSqsSourceAdapter,
  RECEIVERS_ANNOTATION as SQS_RECEIVERS_ANNOTATION,
  type SqsSdk,
  type SqsSourceOptions,
  type SqsSourceSpec,
  sqsSourceAdapter,
} from './sqs/sqs-source.js';
