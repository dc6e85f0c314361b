// Generated hostile HTTP requests for the ingress, written as raw bytes (node:net), so that header
// bytes no client library would send reach the server; and the one check every answer must pass.
// Shared by test/broker/ingress-fuzz.test.ts and bench/fuzz (the 10k-request run).

import { connect } from 'node:net';
import fc from 'fast-check';

export interface RawAnswer {
  status: number;
  body: string;
  ms: number;
}

/** Sends `bytes` on a new connection; resolves with the answer, or rejects after `deadlineMs` (a hang). */
export function sendRaw(port: number, bytes: Buffer, deadlineMs = 5_000): Promise<RawAnswer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${deadlineMs} ms`));
    }, deadlineMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    // The server may answer and close before it read everything we wrote.
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (!match) {
        reject(new Error(`connection closed without an HTTP answer (${text.length} bytes)`));
        return;
      }
      // Only the first answer: a pipelined remainder may get its own after it.
      const split = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, split));
      const rest = split < 0 ? '' : text.slice(split + 4);
      const body = length ? rest.slice(0, Number(length[1])) : rest;
      resolve({ status: Number(match[1]), body, ms: performance.now() - started });
    });
    // Not end(): a half-closed connection makes Node's server drop the request unanswered.
    socket.write(bytes);
  });
}

/** What an answer must be: a 202, or a 4xx with a reason (Eddy's `{error}` or the HTTP parser's). */
export function answerProblem(answer: RawAnswer): string | undefined {
  if (answer.status === 202) return undefined;
  if (answer.status < 400 || answer.status >= 500)
    return `status ${answer.status}: ${answer.body.slice(0, 200)}`;
  let reason: unknown;
  try {
    reason = (JSON.parse(answer.body) as { error?: unknown }).error;
  } catch {}
  if (typeof reason === 'string' && reason.length >= 10) return undefined;
  return `status ${answer.status} without a reason: ${answer.body.slice(0, 200)}`;
}

const token = fc.stringMatching(/^[a-z0-9-]{1,12}$/);
const anyHeaderValue = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('1.0', '0.3', '%', '%zz', '%C3%28', '"x', '', ' x ', 'a\u0000b', 'é'),
  fc.integer({ min: 8_000, max: 40_000 }).map((n) => 'x'.repeat(n)),
);

const validEvent = fc.record({
  specversion: fc.constantFrom('1.0', '0.3'),
  id: fc.string({ minLength: 1, maxLength: 8 }),
  source: fc.constantFrom('/fuzz', 'https://example.com/x'),
  type: fc.string({ minLength: 1, maxLength: 8 }),
});

/** One request: a mix of valid events and every way to get one wrong, as raw HTTP/1.1 bytes. */
export function hostileRequest(path: string): fc.Arbitrary<Buffer> {
  const binary = fc
    .tuple(
      validEvent,
      fc.dictionary(
        fc.oneof(
          token.map((t) => `ce-${t}`),
          fc.constantFrom('ce-id', 'ce-time', 'content-type', 'ce-specversion'),
        ),
        anyHeaderValue,
        { maxKeys: 4 },
      ),
      fc.uint8Array({ maxLength: 200 }),
    )
    .map(([event, extra, body]) => ({
      headers: { ...Object.fromEntries(Object.entries(event).map(([k, v]) => [`ce-${k}`, v])), ...extra },
      body: Buffer.from(body),
    }));
  const structured = fc
    .tuple(
      fc.oneof(
        validEvent.map((e) => JSON.stringify(e)),
        fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? ''),
        fc.string({ maxLength: 60 }),
        fc.array(validEvent, { maxLength: 5 }).map((a) => JSON.stringify(a)),
      ),
      fc.constantFrom(
        'application/cloudevents+json',
        'application/cloudevents-batch+json',
        'application/cloudevents+json; charset=latin1',
        'application/cloudevents+xml',
        'application/json',
      ),
    )
    .map(([text, type]) => ({ headers: { 'content-type': type }, body: Buffer.from(text) }));
  const request = fc.tuple(
    fc.oneof(binary, structured),
    fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT'),
    fc.constantFrom(path, path, `${path}/`, `${path}?x=1`, '/nowhere', '/%zz', '//'),
    fc.constantFrom('length', 'length', 'chunked', 'wrong-length', 'none'),
  );
  return request.map(([{ headers, body }, method, target, framing]) => {
    const lines = [`${method} ${target} HTTP/1.1`, 'Host: fuzz', 'Connection: close'];
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    let payload = body;
    if (framing === 'length') lines.push(`Content-Length: ${body.length}`);
    // Shorter than the body: the rest reads as a next (garbage) request on the same connection.
    if (framing === 'wrong-length') lines.push(`Content-Length: ${Math.max(0, body.length - 3)}`);
    if (framing === 'chunked') {
      lines.push('Transfer-Encoding: chunked');
      payload = Buffer.concat([
        Buffer.from(`${body.length.toString(16)}\r\n`),
        body,
        Buffer.from('\r\n0\r\n\r\n'),
      ]);
    }
    if (framing === 'none') payload = Buffer.alloc(0);
    return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
  });
}
