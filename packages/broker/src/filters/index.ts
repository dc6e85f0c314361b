// Trigger filter evaluation lives in @eddy/api (packages/api/src/filters/), shared with the
// ApiServerSource's `filters`; the broker's modules keep importing it from here.
export {
  attributeString,
  compileFilter,
  type EventFilter,
  FilterCompileError,
  type FilterResult,
  timeString,
} from '@eddy/api';
