export {
  type DataPlaneStatusReport,
  DEFAULT_EVENT_TYPE_ATTRIBUTE_LENGTH,
  DEFAULT_EVENT_TYPE_LIMIT,
  EVENT_TYPE_RATE_WINDOW_MS,
  EventTypeRecorder,
  type EventTypeRecorderOptions,
  eventTypesSignature,
  type IngressStatusReport,
  type ObservedEventType,
  reportDataPlaneStatus,
} from './event-type-recorder.js';
export { createIngress, DEFAULT_MAX_BODY_BYTES, Ingress, type IngressOptions } from './ingress.js';
export {
  INGRESS_LIMIT_FLAG_SPECS,
  INGRESS_LIMIT_FLAGS,
  type IngressLimitFlag,
  type IngressLimitFlagName,
  type IngressLimits,
  ingressLimitArgs,
  ingressLimitsFrom,
} from './ingress-limits.js';
export { KafkaSinkLogs, type KafkaSinkLogsOptions, kafkaSinkClusterKey } from './kafka-sink-logs.js';
export { KafkaSinkTopics, type KafkaSinkTopicsOptions } from './kafka-sink-topics.js';
export {
  brokerIngressPath,
  CHANNEL_PATH_PREFIX,
  channelIngressPath,
  type IngressRoute,
  type IngressRouteKind,
} from './route-table.js';
export { validTraceparent, withTraceContext } from './trace-context.js';
