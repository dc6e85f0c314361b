// The ingress's request limits as command-line flags: one table, read by the ingress process
// (`eddy ingress`, data-plane main.ts) and by `eddy dev` (which forwards what it was given to its
// ingress processes), so the names, bounds and help are the same wherever a user sets them.

import { DEFAULT_REQUEST_TIMEOUT_MS, type FlagSpec } from '@eddy/runtime';
import {
  DEFAULT_MAX_BATCH_EVENTS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_HEADER_BYTES,
  type IngressOptions,
} from './ingress.js';

export type IngressLimits = Pick<
  IngressOptions,
  'maxBodyBytes' | 'maxBatchEvents' | 'maxHeaderBytes' | 'requestTimeoutMs'
>;

export interface IngressLimitFlag extends FlagSpec {
  /** The flag without its dashes. */
  flag: string;
  key: keyof IngressLimits;
  min: number;
  max: number;
}

const MiB = 1024 * 1024;

export const INGRESS_LIMIT_FLAGS = [
  {
    flag: 'ingress-max-body-bytes',
    value: '<bytes>',
    key: 'maxBodyBytes',
    min: 1024,
    max: 64 * MiB,
    help: `largest request body (an event, or a whole batch) the ingress accepts; larger is a 413. On Kafka, the topics' max.message.bytes must allow it (default ${DEFAULT_MAX_BODY_BYTES}, Kafka's own)`,
  },
  {
    flag: 'ingress-max-batch-events',
    value: '<n>',
    key: 'maxBatchEvents',
    min: 1,
    max: 100_000,
    help: `most events one batch-mode request (application/cloudevents-batch+json) may carry; more is a 413 (default ${DEFAULT_MAX_BATCH_EVENTS})`,
  },
  {
    flag: 'ingress-max-header-bytes',
    value: '<bytes>',
    key: 'maxHeaderBytes',
    min: 1024,
    max: MiB,
    help: `largest request head (request line and headers); larger is a 431 (default ${DEFAULT_MAX_HEADER_BYTES})`,
  },
  {
    flag: 'ingress-request-timeout-ms',
    value: '<ms>',
    key: 'requestTimeoutMs',
    min: 1000,
    max: 3_600_000,
    help: `longest a request may take to arrive, head and body (slow senders); then a 408 and the connection closed (default ${DEFAULT_REQUEST_TIMEOUT_MS})`,
  },
] as const satisfies readonly IngressLimitFlag[];

export type IngressLimitFlagName = (typeof INGRESS_LIMIT_FLAGS)[number]['flag'];

/** The flags in the shape of runtime's parseFlags specs (a process's OPTIONS table). */
export const INGRESS_LIMIT_FLAG_SPECS = Object.fromEntries(
  INGRESS_LIMIT_FLAGS.map(({ flag, value, help }) => [flag, { value, help }]),
) as Record<IngressLimitFlagName, FlagSpec>;

/**
 * The limits given: `readInt(spec)` reads and checks one flag (an integer from spec.min to spec.max,
 * or undefined when not given) the way the calling command reads its other integer flags.
 */
export function ingressLimitsFrom(
  readInt: (spec: (typeof INGRESS_LIMIT_FLAGS)[number]) => number | undefined,
): IngressLimits {
  const limits: IngressLimits = {};
  for (const spec of INGRESS_LIMIT_FLAGS) {
    const value = readInt(spec);
    if (value !== undefined) limits[spec.key] = value;
  }
  return limits;
}

/** The flags that pass `limits` on to an ingress process. */
export function ingressLimitArgs(limits: IngressLimits): string[] {
  const args: string[] = [];
  for (const spec of INGRESS_LIMIT_FLAGS) {
    const value = limits[spec.key];
    if (value !== undefined) args.push(`--${spec.flag}`, String(value));
  }
  return args;
}
