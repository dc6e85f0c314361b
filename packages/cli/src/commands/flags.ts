// Flags that several long-running commands share (`eddy dev`, `eddy controller`), checked one way.

import { parseBrokerTtlAnnotation, parseProgressDeadline } from '@eddy/api';
import { UsageError } from '../usage-error.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** A port flag: 0 to 65535; `fallback` when not given. */
/** `--broker-ttl`: the reply hop limit of Brokers without `eddy.dev/broker-ttl` (README "Reply loops"). */
export const PROGRESS_DEADLINE_HELP =
  'how long a revision may have no ready replica before it fails with ProgressDeadlineExceeded, unless it has the serving.knative.dev/progress-deadline annotation (Knative config-deployment progress-deadline; default 600s)';
export const BROKER_TTL_HELP =
  'reply hop limit (knativebrokerttl) of Brokers without the eddy.dev/broker-ttl annotation, and of Subscriptions: 1 to 255 (default 255)';

export function parseBrokerTtl(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const result = parseBrokerTtlAnnotation(text);
  if (!result.ok) throw new UsageError(`--broker-ttl: ${result.message}`);
  return result.value;
}

/** `--progress-deadline`: Knative config-deployment's `progress-deadline` (README "Crash loops"); ms. */
export function parseProgressDeadlineFlag(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const result = parseProgressDeadline(text);
  if (!result.ok) throw new UsageError(`--progress-deadline: ${result.message}`);
  return result.value;
}

export function parsePort(text: string | undefined, fallback = 8080, flag = '--port'): number {
  return parseIntFlag(flag, text, 0, 65535) ?? fallback;
}

/** An integer flag from `min` to `max`; undefined when not given. */
export function parseIntFlag(
  flag: string,
  text: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max)
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got "${text}"`);
  return n;
}

/** `--kafka host:port[,host:port...]`. */
export function parseBrokers(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const brokers = text
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers.length === 0) throw new UsageError('--kafka needs <host:port[,host:port...]>');
  for (const b of brokers)
    if (!/^[^:\s]+:\d+$/.test(b)) throw new UsageError(`--kafka: "${b}" is not host:port`);
  return brokers;
}

/** `--log-level`, one of LOG_LEVELS. */
export function parseLogLevel(text: string | undefined, fallback: string): string {
  const level = text ?? fallback;
  if (!LOG_LEVELS.includes(level))
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  return level;
}
