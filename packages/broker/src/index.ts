export * from './data-plane/index.js';
export * from './delivery/index.js';
export * from './dispatcher/index.js';
export * from './eventlog/embedded/index.js';
export * from './eventlog/event-log.js';
export * from './eventlog/kafka/kafka-event-log.js';
export * from './filters/index.js';
export * from './ingress/index.js';
