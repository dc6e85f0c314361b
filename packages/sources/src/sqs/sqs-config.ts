// What an SqsSource needs before it polls: the SDK parts it uses, the receivers annotation, the
// client configuration (region, endpoint, credentials from secrets) and how a missing queue shows.

import type { SQSClientConfig } from '@aws-sdk/client-sqs';
import type { SqsSource } from '@eddy/api';
import type { SourceContext } from '../sdk/adapter.js';

export type SqsSourceSpec = SqsSource['spec'];

/** The parts of `@aws-sdk/client-sqs` the adapter uses. */
export type SqsSdk = Pick<
  typeof import('@aws-sdk/client-sqs'),
  | 'SQSClient'
  | 'ReceiveMessageCommand'
  | 'DeleteMessageBatchCommand'
  | 'ChangeMessageVisibilityBatchCommand'
  | 'GetQueueAttributesCommand'
>;

/**
 * How many ReceiveMessage long polls run at once (1-16, default 4). All of them together still hold
 * at most maxInFlight messages.
 */
export const RECEIVERS_ANNOTATION = 'sqs.sources.eddy.dev/receivers';
export const DEFAULT_RECEIVERS = 4;
const MAX_RECEIVERS = 16;

export function receiversOf(annotations: Readonly<Record<string, string>>, fallback: number): number {
  const raw = annotations[RECEIVERS_ANNOTATION];
  if (raw === undefined) return fallback;
  const n = Number(raw.trim());
  if (!Number.isInteger(n) || n < 1 || n > MAX_RECEIVERS || raw.trim() === '') {
    throw new Error(
      `metadata.annotations["${RECEIVERS_ANNOTATION}"]: expected an integer from 1 to ${MAX_RECEIVERS}, found ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

function regionOf(spec: SqsSourceSpec): string {
  if (spec.region) return spec.region;
  let host = '';
  try {
    host = new URL(spec.queueUrl).host;
  } catch {
    throw new Error(
      `spec.queueUrl: expected an absolute http(s) queue URL, found ${JSON.stringify(spec.queueUrl)}`,
    );
  }
  const match = /^sqs\.([a-z0-9-]+)\.amazonaws\.com$/.exec(host);
  if (match?.[1]) return match[1];
  if (spec.endpoint) return 'us-east-1'; // SQS-compatible servers ignore it, the SDK requires one
  throw new Error(
    `spec.region: required, the queue URL ${spec.queueUrl} is not an AWS one (sqs.<region>.amazonaws.com)`,
  );
}

export async function clientConfig(
  ctx: Pick<SourceContext<SqsSourceSpec>, 'spec' | 'secrets'>,
): Promise<SQSClientConfig> {
  const { spec } = ctx;
  const config: SQSClientConfig = { region: regionOf(spec) };
  if (spec.endpoint) config.endpoint = spec.endpoint;
  if (spec.credentials) {
    const secret = async (
      field: string,
      ref: { secretKeyRef?: { name: string; key: string } } | undefined,
    ) => {
      try {
        return await ctx.secrets.resolve(ref);
      } catch (err) {
        throw new Error(`spec.credentials.${field}: ${(err as Error).message}`);
      }
    };
    const accessKeyId = await secret('accessKeyId', spec.credentials.accessKeyId);
    const secretAccessKey = await secret('secretAccessKey', spec.credentials.secretAccessKey);
    const sessionToken = spec.credentials.sessionToken
      ? await secret('sessionToken', spec.credentials.sessionToken)
      : undefined;
    if (!accessKeyId)
      throw new Error('spec.credentials.accessKeyId: no secretKeyRef given or the secret is empty');
    if (!secretAccessKey)
      throw new Error('spec.credentials.secretAccessKey: no secretKeyRef given or the secret is empty');
    config.credentials = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  }
  return config;
}

export function isQueueMissing(err: unknown): boolean {
  const name = (err as { name?: string })?.name ?? '';
  const code = (err as { Code?: string })?.Code ?? '';
  return /QueueDoesNotExist|NonExistentQueue/.test(`${name} ${code} ${(err as Error)?.message ?? ''}`);
}
