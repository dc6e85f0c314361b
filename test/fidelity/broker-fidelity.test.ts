// What arrives is what is delivered: random valid CloudEvents (optional attributes present or
// absent, extensions of every CloudEvents type, JSON / text / binary data, unicode) go through
// ingress -> event log -> dispatcher -> a real HTTP subscriber, sent in binary, structured and
// batch mode, on both event logs, and are compared attribute set for attribute set and byte for
// byte with what was sent. The same holds for a reply (re-entering the broker), for the
// dead-letter path (plus only Knative's knativeerror* extensions) and for a channel.

import type { ServerResponse } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyYaml,
  brokerYaml,
  type LogFactory,
  logFactories,
  type ReceivedRequest,
  startDataPlane,
  startSubscriber,
  triggerYaml,
  unique,
  waitFor,
} from '../broker/helpers.ts';
import {
  binaryRequest,
  type Delivered,
  expected,
  FIDELITY_RUN,
  jsonText,
  randomEvent,
  received,
  type SentEvent,
  SPACINGS,
  tagged,
} from './random-events.ts';

type Mode = 'binary' | 'structured' | 'batch';
const MODES: Mode[] = ['binary', 'structured', 'batch'];
type Role = 'request' | 'reject' | 'replyme';

interface Case {
  event: SentEvent;
  role: Role;
  /** For `replyme`: the reply the subscriber answers with, and how it is encoded. */
  reply?: { event: SentEvent; structured: boolean; spacing: string };
  spacing: string;
}

const caseArbitrary = fc.record({
  event: randomEvent,
  role: fc.constantFrom<Role>('request', 'request', 'reject', 'replyme'),
  reply: fc.record({ event: randomEvent, structured: fc.boolean(), spacing: fc.constantFrom(...SPACINGS) }),
  spacing: fc.constantFrom(...SPACINGS),
});

function idOf(r: ReceivedRequest): string {
  return decodeURIComponent(String(r.headers['ce-id']));
}

async function post(url: string, headers: Record<string, string>, body: Buffer): Promise<void> {
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  expect(response.status, `POST ${url}: ${text}`).toBe(202);
}

async function send(url: string, mode: Mode, cases: Case[]): Promise<void> {
  if (mode === 'batch') {
    // A batch holds events of one specversion (the batch format's rule).
    const bySpec = ['1.0', '0.3'].map((v) => cases.filter((c) => c.event.attributes.specversion === v));
    for (const group of bySpec) await sendBatches(url, group);
    return;
  }
  await Promise.all(
    cases.map(async (c) => {
      if (mode === 'binary') {
        const { headers, body } = binaryRequest(c.event);
        await post(url, headers, body);
      } else {
        const body = Buffer.from(jsonText(c.event, c.spacing), 'utf8');
        await post(url, { 'content-type': 'application/cloudevents+json; charset=utf-8' }, body);
      }
    }),
  );
}

async function sendBatches(url: string, cases: Case[]): Promise<void> {
  for (let i = 0; i < cases.length; i += 7) {
    const chunk = cases.slice(i, i + 7);
    const body = `[${chunk.map((c) => jsonText(c.event, c.spacing)).join(`,${chunk[0]?.spacing ?? ''}`)}]`;
    await post(url, { 'content-type': 'application/cloudevents-batch+json' }, Buffer.from(body, 'utf8'));
  }
}

function answerWithReply(res: ServerResponse, reply: NonNullable<Case['reply']>): void {
  if (reply.structured) {
    res.writeHead(200, { 'content-type': 'application/cloudevents+json' });
    res.end(jsonText(reply.event, reply.spacing));
    return;
  }
  const { headers, body } = binaryRequest(reply.event);
  res.writeHead(200, headers);
  res.end(body);
}

function deliveredOf(r: ReceivedRequest): Delivered {
  return received(r.headers, r.body);
}

function expectSame(actual: Delivered | undefined, wanted: Delivered, what: string): void {
  expect(actual, `${what}: not delivered`).toBeDefined();
  expect(actual?.attributes, `${what}: attributes`).toEqual(wanted.attributes);
  expect(
    actual?.body.equals(wanted.body),
    `${what}: data bytes ${actual?.body.toString('hex')} vs ${wanted.body.toString('hex')}`,
  ).toBe(true);
}

async function brokerPipeline(factory: LogFactory) {
  const { dataPlane } = await startDataPlane(factory);
  const replies = new Map<string, NonNullable<Case['reply']>>();
  const accepted = await startSubscriber();
  const rejecting = await startSubscriber((_r, res) => void res.writeHead(400).end('no'));
  const dls = await startSubscriber();
  const replier = await startSubscriber((r, res) => {
    const reply = replies.get(idOf(r));
    if (reply === undefined) res.writeHead(202).end();
    else answerWithReply(res, reply);
  });
  const replyTarget = await startSubscriber();
  const ns = unique('fidelity');
  const trigger = (name: string, role: string, spec: string) =>
    triggerYaml(
      ns,
      name,
      `  broker: default\n  filter:\n    attributes:\n      fidelityrole: ${role}\n${spec}`,
    );
  await applyYaml(
    dataPlane,
    [
      brokerYaml(ns),
      trigger('requests', 'request', `  subscriber:\n    uri: ${accepted.url}\n`),
      trigger(
        'rejects',
        'reject',
        `  subscriber:\n    uri: ${rejecting.url}\n  delivery:\n    retry: 0\n    deadLetterSink:\n      uri: ${dls.url}\n`,
      ),
      trigger('replies', 'replyme', `  subscriber:\n    uri: ${replier.url}\n`),
      trigger('replied', 'reply', `  subscriber:\n    uri: ${replyTarget.url}\n`),
    ].join('\n---\n'),
  );
  return { dataPlane, ns, replies, accepted, rejecting, dls, replier, replyTarget };
}

describe.each(logFactories)('event fidelity through the broker ($name log)', (factory) => {
  for (const mode of MODES) {
    it(`${mode} mode: every attribute and data byte arrives as sent (also replies and dead letters)`, {
      timeout: 180_000,
    }, async () => {
      const p = await brokerPipeline(factory);
      const ingress = `${p.dataPlane.url}/${p.ns}/default`;
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(caseArbitrary, { minLength: 10, maxLength: 25 }), async (generated) => {
          run++;
          const cases: Case[] = generated.map((c, i) => {
            const id = `${run}-${i}`;
            const event = tagged(c.event, id, { fidelityrole: c.role });
            const reply = {
              ...c.reply,
              event: tagged(c.reply.event, `${id}-reply`, { fidelityrole: 'reply' }),
            };
            if (c.role === 'replyme') p.replies.set(String(event.attributes.id), reply);
            return { ...c, event, reply };
          });
          const sentAs = mode === 'binary' ? 'binary' : 'json';
          await send(ingress, mode, cases);
          const count = (role: Role) => cases.filter((c) => c.role === role).length;
          await waitFor(
            'every event at its subscriber',
            () =>
              countRun(p.accepted.received, run) >= count('request') &&
              countRun(p.dls.received, run) >= count('reject') &&
              countRun(p.replyTarget.received, run) >= count('replyme'),
            60_000,
          );
          const byId = (requests: ReceivedRequest[]) =>
            new Map(requests.map((r) => [idOf(r), deliveredOf(r)]));
          const accepted = byId(p.accepted.received);
          const dead = byId(p.dls.received);
          const replied = byId(p.replyTarget.received);
          for (const c of cases) {
            const id = String(c.event.attributes.id);
            const want = expected(c.event, sentAs);
            if (c.role === 'request') expectSame(accepted.get(id), want, `event ${id}`);
            if (c.role === 'reject') {
              const got = dead.get(id);
              expectSame(
                got,
                {
                  attributes: {
                    ...want.attributes,
                    knativeerrordest: p.rejecting.url,
                    knativeerrorcode: '400',
                    knativeerrordata: Buffer.from('no').toString('base64'),
                  },
                  body: want.body,
                },
                `dead letter ${id}`,
              );
            }
            if (c.role === 'replyme' && c.reply) {
              const replyId = String(c.reply.event.attributes.id);
              expectSame(
                replied.get(replyId),
                expected(c.reply.event, c.reply.structured ? 'json' : 'binary'),
                `reply ${replyId}`,
              );
            }
          }
        }),
        FIDELITY_RUN,
      );
    });
  }

  it('channel: every attribute and data byte arrives as sent, in all three modes', {
    timeout: 120_000,
  }, async () => {
    const { dataPlane } = await startDataPlane(factory);
    const subscriber = await startSubscriber();
    const ns = unique('fidelity-chan');
    const kind = factory.name === 'kafka' ? 'KafkaChannel' : 'InMemoryChannel';
    const apiVersion = kind === 'KafkaChannel' ? 'messaging.knative.dev/v1beta1' : 'messaging.knative.dev/v1';
    await applyYaml(
      dataPlane,
      [
        `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: events\n  namespace: ${ns}\n`,
        `apiVersion: messaging.knative.dev/v1\nkind: Subscription\nmetadata:\n  name: all\n  namespace: ${ns}\n  annotations:\n    eddy.dev/start-from: earliest\nspec:\n  channel:\n    apiVersion: ${apiVersion}\n    kind: ${kind}\n    name: events\n  subscriber:\n    uri: ${subscriber.url}\n`,
      ].join('\n---\n'),
    );
    const url = `${dataPlane.url}/channels/${ns}/events`;
    const generated = fc.sample(fc.record({ event: randomEvent, spacing: fc.constantFrom(...SPACINGS) }), 45);
    const cases = generated.map((c, i) => ({
      ...c,
      role: 'request' as const,
      event: tagged(c.event, `chan-${i}`),
      mode: MODES[i % 3] as Mode,
    }));
    for (const mode of MODES)
      await send(
        url,
        mode,
        cases.filter((c) => c.mode === mode),
      );
    await waitFor('every channel event', () => subscriber.received.length >= cases.length, 60_000);
    const got = new Map(subscriber.received.map((r) => [idOf(r), deliveredOf(r)]));
    for (const c of cases) {
      const id = String(c.event.attributes.id);
      expectSame(
        got.get(id),
        expected(c.event, c.mode === 'binary' ? 'binary' : 'json'),
        `channel event ${id}`,
      );
    }
  });
});

/** Requests of fast-check run `run` (ids end in `#<run>-<index>...`). */
function countRun(requests: ReceivedRequest[], run: number): number {
  return requests.filter((r) => new RegExp(`#${run}-\\d+(-reply)?$`).test(idOf(r))).length;
}
