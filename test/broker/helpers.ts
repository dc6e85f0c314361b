// Shared pieces of the broker data-plane end-to-end tests: the two event logs, real HTTP subscribers
// on 127.0.0.1, contracts computed from YAML with the project's own loader and computeContract.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type DataPlaneContract,
  loadText,
  type PlainEvent,
  readyCondition,
  resourceKey,
  toHttpBinary,
} from '@eddy/api';
import {
  type BrokerDataPlane,
  type ComputeContractOptions,
  computeContract,
  createBrokerDataPlane,
  DEFAULT_KAFKA_CLIENT,
  type EventLog,
  isKafkaClientName,
  KAFKA_CLIENTS,
  type KafkaClientName,
  openEmbeddedEventLog,
  openKafkaEventLog,
} from '@eddy/broker';
import { waitForWith } from '@eddy/runtime';
import pino from 'pino';
import { request } from 'undici';
import { afterAll, expect, inject, onTestFinished } from 'vitest';

export const quiet = pino({ level: 'silent' });
export const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

const root = mkdtempSync(join(tmpdir(), 'eddy-broker-e2e-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
export const freshDir = (prefix = 'log') => join(root, unique(prefix));

export interface LogFactory {
  name: 'embedded' | 'kafka';
  open(): Promise<EventLog>;
}

/** The Kafka client of these tests: EDDY_TEST_KAFKA_CLIENT, else the default. */
export function testKafkaClient(): KafkaClientName {
  const name = process.env.EDDY_TEST_KAFKA_CLIENT;
  if (name === undefined || name === '') return DEFAULT_KAFKA_CLIENT;
  if (!isKafkaClientName(name))
    throw new Error(`EDDY_TEST_KAFKA_CLIENT must be one of ${KAFKA_CLIENTS.join(', ')}, got "${name}"`);
  return name;
}

export const logFactories: LogFactory[] = [
  { name: 'embedded', open: () => openEmbeddedEventLog({ dataDir: freshDir() }) },
  {
    name: 'kafka',
    // The default client (EDDY_TEST_KAFKA_CLIENT picks the other); the event-log conformance suite
    // and the ingress/dispatcher package tests cover kafkajs as well.
    open: async () =>
      openKafkaEventLog({
        client: testKafkaClient(),
        brokers: inject('kafkaBrokers'),
        logger: quiet,
        sessionTimeoutMs: 10_000,
        heartbeatIntervalMs: 1_000,
        maxWaitTimeMs: 100,
      }),
  },
];

/** A log and a data plane on it, both closed when the test ends. */
export async function startDataPlane(
  factory: LogFactory,
): Promise<{ log: EventLog; dataPlane: BrokerDataPlane }> {
  const log = await factory.open();
  const dataPlane = await createBrokerDataPlane({
    log,
    logger: quiet,
    dispatcher: { retryStateTopic: unique('eddy-e2e-retry-state'), lagIntervalMs: 0 },
  });
  onTestFinished(async () => {
    await dataPlane.close();
    await log.close();
  });
  return { log, dataPlane };
}

export {
  type ReceivedRequest,
  type Respond,
  type Subscriber,
  startSubscriber,
} from '../../packages/broker/src/testing/subscriber.ts';

/**
 * Loads YAML with the project's loader, computes the contract against the data plane's URL, checks
 * that every Trigger/Subscription/Broker/channel is Ready and applies it.
 */
export async function applyYaml(
  dataPlane: BrokerDataPlane,
  yaml: string,
  options: Partial<ComputeContractOptions> = {},
): Promise<DataPlaneContract> {
  const contract = contractFromYaml(yaml, dataPlane.url, options);
  const result = await dataPlane.apply(contract);
  expect(result.applied).toBe(true);
  return contract;
}

export function contractFromYaml(
  yaml: string,
  brokerIngressUrl: string,
  options: Partial<ComputeContractOptions> = {},
): DataPlaneContract {
  const loaded = loadText(yaml, 'e2e.yaml');
  expect(loaded.problems.filter((p) => p.severity === 'error')).toEqual([]);
  const { contract, statuses } = computeContract(loaded.resources, { brokerIngressUrl, ...options });
  for (const r of loaded.resources) {
    const status = statuses.get(resourceKey(r.kind, r.namespace, r.name));
    if (status === undefined) continue;
    expect(readyCondition(status)?.status, `${r.kind} ${r.namespace}/${r.name} Ready`).toBe('True');
  }
  return contract;
}

/** The broker end-to-end tests' waitFor: a data plane on Kafka can take most of 20 s to settle. */
export const waitFor = waitForWith({ timeoutMs: 20_000, intervalMs: 25 });

export { sleep } from '@eddy/runtime';

export const brokerYaml = (ns: string, name = 'default', extra = '') =>
  `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n${extra}`;

/** A Trigger that starts from the earliest offset (so no event races the consumer's start). */
export const triggerYaml = (
  ns: string,
  name: string,
  spec: string,
  annotations: Record<string, string> = {},
) =>
  `apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n  annotations:\n${Object.entries(
    { 'eddy.dev/start-from': 'earliest', ...annotations },
  )
    .map(([k, v]) => `    ${k}: '${v}'\n`)
    .join('')}spec:\n${spec}`;

/**
 * POSTs one event in binary mode: the answer's status, or undefined when none came (a network error:
 * nothing was acknowledged either).
 */
export async function postBinary(url: string, event: PlainEvent): Promise<number | undefined> {
  const message = toHttpBinary(event);
  try {
    const response = await request(url, { method: 'POST', headers: message.headers, body: message.body });
    await response.body.dump();
    return response.statusCode;
  } catch {
    return undefined;
  }
}
