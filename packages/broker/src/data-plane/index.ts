export {
  type ApplyOptions,
  type ApplyResult,
  type BrokerDataPlane,
  type BrokerDataPlaneOptions,
  checkContract,
  createBrokerDataPlane,
} from './data-plane.js';
export {
  type MainOptions,
  parseMainArgs,
  type RunningDataPlane,
  readContractFile,
  runDataPlane,
  UsageError,
} from './main.js';
