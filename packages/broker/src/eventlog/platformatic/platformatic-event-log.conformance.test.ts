// Runs the shared event-log conformance suite and the Kafka-only behaviour both Kafka clients share
// on the @platformatic/kafka log, against the real broker the test harness starts.
import { describeKafkaEventLogSuites } from '../kafka-common/kafka-log-suites.conformance.js';
import { createPlatformaticEventLog } from './platformatic-event-log.js';

describeKafkaEventLogSuites('kafka (@platformatic/kafka)', '@platformatic/kafka', createPlatformaticEventLog);
