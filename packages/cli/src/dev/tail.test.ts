// `eddy tail -o json` shows each event as it is in the log: nothing added (no `time` for an event
// sent without one), attributes with their values, and data from which the same bytes are read
// back (JSON text verbatim, text as a string, other bytes as data_base64).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PlainEvent, parseHttpRequest, toHttpBinary } from '@eddy/api';
import { openEmbeddedEventLog } from '@eddy/broker';
import { afterEach, describe, expect, it } from 'vitest';
import { startTail } from './tail.js';
import { waitFor } from './testing/wait.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** What the ingress stores for a binary-mode request. */
function received(headers: Record<string, string>, body: string | Buffer): PlainEvent {
  const [event] = parseHttpRequest(headers, Buffer.from(body)).events;
  if (event === undefined) throw new Error('no event');
  return event;
}

const base = { 'ce-specversion': '1.0', 'ce-source': '/shop' };

describe('tail', () => {
  it('writes every event as stored: no attribute added, data bytes recoverable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-tail-'));
    dirs.push(dir);
    const log = await openEmbeddedEventLog({ dataDir: dir });
    try {
      await log.ensureTopic('t', { partitions: 1 });
      const lines: string[] = [];
      const tail = await startTail({
        log,
        topic: 't',
        write: async (line) => {
          lines.push(line);
        },
      });
      await tail.ready();
      const events = [
        received(
          { ...base, 'ce-id': 'json', 'ce-type': 't', 'content-type': 'application/json' },
          '{ "id": 12345678901234567890, "price": 1.0 }',
        ),
        received({ ...base, 'ce-id': 'text', 'ce-type': 't', 'content-type': 'text/plain' }, 'caf\u00e9'),
        received(
          { ...base, 'ce-id': 'bytes', 'ce-type': 't', 'content-type': 'application/octet-stream' },
          Buffer.from([0, 255, 1]),
        ),
        received(
          {
            ...base,
            'ce-id': 'none',
            'ce-type': 't',
            'ce-myext': 'x y',
            'ce-time': '2026-12-01T10:00:00+02:00',
          },
          '',
        ),
      ];
      await log.append('t', events);
      await waitFor('every event tailed', () => lines.length >= events.length, {
        timeoutMs: 10_000,
        intervalMs: 20,
      });
      await tail.stop();
      expect(lines).toHaveLength(events.length);
      for (const [i, line] of lines.entries()) {
        const sent = events[i]!;
        const shown = parseHttpRequest({ 'content-type': 'application/cloudevents+json' }, Buffer.from(line))
          .events[0]!;
        const { data: _sentData, ...sentAttributes } = sent;
        const { data: _shownData, ...shownAttributes } = shown;
        expect(shownAttributes, `event ${sent.id}`).toEqual(sentAttributes);
        expect(toHttpBinary(shown).body.equals(toHttpBinary(sent).body), `event ${sent.id} data`).toBe(true);
      }
      expect(JSON.parse(lines[0]!)).not.toHaveProperty('time');
      expect(lines[0]).toContain('"data":{ "id": 12345678901234567890, "price": 1.0 }');
    } finally {
      await log.close();
    }
  });
});
