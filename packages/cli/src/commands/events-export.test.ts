// `eddy events export` in process against a real embedded `eddy dev`, writing to a slow stdout: the
// stream waits for the sink (the server reads no further ahead than the socket buffers allow), a
// terminal gets a live count/total line that is cleared before the final line, and every event
// arrives in order.

import { Writable } from 'node:stream';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { Cleanups, startDevWithBroker } from '../dev/testing/dev-test-kit.js';
import type { Output } from '../output.js';
import { runExport } from './events-export.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

/** A stdout that takes a chunk every `delayMs`, with a tiny buffer: backpressure all the way. */
function slowStdout(delayMs: number): Writable & { text: string; maxBuffered: number } {
  const sink = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _encoding, done) {
      sink.text += chunk.toString('utf8');
      sink.maxBuffered = Math.max(sink.maxBuffered, sink.writableLength);
      setTimeout(done, delayMs);
    },
  }) as Writable & { text: string; maxBuffered: number };
  sink.text = '';
  sink.maxBuffered = 0;
  return sink;
}

describe('eddy events export (in process)', () => {
  it('streams at the pace of a slow stdout, with a live count/total line on a terminal', async () => {
    const dir = cleanups.tempDir('eddy-export-');
    const dataDir = `${dir}/.eddy`;
    const server = await startDevWithBroker(cleanups, dir);
    const count = 600;
    const events = Array.from({ length: count }, (_, i) => ({
      specversion: '1.0',
      id: `e-${i}`,
      source: '/s',
      type: 't',
      datacontenttype: 'text/plain',
      data: 'x'.repeat(200),
    }));
    const res = await request(`${server.ingressUrl}/default/default`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(events),
    });
    await res.body.text();
    expect(res.statusCode).toBe(202);

    const stdout = slowStdout(1);
    const errText: string[] = [];
    const lines: string[] = [];
    const output: Output = { out: (l) => lines.push(l), err: (l) => lines.push(`err: ${l}`) };
    const code = await runExport('default', { namespace: 'default', dataDir, from: '1h' }, output, {
      signal: new AbortController().signal,
      stdout,
      tty: true,
      writeErr: (t) => errText.push(t),
    });
    expect(code).toBe(0);
    const exported = stdout.text.split('\n').filter((l) => l !== '');
    expect(exported.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(events.map((e) => e.id));
    // The sink never held much more than its own buffer: the stream waited for it.
    expect(stdout.maxBuffered).toBeLessThan(64 * 1024);
    const live = errText.filter((t) => t.startsWith('\r\x1b[Kexporting default/default: '));
    expect(live.length).toBeGreaterThan(0);
    expect(live[0]?.slice('\r\x1b[K'.length)).toMatch(
      /^exporting default\/default: \d+\/600 events \(\d+%\)$/,
    );
    expect(errText.at(-1)).toBe('\r\x1b[K');
    expect(lines).toEqual([
      expect.stringMatching(/^err: exported 600 events \(default\/default, \S+ to \S+\)$/),
    ]);
  });
});
