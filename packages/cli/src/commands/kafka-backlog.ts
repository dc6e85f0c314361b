// The backlog an `eddy serving` process scales on, read from Kafka: the CLI composes @eddy/broker's
// Kafka event log into @eddy/serving's process (serving never imports the broker). The lag of a
// route's consumer group is the committed offsets of every dispatcher of it, whichever process runs them.

import {
  DEFAULT_KAFKA_CLIENT,
  groupLag,
  isKafkaClientName,
  KAFKA_CLIENTS,
  kafkaSecurityFromEnv,
  openKafkaEventLog,
} from '@eddy/broker';
import type { BacklogReaderFactory } from '@eddy/serving';

export const kafkaBacklog: BacklogReaderFactory = {
  kafkaClients: [DEFAULT_KAFKA_CLIENT, ...KAFKA_CLIENTS.filter((c) => c !== DEFAULT_KAFKA_CLIENT)],
  open({ brokers, kafkaClient, logger, env }) {
    if (!isKafkaClientName(kafkaClient)) throw new Error(`unknown Kafka client "${kafkaClient}"`);
    const log = openKafkaEventLog({
      client: kafkaClient,
      brokers,
      security: kafkaSecurityFromEnv(env),
      logger,
    });
    return {
      lag: (_routeId, { group, topic }) => groupLag(log, group, topic),
      close: () => log.close(),
    };
  },
};
