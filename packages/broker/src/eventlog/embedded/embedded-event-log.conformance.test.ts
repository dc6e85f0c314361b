// Runs the shared event-log conformance suite on the embedded (SQLite) log.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { describeEventLogConformance } from '../event-log.conformance.js';
import type { EventLog } from '../event-log.js';
import { EmbeddedEventLog, openEmbeddedEventLog } from './embedded-event-log.js';

const root = mkdtempSync(join(tmpdir(), 'eddy-eventlog-conformance-'));
const dataDirs = new WeakMap<EventLog, string>();
let count = 0;

afterAll(() => rmSync(root, { recursive: true, force: true }));

async function open(dataDir: string): Promise<EventLog> {
  const log = await openEmbeddedEventLog({ dataDir, retentionCheckIntervalMs: 100 });
  dataDirs.set(log, dataDir);
  return log;
}

describeEventLogConformance('embedded', {
  create: () => open(join(root, `log-${++count}`)),
  reopen: (previous) => open(dataDirs.get(previous)!),
  retentionMs: 300,
  retentionWaitMs: 5_000,
  enforceRetention: async (log) => {
    if (log instanceof EmbeddedEventLog) await log.sweepRetention();
  },
  waitMs: 5_000,
});
