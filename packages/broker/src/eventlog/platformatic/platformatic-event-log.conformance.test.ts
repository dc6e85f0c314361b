// Runs the shared event-log conformance suite on the @platformatic/kafka log against the real broker the test
// harness starts (test/harness/global-setup.ts), plus the Kafka-only behaviour both Kafka clients
// share (kafka-common/kafka-log.conformance.ts).

import pino from 'pino';
import { inject } from 'vitest';
import { describeEventLogConformance } from '../event-log.conformance.js';
import { describeKafkaLogBehaviour } from '../kafka-common/kafka-log.conformance.js';
import { createPlatformaticEventLog, type PlatformaticEventLog } from './platformatic-event-log.js';

const brokers = inject('kafkaBrokers');
const quiet = pino({ level: 'silent' });

function platformaticLog(
  overrides: Partial<Parameters<typeof createPlatformaticEventLog>[0]> = {},
): PlatformaticEventLog {
  return createPlatformaticEventLog({
    brokers,
    logger: quiet,
    // Short timings so rebalances after a member leaves or fails settle within the suite's waits.
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    maxWaitTimeMs: 250,
    ...overrides,
  });
}

describeEventLogConformance('kafka (@platformatic/kafka)', {
  create: async () => platformaticLog(),
  // Kafka keeps the data; a new client over the same cluster is the restarted process.
  reopen: async () => platformaticLog(),
  retentionMs: 1_000,
  retentionWaitMs: 40_000,
  waitMs: 20_000,
});

describeKafkaLogBehaviour('@platformatic/kafka', platformaticLog);
