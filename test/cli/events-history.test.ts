// Issue 13's history tooling on an embedded `eddy dev`, with the built CLI spawned as a user runs it:
// `eddy events export` (a time window, --to, --filter, -o and stdout, the final count), `eddy events
// import` (line numbers and reasons of bad lines while the good ones get in, a refused batch split so
// its good events still land, --rate, stdin), `eddy tail --from` (history, then live) and the oldest
// event in `eddy describe broker`.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toKafkaBinary } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { admin, Cleanups } from '../../packages/cli/src/dev/testing/dev-test-kit.ts';
import { waitFor } from '../../packages/cli/src/dev/testing/wait.ts';
import { buildCli } from './helpers.ts';
import { startHistoryDev, variedEvents } from './history-kit.ts';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());
beforeAll(() => buildCli(), 180_000);

const lines = (text: string) => text.split('\n').filter((l) => l !== '');
const ids = (jsonl: string) => lines(jsonl).map((l) => (JSON.parse(l) as { id: string }).id);
const textEvent = (id: string, type = 'com.example.a') => ({
  'ce-specversion': '1.0',
  'ce-source': '/s',
  'ce-type': type,
  'ce-id': id,
  'content-type': 'text/plain',
});

describe('eddy events export', () => {
  it('writes the window [--from, --to) as JSON Lines, to stdout or -o, with the count on stderr', async () => {
    const dev = await startHistoryDev(cleanups);
    const dir = cleanups.tempDir('eddy-export-');
    for (const id of ['early-1', 'early-2']) expect(await dev.send(textEvent(id), 'x')).toBe(202);
    await sleep(50);
    const middle = new Date().toISOString();
    await sleep(50);
    for (const [headers, body] of variedEvents('late')) expect(await dev.send(headers, body)).toBe(202);

    const all = await dev.eddy(['events', 'export', dev.broker, '--from', '1h']);
    expect(all.code, all.stderr).toBe(0);
    expect(ids(all.stdout)).toEqual(['early-1', 'early-2', ...variedEvents('late').map(eventId)]);
    expect(lines(all.stderr).at(-1)).toMatch(
      new RegExp(`^exported 14 events \\(${dev.namespace}/default, \\S+ to \\S+\\)$`),
    );
    // Each line is the event as stored: the data's bytes, JSON text verbatim where it fits on a line.
    const stored = await dev.stored();
    expect(lines(all.stdout)).toHaveLength(stored.length);
    expect(all.stdout).toContain('"data":{ "price" : 1.0, "n": 12345678901234567890 }');

    const early = join(dir, 'early.jsonl');
    const before = await dev.eddy([
      'events',
      'export',
      dev.broker,
      '--from',
      '1h',
      '--to',
      middle,
      '-o',
      early,
    ]);
    expect(before.code, before.stderr).toBe(0);
    expect(ids(await readFile(early, 'utf8'))).toEqual(['early-1', 'early-2']);
    expect(lines(before.stderr).at(-1)).toMatch(new RegExp(`^exported 2 events to ${early} `));

    const filtered = await dev.eddy([
      'events',
      'export',
      dev.broker,
      '--from',
      middle,
      '--filter',
      "id LIKE '%binary'",
    ]);
    expect(filtered.code, filtered.stderr).toBe(0);
    expect(ids(filtered.stdout)).toEqual(['late-binary', 'late-03-binary']);
    expect(lines(filtered.stderr).at(-1)).toMatch(/^exported 2 events \(.*, 12 read\)$/);

    const none = await dev.eddy([
      'events',
      'export',
      dev.broker,
      '--from',
      '2000-01-01T00:00:00Z',
      '--to',
      '2000-01-02T00:00:00Z',
    ]);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toBe('');
    expect(lines(none.stderr).at(-1)).toMatch(/^exported 0 events /);
  });

  it('says which broker is unknown, and what cannot be written', async () => {
    const dev = await startHistoryDev(cleanups);
    const missing = await dev.eddy(['events', 'export', 'nope', '--from', '1h']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      `eddy: broker "nope" not found in namespace ${dev.namespace} (see: eddy get brokers -A)\n`,
    );
    const dir = cleanups.tempDir('eddy-export-');
    const unwritable = await dev.eddy([
      'events',
      'export',
      dev.broker,
      '--from',
      '1h',
      '-o',
      join(dir, 'no/such/dir.jsonl'),
    ]);
    expect(unwritable.code).toBe(1);
    expect(unwritable.stderr).toMatch(/^eddy: cannot write -o .*no\/such\/dir\.jsonl: ENOENT/);
  });
});

describe('eddy events export under live traffic, and the admin API', () => {
  it('ends at the moment the command started while events keep arriving', async () => {
    const dev = await startHistoryDev(cleanups);
    const sent: string[] = [];
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending || i < 20; i++) {
        const id = `live-${i}`;
        expect(await dev.send(textEvent(id), 'x')).toBe(202);
        sent.push(id);
      }
    })();
    await waitFor('some events', () => sent.length >= 20, { timeoutMs: 20_000 });
    const r = await dev.eddy(['events', 'export', dev.broker, '--from', '1h']);
    const sentByTheEnd = sent.length;
    sending = false;
    await sender;
    expect(r.code, r.stderr).toBe(0);
    const exported = ids(r.stdout);
    expect(exported.length).toBeGreaterThanOrEqual(20);
    expect(exported.length).toBeLessThanOrEqual(sentByTheEnd);
    // A prefix of what was sent, in order: nothing skipped, nothing after the window.
    expect(exported).toEqual(sent.slice(0, exported.length));
  });

  it('GET /v1/export names what is wrong with a request', async () => {
    const dev = await startHistoryDev(cleanups);
    const exportRequest = (params: Record<string, string>) =>
      admin(dev.server, 'GET', `/v1/export?${new URLSearchParams({ namespace: dev.namespace, ...params })}`);
    expect(await exportRequest({ broker: 'default' })).toEqual({
      status: 400,
      body: { error: 'export needs ?from=<epoch ms>' },
    });
    expect(await exportRequest({ broker: 'default', from: 'yesterday' })).toEqual({
      status: 400,
      body: { error: '?from= must be a time in epoch milliseconds, found "yesterday"' },
    });
    expect(await exportRequest({ broker: 'default', from: '2000', to: '1000' })).toEqual({
      status: 400,
      body: { error: 'to (1000) is before from (2000)' },
    });
    expect(await exportRequest({ broker: 'nope', from: '0' })).toEqual({
      status: 404,
      body: { error: `Broker ${dev.namespace}/nope not found` },
    });
    const badFilter = await exportRequest({ broker: 'default', from: '0', filter: 'type =' });
    expect(badFilter.status).toBe(400);
    expect(badFilter.body.error).toMatch(/^invalid filter: /);
    expect((await exportRequest({ from: '0' })).body.error).toMatch(/^export needs \?broker=<name>/);
  });
});

describe('eddy events import', () => {
  it('appends the good lines in order, names each bad line and why, and exits 1', async () => {
    const dev = await startHistoryDev(cleanups);
    const dir = cleanups.tempDir('eddy-import-');
    const event = (id: string, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ specversion: '1.0', id, source: '/s', type: 't', ...extra });
    const tooLarge = event('huge', { datacontenttype: 'text/plain', data: 'x'.repeat(1_100_000) });
    const file = join(dir, 'in.jsonl');
    await writeFile(
      file,
      [
        event('ok-1'),
        '{"specversion": "1.0", "id": ',
        event('ok-2', { datacontenttype: 'application/json', data: { a: 1 } }),
        '',
        JSON.stringify({ specversion: '1.0', id: 'no-type', source: '/s' }),
        '[1, 2]',
        event('ok-3'),
        // Accepted by the local check, refused by the ingress (413, larger than a request may be).
        tooLarge,
        event('ok-4'),
      ].join('\n'),
    );
    const r = await dev.eddy(['events', 'import', dev.broker, '-f', file]);
    expect(r.code, r.stderr).toBe(1);
    const err = lines(r.stderr);
    expect(err).toEqual([
      expect.stringMatching(new RegExp(`^${file}:2: not JSON: `)),
      expect.stringMatching(new RegExp(`^${file}:5: .*"type"`)),
      `${file}:6: expected a JSON object (one CloudEvent), found an array`,
      expect.stringMatching(new RegExp(`^${file}:8: 413 request body exceeds the limit of 1048576 bytes`)),
      `imported 4 events into ${dev.namespace}/default, 4 lines failed`,
    ]);
    expect((await dev.stored()).map((e) => e.id)).toEqual(['ok-1', 'ok-2', 'ok-3', 'ok-4']);
  });

  it('reads stdin with -f -, and --rate spaces the events out', async () => {
    const dev = await startHistoryDev(cleanups);
    const input = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({ specversion: '1.0', id: `r-${i}`, source: '/s', type: 't' }),
    ).join('\n');
    const started = Date.now();
    const child = dev.spawnEddy(['events', 'import', dev.broker, '-f', '-', '--rate', '20']);
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.stdin?.end(input);
    const code = await new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
    expect(code, stderr).toBe(0);
    // 30 events at 20/s: the last batch is due 1.45 s after the first.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(lines(stderr).at(-1)).toBe(`imported 30 events into ${dev.namespace}/default`);
    expect((await dev.stored()).map((e) => e.id)).toEqual(Array.from({ length: 30 }, (_, i) => `r-${i}`));
  });

  it('an export imported into another broker is stored with the same attributes and data bytes', async () => {
    const from = await startHistoryDev(cleanups);
    const into = await startHistoryDev(cleanups);
    for (const [headers, body] of variedEvents('v')) expect(await from.send(headers, body)).toBe(202);
    const dir = cleanups.tempDir('eddy-import-');
    const file = join(dir, 'a.jsonl');
    expect((await from.eddy(['events', 'export', from.broker, '--from', '1h', '-o', file])).code).toBe(0);
    const r = await into.eddy(['events', 'import', into.broker, '-f', file]);
    expect(r.code, r.stderr).toBe(0);
    const again = join(dir, 'b.jsonl');
    expect((await into.eddy(['events', 'export', into.broker, '--from', '1h', '-o', again])).code).toBe(0);
    expect(await readFile(again)).toEqual(await readFile(file));
    const original = await from.stored();
    const copy = await into.stored();
    expect(copy.map((e) => toKafkaBinary(e))).toEqual(original.map((e) => toKafkaBinary(e)));
  });
});

describe('eddy tail --from', () => {
  it('prints the history from then, then follows live events until Ctrl-C', async () => {
    const dev = await startHistoryDev(cleanups);
    expect(await dev.send(textEvent('old-1'), 'x')).toBe(202);
    expect(await dev.send(textEvent('old-2'), 'x')).toBe(202);
    const child = dev.spawnEddy(['tail', dev.broker, '--from', '10m', '-o', 'json']);
    cleanups.push(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    await waitFor('the history', () => ids(stdout).length >= 2, { timeoutMs: 20_000 });
    expect(stderr).toMatch(new RegExp(`^tailing ${dev.namespace}/default from \\S+Z \\(Ctrl-C to stop\\)`));
    expect(await dev.send(textEvent('live-1'), 'x')).toBe(202);
    await waitFor('the live event', () => ids(stdout).length >= 3, { timeoutMs: 20_000 });
    expect(ids(stdout)).toEqual(['old-1', 'old-2', 'live-1']);
    child.kill('SIGINT');
    expect(await new Promise((done) => child.on('exit', (c) => done(c)))).toBe(0);
  });
});

describe('eddy describe broker', () => {
  it('shows the oldest event the topic still holds', async () => {
    const dev = await startHistoryDev(cleanups);
    const empty = await dev.eddy(['describe', 'broker', dev.broker]);
    expect(empty.code, empty.stderr).toBe(0);
    expect(lines(empty.stdout)).toContain('Oldest event: none (empty)');
    const before = Date.now();
    expect(await dev.send(textEvent('first'), 'x')).toBe(202);
    const after = Date.now();
    expect(await dev.send(textEvent('second'), 'x')).toBe(202);
    const d = await dev.eddy(['describe', 'broker', dev.broker]);
    const line = lines(d.stdout).find((l) => l.startsWith('Oldest event:'));
    const m = /^Oldest event: (\S+) \((\d+)s ago\)$/.exec(line ?? '');
    expect(m, line).not.toBeNull();
    const oldest = Date.parse(m?.[1] ?? '');
    expect(oldest).toBeGreaterThanOrEqual(before);
    expect(oldest).toBeLessThanOrEqual(after);
  });
});

function eventId([headers, body]: [Record<string, string>, (string | Buffer)?]): string {
  return headers['ce-id'] ?? (JSON.parse(String(body)) as { id: string }).id;
}
