// Polling for a condition in adapter tests, for what has no event to wait on (upstream queue
// depth, Ready conditions, metrics). Not exported from the package index; tests import it by path.

/** Resolves once `check` holds, polling every `pollMs`; rejects naming `what` after `timeoutMs`. */
export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
  pollMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
