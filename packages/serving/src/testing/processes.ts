// Helpers for serving's own tests that watch real processes (replicas, the reaper, their holders);
// waiting is wait.ts's waitFor.
// Test-only: nothing in the package imports this module.

import { readFileSync } from 'node:fs';
import type { ResolvedProbe } from '@eddy/api';

/** Running (a zombie waiting for a reaper that never comes counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** A TCP readiness probe that passes as soon as the replica listens (checked every second). */
export const tcpReadiness: ResolvedProbe = {
  kind: 'tcp',
  initialDelayMs: 0,
  periodMs: 1000,
  timeoutMs: 1000,
  failureThreshold: 3,
  successThreshold: 1,
};
