// GitHubSource over real HTTP: every payload of @octokit/webhooks-examples, signed like GitHub signs
// (HMAC-SHA256 of the body bytes with the webhook secret), posted to the adapter's endpoint and
// checked at a real sink.

import { createHmac, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { dataValue } from '@eddy/api';
import pino from 'pino';
import type { Registry } from 'prom-client';
import { Agent, request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSourceRegistry } from '../builtins.js';
import type { SourceDefinition } from '../sdk/adapter.js';
import { createSourceRunner, type SourceRunner, sourceKey } from '../sdk/runner.js';
import { closeSourceTestBed, startSourceTestBed } from '../testing/source-test-bed.js';
import { startTestSink, type TestSink } from '../testing/test-sink.js';
import { testSourceDefinition } from '../testing/test-source-definition.js';
import { createGitHubSourceAdapter, PORT_ANNOTATION } from './github-source.js';

interface WebhookDefinition {
  name: string;
  examples: Record<string, unknown>[];
}
const examples = createRequire(import.meta.url)('@octokit/webhooks-examples') as WebhookDefinition[];

const quiet = pino({ level: 'silent' });
const SECRET = "It's a Secret to Everybody";
const SECRET_ENV = { EDDY_SECRET_GITHUB_WEBHOOK_SECRET: SECRET };
const agent = new Agent({ connections: 16 });

function sign(body: Buffer | string, secret = SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

interface Delivery {
  event: string;
  body: Buffer | string;
  delivery?: string;
  contentType?: string | null;
  signature?: string | null;
  extraHeaders?: Record<string, string>;
}

async function post(url: string, d: Delivery): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = {
    'x-github-event': d.event,
    'x-github-delivery': d.delivery ?? randomUUID(),
    'user-agent': 'GitHub-Hookshot/eddy-test',
    ...d.extraHeaders,
  };
  if (d.contentType !== null) headers['content-type'] = d.contentType ?? 'application/json';
  if (d.signature !== null) headers['x-hub-signature-256'] = d.signature ?? sign(d.body);
  const res = await request(url, { method: 'POST', headers, body: d.body, dispatcher: agent });
  return { status: res.statusCode, text: await res.body.text() };
}

/** Runs `work` over `items` with at most `limit` at once. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

function at(value: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
      value,
    );
}
const str = (v: unknown) => (v === undefined || v === null || v === '' ? undefined : String(v));
const tail = (v: unknown) =>
  str(
    String(v ?? '')
      .split('/')
      .pop(),
  );

/** The subject each event should get, written independently of the adapter's table. */
function expectedSubject(event: string, p: Record<string, unknown>): string | undefined {
  const paths: Record<string, string> = {
    check_run: 'check_run.id',
    check_suite: 'check_suite.id',
    create: 'ref_type',
    delete: 'ref_type',
    deployment: 'deployment.id',
    deployment_status: 'deployment.id',
    fork: 'forkee.id',
    installation: 'installation.id',
    installation_repositories: 'installation.id',
    issues: 'issue.number',
    label: 'label.name',
    member: 'member.id',
    membership: 'member.id',
    milestone: 'milestone.number',
    organization: 'action',
    org_block: 'action',
    page_build: 'id',
    ping: 'hook_id',
    project_card: 'action',
    project_column: 'action',
    project: 'action',
    public: 'repository.id',
    pull_request: 'pull_request.number',
    pull_request_review_comment: 'comment.id',
    pull_request_review: 'review.id',
    release: 'release.tag_name',
    repository: 'repository.id',
    repository_vulnerability_alert: 'alert.id',
    security_advisory: 'security_advisory.ghsa_id',
    status: 'sha',
    team: 'team.id',
    team_add: 'repository.id',
    watch: 'repository.id',
    // Eddy's choices for events Knative's adapter does not map:
    branch_protection_rule: 'rule.id',
    code_scanning_alert: 'alert.number',
    dependabot_alert: 'alert.number',
    deploy_key: 'key.id',
    deployment_review: 'workflow_run.id',
    discussion: 'discussion.number',
    discussion_comment: 'comment.id',
    merge_group: 'merge_group.head_sha',
    meta: 'hook_id',
    package: 'package.id',
    projects_v2_item: 'projects_v2_item.id',
    pull_request_review_thread: 'pull_request.number',
    repository_dispatch: 'action',
    repository_import: 'repository.id',
    sponsorship: 'sponsorship.node_id',
    star: 'repository.id',
    workflow_dispatch: 'workflow',
    workflow_job: 'workflow_job.id',
    workflow_run: 'workflow_run.id',
  };
  if (event === 'commit_comment' || event === 'issue_comment') return tail(at(p, 'comment.html_url'));
  if (event === 'push') return tail(p.compare);
  if (event === 'gollum') return str((p.pages as { page_name: string }[]).map((x) => x.page_name).join(','));
  const path = paths[event];
  return path ? str(at(p, path)) : (str(at(p, `${event}.number`)) ?? str(at(p, `${event}.id`)));
}

async function metric(registry: Registry, name: string, reason?: string): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const values = (m?.values ?? []) as { labels: Record<string, unknown>; value: number }[];
  return values
    .filter((v) => v.labels.name === 'hooks' && (reason === undefined || v.labels.reason === reason))
    .reduce((sum, v) => sum + v.value, 0);
}

describe('GitHubSource', () => {
  let sink: TestSink;
  let runner: SourceRunner;
  let registry: Registry;
  let url: string;

  function definition(spec: Record<string, unknown> = {}): SourceDefinition {
    return testSourceDefinition({
      apiVersion: 'sources.knative.dev/v1alpha1',
      kind: 'GitHubSource',
      name: 'hooks',
      sinkUrl: sink.url,
      spec: {
        ownerAndRepository: 'octo-org/octo-repo',
        eventTypes: examples.map((d) => d.name),
        accessToken: { secretKeyRef: { name: 'github-token', key: 'token' } },
        secretToken: { secretKeyRef: { name: 'github-webhook', key: 'secret' } },
        ...spec,
      },
      delivery: { retry: 2, backoffPolicy: 'linear', backoffDelayMs: 50, timeoutMs: 2_000 },
    });
  }

  async function start(spec: Record<string, unknown> = {}): Promise<void> {
    const status = await runner.apply(definition(spec));
    expect(status.ready).toMatchObject({ status: 'True', reason: 'Listening' });
    // Published as the source's address (status.address.url); the Ready message names it too.
    url = status.address?.url ?? '';
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(status.ready.message).toBe(`webhook endpoint ${url}`);
  }

  beforeEach(async () => {
    const adapters = createSourceRegistry();
    adapters.register(createGitHubSourceAdapter({ bodyLimit: 1024 * 1024 }), { replace: true });
    ({ sink, registry, runner } = await startSourceTestBed({ adapters, logger: quiet, env: SECRET_ENV }));
  });
  afterEach(() => closeSourceTestBed({ runner, sink }));

  it('turns every @octokit/webhooks-examples payload into the right CloudEvent', async () => {
    await start();
    const posted = new Map<string, { event: string; payload: Record<string, unknown>; body: Buffer }>();
    const all = examples.flatMap((d) => d.examples.map((payload) => ({ event: d.name, payload })));
    expect(all.length).toBeGreaterThan(300);
    await pool(all, 8, async ({ event, payload }) => {
      const delivery = randomUUID();
      const body = Buffer.from(JSON.stringify(payload, null, 2));
      posted.set(delivery, { event, payload, body });
      const res = await post(url, { event, body, delivery });
      expect(res, `${event} ${delivery}`).toEqual({ status: 202, text: 'accepted' });
    });
    const events = sink.accepted();
    expect(events).toHaveLength(all.length);
    for (const [i, e] of events.entries()) {
      const sent = posted.get(e.id);
      expect(sent, `event ${e.id} was not posted`).toBeDefined();
      if (!sent) continue;
      const what = `${sent.event} ${e.id}`;
      expect(e.type, what).toBe(`dev.knative.source.github.${sent.event}`);
      expect(e.source, what).toBe('https://github.com/octo-org/octo-repo');
      expect(e.subject, what).toBe(expectedSubject(sent.event, sent.payload));
      expect(e.datacontenttype, what).toBe('application/json');
      expect(dataValue(e), what).toEqual(sent.payload);
      // The payload's bytes reach the sink unchanged.
      expect(sink.requests[i]?.body.equals(sent.body), what).toBe(true);
      const sender = at(sent.payload, 'sender.login');
      if (sender && !['repository_vulnerability_alert', 'security_advisory'].includes(sent.event)) {
        expect(e.sender, what).toBe(sender);
      }
    }
    // Knative's extensions on a few well-known events.
    const first = (event: string) => {
      const id = [...posted].find(([, s]) => s.event === event)?.[0];
      return events.find((e) => e.id === id);
    };
    const pr = first('pull_request');
    const prPayload = examples.find((d) => d.name === 'pull_request')?.examples[0];
    expect(pr).toMatchObject({
      action: at(prPayload, 'action'),
      number: String(at(prPayload, 'number')),
      owner: at(prPayload, 'repository.owner.login'),
      repository: at(prPayload, 'repository.name'),
    });
    const push = first('push');
    const pushPayload = examples.find((d) => d.name === 'push')?.examples[0];
    expect(push).toMatchObject({
      ref: at(pushPayload, 'ref'),
      pusher: at(pushPayload, 'pusher.name'),
      created: String(at(pushPayload, 'created')),
      forced: String(at(pushPayload, 'forced')),
    });
    expect(first('status')).toMatchObject({ state: expect.any(String), context: expect.any(String) });
    expect(await metric(registry, 'eddy_source_events_received_total')).toBe(all.length);
    expect(await metric(registry, 'eddy_source_events_delivered_total')).toBe(all.length);
  }, 60_000);

  it('rejects forged and unsigned deliveries with 401/400 and emits nothing for them', async () => {
    await start();
    const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
    const forged = [
      { signature: sign(body, 'not the secret') },
      { signature: sign(`${body} `) },
      { signature: 'sha256=zz' },
      { signature: sign(body).replace('sha256=', 'sha1=') },
    ];
    for (const f of forged) {
      const res = await post(url, { event: 'ping', body, ...f });
      expect(res.status, f.signature).toBe(401);
      expect(res.text).toMatch(/X-Hub-Signature-256 does not match/);
    }
    const unsigned = await post(url, { event: 'ping', body, signature: null });
    expect(unsigned.status).toBe(400);
    expect(unsigned.text).toMatch(/missing X-Hub-Signature-256/);
    // GitHub's legacy SHA-1 signature alone is not enough.
    const sha1 = `sha1=${createHmac('sha1', SECRET).update(body).digest('hex')}`;
    const legacy = await post(url, {
      event: 'ping',
      body,
      signature: null,
      extraHeaders: { 'x-hub-signature': sha1 },
    });
    expect(legacy.status).toBe(400);
    // A genuine one afterwards is the only event the sink ever sees.
    const genuine = await post(url, { event: 'ping', body, delivery: 'genuine-1' });
    expect(genuine.status).toBe(202);
    await sink.waitFor((r) => r.length >= 1);
    expect(sink.requests.map((r) => r.headers['ce-id'])).toEqual(['genuine-1']);
    expect(await metric(registry, 'eddy_source_events_received_total')).toBe(1);
  });

  it('answers 415 to unsupported content types and accepts form-encoded payloads', async () => {
    await start();
    const payload = examples.find((d) => d.name === 'issues')?.examples[0] ?? {};
    const json = JSON.stringify(payload);
    for (const contentType of ['text/plain', 'application/xml', null]) {
      const res = await post(url, { event: 'issues', body: json, contentType });
      expect(res.status, String(contentType)).toBe(415);
      expect(res.text).toMatch(/expected application\/json or application\/x-www-form-urlencoded/);
    }
    const form = `payload=${encodeURIComponent(json)}`;
    const res = await post(url, {
      event: 'issues',
      body: form,
      delivery: 'form-1',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(res.status).toBe(202);
    // JSON with a charset parameter is JSON.
    const res2 = await post(url, {
      event: 'issues',
      body: json,
      delivery: 'json-charset',
      contentType: 'application/json; charset=utf-8',
    });
    expect(res2.status).toBe(202);
    await sink.waitFor((r) => r.length >= 2);
    const [fromForm] = sink.accepted();
    expect(fromForm).toMatchObject({
      id: 'form-1',
      type: 'dev.knative.source.github.issues',
      subject: String(at(payload, 'issue.number')),
    });
    expect(dataValue(fromForm!)).toEqual(payload);
    expect(sink.requests[0]?.body.toString()).toBe(json);
    // A form without the payload field is malformed: counted, skipped.
    const bad = await post(url, {
      event: 'issues',
      body: 'other=1',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/no "payload" field/);
    expect(await metric(registry, 'eddy_source_events_failed_total', 'malformed')).toBe(1);
  });

  it('ignores event types outside spec.eventTypes with 2xx, but always forwards ping', async () => {
    await start({ eventTypes: ['pull_request'] });
    const issues = JSON.stringify(examples.find((d) => d.name === 'issues')?.examples[0]);
    const ignored = await post(url, { event: 'issues', body: issues });
    expect(ignored.status).toBe(200);
    expect(ignored.text).toMatch(/not in spec.eventTypes/);
    const ping = examples.find((d) => d.name === 'ping')?.examples[0];
    expect((await post(url, { event: 'ping', body: JSON.stringify(ping), delivery: 'ping-1' })).status).toBe(
      202,
    );
    await sink.waitFor((r) => r.length >= 1);
    expect(sink.accepted().map((e) => [e.id, e.type, e.subject])).toEqual([
      ['ping-1', 'dev.knative.source.github.ping', String(at(ping, 'hook_id'))],
    ]);
  });

  it('rejects malformed and oversized bodies, missing headers and non-POST methods', async () => {
    await start();
    const notJson = await post(url, { event: 'issues', body: '{"truncated": ' });
    expect(notJson.status).toBe(400);
    expect(notJson.text).toMatch(/payload is not JSON/);
    expect(await metric(registry, 'eddy_source_events_failed_total', 'malformed')).toBe(1);
    const huge = Buffer.alloc(1024 * 1024 + 1, 0x20);
    expect((await post(url, { event: 'issues', body: huge })).status).toBe(413);
    const noEvent = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign('{}') },
      body: '{}',
      dispatcher: agent,
    });
    expect(noEvent.statusCode).toBe(400);
    expect(await noEvent.body.text()).toMatch(/missing X-GitHub-Event/);
    const get = await request(url, { method: 'GET', dispatcher: agent });
    expect(get.statusCode).toBe(405);
    expect(get.headers.allow).toBe('POST');
    await get.body.dump();
    expect(sink.requests).toHaveLength(0);
  });

  it('answers 5xx while the sink is down and accepts the redelivery once it is back', async () => {
    await start();
    const payload = examples.find((d) => d.name === 'push')?.examples[0];
    const body = JSON.stringify(payload);
    await sink.down();
    const failed = await post(url, { event: 'push', body, delivery: 'push-1' });
    expect(failed.status).toBe(503);
    expect(failed.text).toMatch(/redeliver later/);
    expect(await metric(registry, 'eddy_source_events_delivered_total')).toBe(0);
    expect(await metric(registry, 'eddy_source_events_failed_total', 'retries_exhausted')).toBe(1);
    await sink.up();
    // GitHub's redelivery: same body, same delivery id.
    const redelivered = await post(url, { event: 'push', body, delivery: 'push-1' });
    expect(redelivered.status).toBe(202);
    expect(sink.accepted().map((e) => e.id)).toEqual(['push-1']);
    expect(await metric(registry, 'eddy_source_events_delivered_total')).toBe(1);
    // A sink that refuses the event for good: GitHub gets 502, nothing is counted delivered.
    sink.respond = () => ({ status: 400 });
    const refused = await post(url, { event: 'push', body, delivery: 'push-2' });
    expect(refused.status).toBe(502);
    expect(await metric(registry, 'eddy_source_events_delivered_total')).toBe(1);
  });

  it('answers 503 when the sink has not answered by the response deadline', async () => {
    const adapters = createSourceRegistry();
    adapters.register(createGitHubSourceAdapter({ responseDeadlineMs: 300 }), { replace: true });
    await runner.close();
    runner = createSourceRunner({ adapters, registry, logger: quiet, env: SECRET_ENV });
    await start();
    sink.respond = () => ({ status: 202, delayMs: 2_000 });
    const started = Date.now();
    const res = await post(url, { event: 'ping', body: '{"hook_id":7}' });
    expect(res.status).toBe(503);
    expect(res.text).toMatch(/within 300 ms/);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('answers 503 to a delivery still waiting for the sink when the source stops', async () => {
    await start();
    sink.respond = () => ({ status: 202, delayMs: 5_000 });
    const pending = post(url, { event: 'ping', body: '{"hook_id":8}' });
    await sink.waitFor((r) => r.length >= 1);
    await runner.remove(sourceKey(definition()));
    const res = await pending;
    expect(res.status).toBe(503);
    expect(res.text).toMatch(/source is stopping/);
    expect(await metric(registry, 'eddy_source_events_delivered_total')).toBe(0);
  });

  it('reports where it listens, honours the port annotation, and fails to start without its secret', async () => {
    const probe = await startTestSink();
    const port = Number(new URL(probe.url).port);
    await probe.close();
    const def = definition();
    def.annotations = { [PORT_ANNOTATION]: String(port) };
    const status = await runner.apply(def);
    expect(status.ready.message).toBe(`webhook endpoint http://127.0.0.1:${port}/`);
    expect(status.address).toEqual({ url: `http://127.0.0.1:${port}/` });
    await runner.remove(sourceKey(def));
    await expect(
      request(`http://127.0.0.1:${port}/`, { method: 'POST', dispatcher: agent }),
    ).rejects.toThrow();

    const noSecret = createSourceRunner({ adapters: createSourceRegistry(), logger: quiet, env: {} });
    try {
      const failed = await noSecret.apply(definition());
      expect(failed.ready).toMatchObject({ status: 'False', reason: 'StartFailed' });
      expect(failed.ready.message).toMatch(/EDDY_SECRET_GITHUB_WEBHOOK_SECRET/);
      expect(failed.address).toBeUndefined();
      const badPort = definition();
      badPort.name = 'bad-port';
      badPort.annotations = { [PORT_ANNOTATION]: 'eighty' };
      const bad = await runner.apply(badPort);
      expect(bad.ready.message).toMatch(/webhook-port.*expected a port number/);
    } finally {
      await noSecret.close();
    }
  });
});
