// PubSubSource (sources.eddy.dev/v1alpha1): streaming pull from one subscription, each message sent
// to the sink as a CloudEvent (pubsub-event.ts). A message is acked only once the sink accepted its
// event and nacked otherwise, so Pub/Sub's own redelivery and dead-letter policies decide what
// happens to it; flow control bounds the messages (hence sends) held. README "PubSubSource".

import type { PubSubSource } from '@eddy/api';
import { withTimeout } from '@eddy/runtime';
import type { ClientConfig, Message, PubSub, SubscriberOptions, Subscription } from '@google-cloud/pubsub';
import type { RunningSource, SourceAdapter, SourceContext } from '../sdk/adapter.js';
import { EmitError } from '../sdk/emitter.js';
import { UpstreamError, type UpstreamSession, UpstreamSupervisor } from '../sdk/upstream.js';
import { MalformedMessageError, pubsubMessageToEvent } from './pubsub-event.js';

export type PubSubSourceSpec = PubSubSource['spec'];

/** The values of `@google-cloud/pubsub` the adapter uses. */
export type PubSubModule = Pick<typeof import('@google-cloud/pubsub'), 'PubSub' | 'Duration'>;

export interface PubSubSourceOptions {
  /**
   * The client module. Default: `import('@google-cloud/pubsub')` on first start. Hosts that load it
   * differently (the test harness does, see test/README.md) pass it here.
   */
  pubsub?: PubSubModule | (() => Promise<PubSubModule>);
  /** `host:port` of an emulator used when the spec has no `endpoint` (plain text, no credentials). */
  emulatorHost?: string;
  /** Messages held (in flight to the sink) at most, when the spec sets none (default 100). */
  defaultMaxMessages?: number;
  /** Bytes of message data held at most, when the spec sets none (default 64 MiB). */
  defaultMaxBytes?: number;
  /** Timeout of one subscription lookup/creation (default 5 s). */
  checkTimeoutMs?: number;
  /**
   * How often a running source checks that its subscription still exists and the server answers
   * (default 30 s): the stream itself retries an unreachable server quietly, and an emulator may
   * not end it when the subscription is deleted.
   */
  probeIntervalMs?: number;
  /** How long start() waits for the first attempt to open the stream (default 10 s). */
  startWaitMs?: number;
  /** First retry delay after a failure, doubling up to maxReconnectDelayMs (default 1 s, 30 s). */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
}

const DEFAULTS = {
  defaultMaxMessages: 100,
  defaultMaxBytes: 64 * 1024 * 1024,
  checkTimeoutMs: 5_000,
  startWaitMs: 10_000,
  probeIntervalMs: 30_000,
  reconnectDelayMs: 1_000,
  maxReconnectDelayMs: 30_000,
};

type Settings = typeof DEFAULTS & Pick<PubSubSourceOptions, 'pubsub' | 'emulatorHost'>;

// gRPC status codes the supervisor tells apart.
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;

export function createPubSubSourceAdapter(
  options: PubSubSourceOptions = {},
): SourceAdapter<PubSubSourceSpec> {
  const settings: Settings = { ...DEFAULTS, ...definedOnly(options) };
  return {
    apiVersion: 'sources.eddy.dev/v1alpha1',
    kind: 'PubSubSource',
    // Every sources process pulls from the one subscription (created if missing, never deleted):
    // Pub/Sub spreads the messages among the streams.
    placement: 'every-member',
    start: (context) => startPubSubSource(context, settings),
  };
}

export const pubsubSourceAdapter: SourceAdapter<PubSubSourceSpec> = createPubSubSourceAdapter();

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function loadModule(option: Settings['pubsub']): Promise<PubSubModule> {
  if (typeof option === 'function') return option();
  if (option) return option;
  const imported = (await import('@google-cloud/pubsub')) as PubSubModule & { default?: PubSubModule };
  // A CommonJS package: its values may only be on the default export.
  return imported.PubSub ? imported : (imported.default as PubSubModule);
}

/** The client configuration: project, endpoint (emulator or private) and credentials. */
export async function pubsubClientConfig(
  context: Pick<SourceContext<PubSubSourceSpec>, 'spec' | 'secrets'>,
  emulatorHost?: string,
): Promise<ClientConfig> {
  const { spec } = context;
  check(/^[A-Za-z0-9.:-]+$/.test(spec.project), 'spec.project', spec.project);
  check(/^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$/.test(spec.subscription), 'spec.subscription', spec.subscription);
  if (spec.topic !== undefined) {
    check(/^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$/.test(spec.topic), 'spec.topic', spec.topic);
  }
  const config: ClientConfig = {
    projectId: spec.project,
    // Naming it keeps google-gax from probing the GCE metadata server for one.
    universeDomain: 'googleapis.com',
  };
  const endpoint = spec.endpoint ?? emulatorHost;
  if (endpoint !== undefined) {
    check(
      /^[^\s/:]+(:\d{1,5})?$|^\[[0-9a-f:]+\](:\d{1,5})?$/i.test(endpoint),
      'spec.endpoint (host:port)',
      endpoint,
    );
    config.apiEndpoint = endpoint;
  }
  if (spec.credentials?.secretKeyRef) {
    const json = await context.secrets.resolve(spec.credentials);
    if (json !== undefined) config.credentials = parseServiceAccount(json);
  }
  // An endpoint without credentials is an emulator: plain-text gRPC, no Google authentication.
  if (endpoint !== undefined && config.credentials === undefined) config.emulatorMode = true;
  return config;
}

function check(ok: boolean, field: string, value: string): void {
  if (!ok) throw new Error(`PubSubSource: ${field} ${JSON.stringify(value)} is not valid`);
}

function parseServiceAccount(json: string): ClientConfig['credentials'] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new Error(
      `PubSubSource: spec.credentials is not a service-account JSON key (${(err as Error).message})`,
    );
  }
  const key = parsed as { client_email?: unknown; private_key?: unknown };
  if (typeof key?.client_email !== 'string' || typeof key.private_key !== 'string') {
    throw new Error('PubSubSource: spec.credentials JSON key lacks client_email or private_key');
  }
  return parsed as ClientConfig['credentials'];
}

function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

async function startPubSubSource(
  context: SourceContext<PubSubSourceSpec>,
  settings: Settings,
): Promise<RunningSource> {
  const { spec, logger, metrics, emitter, signal } = context;
  const config = await pubsubClientConfig(context, settings.emulatorHost);
  const sdk = await loadModule(settings.pubsub);
  const client: PubSub = new sdk.PubSub(config);
  const subscriptionName = `projects/${spec.project}/subscriptions/${spec.subscription}`;
  const gaxOpts = { maxRetries: 0, timeout: settings.checkTimeoutMs };
  const subscriberOptions: SubscriberOptions = {
    flowControl: {
      maxMessages: spec.flowControl?.maxMessages ?? settings.defaultMaxMessages,
      maxBytes: spec.flowControl?.maxBytes ?? settings.defaultMaxBytes,
      allowExcessMessages: false,
    },
    // close() stops the stream at once, then waits for the held messages to be acked/nacked by
    // their sends (aborted by the stop); what is still held after the timeout is nacked.
    closeOptions: { behavior: 'WAIT', timeout: sdk.Duration.from({ seconds: 10 }) },
  };
  if (spec.ackDeadlineSeconds !== undefined) {
    const deadline = sdk.Duration.from({ seconds: spec.ackDeadlineSeconds });
    subscriberOptions.minAckDeadline = deadline;
    subscriberOptions.maxAckDeadline = deadline;
  }

  const upstream = new UpstreamSupervisor(context, {
    retryDelayMs: settings.reconnectDelayMs,
    maxRetryDelayMs: settings.maxReconnectDelayMs,
  });
  let stopping = false;
  let current: Subscription | undefined;
  const inFlight = new Set<Promise<void>>();
  const noAnswer = `no answer within ${settings.checkTimeoutMs} ms`;

  function handle(message: Message, topic: string): void {
    metrics.received();
    if (stopping) {
      message.nack();
      return;
    }
    let event: ReturnType<typeof pubsubMessageToEvent>;
    try {
      event = pubsubMessageToEvent(
        {
          id: message.id,
          data: message.data,
          attributes: message.attributes ?? {},
          publishTime: message.publishTime.toISOString(),
          orderingKey: message.orderingKey,
        },
        { topic, subscription: subscriptionName },
      );
    } catch (err) {
      if (!(err instanceof MalformedMessageError)) throw err;
      logger.warn({ messageId: message.id, err: err.message }, 'malformed Pub/Sub message skipped (acked)');
      metrics.malformed();
      message.ack();
      return;
    }
    if (emitter.batching) {
      gather(message, event);
      return;
    }
    track(
      emitter.send(event, { signal }).then(
        () => message.ack(),
        (err: unknown) => {
          // The emitter logged and counted the failure; Pub/Sub redelivers what is nacked.
          if (!(err instanceof EmitError)) logger.warn({ err, messageId: message.id }, 'send failed');
          message.nack();
        },
      ),
    );
  }

  function track(work: Promise<void>): void {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  }

  // Batch mode (the sink is an Eddy ingress): the messages the stream hands over in one go (a
  // StreamingPull response is emitted message by message, synchronously) are gathered until the
  // next turn of the event loop and sent as one emitBatch(); each is acked once accepted, nacked
  // otherwise.
  let gathered: { message: Message; event: ReturnType<typeof pubsubMessageToEvent> }[] = [];
  function gather(message: Message, event: ReturnType<typeof pubsubMessageToEvent>): void {
    gathered.push({ message, event });
    if (gathered.length === 1) setImmediate(flush);
  }
  function flush(): void {
    const batch = gathered;
    gathered = [];
    if (batch.length === 0) return;
    track(
      emitter
        .emitBatch(
          batch.map((b) => b.event),
          {
            signal,
            onOutcome: (index, outcome) => {
              const { message } = batch[index]!;
              if (outcome.ok) message.ack();
              else message.nack();
            },
          },
        )
        .then(() => {}),
    );
  }

  /** Looks the subscription up (creating it on spec.topic when missing); returns its topic. */
  async function ensureSubscription(): Promise<string> {
    const subscription = client.subscription(spec.subscription);
    try {
      const [metadata] = await subscription.getMetadata(gaxOpts);
      return metadata.topic ?? '';
    } catch (err) {
      if (grpcCode(err) !== NOT_FOUND || spec.topic === undefined) throw err;
    }
    try {
      await client.topic(spec.topic).createSubscription(spec.subscription, {
        ackDeadlineSeconds: spec.ackDeadlineSeconds ?? 10,
        gaxOpts,
      });
      logger.info({ subscription: subscriptionName, topic: spec.topic }, 'created the Pub/Sub subscription');
    } catch (err) {
      if (grpcCode(err) !== ALREADY_EXISTS) throw err;
    }
    return `projects/${spec.project}/topics/${spec.topic}`;
  }

  /** Why the subscription is not usable, as the source's Ready=False. */
  function failure(err: unknown, during: string): UpstreamError {
    const message = `${during}: ${(err as Error)?.message ?? String(err)}`;
    return grpcCode(err) === NOT_FOUND
      ? new UpstreamError('SubscriptionNotFound', `${subscriptionName} ${message}`, { cause: err })
      : new UpstreamError('UpstreamUnreachable', message, { cause: err });
  }

  /** One stream, from the subscription lookup until it fails or the source stops. */
  async function attempt(session: UpstreamSession): Promise<void> {
    let topic: string | undefined;
    try {
      // A stop does not wait for the lookup.
      topic = await Promise.race([
        withTimeout(ensureSubscription(), settings.checkTimeoutMs, noAnswer),
        session.stopped.then(() => undefined),
      ]);
    } catch (err) {
      throw failure(err, 'subscription lookup');
    }
    if (topic === undefined || session.signal.aborted) return;
    const subscription = client.subscription(spec.subscription, subscriberOptions);
    current = subscription;
    let probeTimer: NodeJS.Timeout | undefined;
    const broken = new Promise<never>((_, reject) => {
      subscription.on('error', (err: unknown) => reject(failure(err, 'streaming pull')));
      let probing = false;
      probeTimer = setInterval(() => {
        if (probing) return;
        probing = true;
        withTimeout(
          client.subscription(spec.subscription).getMetadata(gaxOpts),
          settings.checkTimeoutMs,
          noAnswer,
        )
          .catch((err: unknown) => reject(failure(err, 'subscription check')))
          .finally(() => {
            probing = false;
          });
      }, settings.probeIntervalMs);
      probeTimer.unref();
    });
    subscription.on('message', (message: Message) => handle(message, topic));
    session.connected();
    try {
      await Promise.race([broken, session.stopped]);
    } finally {
      clearInterval(probeTimer);
      // A failed stream is closed here (its held messages are settled by their sends); on a stop,
      // stop() closes it.
      if (!session.signal.aborted) {
        current = undefined;
        void subscription.close().catch(() => {});
      }
    }
  }

  upstream.run(attempt);
  await upstream.firstAttempt(settings.startWaitMs);

  return {
    async stop() {
      stopping = true;
      await upstream.stop();
      // Stop pulling first: a message nacked while the stream is still open would be redelivered
      // straight back into it and then sit out its ack deadline. close() then waits (closeOptions)
      // for the sends, which the aborted signal ends at once: aborted ones nack, finished ones ack.
      const subscription = current;
      current = undefined;
      if (subscription) {
        await subscription
          .close()
          .catch((err: unknown) => logger.warn({ err }, 'closing the subscription failed'));
      }
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      await client.close().catch((err: unknown) => logger.warn({ err }, 'closing the Pub/Sub client failed'));
    },
  };
}
