// The Kafka binding's structured content mode, for writers that are told to use it (a KafkaSink with
// `contentMode: structured`): the event in the JSON format as the record value. Eddy's own topics are
// always binary (kafka-binding.ts); reading understands both.

import type { PlainEvent } from './event.js';
import { toJsonText } from './http-binding.js';
import {
  CONTENT_TYPE_HEADER,
  type KafkaBinaryRecord,
  type KafkaContentMode,
  toKafkaBinary,
} from './kafka-binding.js';

export const KAFKA_STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

/**
 * Structured mode: value = the event in the JSON format, content-type application/cloudevents+json,
 * key = the `partitionkey` extension (the binding maps it to the key in both modes).
 * @throws KafkaBindingError for an event binary mode would refuse too (same attribute checks).
 */
export function toKafkaStructured(event: PlainEvent): KafkaBinaryRecord {
  // The binary encoding checks specversion, the required attributes and attribute names: one rule set.
  const { key } = toKafkaBinary(event);
  return {
    key,
    value: Buffer.from(toJsonText(event), 'utf8'),
    headers: { [CONTENT_TYPE_HEADER]: KAFKA_STRUCTURED_CONTENT_TYPE },
  };
}

/** The record for `event` in `mode`. */
export function toKafkaRecord(event: PlainEvent, mode: KafkaContentMode): KafkaBinaryRecord {
  return mode === 'structured' ? toKafkaStructured(event) : toKafkaBinary(event);
}
