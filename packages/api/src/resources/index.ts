export {
  type AnnotationParse,
  type AnnotationRead,
  AUTOSCALING_ANNOTATIONS,
  type AutoscalingAnnotation,
  autoscalingAnnotation,
  type DefaultedAnnotation,
  EDDY_AUTOSCALING_PREFIX,
  KNATIVE_AUTOSCALING_PREFIX,
  kpaMetricProblem,
  readAutoscalingAnnotation,
  scaleBoundsProblem,
} from './autoscaling-annotations.js';
export { type CesqlFindings, validateCesql } from './cesql.js';
export * from './defaults.js';
export { parseGoDuration, parseIsoDuration } from './durations.js';
export { type FieldPath, formatPath } from './field-path.js';
export { triggerFilterProblems } from './filter-problems.js';
export {
  KIND_NAMES,
  type KindNameResult,
  type KindNames,
  kindNamesText,
  resolveKindName,
  suggestKindName,
} from './kind-names.js';
export {
  EDDY_GROUPS,
  KINDS,
  type KindDefinition,
  LATER_KINDS,
  lookupKind,
  supportedKindsText,
} from './kinds.js';
export { matchesLabelSelector } from './label-selector.js';
export {
  type DocumentReport,
  type DocumentStatus,
  hasErrors,
  type LoadedResource,
  type LoadOptions,
  type LoadResult,
  loadPaths,
  loadText,
} from './load.js';
export { type LocalPathOptions, resolveContainerPaths, resolveLocalPaths } from './local-paths.js';
export {
  dns1035LabelProblem,
  dns1123LabelProblem,
  dns1123SubdomainProblem,
  parseApiVersion,
} from './names.js';
export { findPlaceholderLines, isPlaceholderText } from './placeholders.js';
export {
  describeObject,
  formatProblem,
  type Origin,
  type Problem,
  type ProblemCode,
  type Severity,
} from './problem.js';
export {
  DEFAULT_PROGRESS_DEADLINE_MS,
  PROGRESS_DEADLINE_ANNOTATION,
  parseProgressDeadline,
} from './progress-deadline.js';
export { SENDER_TOKEN_LABEL } from './rules-core.js';
export { REQUIRED_EVENT_TYPE_ATTRIBUTES } from './rules-event-types.js';
export { SUPPORTED_BROKER_CLASSES } from './rules-eventing.js';
export { parseRfc3339 } from './rules-replay.js';
export * from './schemas/common.js';
export * from './schemas/core.js';
export * from './schemas/event-policy.js';
export * from './schemas/event-types.js';
export * from './schemas/eventing.js';
export * from './schemas/flows.js';
export * from './schemas/kafka-sink.js';
export * from './schemas/messaging.js';
export * from './schemas/replay.js';
export * from './schemas/serving.js';
export * from './schemas/sources.js';
