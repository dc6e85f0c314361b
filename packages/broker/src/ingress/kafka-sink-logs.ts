// The Kafka clusters KafkaSinks write to: one Kafka event log (producer + admin) per distinct cluster
// and security, shared by every sink that names the same ones, opened on first use and closed when
// no sink of the running contract needs it. A sink's cluster is the user's, not Eddy's event log, so
// it never shares that log's clients, even when the servers happen to be the same.

import type { KafkaSinkRoute } from '@eddy/api';
import pino from 'pino';
import type { EventLog } from '../eventlog/event-log.js';
import { DEFAULT_KAFKA_CLIENT, type KafkaClientName, openKafkaEventLog } from '../eventlog/kafka-client.js';
import type { SharedKafkaLogOptions } from '../eventlog/kafka-common/kafka-log-options.js';

export interface KafkaSinkLogsOptions {
  /** Which Kafka client the producers run on. Default DEFAULT_KAFKA_CLIENT. */
  client?: KafkaClientName;
  logger?: pino.Logger;
  /**
   * Upper bound for one produce (connecting included) before the ingress answers 503. Default 10 s:
   * a sender waits on it, and an unreachable cluster should not hold its request for the log's 30 s.
   */
  appendTimeoutMs?: number;
  /** Upper bound for topic checks and creation. Default 10 s. */
  operationTimeoutMs?: number;
}

/** The cluster and credentials a sink's producer needs: sinks with equal keys share one. */
export function kafkaSinkClusterKey(sink: Pick<KafkaSinkRoute, 'bootstrapServers' | 'security'>): string {
  return JSON.stringify([[...sink.bootstrapServers].sort(), sink.security]);
}

export class KafkaSinkLogs {
  readonly #options: KafkaSinkLogsOptions;
  readonly #logger: pino.Logger;
  readonly #logs = new Map<string, EventLog>();
  #closed = false;

  constructor(options: KafkaSinkLogsOptions = {}) {
    this.#options = options;
    this.#logger = options.logger ?? pino({ name: 'eddy-kafka-sink', level: 'warn' });
  }

  /** The log that writes to `sink`'s cluster (opened now if no sink used it yet). */
  logFor(sink: KafkaSinkRoute): EventLog {
    if (this.#closed) throw new Error('KafkaSink producers are closed');
    const key = kafkaSinkClusterKey(sink);
    let log = this.#logs.get(key);
    if (!log) {
      const options: SharedKafkaLogOptions = {
        brokers: sink.bootstrapServers,
        security: sink.security,
        clientId: 'eddy-kafka-sink',
        logger: this.#logger.child({ bootstrapServers: sink.bootstrapServers.join(',') }),
        appendTimeoutMs: this.#options.appendTimeoutMs ?? 10_000,
        operationTimeoutMs: this.#options.operationTimeoutMs ?? 10_000,
      };
      log = openKafkaEventLog({ ...options, client: this.#options.client ?? DEFAULT_KAFKA_CLIENT });
      this.#logs.set(key, log);
    }
    return log;
  }

  /** Closes the producers no sink of `sinks` uses any more. */
  async retain(sinks: readonly KafkaSinkRoute[]): Promise<void> {
    const wanted = new Set(sinks.map(kafkaSinkClusterKey));
    const unused = [...this.#logs].filter(([key]) => !wanted.has(key));
    for (const [key] of unused) this.#logs.delete(key);
    await Promise.allSettled(unused.map(([, log]) => log.close()));
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.retain([]);
  }
}
