// The broker ingress's request limits on a command (`eddy dev`): @eddy/broker's flag table, as
// commander options, read back with the CLI's integer check.

import { INGRESS_LIMIT_FLAGS, type IngressLimits, ingressLimitsFrom } from '@eddy/broker';
import type { Command } from 'commander';
import { parseIntFlag } from './flags.js';

/** `ingress-max-body-bytes` -> `ingressMaxBodyBytes`, the key commander stores it under. */
const optionKey = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export function addIngressLimitFlags(command: Command): Command {
  for (const spec of INGRESS_LIMIT_FLAGS) command.option(`--${spec.flag} ${spec.value}`, spec.help);
  return command;
}

/** The limits given on the command line; throws UsageError naming a bad flag. */
export function ingressLimitsFromFlags(options: object): IngressLimits {
  const given = options as Record<string, unknown>;
  return ingressLimitsFrom((spec) => {
    const text = given[optionKey(spec.flag)];
    return parseIntFlag(`--${spec.flag}`, typeof text === 'string' ? text : undefined, spec.min, spec.max);
  });
}
