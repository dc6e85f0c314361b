import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { sleep } from '@eddy/runtime';
import type {
  Message,
  PubSub as PubSubClient,
  SubscriberOptions,
  Subscription,
  Topic,
} from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseEmulatorHost } from './global-setup.ts';
import { expectPeerDiesWithParent } from './orphan-check.ts';
import { isAlive } from './processes.ts';
import { ensurePstestBinary, pubSubClientOptions, startPubSubFake } from './pstest.ts';
import { pubsubSdk } from './pubsub-sdk.ts';
import { waitFor } from './wait.ts';

const { PubSub } = pubsubSdk;

let pubsub: PubSubClient;

beforeAll(() => {
  pubsub = new PubSub(
    pubSubClientOptions({ emulatorHost: inject('pubsubEmulatorHost'), projectId: inject('pubsubProjectId') }),
  );
});

afterAll(async () => {
  await pubsub.close();
});

async function topicWithSubscription(
  prefix: string,
  subscriberOptions: SubscriberOptions = {},
): Promise<{ topic: Topic; subscriptionName: string; open: () => Subscription }> {
  const [topic] = await pubsub.createTopic(`${prefix}-${randomUUID()}`);
  const subscriptionName = `${prefix}-${randomUUID()}`;
  await topic.createSubscription(subscriptionName, { ackDeadlineSeconds: 10 });
  return {
    topic,
    subscriptionName,
    open: () => pubsub.subscription(subscriptionName, subscriberOptions),
  };
}

/** Collects messages from a subscriber; `handle` decides what to do with each one. */
function collect(subscription: Subscription, handle: (m: Message) => void = (m) => m.ack()) {
  const received: Message[] = [];
  const errors: Error[] = [];
  subscription.on('message', (m: Message) => {
    received.push(m);
    handle(m);
  });
  subscription.on('error', (err: Error) => errors.push(err));
  const until = (done: () => boolean, what: string, timeoutMs = 10_000) =>
    waitFor(
      what,
      () => {
        if (errors.length > 0) throw errors[0];
        return done();
      },
      { timeoutMs, describe: () => `${received.length} messages` },
    );
  return { received, errors, until };
}

const text = (m: Message) => m.data.toString('utf8');

describe('shared Pub/Sub fake (pstest) from the global setup', () => {
  it('is handed to test workers through inject() and PUBSUB_EMULATOR_HOST', () => {
    expect(inject('pubsubEmulatorHost')).toMatch(/^[^:]+:\d+$/);
    expect(inject('pubsubProjectId')).not.toBe('');
    expect(process.env.PUBSUB_EMULATOR_HOST).toBe(inject('pubsubEmulatorHost'));
  });

  it('rejects a subscription without an ackDeadlineSeconds in 10..600', async () => {
    const [topic] = await pubsub.createTopic(`deadline-${randomUUID()}`);
    // The client sends 0 when the option is missing; the real service would default it to 10 s.
    // pstest answers UNKNOWN, which the client retries for a minute unless told not to.
    const gaxOpts = { maxRetries: 0 };
    await expect(topic.createSubscription(`none-${randomUUID()}`, { gaxOpts })).rejects.toThrow(
      /bad ack_deadline_seconds: 0/,
    );
    await expect(
      topic.createSubscription(`low-${randomUUID()}`, { ackDeadlineSeconds: 5, gaxOpts }),
    ).rejects.toThrow(/bad ack_deadline_seconds: 5/);
    await expect(
      topic.createSubscription(`high-${randomUUID()}`, { ackDeadlineSeconds: 601, gaxOpts }),
    ).rejects.toThrow(/bad ack_deadline_seconds: 601/);
    const [ok] = await topic.createSubscription(`ok-${randomUUID()}`, { ackDeadlineSeconds: 600 });
    const [metadata] = await ok.getMetadata();
    expect(metadata.ackDeadlineSeconds).toBe(600);
  });

  // Waits out the 10 s ack deadline: an ack that never reached the server shows only after it.
  it('delivers published messages by streaming pull; acked ones are not delivered again', {
    timeout: 30_000,
  }, async () => {
    const { topic, open } = await topicWithSubscription('stream');
    const ids = await Promise.all(
      [0, 1, 2].map((n) =>
        topic.publishMessage({ data: Buffer.from(`m${n}`), attributes: { n: String(n), kind: 'test' } }),
      ),
    );

    // Ack m0 and m1, keep m2 unacknowledged; closing the subscriber nacks what it still holds.
    const first = open();
    const a = collect(first, (m) => {
      if (text(m) !== 'm2') m.ack();
    });
    await a.until(() => a.received.length >= 3, 'first subscriber');
    expect(a.received.map(text).sort()).toEqual(['m0', 'm1', 'm2']);
    expect(a.received.map((m) => m.id).sort()).toEqual([...ids].sort());
    for (const m of a.received) expect(m.attributes).toEqual({ n: text(m).slice(1), kind: 'test' });
    const acked = Date.now();
    await first.close();

    const second = open();
    const b = collect(second);
    try {
      await b.until(() => b.received.length >= 1, 'second subscriber');
      // The nack on close made m2 available at once, well before its ack deadline.
      expect(Date.now() - acked).toBeLessThan(8000);
      await sleep(12_000 - (Date.now() - acked));
      expect(b.received.map(text)).toEqual(['m2']);
    } finally {
      await second.close();
    }
  });

  it('redelivers a nacked message', async () => {
    const { topic, open } = await topicWithSubscription('nack');
    const id = await topic.publishMessage({ data: Buffer.from('again') });
    const subscription = open();
    let attempts = 0;
    const c = collect(subscription, (m) => {
      attempts++;
      if (attempts === 1) m.nack();
      else m.ack();
    });
    try {
      const started = Date.now();
      await c.until(() => c.received.length >= 2, 'redelivery after nack');
      // Redelivered at once, not after the 10 s ack deadline.
      expect(Date.now() - started).toBeLessThan(8000);
      expect(c.received.map((m) => m.id)).toEqual([id, id]);
      expect(c.received.map(text)).toEqual(['again', 'again']);
    } finally {
      await subscription.close();
    }
  });

  it('keeps at most flowControl.maxMessages messages outstanding', async () => {
    const { topic, open } = await topicWithSubscription('flow', {
      flowControl: { maxMessages: 2, allowExcessMessages: false },
    });
    await Promise.all(
      Array.from({ length: 6 }, (_, n) => topic.publishMessage({ data: Buffer.from(`f${n}`) })),
    );
    const subscription = open();
    let outstanding = 0;
    let maxOutstanding = 0;
    const c = collect(subscription, (m) => {
      outstanding++;
      maxOutstanding = Math.max(maxOutstanding, outstanding);
      // A slow handler: the library must hold back the rest meanwhile.
      setTimeout(() => {
        outstanding--;
        m.ack();
      }, 150);
    });
    try {
      await c.until(() => c.received.length >= 6, 'flow-controlled subscriber');
      expect(c.received.map(text).sort()).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5']);
      expect(maxOutstanding).toBe(2);
    } finally {
      await subscription.close();
    }
  });
});

describe('PUBSUB_EMULATOR_HOST parsing', () => {
  it('accepts host:port', () => {
    expect(parseEmulatorHost(' 127.0.0.1:8085 ')).toBe('127.0.0.1:8085');
    expect(parseEmulatorHost('localhost:1')).toBe('localhost:1');
  });
  it('names what is wrong', () => {
    expect(() => parseEmulatorHost('http://127.0.0.1:8085')).toThrow(
      /PUBSUB_EMULATOR_HOST: "http:\/\/127.0.0.1:8085" is not host:port/,
    );
    expect(() => parseEmulatorHost('127.0.0.1')).toThrow(/is not host:port/);
  });
});

describe('startPubSubFake', () => {
  it('reuses the built binary, starts its own server on another port, logs to a file and stops', async () => {
    const binary = await ensurePstestBinary();
    expect(existsSync(binary)).toBe(true);
    expect(await ensurePstestBinary()).toBe(binary);

    const fake = await startPubSubFake({ log: () => {} });
    let stopped = false;
    try {
      expect(fake.emulatorHost).not.toBe(inject('pubsubEmulatorHost'));
      const own = new PubSub(pubSubClientOptions(fake));
      try {
        await own.createTopic('only-here');
        const [topics] = await own.getTopics();
        expect(topics.map((t) => t.name)).toEqual([`projects/${fake.projectId}/topics/only-here`]);
      } finally {
        await own.close();
      }
      expect(readFileSync(fake.logFile, 'utf8')).toContain(`pstest listening on ${fake.emulatorHost}`);
      await fake.stop();
      stopped = true;
      expect(isAlive(fake.pid!)).toBe(false);
      expect(readFileSync(fake.logFile, 'utf8')).toContain('pstest stopping (terminated)');
    } finally {
      if (!stopped) await fake.stop();
    }
  });

  it('goes away when the process that started it is SIGKILLed', async () => {
    // Its stdin pipe closes with the parent, so it stops without waiting for the watchdog.
    await expectPeerDiesWithParent({
      module: new URL('./pstest.ts', import.meta.url).href,
      start: 'startPubSubFake',
      pidOf: 'peer.pid',
      what: 'pstest',
      withinMs: 10_000,
    });
  });
});
