// The broker data plane end to end, on BOTH event logs (embedded in a temp dir, the harness's
// Kafka): events POSTed to the real ingress, routed by contracts computed from real YAML, delivered
// to real HTTP subscribers on 127.0.0.1. Conformance vectors arrive unchanged; filters route; replies
// re-enter the broker; retries end at the dead-letter sink; channels fan out to subscriptions and
// replies go to `reply`.

import { dataValue, type PlainEvent, parseHttpRequest, toHttpBinary, toHttpStructured } from '@eddy/api';
import { createBrokerDataPlane } from '@eddy/broker';
import { request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  conformanceCorpusMissing,
  type HttpFeatureVector,
  readHttpFeatureVectors,
  readYamlEventVectors,
} from '../../packages/api/src/cloudevents/binding-vectors.conformance.ts';
import {
  applyYaml,
  brokerYaml,
  contractFromYaml,
  logFactories,
  quiet,
  type ReceivedRequest,
  sleep,
  startDataPlane,
  startSubscriber,
  triggerYaml,
  unique,
  waitFor,
} from './helpers.ts';

async function post(url: string, headers: Record<string, string>, body: Buffer | string | undefined) {
  const response = await request(url, { method: 'POST', headers, body });
  const text = await response.body.text();
  return { status: response.statusCode, text };
}

async function postEvent(url: string, event: PlainEvent) {
  const message = toHttpBinary(event);
  const response = await post(url, message.headers, message.body);
  expect(response.status, response.text).toBe(202);
}

/** The event a subscriber got, decoded from its binary-mode request. */
function decode(r: ReceivedRequest): PlainEvent {
  const [event] = parseHttpRequest(r.headers as Record<string, string>, r.body).events;
  return event!;
}

function attrs(event: PlainEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(event))
    if (v !== undefined && k !== 'data' && k !== 'data_base64') out[k] = v;
  return out;
}

/** The JSON data of `event()`, spelled so that a parse and re-serialization would show. */
const EVENT_DATA = Buffer.from('{ "n": 1.0 }');

const event = (type: string, extra: Record<string, unknown> = {}): PlainEvent => ({
  specversion: '1.0',
  id: unique('e'),
  source: '/eddy/e2e',
  type,
  datacontenttype: 'application/json',
  data: EVENT_DATA,
  ...extra,
});

for (const factory of logFactories) {
  describe(`broker data plane on the ${factory.name} log`, () => {
    it('delivers every HTTP conformance vector unchanged, binary mode with Prefer: reply', {
      timeout: 60_000,
    }, async () => {
      if (conformanceCorpusMissing) {
        console.warn(`skipped: ${conformanceCorpusMissing}`);
        return;
      }
      const { dataPlane } = await startDataPlane(factory);
      const sub = await startSubscriber();
      const ns = unique('conf');
      await applyYaml(
        dataPlane,
        [
          brokerYaml(ns),
          triggerYaml(ns, 'all', `  broker: default\n  subscriber:\n    uri: ${sub.url}\n`, {
            // One partition, one at a time: arrivals come in the order sent.
            'kafka.eventing.knative.dev/delivery.order': 'ordered',
          }),
        ].join('\n---\n'),
      );
      const ingress = `${dataPlane.url}/${ns}/default`;
      const sent: {
        name: string;
        expected: PlainEvent;
        vector?: HttpFeatureVector;
      }[] = [];
      for (const vector of readHttpFeatureVectors()) {
        const headers = Object.fromEntries(
          Object.entries(vector.headers).filter(([name]) => !/^(host|content-length)$/i.test(name)),
        );
        const response = await post(ingress, headers, vector.body);
        expect(response.status, `${vector.name}: ${response.text}`).toBe(202);
        const [expected] = parseHttpRequest(headers, Buffer.from(vector.body)).events;
        sent.push({ name: vector.name, expected: expected!, vector });
      }
      for (const vector of readYamlEventVectors()) {
        const source = {
          ...vector.attributes,
          ...vector.extensions,
          ...(vector.data === undefined ? {} : { data: Buffer.from(vector.data, 'utf8') }),
        } as PlainEvent;
        for (const mode of vector.mode ? [vector.mode] : (['binary', 'structured'] as const)) {
          const message = mode === 'binary' ? toHttpBinary(source) : toHttpStructured(source);
          const response = await post(ingress, message.headers, message.body);
          expect(response.status, `${vector.name} ${mode}: ${response.text}`).toBe(202);
          const [expected] = parseHttpRequest(message.headers, message.body).events;
          sent.push({ name: `${vector.name} (${mode})`, expected: expected! });
        }
      }
      expect(sent.length).toBeGreaterThan(20);
      await waitFor(`${sent.length} deliveries`, () => sub.received.length >= sent.length, 40_000);
      await sleep(200);
      expect(sub.received).toHaveLength(sent.length);
      for (const [i, { name, expected, vector }] of sent.entries()) {
        const r = sub.received[i]!;
        expect(r.method, name).toBe('POST');
        expect(r.headers.prefer, name).toBe('reply');
        // Binary mode: attributes as ce- headers, never a structured envelope.
        expect(r.headers['ce-specversion'], name).toBe(expected.specversion);
        expect(String(r.headers['content-type'] ?? ''), name).not.toMatch(/cloudevents/);
        const got = decode(r);
        const gotAttrs = attrs(got);
        // Exactly the attributes sent (an event without time gets none) and the same data bytes.
        expect(gotAttrs, name).toEqual(attrs(expected));
        expect(r.body, name).toEqual(toHttpBinary(expected).body);
        if (vector) {
          for (const [key, value] of Object.entries(vector.attributes))
            expect(gotAttrs[key], `${name} ${key}`).toBe(value);
        }
      }
    });

    it('routes through computeContract: exact, prefix and CESQL filters; filters override filter', {
      timeout: 30_000,
    }, async () => {
      const { dataPlane } = await startDataPlane(factory);
      const orders = await startSubscriber();
      const audits = await startSubscriber();
      const ns = unique('route');
      await applyYaml(
        dataPlane,
        [
          brokerYaml(ns),
          // Legacy exact filter on two attributes.
          triggerYaml(
            ns,
            'orders-exact',
            `  broker: default\n  filter:\n    attributes:\n      type: order.created\n      source: /shop\n  subscriber:\n    uri: ${orders.url}exact\n`,
          ),
          // `filters` overrides `filter`: the attributes filter would match nothing that is sent.
          triggerYaml(
            ns,
            'orders-prefix',
            `  broker: default\n  filter:\n    attributes:\n      type: never.sent\n  filters:\n    - prefix:\n        type: order.\n  subscriber:\n    uri: ${orders.url}prefix\n`,
          ),
          triggerYaml(
            ns,
            'audit-cesql',
            `  broker: default\n  filters:\n    - cesql: "type LIKE 'audit.%' AND severity > 2"\n  subscriber:\n    uri: ${audits.url}cesql\n`,
          ),
        ].join('\n---\n'),
      );
      const ingress = `${dataPlane.url}/${ns}/default`;
      const created = event('order.created', { source: '/shop' });
      const createdElsewhere = event('order.created', { source: '/elsewhere' });
      const shipped = event('order.shipped', { source: '/shop' });
      const auditHigh = event('audit.login', { severity: 5 });
      const auditLow = event('audit.login', { severity: 1 });
      const other = event('misc.thing');
      for (const e of [created, createdElsewhere, shipped, auditHigh, auditLow, other])
        await postEvent(ingress, e);
      await waitFor('orders and audits', () => orders.received.length >= 4 && audits.received.length >= 1);
      await sleep(500); // anything misrouted would arrive meanwhile
      const ids = (rs: ReceivedRequest[], path: string) =>
        rs
          .filter((r) => r.url === `/${path}`)
          .map((r) => String(r.headers['ce-id']))
          .sort();
      expect(ids(orders.received, 'exact')).toEqual([created.id]);
      expect(ids(orders.received, 'prefix')).toEqual([created.id, createdElsewhere.id, shipped.id].sort());
      expect(orders.received).toHaveLength(4);
      expect(ids(audits.received, 'cesql')).toEqual([auditHigh.id]);
      expect(audits.received).toHaveLength(1);
    });

    it('a reply from subscriber A re-enters the broker and reaches trigger B', {
      timeout: 30_000,
    }, async () => {
      const { dataPlane } = await startDataPlane(factory);
      const a = await startSubscriber((r, res) => {
        const reply: PlainEvent = {
          specversion: '1.0',
          id: `reply-of-${r.headers['ce-id']}`,
          source: '/subscriber-a',
          type: 'order.validated',
          datacontenttype: 'application/json',
          data: Buffer.from(`{ "validated": "${r.headers['ce-id']}" }`),
        };
        const message = toHttpBinary(reply);
        res.writeHead(200, message.headers).end(message.body);
      });
      const b = await startSubscriber();
      const ns = unique('reply');
      await applyYaml(
        dataPlane,
        [
          brokerYaml(ns),
          triggerYaml(
            ns,
            'a',
            `  broker: default\n  filter:\n    attributes:\n      type: order.created\n  subscriber:\n    uri: ${a.url}\n`,
          ),
          triggerYaml(
            ns,
            'b',
            `  broker: default\n  filter:\n    attributes:\n      type: order.validated\n  subscriber:\n    uri: ${b.url}\n`,
          ),
        ].join('\n---\n'),
      );
      const created = event('order.created');
      await postEvent(`${dataPlane.url}/${ns}/default`, created);
      await waitFor('the reply at B', () => b.received.length >= 1);
      await sleep(300);
      expect(a.received.map((r) => r.headers['ce-id'])).toEqual([created.id]);
      expect(b.received).toHaveLength(1);
      const reply = decode(b.received[0]!);
      expect(reply.id).toBe(`reply-of-${created.id}`);
      expect(reply.source).toBe('/subscriber-a');
      expect(reply).not.toHaveProperty('time');
      expect(dataValue(reply)).toEqual({ validated: created.id });
      expect(b.received[0]!.body.toString()).toBe(`{ "validated": "${created.id}" }`);
    });

    it('retries, then hands the event to the dead-letter sink with the error extensions', {
      timeout: 30_000,
    }, async () => {
      const { dataPlane } = await startDataPlane(factory);
      const failing = new Set<string>();
      const attempts = new Map<string, number>();
      const sub = await startSubscriber((r, res) => {
        const id = String(r.headers['ce-id']);
        const n = (attempts.get(id) ?? 0) + 1;
        attempts.set(id, n);
        // `always-*` events fail every attempt; the others fail twice, then succeed.
        if (failing.has(id) || n <= 2) res.writeHead(503, { 'content-type': 'text/plain' }).end('boom');
        else res.writeHead(202).end();
      });
      const dls = await startSubscriber();
      const ns = unique('dls');
      await applyYaml(
        dataPlane,
        [
          brokerYaml(ns),
          triggerYaml(
            ns,
            'flaky',
            `  broker: default\n  subscriber:\n    uri: ${sub.url}\n  delivery:\n    retry: 3\n    backoffPolicy: linear\n    backoffDelay: PT0.05S\n    deadLetterSink:\n      uri: ${dls.url}dead\n`,
          ),
        ].join('\n---\n'),
      );
      const recovers = event('job');
      const dies = event('job');
      failing.add(dies.id);
      const ingress = `${dataPlane.url}/${ns}/default`;
      await postEvent(ingress, recovers);
      await postEvent(ingress, dies);
      await waitFor('the dead letter', () => dls.received.length >= 1);
      await waitFor('the recovered delivery', () => (attempts.get(recovers.id) ?? 0) >= 3);
      await sleep(300);
      expect(attempts.get(dies.id)).toBe(4); // retry 3 = 4 attempts
      expect(attempts.get(recovers.id)).toBe(3);
      expect(dls.received).toHaveLength(1);
      const dead = decode(dls.received[0]!);
      expect(dead.id).toBe(dies.id);
      expect(dead.type).toBe('job');
      expect(dataValue(dead)).toEqual({ n: 1 });
      expect(dls.received[0]!.body).toEqual(EVENT_DATA);
      expect(dead.knativeerrordest).toBe(sub.url);
      expect(String(dead.knativeerrorcode)).toBe('503');
      expect(Buffer.from(String(dead.knativeerrordata), 'base64').toString()).toBe('boom');
      // Metrics of every component are on the one /metrics endpoint.
      const metrics = await (await request(`${dataPlane.url}/metrics`)).body.text();
      expect(metrics).toMatch(/eddy_ingress_events_total\{[^}]*outcome="accepted"[^}]*\} 2/);
      expect(metrics).toMatch(new RegExp(`eddy_dispatch_dead_lettered_total\\{route="${ns}/flaky"\\} 1`));
      expect(metrics).toMatch(/eddy_dispatch_attempts_total/);
      const health = await request(`${dataPlane.url}/healthz`);
      expect(health.statusCode).toBe(200);
      await health.body.text();
    });

    it('a channel fans out to its subscriptions; a subscription reply goes to its reply destination', {
      timeout: 30_000,
    }, async () => {
      const { dataPlane } = await startDataPlane(factory);
      const replyTo = await startSubscriber();
      const first = await startSubscriber((r, res) => {
        const message = toHttpBinary({
          specversion: '1.0',
          id: `ack-${r.headers['ce-id']}`,
          source: '/first',
          type: 'ack',
        });
        res.writeHead(200, message.headers).end(message.body);
      });
      const second = await startSubscriber();
      const ns = unique('chan');
      const kind = factory.name === 'kafka' ? 'KafkaChannel' : 'InMemoryChannel';
      const apiVersion =
        kind === 'KafkaChannel' ? 'messaging.knative.dev/v1beta1' : 'messaging.knative.dev/v1';
      const subscription = (name: string, spec: string) =>
        `apiVersion: messaging.knative.dev/v1\nkind: Subscription\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n  annotations:\n    eddy.dev/start-from: earliest\nspec:\n  channel:\n    apiVersion: ${apiVersion}\n    kind: ${kind}\n    name: orders\n${spec}`;
      const contract = await applyYaml(
        dataPlane,
        [
          `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: orders\n  namespace: ${ns}\n`,
          subscription(
            'first',
            `  subscriber:\n    uri: ${first.url}\n  reply:\n    uri: ${replyTo.url}replies\n`,
          ),
          subscription('second', `  subscriber:\n    uri: ${second.url}\n`),
        ].join('\n---\n'),
      );
      expect(contract.channels.map((c) => c.kind)).toEqual([kind]);
      const sent = [event('order'), event('order')];
      for (const e of sent) await postEvent(`${dataPlane.url}/channels/${ns}/orders`, e);
      const ids = sent.map((e) => e.id).sort();
      const idsOf = (rs: ReceivedRequest[]) => rs.map((r) => String(r.headers['ce-id'])).sort();
      await waitFor('both subscriptions and the replies', () => {
        return first.received.length >= 2 && second.received.length >= 2 && replyTo.received.length >= 2;
      });
      await sleep(300);
      expect(idsOf(first.received)).toEqual(ids);
      expect(idsOf(second.received)).toEqual(ids);
      expect(idsOf(replyTo.received)).toEqual(ids.map((id) => `ack-${id}`).sort());
      expect(replyTo.received.every((r) => r.url === '/replies' && r.headers['ce-type'] === 'ack')).toBe(
        true,
      );
    });

    it('takes the running generation again when its routes failed to start', {
      timeout: 60_000,
    }, async () => {
      // A dispatcher on its own: no ingress creates the Trigger's topic, so its route cannot start.
      const log = await factory.open();
      const dataPlane = await createBrokerDataPlane({
        log,
        logger: quiet,
        component: 'dispatcher',
        topicWaitMs: 50,
        dispatcher: { retryStateTopic: unique('eddy-e2e-retry-state'), lagIntervalMs: 0 },
      });
      onTestFinished(async () => {
        await dataPlane.close();
        await log.close();
      });
      const ns = unique('again');
      const sub = await startSubscriber();
      const contract = contractFromYaml(
        [
          brokerYaml(ns),
          triggerYaml(ns, 'to-sub', `  broker: default\n  subscriber:\n    uri: ${sub.url}\n`),
        ].join('\n---\n'),
        'http://127.0.0.1:1',
      );
      await expect(dataPlane.apply(contract)).rejects.toThrow(/could not start/);
      expect(dataPlane.ready().routes).toMatch(/could not start/);
      const topic = contract.routes[0]!.topic;
      await log.ensureTopic(topic);
      // What the contract watch does after a failed apply: the same contract again.
      expect(await dataPlane.apply(contract)).toEqual({ applied: true, generation: contract.generation });
      expect(dataPlane.ready().routes).toBeUndefined();
      expect(await dataPlane.apply(contract)).toEqual({ applied: false, generation: contract.generation });
      await log.append(topic, [event('after.retry')]);
      await waitFor('the event to be delivered', () => sub.received.length === 1);
    });

    it('ignores a contract whose generation is not newer', { timeout: 30_000 }, async () => {
      const { dataPlane } = await startDataPlane(factory);
      const ns = unique('gen');
      const contract = await applyYaml(dataPlane, brokerYaml(ns));
      expect(dataPlane.generation).toBe(contract.generation);
      const stale = await dataPlane.apply({ ...contract, brokers: [] });
      expect(stale).toEqual({ applied: false, generation: contract.generation });
      // The broker from the applied contract still answers.
      await postEvent(`${dataPlane.url}/${ns}/default`, event('still.there'));
      await expect(dataPlane.apply({ generation: 'x' } as never)).rejects.toThrow(/generation/);
    });
  });
}
