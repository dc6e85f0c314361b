// What every PubSubSource test file (the package's and test/sources') sets up: a client on the
// harness's Pub/Sub server (pstest) and, per test, a test bed running the PubSubSource adapter. Not
// exported from the package index; tests import it by path.

import type { ClientConfig, PubSub } from '@google-cloud/pubsub';
import pino from 'pino';
import { afterAll, beforeAll, inject } from 'vitest';
import { createPubSubSourceAdapter } from '../pubsub/pubsub-source.js';
import type { SourceDefinition } from '../sdk/adapter.js';
import { pubsubTestTopics } from './pubsub-test-topics.js';
import { useSourceTestBed } from './source-test-bed.js';
import { testSourceDefinition } from './test-source-definition.js';

export interface PubSubPeer {
  projectId: string;
  emulatorHost: string;
}

/** The harness's pieces, passed in: this folder is the package's and cannot import test/harness. */
export interface PubSubHarness {
  /** test/harness/pubsub-sdk.ts */
  sdk: { PubSub: new (options: ClientConfig) => PubSub };
  /** test/harness/pstest.ts */
  pubSubClientOptions(peer: PubSubPeer): ClientConfig;
}

/** Short reconnects and probes, so recovery tests finish in seconds. */
const ADAPTER_OPTIONS = {
  reconnectDelayMs: 200,
  maxReconnectDelayMs: 500,
  checkTimeoutMs: 3_000,
  probeIntervalMs: 300,
} as const;

export function usePubSubSourceTestBed(harness: PubSubHarness) {
  const peer: PubSubPeer = {
    emulatorHost: inject('pubsubEmulatorHost'),
    projectId: inject('pubsubProjectId'),
  };
  let client: PubSub | undefined;
  beforeAll(() => {
    client = new harness.sdk.PubSub(harness.pubSubClientOptions(peer));
  });
  afterAll(async () => {
    await client?.close();
  });
  const pubsub = (): PubSub => {
    if (!client) throw new Error('the Pub/Sub client is there only while the file runs');
    return client;
  };
  const logger = pino({ level: process.env.PS_LOG ?? 'silent' });
  const bed = useSourceTestBed(() => ({
    // The adapter's default import of @google-cloud/pubsub, as in production.
    adapters: createPubSubSourceAdapter(ADAPTER_OPTIONS),
    logger,
  }));
  return {
    peer,
    pubsub,
    bed,
    ...pubsubTestTopics(pubsub),
    /** A PubSubSource on the harness's server into the bed's sink, with a fast delivery policy. */
    source: (name: string, spec: Record<string, unknown>): SourceDefinition =>
      testSourceDefinition({
        apiVersion: 'sources.eddy.dev/v1alpha1',
        kind: 'PubSubSource',
        name,
        sinkUrl: bed.sink.url,
        spec: { project: peer.projectId, endpoint: peer.emulatorHost, ...spec },
        delivery: { retry: 2, backoffPolicy: 'linear', backoffDelayMs: 50, timeoutMs: 5_000 },
      }),
    /** The metric labels of the source `name`. */
    labels: (name: string) => ({ kind: 'PubSubSource', namespace: 'demo', name }),
  };
}
