// The health every broker component shares: its event log answers. The probe endpoints themselves
// are @eddy/runtime's (probes.ts there), the same for every component.

import { type ProbeResult, withTimeout } from '@eddy/runtime';
import type { EventLog } from '../eventlog/event-log.js';

/** Healthy when the event log answers within `timeoutMs`. */
export async function eventLogHealth(log: EventLog, timeoutMs: number): Promise<ProbeResult> {
  try {
    await withTimeout(log.listTopics(), timeoutMs, `the event log did not answer within ${timeoutMs} ms`);
    return { ok: true, log: log.kind };
  } catch (error) {
    return { ok: false, log: log.kind, error: (error as Error).message };
  }
}
