// What every SqsSource test file (the package's and test/sources') sets up: queues on the harness's
// SQS server (ElasticMQ) with the credentials' secret directory and, per test, a test bed running the
// SqsSource adapter. Not exported from the package index; tests import it by path.

import pino from 'pino';
import { afterAll, beforeAll, inject } from 'vitest';
import type { SourceDefinition } from '../sdk/adapter.js';
import { createSqsSourceAdapter } from '../sqs/sqs-source.js';
import { useSourceTestBed } from './source-test-bed.js';
import { type SqsTestSdk, sqsTestQueues } from './sqs-test-queues.js';
import { testSourceDefinition } from './test-source-definition.js';

/** Short retries and waits, so recovery tests finish in seconds. */
const ADAPTER_OPTIONS = {
  lagIntervalMs: 200,
  retryDelayMs: 200,
  maxRetryDelayMs: 500,
  startWaitMs: 5_000,
} as const;

/** `sdk`: the harness's build (test/harness/sqs-sdk.ts), passed in as this folder cannot import it. */
export function useSqsSourceTestBed(sdk: SqsTestSdk) {
  const peer = { endpoint: inject('sqsEndpoint'), region: inject('sqsRegion') };
  const queues = sqsTestQueues(sdk, peer);
  beforeAll(() => queues.open());
  afterAll(() => queues.close());
  const logger = pino({ level: process.env.SQS_LOG ?? 'silent' }, pino.destination(2));
  const bed = useSourceTestBed(() => ({
    // The adapter's default SDK loader (a plain import of @aws-sdk/client-sqs), as in production.
    adapters: createSqsSourceAdapter(ADAPTER_OPTIONS),
    logger,
    secretDirs: [queues.secretDir],
  }));
  return {
    queues,
    bed,
    /** An SqsSource on the harness's server into the bed's sink, with the test credentials and a fast policy. */
    source: (name: string, spec: Record<string, unknown>): SourceDefinition =>
      testSourceDefinition({
        apiVersion: 'sources.eddy.dev/v1alpha1',
        kind: 'SqsSource',
        name,
        sinkUrl: bed.sink.url,
        spec: {
          region: peer.region,
          endpoint: peer.endpoint,
          waitTimeSeconds: 1,
          visibilityTimeoutSeconds: 3,
          credentials: {
            accessKeyId: { secretKeyRef: { name: 'aws', key: 'id' } },
            secretAccessKey: { secretKeyRef: { name: 'aws', key: 'secret' } },
          },
          ...spec,
        },
        delivery: {
          retry: 1,
          backoffPolicy: 'linear',
          backoffDelayMs: 50,
          maxBackoffMs: 100,
          timeoutMs: 10_000,
        },
      }),
  };
}
