// Runs the shared event-log conformance suite and the Kafka-only behaviour both Kafka clients share
// on the kafkajs log, against the real broker the test harness starts.
import { describeKafkaEventLogSuites } from '../kafka-common/kafka-log-suites.conformance.js';
import { createKafkaEventLog } from './kafka-event-log.js';

describeKafkaEventLogSuites('kafka', 'kafkajs', createKafkaEventLog);
