// `eddy events import` in process against a real embedded `eddy dev`: a terminal gets a live line
// with the count and how much of the file is read, cleared before the final line, and every event
// is stored in file order.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readWindow, timeWindow } from '@eddy/broker';
import { afterEach, describe, expect, it } from 'vitest';
import { Cleanups, startDevWithBroker } from '../dev/testing/dev-test-kit.js';
import type { Output } from '../output.js';
import { runImport } from './events-import.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

describe('eddy events import (in process)', () => {
  it('shows a live count and share of the file on a terminal, and stores every event in order', async () => {
    const dir = cleanups.tempDir('eddy-import-');
    const dataDir = join(dir, '.eddy');
    const server = await startDevWithBroker(cleanups, dir);
    const file = join(dir, 'in.jsonl');
    const ids = Array.from({ length: 300 }, (_, i) => `e-${i}`);
    await writeFile(
      file,
      ids.map((id) => JSON.stringify({ specversion: '1.0', id, source: '/s', type: 't' })).join('\n'),
    );
    const errText: string[] = [];
    const lines: string[] = [];
    const output: Output = { out: (l) => lines.push(l), err: (l) => lines.push(l) };
    const code = await runImport('default', { namespace: 'default', dataDir, file, rate: '1000' }, output, {
      signal: new AbortController().signal,
      tty: true,
      writeErr: (t) => errText.push(t),
    });
    expect(code).toBe(0);
    expect(lines).toEqual(['imported 300 events into default/default']);
    const live = errText.filter((t) => t !== '\r\x1b[K');
    expect(live.length).toBeGreaterThan(0);
    for (const t of live)
      expect(t.slice(4)).toMatch(/^importing into default\/default: \d+ events, \d+% of the file$/);
    expect(errText.at(-1)).toBe('\r\x1b[K');
    const topic = server.reconciler.eventingContract?.brokers[0]?.topic ?? '';
    const stored: string[] = [];
    await readWindow({
      log: server.log,
      topic,
      window: await timeWindow(server.log, topic, 0),
      handler: async (records) => {
        stored.push(...records.map((r) => r.event.id));
      },
    });
    expect(stored).toEqual(ids);
  });
});
