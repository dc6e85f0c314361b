export {
  type ComputeContractOptions,
  type ComputedContract,
  computeContract,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_PARTITIONS,
} from './compute-contract.js';
export {
  AUTHORIZATION_MODES,
  DEFAULT_AUTHORIZATION_MODE_FLAG,
  EVENT_POLICY_API_VERSION,
  OIDC_AUTHENTICATION_FLAG,
  policyApplies,
  resolveSubjects,
  type SenderAuthOptions,
  senderAuthEnabled,
} from './event-policies.js';
export {
  AUTO_CREATED_DESCRIPTION,
  autoCreatedEventTypeName,
  autoCreateFromFeatures,
  EVENT_TYPE_API_VERSION,
  EVENT_TYPE_AUTO_CREATE_FLAG,
  type EventTypeStatus,
  eventTypeMatcher,
  eventTypeStatuses,
  eventTypesToCreate,
  FEATURES_CONFIG_MAP,
  formatRate,
  mergeObservations,
  observedAddressable,
  SEEN_ANNOTATIONS,
} from './event-types.js';
export { type ChildStatuses, parallelStatus, sequenceStatus } from './flow-status.js';
export {
  type Flow,
  parallelBranchName,
  parallelChildren,
  parallelFilterName,
  parallelIngressName,
  sequenceChannelName,
  sequenceChildren,
} from './flows.js';
export { type KafkaSinkAuth, kafkaSinkAuth } from './kafka-sink-auth.js';
export {
  type KafkaSinkTopicState,
  type KafkaSinkTopicStatus,
  kafkaSinkUrl,
  reconcileKafkaSinks,
} from './kafka-sinks.js';
