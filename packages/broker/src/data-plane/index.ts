export {
  type ApplyOptions,
  type ApplyResult,
  type BrokerDataPlane,
  type BrokerDataPlaneOptions,
  checkContract,
  createBrokerDataPlane,
  type DataPlaneComponent,
} from './data-plane.js';
export {
  DATA_PLANE_MAIN,
  type DataPlaneExtras,
  dataPlaneMain,
  type MainOptions,
  parseMainArgs,
  type RunningDataPlane,
  readContractFile,
  runDataPlane,
  UsageError,
  usage,
} from './main.js';
