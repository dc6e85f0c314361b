// Routes kafkajs' own logging into pino instead of the console.
import { type LogEntry, logLevel } from 'kafkajs';
import type pino from 'pino';

type KafkaLogCreator = (level: logLevel) => (entry: LogEntry) => void;

/**
 * Messages kafkajs logs at a level that misleads for how Eddy uses it, mapped to a quieter level.
 * - The idempotent producer warns when its retries are bounded. Eddy bounds them on purpose (an
 *   append must fail instead of retrying forever) and discards the producer after any failed send,
 *   so a later batch never reuses the sequence numbers of one that may or may not have landed.
 */
const DOWNGRADED: RegExp[] = [/Limiting retries for the idempotent producer/];

/** kafkajs' level that lets through what the pino logger would print. */
export function kafkaLogLevelFor(logger: pino.Logger): logLevel {
  const value = logger.levelVal;
  if (value <= 20) return logLevel.DEBUG;
  // kafkajs INFO is chatty (every join, every commit setting); it goes to pino debug, see below.
  if (value <= 40) return logLevel.WARN;
  if (value <= 50) return logLevel.ERROR;
  return logLevel.NOTHING;
}

export function kafkaLogCreator(logger: pino.Logger): KafkaLogCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _name, ...fields } = log;
      const context = { kafkajs: namespace, ...fields };
      if (DOWNGRADED.some((pattern) => pattern.test(message))) {
        logger.debug(context, message);
        return;
      }
      switch (level) {
        case logLevel.ERROR:
          logger.error(context, message);
          break;
        case logLevel.WARN:
          logger.warn(context, message);
          break;
        default:
          logger.debug(context, message);
      }
    };
}
