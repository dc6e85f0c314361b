// Everything a Kafka event log runs against the harness's broker (test/harness/global-setup.ts):
// the shared EventLog conformance suite and the Kafka-only behaviour (kafka-log.conformance.ts),
// both on logs with the short timings below. Each client's *.conformance.test.ts calls it once.
import pino from 'pino';
import { inject } from 'vitest';
import { describeEventLogConformance } from '../event-log.conformance.js';
import type { EventLog } from '../event-log.js';
import { describeKafkaLogBehaviour } from './kafka-log.conformance.js';
import type { SharedKafkaLogOptions } from './kafka-log-options.js';

const quiet = pino({ level: 'silent' });

/**
 * `suite` names the conformance run, `client` the Kafka-only one; `open` makes a log of the
 * client under test from the options given.
 */
export function describeKafkaEventLogSuites(
  suite: string,
  client: string,
  open: (options: SharedKafkaLogOptions) => EventLog,
): void {
  const brokers = inject('kafkaBrokers');
  const kafkaLog = (overrides: Partial<SharedKafkaLogOptions> = {}): EventLog =>
    open({
      brokers,
      logger: quiet,
      // Short timings so rebalances after a member leaves or fails settle within the suites' waits.
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1_000,
      maxWaitTimeMs: 250,
      ...overrides,
    });

  describeEventLogConformance(suite, {
    create: async () => kafkaLog(),
    // Kafka keeps the data; a new client over the same cluster is the restarted process.
    reopen: async () => kafkaLog(),
    retentionMs: 1_000,
    retentionWaitMs: 40_000,
    waitMs: 20_000,
  });

  describeKafkaLogBehaviour(client, kafkaLog);
}
