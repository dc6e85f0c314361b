// A KafkaSink's topic, as Knative's sink reconciler treats it: with numPartitions and
// replicationFactor both set, Eddy owns it and creates it when missing (an existing topic is left as
// it is); without them it is managed outside and must exist. Both the reconcile loop (TopicReady)
// and the ingress (503 until ready) go through here.

import type { KafkaSinkRoute } from '@eddy/api';
import type { EventLog } from '../eventlog/event-log.js';

/** Why a sink's topic is not usable; `reason` is TopicReady's. */
export class KafkaSinkTopicError extends Error {
  override readonly name = 'KafkaSinkTopicError';
  constructor(
    readonly reason: 'FailedToCreateTopic' | 'TopicNotPresent' | 'FailedToCheckTopic',
    message: string,
  ) {
    super(message);
  }
}

/** Resolves once `sink`'s topic exists on its cluster (`log`), creating it when the sink owns it. */
export async function prepareKafkaSinkTopic(log: EventLog, sink: KafkaSinkRoute): Promise<void> {
  const where = `topic "${sink.topic}" on ${sink.bootstrapServers.join(',')}`;
  let exists: boolean;
  try {
    exists = (await log.listTopics()).some((t) => t.name === sink.topic);
  } catch (error) {
    const reason = sink.createTopic ? 'FailedToCreateTopic' : 'FailedToCheckTopic';
    throw new KafkaSinkTopicError(
      reason,
      `cannot reach the cluster for ${where}: ${(error as Error).message}`,
    );
  }
  if (exists) return;
  if (!sink.createTopic)
    throw new KafkaSinkTopicError(
      'TopicNotPresent',
      `${where} does not exist; create it, or set spec.numPartitions and spec.replicationFactor for Eddy to create it`,
    );
  try {
    await log.ensureTopic(sink.topic, sink.createTopic);
  } catch (error) {
    throw new KafkaSinkTopicError(
      'FailedToCreateTopic',
      `cannot create ${where}: ${(error as Error).message}`,
    );
  }
}
