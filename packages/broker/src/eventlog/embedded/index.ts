export {
  EmbeddedEventLog,
  type EmbeddedEventLogOptions,
  openEmbeddedEventLog,
} from './embedded-event-log.js';
export { DATABASE_FILE } from './sqlite-store.js';
