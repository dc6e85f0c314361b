// The broker ingress's request limits on a command (`eddy dev`): @eddy/broker's flag table, as
// commander options, read back with the CLI's integer check.

import { INGRESS_LIMIT_FLAGS, type IngressLimits, ingressLimitsFrom } from '@eddy/broker';
import { type Command, Option } from 'commander';
import { parseIntFlag } from './flags.js';

/** Each flag as commander's Option (which knows the key it stores the value under). */
const OPTIONS = new Map(
  INGRESS_LIMIT_FLAGS.map((spec) => [spec.flag, new Option(`--${spec.flag} ${spec.value}`, spec.help)]),
);

export function addIngressLimitFlags(command: Command): Command {
  for (const option of OPTIONS.values()) command.addOption(option);
  return command;
}

/** The limits given on the command line; throws UsageError naming a bad flag. */
export function ingressLimitsFromFlags(options: object): IngressLimits {
  const given = options as Record<string, unknown>;
  return ingressLimitsFrom((spec) => {
    const text = given[OPTIONS.get(spec.flag)?.attributeName() ?? ''];
    return parseIntFlag(`--${spec.flag}`, typeof text === 'string' ? text : undefined, spec.min, spec.max);
  });
}
