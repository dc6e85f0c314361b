export {
  type ComputeContractOptions,
  type ComputedContract,
  computeContract,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_PARTITIONS,
} from './compute-contract.js';
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
