import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Message, SQSClient as SqsClient } from '@aws-sdk/client-sqs';
import { sleep } from '@eddy/runtime';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sqsClientConfig, startElasticMq } from './elasticmq.ts';
import { parseSqsEndpoint } from './global-setup.ts';
import { expectPeerDiesWithParent } from './orphan-check.ts';
import { isAlive } from './processes.ts';
import { sqsSdk } from './sqs-sdk.ts';

const {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} = sqsSdk;

let sqs: SqsClient;
const created: string[] = [];

beforeAll(() => {
  sqs = new SQSClient(sqsClientConfig({ endpoint: inject('sqsEndpoint'), region: inject('sqsRegion') }));
});

afterAll(async () => {
  await Promise.allSettled(created.map((QueueUrl) => sqs.send(new DeleteQueueCommand({ QueueUrl }))));
  sqs.destroy();
});

async function createQueue(prefix: string, attributes: Record<string, string> = {}): Promise<string> {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: `${prefix}-${randomUUID()}`, Attributes: attributes }),
  );
  if (!QueueUrl) throw new Error('CreateQueue returned no QueueUrl');
  created.push(QueueUrl);
  return QueueUrl;
}

async function receive(
  QueueUrl: string,
  options: { wait?: number; max?: number; visibility?: number } = {},
): Promise<Message[]> {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl,
      WaitTimeSeconds: options.wait ?? 0,
      MaxNumberOfMessages: options.max ?? 10,
      ...(options.visibility !== undefined ? { VisibilityTimeout: options.visibility } : {}),
      MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      MessageAttributeNames: ['All'],
    }),
  );
  return Messages ?? [];
}

async function counts(QueueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(Attributes?.ApproximateNumberOfMessages),
    inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible),
  };
}

describe('shared SQS server (ElasticMQ) from the global setup', () => {
  it('is handed to test workers through inject() and SQS_ENDPOINT', () => {
    expect(inject('sqsEndpoint')).toMatch(/^https?:\/\/[^/]+$/);
    expect(inject('sqsRegion')).not.toBe('');
    expect(process.env.SQS_ENDPOINT).toBe(inject('sqsEndpoint'));
  });

  it('long polling returns as soon as a message arrives, and waits when there is none', async () => {
    const queue = await createQueue('long-poll');
    let started = Date.now();
    expect(await receive(queue, { wait: 1 })).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);

    started = Date.now();
    const polling = receive(queue, { wait: 10 });
    await sleep(500);
    await sqs.send(new SendMessageCommand({ QueueUrl: queue, MessageBody: 'late' }));
    const messages = await polling;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(messages.map((m) => m.Body)).toEqual(['late']);
  });

  it('sends, batch-receives and deletes messages with their attributes', async () => {
    const queue = await createQueue('batch');
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue,
        Entries: Array.from({ length: 5 }, (_, i) => ({
          Id: `m${i}`,
          MessageBody: JSON.stringify({ n: i }),
          MessageAttributes: { kind: { DataType: 'String', StringValue: `k${i}` } },
        })),
      }),
    );
    expect(sent.Failed ?? []).toEqual([]);
    expect(sent.Successful).toHaveLength(5);

    const received: Message[] = [];
    const deadline = Date.now() + 10_000;
    while (received.length < 5 && Date.now() < deadline)
      received.push(...(await receive(queue, { wait: 1 })));
    expect(received.map((m) => (JSON.parse(m.Body!) as { n: number }).n).sort()).toEqual([0, 1, 2, 3, 4]);
    for (const m of received) {
      const n = (JSON.parse(m.Body!) as { n: number }).n;
      expect(m.MessageAttributes?.kind?.StringValue).toBe(`k${n}`);
      expect(m.Attributes?.ApproximateReceiveCount).toBe('1');
    }
    expect(await counts(queue)).toEqual({ visible: 0, inFlight: 5 });

    await sqs.send(new DeleteMessageCommand({ QueueUrl: queue, ReceiptHandle: received[0]!.ReceiptHandle! }));
    const batch = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queue,
        Entries: received.slice(1).map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
    expect(batch.Failed ?? []).toEqual([]);
    expect(await counts(queue)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('hides a received message for its visibility timeout, which can be extended or released', async () => {
    const queue = await createQueue('visibility');
    await sqs.send(new SendMessageCommand({ QueueUrl: queue, MessageBody: 'slow' }));
    const [first] = await receive(queue, { wait: 1, visibility: 1 });
    expect(first?.Body).toBe('slow');

    // Extended before it expires: still hidden after the original second.
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queue,
        ReceiptHandle: first!.ReceiptHandle!,
        VisibilityTimeout: 4,
      }),
    );
    await sleep(1500);
    expect(await receive(queue)).toEqual([]);

    // Released: visible again at once, with a higher receive count.
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queue,
        ReceiptHandle: first!.ReceiptHandle!,
        VisibilityTimeout: 0,
      }),
    );
    const [second] = await receive(queue, { wait: 1, visibility: 1 });
    expect(second?.MessageId).toBe(first!.MessageId);
    expect(second?.Attributes?.ApproximateReceiveCount).toBe('2');

    // Not deleted and not extended: it comes back by itself once the timeout passes.
    const [third] = await receive(queue, { wait: 5 });
    expect(third?.MessageId).toBe(first!.MessageId);
    expect(third?.Attributes?.ApproximateReceiveCount).toBe('3');
  });

  it('moves a message to the dead-letter queue after maxReceiveCount receives', async () => {
    const dlq = await createQueue('dlq');
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }),
    );
    const dlqArn = Attributes?.QueueArn;
    expect(dlqArn).toMatch(/^arn:aws:sqs:/);
    const queue = await createQueue('with-dlq', {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }),
    });
    const { Attributes: policy } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queue, AttributeNames: ['RedrivePolicy'] }),
    );
    expect(JSON.parse(policy!.RedrivePolicy!)).toMatchObject({
      deadLetterTargetArn: dlqArn,
      maxReceiveCount: 2,
    });

    await sqs.send(new SendMessageCommand({ QueueUrl: queue, MessageBody: 'poison' }));
    // A consumer that keeps failing: receive, then release without deleting.
    let receives = 0;
    for (let i = 0; i < 5; i++) {
      const [m] = await receive(queue, { wait: 1 });
      if (!m) break;
      receives++;
      expect(m.Body).toBe('poison');
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queue,
          ReceiptHandle: m.ReceiptHandle!,
          VisibilityTimeout: 0,
        }),
      );
    }
    expect(receives).toBe(2);
    const [dead] = await receive(dlq, { wait: 2 });
    expect(dead?.Body).toBe('poison');
    expect(await counts(queue)).toEqual({ visible: 0, inFlight: 0 });
  });
});

describe('SQS_ENDPOINT parsing', () => {
  it('accepts an http(s) origin and normalizes a trailing slash', () => {
    expect(parseSqsEndpoint('http://127.0.0.1:9324/')).toBe('http://127.0.0.1:9324');
    expect(parseSqsEndpoint('https://sqs.example:443')).toBe('https://sqs.example');
  });
  it('names what is wrong', () => {
    expect(() => parseSqsEndpoint('127.0.0.1:9324')).toThrow(/SQS_ENDPOINT: "127.0.0.1:9324" is not a URL/);
    expect(() => parseSqsEndpoint('ftp://h:1')).toThrow(/SQS_ENDPOINT: "ftp:\/\/h:1" must be an http/);
    expect(() => parseSqsEndpoint('not a url')).toThrow(/SQS_ENDPOINT: "not a url" is not a URL/);
    expect(() => parseSqsEndpoint('http://h:1/queue')).toThrow(/must not have a path/);
  });
});

describe('startElasticMq', () => {
  it('starts its own server on another port, logs to a file and stops', { timeout: 90_000 }, async () => {
    const mq = await startElasticMq({ log: () => {} });
    let stopped = false;
    try {
      expect(mq.endpoint).not.toBe(inject('sqsEndpoint'));
      const client = new SQSClient(sqsClientConfig(mq));
      try {
        const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: 'own' }));
        expect(QueueUrl).toBe(`${mq.endpoint}/${mq.accountId}/own`);
      } finally {
        client.destroy();
      }
      expect(readFileSync(mq.logFile, 'utf8')).toContain('Started SQS rest server');
      await mq.stop();
      stopped = true;
      expect(isAlive(mq.pid!)).toBe(false);
      await expect(fetch(mq.endpoint)).rejects.toThrow();
      expect(existsSync(mq.logFile)).toBe(true);
    } finally {
      if (!stopped) await mq.stop();
    }
  });

  it('takes the JVM down when the process that started it is SIGKILLed', { timeout: 90_000 }, async () => {
    await expectPeerDiesWithParent({
      module: new URL('./elasticmq.ts', import.meta.url).href,
      start: 'startElasticMq',
      pidOf: 'peer.pid',
      what: 'ElasticMQ',
      withinMs: 30_000,
    });
  });
});
