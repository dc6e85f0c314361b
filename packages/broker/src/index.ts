export * from './eventlog/event-log.js';
export * from './eventlog/kafka/kafka-event-log.js';
