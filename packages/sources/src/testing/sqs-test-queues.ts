// Queues on the harness's SQS server (ElasticMQ) for SqsSource tests, and a secret directory with
// the credentials the sources name (Secret demo/aws, keys id and secret). Not exported from the
// package index; tests import it by path.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MessageAttributeValue, SQSClient } from '@aws-sdk/client-sqs';
import { uniqueName } from './unique-name.js';

/** The SDK parts used here; tests pass the harness's Node build (test/harness/sqs-sdk.ts). */
export type SqsTestSdk = Pick<
  typeof import('@aws-sdk/client-sqs'),
  | 'SQSClient'
  | 'CreateQueueCommand'
  | 'DeleteQueueCommand'
  | 'GetQueueAttributesCommand'
  | 'SendMessageCommand'
>;

export interface SqsTestQueues {
  client: SQSClient;
  /** The secret directory (a runner's `secretDirs` entry); set by open(). */
  readonly secretDir: string;
  /** Call in beforeAll. */
  open(): Promise<void>;
  /** Deletes the queues created, closes the client, removes the secret directory. */
  close(): Promise<void>;
  createQueue(attributes?: Record<string, string>): Promise<{ url: string; arn: string }>;
  /** Sends a message; its MessageId. */
  send(queueUrl: string, body: string, attributes?: Record<string, MessageAttributeValue>): Promise<string>;
  counts(queueUrl: string): Promise<{ visible: number; inFlight: number }>;
  /** Nothing visible and nothing in flight. */
  empty(queueUrl: string): Promise<boolean>;
}

/** A String message attribute. */
export const str = (StringValue: string): MessageAttributeValue => ({ DataType: 'String', StringValue });

export function sqsTestQueues(sdk: SqsTestSdk, peer: { endpoint: string; region: string }): SqsTestQueues {
  const client = new sdk.SQSClient({
    endpoint: peer.endpoint,
    region: peer.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const created: string[] = [];
  let secretDir = '';

  async function counts(QueueUrl: string): Promise<{ visible: number; inFlight: number }> {
    const { Attributes } = await client.send(
      new sdk.GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return {
      visible: Number(Attributes?.ApproximateNumberOfMessages),
      inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible),
    };
  }

  return {
    client,
    get secretDir() {
      return secretDir;
    },
    async open() {
      secretDir = await mkdtemp(join(tmpdir(), 'sqs-secrets-'));
      await mkdir(join(secretDir, 'demo', 'aws'), { recursive: true });
      await writeFile(join(secretDir, 'demo', 'aws', 'id'), 'eddy-key\n');
      await writeFile(join(secretDir, 'demo', 'aws', 'secret'), 'eddy-secret\n');
    },
    async close() {
      await Promise.allSettled(
        created.map((QueueUrl) => client.send(new sdk.DeleteQueueCommand({ QueueUrl }))),
      );
      client.destroy();
      if (secretDir) await rm(secretDir, { recursive: true, force: true });
    },
    async createQueue(attributes = {}) {
      const { QueueUrl } = await client.send(
        new sdk.CreateQueueCommand({ QueueName: uniqueName('sqs-src'), Attributes: attributes }),
      );
      if (!QueueUrl) throw new Error('CreateQueue returned no QueueUrl');
      created.push(QueueUrl);
      const { Attributes } = await client.send(
        new sdk.GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
      );
      return { url: QueueUrl, arn: Attributes?.QueueArn ?? '' };
    },
    async send(QueueUrl, body, attributes = {}) {
      const out = await client.send(
        new sdk.SendMessageCommand({ QueueUrl, MessageBody: body, MessageAttributes: attributes }),
      );
      return out.MessageId ?? '';
    },
    counts,
    async empty(queueUrl) {
      const c = await counts(queueUrl);
      return c.visible === 0 && c.inFlight === 0;
    },
  };
}
