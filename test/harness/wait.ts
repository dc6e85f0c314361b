// The wait-until of the tests under test/: @eddy/runtime's, with a 20 s timeout.
import { waitForWith } from '@eddy/runtime';

export type { WaitOptions } from '@eddy/runtime';
export const waitFor = waitForWith({ timeoutMs: 20_000, intervalMs: 50 });
