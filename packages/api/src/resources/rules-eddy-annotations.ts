import {
  type AnnotationResult,
  BROKER_TTL_ANNOTATION,
  DELIVERY_ORDER_ANNOTATION,
  MAX_IN_FLIGHT_ANNOTATION,
  PARTITIONS_ANNOTATION,
  parseBrokerTtlAnnotation,
  parseDeliveryOrderAnnotation,
  parseMaxInFlightAnnotation,
  parsePartitionsAnnotation,
  parseRetentionAnnotation,
  parseStartFromAnnotation,
  RETENTION_ANNOTATION,
  START_FROM_ANNOTATION,
} from './eddy-annotations.js';
import type { RuleContext } from './rule-context.js';

type Parser = (text: string) => AnnotationResult<unknown>;

/** Topic settings: Brokers and the channels whose spec has no field for them. */
const TOPIC_ANNOTATIONS: Record<string, Parser> = {
  [PARTITIONS_ANNOTATION]: parsePartitionsAnnotation,
  [RETENTION_ANNOTATION]: parseRetentionAnnotation,
};

/** Consumer settings: Triggers and Subscriptions. */
const CONSUMER_ANNOTATIONS: Record<string, Parser> = {
  [MAX_IN_FLIGHT_ANNOTATION]: parseMaxInFlightAnnotation,
  [START_FROM_ANNOTATION]: parseStartFromAnnotation,
};

function check(
  ctx: RuleContext,
  annotations: Record<string, string> | undefined,
  parsers: Record<string, Parser>,
): void {
  for (const [name, parse] of Object.entries(parsers)) {
    const value = annotations?.[name];
    if (value === undefined) continue;
    const result = parse(value);
    if (!result.ok) ctx.error(['metadata', 'annotations', name], result.message);
  }
}

/** Broker, Channel, InMemoryChannel: `eddy.dev/partitions`, `eddy.dev/retention`. */
export function checkTopicAnnotations(
  ctx: RuleContext,
  annotations: Record<string, string> | undefined,
): void {
  check(ctx, annotations, TOPIC_ANNOTATIONS);
}

/** Broker: `eddy.dev/broker-ttl` (the topic annotations are checked beside it). */
export function checkBrokerAnnotations(
  ctx: RuleContext,
  annotations: Record<string, string> | undefined,
): void {
  check(ctx, annotations, { [BROKER_TTL_ANNOTATION]: parseBrokerTtlAnnotation });
}

/** KafkaChannel has spec.numPartitions / spec.retentionDuration; the annotations would be ignored. */
export function warnTopicAnnotationsOnKafkaChannel(
  ctx: RuleContext,
  annotations: Record<string, string> | undefined,
): void {
  const fields: Record<string, string> = {
    [PARTITIONS_ANNOTATION]: 'spec.numPartitions',
    [RETENTION_ANNOTATION]: 'spec.retentionDuration',
  };
  for (const [name, field] of Object.entries(fields))
    if (annotations?.[name] !== undefined)
      ctx.warn(['metadata', 'annotations', name], `ignored on a KafkaChannel: set ${field} instead`);
}

/** Trigger: `eddy.dev/max-in-flight`, `eddy.dev/start-from` (delivery.order is checked with the Trigger). */
export function checkConsumerAnnotations(
  ctx: RuleContext,
  annotations: Record<string, string> | undefined,
): void {
  check(ctx, annotations, CONSUMER_ANNOTATIONS);
}

/** Subscription: the consumer annotations plus `kafka.eventing.knative.dev/delivery.order`. */
export function checkSubscriptionAnnotations(
  ctx: RuleContext,
  annotations: Record<string, string> | undefined,
): void {
  check(ctx, annotations, {
    ...CONSUMER_ANNOTATIONS,
    [DELIVERY_ORDER_ANNOTATION]: parseDeliveryOrderAnnotation,
  });
}
