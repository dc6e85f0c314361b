export * from './eventlog/event-log.js';
