// IngressSender against a real HTTP server on 127.0.0.1 playing the ingress: a batch refused with 400
// is sent again one event at a time so the good ones get in and each bad one is reported with the
// ingress's reason; 503 and a dropped connection are retried with backoff; 404 stops the import.

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseHttpRequest } from '@eddy/api';
import { afterEach, describe, expect, it } from 'vitest';
import { CliError } from '../cli-error.js';
import { parseImportLine } from './export-format.js';
import { IngressSender, IngressUnavailableError, type PendingEvent } from './ingress-sender.js';

type Handler = (ids: string[], req: IncomingMessage) => { status: number; error?: string; drop?: boolean };

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((done) => s.close(() => done()));
});

/** A fake ingress: parses each request as ours does, records the ids of accepted ones. */
async function ingress(handler: Handler): Promise<{ url: string; accepted: string[]; requests: string[][] }> {
  const accepted: string[] = [];
  const requests: string[][] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const ids = parseHttpRequest(headers, Buffer.concat(chunks)).events.map((e) => e.id);
      requests.push(ids);
      const answer = handler(ids, req);
      if (answer.drop) return void req.socket.destroy();
      if (answer.status === 202) accepted.push(...ids);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(answer.error ? JSON.stringify({ error: answer.error }) : '');
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ns/b`, accepted, requests };
}

const pending = (ids: string[]): PendingEvent[] =>
  ids.map((id, i) => ({
    line: i + 1,
    event: parseImportLine(JSON.stringify({ specversion: '1.0', id, source: '/s', type: 't' })),
  }));

describe('IngressSender', () => {
  it('sends a refused batch again event by event: the good ones get in, the bad ones say why', async () => {
    const fake = await ingress((ids) =>
      ids.some((id) => id.startsWith('bad'))
        ? { status: 400, error: `event ${ids.find((id) => id.startsWith('bad'))} is invalid` }
        : { status: 202 },
    );
    const sender = new IngressSender({ url: fake.url });
    const failures = await sender.send(pending(['a', 'bad-1', 'b', 'bad-2']));
    expect(failures).toEqual([
      { line: 2, why: '400 event bad-1 is invalid' },
      { line: 4, why: '400 event bad-2 is invalid' },
    ]);
    expect(fake.accepted).toEqual(['a', 'b']);
    expect(fake.requests[0]).toEqual(['a', 'bad-1', 'b', 'bad-2']);
  });

  it('retries 503 and dropped connections with backoff, then gives up: the ingress is down', async () => {
    let calls = 0;
    const flaky = await ingress(() => {
      calls++;
      if (calls === 1) return { status: 503, error: 'log unavailable' };
      if (calls === 2) return { status: 0, drop: true };
      return { status: 202 };
    });
    const sender = new IngressSender({ url: flaky.url, baseDelayMs: 10 });
    expect(await sender.send(pending(['x', 'y']))).toEqual([]);
    expect(flaky.accepted).toEqual(['x', 'y']);
    expect(calls).toBe(3);

    const down = await ingress(() => ({ status: 503, error: 'log unavailable' }));
    const giving = new IngressSender({ url: down.url, attempts: 3, baseDelayMs: 10 });
    const error = await giving.send(pending(['z'])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngressUnavailableError);
    expect((error as Error).message).toBe(
      `the ingress at ${down.url} failed 3 times, the last with: 503 log unavailable`,
    );
    expect(down.requests).toHaveLength(3);
  });

  it('stops on 404: the broker is gone', async () => {
    const gone = await ingress(() => ({ status: 404, error: 'no broker ns/b' }));
    const sender = new IngressSender({ url: gone.url });
    await expect(sender.send(pending(['a']))).rejects.toThrow(CliError);
    await expect(sender.send(pending(['a']))).rejects.toThrow(
      /does not know the broker \(404 no broker ns\/b\)/,
    );
  });

  it('sends a 0.3 event with data_base64 alone in binary mode, its body the bytes', async () => {
    const bodies: Buffer[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        expect(req.headers['ce-specversion']).toBe('0.3');
        bodies.push(Buffer.concat(chunks));
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    servers.push(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ns/b`;
    const line = JSON.stringify({
      specversion: '0.3',
      id: 'p',
      source: '/s',
      type: 't',
      data_base64: 'AP8K',
    });
    expect(await new IngressSender({ url }).send([{ line: 1, event: parseImportLine(line) }])).toEqual([]);
    expect(bodies).toEqual([Buffer.from([0, 255, 10])]);
  });
});
