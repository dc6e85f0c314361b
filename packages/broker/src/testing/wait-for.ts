// The one wait-until of the broker's tests (packages/broker and test/broker), for what has no event to
// wait on: records a consumer saw, offsets, lag, requests a subscriber got. Test-only: not built, not
// exported from the package; tests import it by path.

import { sleep } from '@eddy/runtime';

/** Resolves once `condition` holds, polling every `pollMs`; rejects naming `what` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
  pollMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

export { sleep } from '@eddy/runtime';
