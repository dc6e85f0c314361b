// The GitHub webhook endpoint over real HTTP under generated deliveries: any event name, content
// type, body (JSON, form, garbage) and signature (right, wrong, malformed). Every answer is a 2xx or
// a 4xx with a reason, within a deadline, never a 5xx; each 202 is one event at the sink.

import { createHmac, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import pino from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzRuns } from '../../../../test/harness/fuzz.js';
import { createSourceRegistry } from '../builtins.js';
import type { SourceRunner } from '../sdk/runner.js';
import { closeSourceTestBed, startSourceTestBed } from '../testing/source-test-bed.js';
import type { TestSink } from '../testing/test-sink.js';
import { testSourceDefinition } from '../testing/test-source-definition.js';
import { createGitHubSourceAdapter } from './github-source.js';

const SECRET = 'fuzz-secret';
const sign = (body: Buffer) => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;

let sink: TestSink;
let runner: SourceRunner;
let url: string;

beforeAll(async () => {
  const adapters = createSourceRegistry();
  adapters.register(createGitHubSourceAdapter({ bodyLimit: 64 * 1024 }), { replace: true });
  ({ sink, runner } = await startSourceTestBed({
    adapters,
    logger: pino({ level: 'silent' }),
    env: { EDDY_SECRET_GITHUB_WEBHOOK_SECRET: SECRET },
  }));
  const status = await runner.apply(
    testSourceDefinition({
      apiVersion: 'sources.knative.dev/v1alpha1',
      kind: 'GitHubSource',
      name: 'fuzz',
      sinkUrl: sink.url,
      spec: {
        ownerAndRepository: 'octo-org/octo-repo',
        eventTypes: ['push', 'issues', 'pull_request', 'x y', 'ümlaut'],
        secretToken: { secretKeyRef: { name: 'github-webhook', key: 'secret' } },
      },
      delivery: { retry: 0, backoffPolicy: 'linear', backoffDelayMs: 10, timeoutMs: 2_000 },
    }),
  );
  url = status.address?.url ?? '';
});

afterAll(() => closeSourceTestBed({ runner, sink }));

const delivery = fc.record({
  event: fc.oneof(
    fc.constantFrom('push', 'issues', 'pull_request', 'ping', 'x y', 'unknown'),
    fc.stringMatching(/^[ -~]{0,12}$/),
  ),
  contentType: fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/x-www-form-urlencoded',
    'text/plain',
    '',
  ),
  body: fc.oneof(
    fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? '')),
    fc
      .dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }))
      .map((o) => Buffer.from(JSON.stringify({ repository: { name: 'r' }, ...o }))),
    fc
      .jsonValue({ maxDepth: 2 })
      .map((v) => Buffer.from(`payload=${encodeURIComponent(JSON.stringify(v) ?? '')}`)),
    fc.string({ unit: 'binary', maxLength: 60 }).map((s) => Buffer.from(s)),
    fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b)),
  ),
  signature: fc.constantFrom('right', 'right', 'right', 'wrong', 'malformed', 'missing'),
  deliveryId: fc.oneof(fc.uuid(), fc.constantFrom('', 'x')),
});

describe('GitHub webhook endpoint under generated deliveries', () => {
  it('answers 2xx or a 4xx with a reason, never a 5xx; each 202 reaches the sink', {
    timeout: 120_000,
  }, async () => {
    const samples = fc.sample(delivery, { numRuns: fuzzRuns(0.3) });
    let accepted = 0;
    for (const d of samples) {
      const headers: Record<string, string> = {
        'x-github-event': d.event,
        'x-github-delivery': d.deliveryId || randomUUID(),
      };
      if (d.contentType) headers['content-type'] = d.contentType;
      if (d.signature === 'right') headers['x-hub-signature-256'] = sign(d.body);
      if (d.signature === 'wrong')
        headers['x-hub-signature-256'] = sign(Buffer.concat([d.body, Buffer.from('x')]));
      if (d.signature === 'malformed') headers['x-hub-signature-256'] = 'sha256=zz';
      const answer = await request(url, {
        method: 'POST',
        headers,
        body: d.body,
        headersTimeout: 5_000,
        bodyTimeout: 5_000,
      });
      const text = await answer.body.text();
      const what = `${answer.statusCode} "${text}" for ${JSON.stringify({ ...d, body: d.body.toString('latin1') })}`;
      expect(answer.statusCode < 500, what).toBe(true);
      if (answer.statusCode >= 400) expect(text.length, what).toBeGreaterThan(10);
      if (answer.statusCode === 202) accepted++;
    }
    expect(accepted, 'the generator must reach the sink too').toBeGreaterThan(0);
    expect(sink.accepted()).toHaveLength(accepted);
  });
});
