// The wait-until of @eddy/serving's tests: @eddy/runtime's, checking often (the router tests wait for
// states, a request queued, that last only a few ms longer). Test-only.
import { waitForWith } from '@eddy/runtime';

export type { WaitOptions } from '@eddy/runtime';
export const waitFor = waitForWith({ timeoutMs: 10_000, intervalMs: 10 });
