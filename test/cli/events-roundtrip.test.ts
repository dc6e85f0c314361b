// Issue 13's round trip: events of every shape (JSON data with non-canonical whitespace and numbers,
// JSON spanning lines, text, binary, extensions, specversion 0.3 and 1.0) exported from one `eddy
// dev` and imported into another whose log is of the other kind (embedded <-> Kafka) come out
// identical: the second export is the first byte for byte, and the stored events have the same
// attributes (canonical form) and the same data bytes. Both directions.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toKafkaBinary } from '@eddy/api';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { Cleanups } from '../../packages/cli/src/dev/testing/dev-test-kit.ts';
import { waitFor } from '../../packages/cli/src/dev/testing/wait.ts';
import { buildCli } from './helpers.ts';
import { type HistoryDev, startHistoryDev, variedEvents } from './history-kit.ts';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());
beforeAll(() => buildCli(), 180_000);

async function exportTo(dev: HistoryDev, file: string): Promise<Buffer> {
  const r = await dev.eddy(['events', 'export', dev.broker, '--from', '1h', '-o', file]);
  expect(r.code, r.stderr).toBe(0);
  return readFile(file);
}

async function importFrom(dev: HistoryDev, file: string): Promise<void> {
  const r = await dev.eddy(['events', 'import', dev.broker, '-f', file]);
  expect(r.code, r.stderr).toBe(0);
}

describe('export and import between an embedded and a Kafka-backed eddy dev', () => {
  for (const first of ['embedded', 'kafka'] as const) {
    it(`${first} -> ${first === 'kafka' ? 'embedded' : 'kafka'} -> ${first}: identical, event for event and byte for byte`, async () => {
      const kafka = { kafka: inject('kafkaBrokers') };
      const [a, b, c] = [
        await startHistoryDev(cleanups, first === 'kafka' ? kafka : {}),
        await startHistoryDev(cleanups, first === 'kafka' ? {} : kafka),
        await startHistoryDev(cleanups, first === 'kafka' ? kafka : {}),
      ];
      expect(a.server.log.kind).toBe(first);
      expect(b.server.log.kind).not.toBe(first);
      const sent = variedEvents('rt');
      for (const [headers, body] of sent) expect(await a.send(headers, body)).toBe(202);
      const dir = cleanups.tempDir('eddy-roundtrip-');

      const fromA = await exportTo(a, join(dir, 'a.jsonl'));
      expect(fromA.toString('utf8').trimEnd().split('\n')).toHaveLength(sent.length);
      await importFrom(b, join(dir, 'a.jsonl'));
      const fromB = await exportTo(b, join(dir, 'b.jsonl'));
      expect(fromB.equals(fromA), `b.jsonl differs from a.jsonl:\n${fromB}\n---\n${fromA}`).toBe(true);
      await importFrom(c, join(dir, 'b.jsonl'));
      const fromC = await exportTo(c, join(dir, 'c.jsonl'));
      expect(fromC.equals(fromA)).toBe(true);

      // On Kafka too: describe shows the oldest event held, and tail --from shows the history.
      const onKafka = first === 'kafka' ? a : b;
      const described = await onKafka.eddy(['describe', 'broker', onKafka.broker]);
      expect(described.stdout).toMatch(/\nOldest event: \d{4}-\d\d-\d\dT\S+Z \(\d+s ago\)\n/);
      const tail = onKafka.spawnEddy(['tail', onKafka.broker, '--from', '1h', '-o', 'json']);
      cleanups.push(() => {
        if (tail.exitCode === null) tail.kill('SIGKILL');
      });
      let tailed = '';
      tail.stdout?.on('data', (c: Buffer) => {
        tailed += c.toString();
      });
      await waitFor('the history tailed', () => tailed.split('\n').length > sent.length, {
        timeoutMs: 30_000,
      });
      tail.kill('SIGINT');

      // The stored events themselves: attributes in canonical form and data bytes, as the Kafka
      // binding would write them, are the same in all three logs.
      const [inA, inB, inC] = [await a.stored(), await b.stored(), await c.stored()];
      const records = (events: typeof inA) => events.map((e) => toKafkaBinary(e));
      expect(records(inB)).toEqual(records(inA));
      expect(records(inC)).toEqual(records(inA));
      // ... and the data bytes are the ones sent (binary mode bodies).
      for (const [i, [headers, body]] of sent.entries()) {
        if (headers['ce-id'] === undefined) continue;
        const bytes = body === undefined ? null : Buffer.from(body);
        expect(toKafkaBinary(inB[i]!).value, headers['ce-id']).toEqual(bytes);
      }
    });
  }
});
