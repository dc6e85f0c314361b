import { describe, expect, it } from 'vitest';
import { formatStatusLine } from './status-line.js';

describe('formatStatusLine', () => {
  it('says Ready, NotReady or Unknown with the reason, on one line', () => {
    expect(formatStatusLine('Trigger', 'default', 't', { type: 'Ready', status: 'True' })).toBe(
      'Trigger default/t  Ready',
    );
    expect(
      formatStatusLine('Trigger', 'default', 't', {
        type: 'Ready',
        status: 'False',
        reason: 'SubscriberResolveFailed',
        message: 'no such service',
      }),
    ).toBe('Trigger default/t  NotReady  SubscriberResolveFailed: no such service');
    expect(
      formatStatusLine('Revision', 'ns', 'r-00001', {
        type: 'Ready',
        status: 'Unknown',
        reason: 'Deploying',
      }),
    ).toBe('Revision ns/r-00001  Unknown  Deploying');
    const multi = formatStatusLine('Revision', 'default', 'r-00001', {
      type: 'Ready',
      status: 'False',
      reason: 'ExitCode1',
      message: 'container exited with code 1; last log lines:\nError: boom\n  at x',
    });
    expect(multi).toBe(
      'Revision default/r-00001  NotReady  ExitCode1: container exited with code 1; last log lines: (more: eddy describe revision r-00001)',
    );
  });
});
