import { type RuleContext, show } from './rule-context.js';
import { checkBootstrapServers, checkMetadata } from './rules-common.js';
import type { KafkaSink } from './schemas/kafka-sink.js';

/** Kafka's legal topic names (kafka.common.internals.Topic): at most 249 of these characters, not "." or "..". */
const KAFKA_TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** Knative's KafkaSink validation (kafka_sink_validation.go), with what Kafka itself would refuse later. */
export function checkKafkaSink(ctx: RuleContext, sink: KafkaSink): void {
  checkMetadata(ctx, sink.metadata);
  const { spec } = sink;
  if (spec.topic === '') ctx.error(['spec', 'topic'], 'must not be empty');
  else if (!KAFKA_TOPIC_NAME.test(spec.topic) || spec.topic === '.' || spec.topic === '..')
    ctx.error(
      ['spec', 'topic'],
      `expected a Kafka topic name (at most 249 letters, digits, ".", "_" and "-"), found ${show(spec.topic)}`,
    );
  checkBootstrapServers(ctx, spec.bootstrapServers, ['spec', 'bootstrapServers']);
  for (const field of ['numPartitions', 'replicationFactor'] as const) {
    const value = spec[field];
    if (value !== undefined && value <= 0)
      ctx.error(['spec', field], `expected a positive integer, found ${show(value)}`);
  }
  if (spec.replicationFactor !== undefined && spec.replicationFactor > 32767)
    ctx.error(
      ['spec', 'replicationFactor'],
      `expected at most 32767 (an int16), found ${spec.replicationFactor}`,
    );
  if (spec.auth?.secret?.ref?.name === '')
    ctx.error(['spec', 'auth', 'secret', 'ref', 'name'], 'must not be empty');
}
