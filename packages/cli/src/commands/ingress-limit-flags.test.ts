import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../usage-error.js';
import { addIngressLimitFlags, ingressLimitsFromFlags } from './ingress-limit-flags.js';

const parse = (argv: string[]) => {
  const command = addIngressLimitFlags(new Command('dev').exitOverride());
  command.parse(argv, { from: 'user' });
  return ingressLimitsFromFlags(command.opts());
};

describe('eddy dev --ingress-* limit flags', () => {
  it('reads the limits given, nothing for the others', () => {
    expect(parse(['--ingress-max-batch-events', '10', '--ingress-max-header-bytes', '8192'])).toEqual({
      maxBatchEvents: 10,
      maxHeaderBytes: 8192,
    });
    expect(parse([])).toEqual({});
  });

  it('a value out of bounds or not an integer is a usage error naming the flag', () => {
    expect(() => parse(['--ingress-max-batch-events', '0'])).toThrow(
      new UsageError('--ingress-max-batch-events must be an integer from 1 to 100000, got "0"'),
    );
    expect(() => parse(['--ingress-request-timeout-ms', '30s'])).toThrow(
      new UsageError('--ingress-request-timeout-ms must be an integer from 1000 to 3600000, got "30s"'),
    );
  });
});
