export { createIngress, DEFAULT_MAX_BODY_BYTES, Ingress, type IngressOptions } from './ingress.js';
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
