export {
  type ComputeContractOptions,
  type ComputedContract,
  computeContract,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_PARTITIONS,
} from './compute-contract.js';
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
