// Source adapter benchmark: the KafkaSource and SqsSource adapters feeding a Broker (ingress +
// Kafka event log) against a bare client that only reads the same data, in the same run. Not a test.
//
//   pnpm run build && node bench/sources/run.ts [--kafka-events N] [--sqs-events N] [--no-write]
//
// Each side reads data that is already waiting upstream; throughput is timed from the first event
// to the last (joins and connects are not throughput). The bare Kafka consumer commits after every
// batch; the bare SQS consumer receives batches of 10 with 4 pollers and deletes each batch. The
// adapters do all that AND deliver every event to the broker (batch POSTs: the sink is an Eddy
// ingress), which acknowledges only once the events are durable in Kafka (acks=all): the ratio is
// what that path costs. A bare kafkajs consume -> produce copy of the same records is the ceiling
// of any path that makes each record durable again.
import os from 'node:os';
import { parseArgs } from 'node:util';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { DataPlaneContract } from '@eddy/api';
import { createBrokerDataPlane, createKafkaEventLog, type EventLog } from '@eddy/broker';
import { createSourceRegistry, createSourceRunner, type SourceDefinition } from '@eddy/sources';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { type ElasticMq, sqsClientConfig, startElasticMq } from '../../test/harness/elasticmq.ts';
import { type KafkaCluster, startKafka } from '../../test/harness/kafka.ts';
import { formatRate, type Measurement, publishResults, ratio } from '../eventlog/measure.ts';

const { values: args } = parseArgs({
  options: {
    'kafka-events': { type: 'string', default: '20000' },
    'sqs-events': { type: 'string', default: '5000' },
    'no-write': { type: 'boolean', default: false },
  },
});
const KAFKA_EVENTS = Number(args['kafka-events']);
const SQS_EVENTS = Number(args['sqs-events']);
for (const [name, n] of [
  ['--kafka-events', KAFKA_EVENTS],
  ['--sqs-events', SQS_EVENTS],
] as const) {
  if (!Number.isInteger(n) || n < 100 || n % 100 !== 0) {
    console.error(`${name} must be a positive multiple of 100`);
    process.exit(2);
  }
}
const PAYLOAD = Buffer.alloc(1024, 's');
const PARTITIONS = 4;
const quiet = pino({ level: 'silent' });

interface Row {
  contender: string;
  measurement: Measurement;
  baseline?: Measurement;
  /** Ingress POSTs that carried the events, and their mean duration (arrival to 202 = durable). */
  posts?: { count: number; meanMs: number };
}

type Registry = Awaited<ReturnType<typeof createBrokerDataPlane>>['registry'];

/** Ingress requests answered so far and their mean duration, from the data plane's metrics. */
async function ingressPosts(registry: Registry): Promise<{ count: number; meanMs: number }> {
  const metric = (await registry.getMetricsAsJSON()).find(
    (m) => m.name === 'eddy_ingress_request_duration_seconds',
  );
  const values = (metric?.values ?? []) as { metricName?: string; value: number }[];
  const sum = values.filter((v) => v.metricName?.endsWith('_sum')).reduce((a, v) => a + v.value, 0);
  const count = values.filter((v) => v.metricName?.endsWith('_count')).reduce((a, v) => a + v.value, 0);
  return { count, meanMs: count > 0 ? (sum / count) * 1000 : 0 };
}

const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** Waits until `count()` reaches `total`, timing from the moment it first moves. */
async function timeFromFirst(total: number, count: () => Promise<number> | number): Promise<Measurement> {
  let first = 0n;
  const deadline = Date.now() + 600_000;
  for (;;) {
    const n = await count();
    if (n > 0 && first === 0n) first = process.hrtime.bigint();
    if (n >= total) break;
    if (Date.now() > deadline) throw new Error(`timed out: ${n} of ${total}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const seconds = Number(process.hrtime.bigint() - first) / 1e9;
  return { events: total, seconds, perSecond: total / seconds };
}

/** Events durable in the broker's topic (sum of end offsets). */
async function brokerCount(log: EventLog, topic: string): Promise<number> {
  const lag = await log.lag('bench-probe', topic);
  return lag.reduce((sum, p) => sum + p.end, 0);
}

async function startBroker(log: EventLog, name: string) {
  const dataPlane = await createBrokerDataPlane({
    log,
    logger: quiet,
    dispatcher: { retryStateTopic: `bench-retry-${name}` },
  });
  const topic = `bench-broker-${name}-${Date.now()}`;
  const contract: DataPlaneContract = {
    generation: 1,
    brokers: [{ namespace: 'bench', name, path: `/bench/${name}`, topic, partitions: PARTITIONS }],
    channels: [],
    routes: [],
  };
  await dataPlane.apply(contract);
  return { dataPlane, topic, url: `${dataPlane.url}/bench/${name}` };
}

async function benchKafka(brokers: string[], log: EventLog): Promise<Row[]> {
  const kafka = new Kafka({ clientId: 'bench-sources', brokers, logLevel: logLevel.NOTHING });
  const topic = `bench-upstream-${Date.now()}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const messages = Array.from({ length: 100 }, () => ({ value: PAYLOAD }));
  for (let sent = 0; sent < KAFKA_EVENTS; sent += 100) await producer.send({ topic, acks: -1, messages });
  await producer.disconnect();

  progress(`bare kafkajs consumer: ${KAFKA_EVENTS} records`);
  const consumer = kafka.consumer({ groupId: `${topic}-bare`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let read = 0;
  const running = consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: PARTITIONS,
    eachBatch: async ({ batch }) => {
      read += batch.messages.length;
      const last = batch.messages.at(-1);
      if (last) {
        await consumer.commitOffsets([
          { topic, partition: batch.partition, offset: String(Number(last.offset) + 1) },
        ]);
      }
    },
  });
  const baseline = await timeFromFirst(KAFKA_EVENTS, () => read);
  await running;
  await consumer.disconnect();

  // The ceiling of any path that makes every record durable again: a bare kafkajs consumer that
  // produces each record (with the ce_ headers a CloudEvent carries in Kafka) to another topic with
  // acks=all before committing; no HTTP, no CloudEvents parsing. Same process, same Kafka.
  progress(`bare kafkajs consume -> produce: ${KAFKA_EVENTS} records`);
  const copyTopic = `${topic}-copy`;
  const copyAdmin = kafka.admin();
  await copyAdmin.connect();
  await copyAdmin.createTopics({
    topics: [{ topic: copyTopic, numPartitions: PARTITIONS }],
    waitForLeaders: true,
  });
  await copyAdmin.disconnect();
  const copier = kafka.consumer({ groupId: `${topic}-copy`, maxWaitTimeInMs: 100 });
  const copyProducer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await Promise.all([copier.connect(), copyProducer.connect()]);
  await copier.subscribe({ topic, fromBeginning: true });
  let copied = 0;
  const copying = copier.run({
    autoCommit: false,
    partitionsConsumedConcurrently: PARTITIONS,
    eachBatch: async ({ batch }) => {
      const { partition } = batch;
      await copyProducer.send({
        topic: copyTopic,
        acks: -1,
        messages: batch.messages.map((m) => ({
          value: m.value,
          headers: {
            ce_specversion: '1.0',
            ce_id: `partition:${partition}/offset:${m.offset}`,
            ce_source: `/apis/v1/namespaces/bench/kafkasources/kafka#${topic}`,
            ce_type: 'dev.knative.kafka.event',
            ce_subject: `partition:${partition}#${m.offset}`,
            ce_time: new Date(Number(m.timestamp)).toISOString(),
          },
        })),
      });
      copied += batch.messages.length;
      const last = batch.messages.at(-1);
      if (last) {
        await copier.commitOffsets([{ topic, partition, offset: String(Number(last.offset) + 1) }]);
      }
    },
  });
  const ceiling = await timeFromFirst(KAFKA_EVENTS, () => copied);
  await copying;
  await Promise.all([copier.disconnect(), copyProducer.disconnect()]);

  progress(`KafkaSource -> broker: ${KAFKA_EVENTS} records`);
  const broker = await startBroker(log, 'kafka');
  const runner = createSourceRunner({ adapters: createSourceRegistry(), logger: quiet });
  const source: SourceDefinition = {
    apiVersion: 'sources.knative.dev/v1',
    kind: 'KafkaSource',
    namespace: 'bench',
    name: 'kafka',
    spec: {
      bootstrapServers: brokers,
      topics: [topic],
      consumerGroup: `${topic}-eddy`,
      initialOffset: 'earliest',
      ordering: 'unordered',
    },
    sink: broker.url,
    // The sink is an Eddy broker ingress: the emitter may send batch POSTs.
    sinkAcceptsBatch: true,
  };
  try {
    await runner.apply(source);
    const measurement = await timeFromFirst(KAFKA_EVENTS, () => brokerCount(log, broker.topic));
    const posts = await ingressPosts(broker.dataPlane.registry);
    return [
      {
        contender: 'bare kafkajs consume -> produce (acks=all), the ceiling',
        measurement: ceiling,
        baseline,
      },
      { contender: 'KafkaSource -> broker', measurement, baseline, posts },
    ];
  } finally {
    await runner.close();
    await broker.dataPlane.close();
  }
}

async function benchSqs(mq: ElasticMq, log: EventLog): Promise<Row> {
  const sqs = new SQSClient(sqsClientConfig(mq));
  const fill = async (queue: string) => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queue }));
    const body = PAYLOAD.toString('utf8');
    const batches = [];
    for (let i = 0; i < SQS_EVENTS; i += 10) {
      batches.push({
        QueueUrl,
        Entries: Array.from({ length: 10 }, (_, k) => ({ Id: String(k), MessageBody: body })),
      });
    }
    // A few senders at once: filling is not what is measured.
    for (let i = 0; i < batches.length; i += 8) {
      await Promise.all(batches.slice(i, i + 8).map((b) => sqs.send(new SendMessageBatchCommand(b))));
    }
    return QueueUrl!;
  };

  const bareQueue = await fill(`bench-bare-${Date.now()}`);
  progress(`bare SQS consumer: ${SQS_EVENTS} messages`);
  let read = 0;
  const poller = async () => {
    while (read < SQS_EVENTS) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: bareQueue, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      if (Messages.length === 0) continue;
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: bareQueue,
          Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
      read += Messages.length;
    }
  };
  const polling = Promise.all([poller(), poller(), poller(), poller()]);
  const baseline = await timeFromFirst(SQS_EVENTS, () => read);
  await polling;

  const queue = await fill(`bench-eddy-${Date.now()}`);
  progress(`SqsSource -> broker: ${SQS_EVENTS} messages`);
  const broker = await startBroker(log, 'sqs');
  // The adapter finds credentials through the AWS default chain; ElasticMQ does not check them.
  process.env.AWS_ACCESS_KEY_ID ??= 'eddy-bench';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'eddy-bench';
  const runner = createSourceRunner({ adapters: createSourceRegistry(), logger: quiet });
  try {
    await runner.apply({
      apiVersion: 'sources.eddy.dev/v1alpha1',
      kind: 'SqsSource',
      namespace: 'bench',
      name: 'sqs',
      spec: { queueUrl: queue, endpoint: mq.endpoint, region: mq.region, batchSize: 10, waitTimeSeconds: 1 },
      sink: broker.url,
      sinkAcceptsBatch: true,
    });
    const measurement = await timeFromFirst(SQS_EVENTS, () => brokerCount(log, broker.topic));
    const posts = await ingressPosts(broker.dataPlane.registry);
    return { contender: 'SqsSource -> broker', measurement, baseline, posts };
  } finally {
    await runner.close();
    await broker.dataPlane.close();
    sqs.destroy();
  }
}

async function main(): Promise<void> {
  let cluster: KafkaCluster | undefined;
  let brokers = process.env.KAFKA_BROKERS?.split(',').filter(Boolean) ?? [];
  if (brokers.length === 0) {
    cluster = await startKafka({ log: progress, fastStartJvm: false });
    brokers = cluster.brokers;
  }
  const mq = await startElasticMq({ log: progress });
  const log = createKafkaEventLog({ brokers, clientId: 'bench-broker', logger: quiet });
  const rows: Row[] = [];
  try {
    rows.push(...(await benchKafka(brokers, log)));
    rows.push(await benchSqs(mq, log));
  } finally {
    await log.close();
    await mq.stop();
    await cluster?.stop();
  }

  const lines = [
    `## sources, ${new Date().toISOString().slice(0, 16)}Z`,
    '',
    `Command: \`node bench/sources/run.ts --kafka-events ${KAFKA_EVENTS} --sqs-events ${SQS_EVENTS}\` (after \`pnpm run build\`).`,
    `Machine: ${os.cpus().length} cores, Node ${process.version}, Kafka ${cluster?.version ?? brokers.join(',')} (1 node), ElasticMQ ${mq.version}, all on 127.0.0.1.`,
    'Upstream data (1 KiB each) is waiting before each side starts; timed from first to last event. Target: adapter >= 0.5x the bare reader.',
    "Sources run with `sinkAcceptsBatch` (the sink is an Eddy broker): batch POSTs of <= 500 events / 1 MiB; SqsSource with 4 receive loops. Ingress POSTs and their mean duration (arrival to 202 = durable) come from the broker's metrics.",
    '',
    '| path | events | adapter -> broker (events/s) | bare reader (events/s) | ratio | ingress POSTs | mean POST (ms) |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.contender} | ${r.measurement.events} | ${formatRate(r.measurement.perSecond)} | ${r.baseline ? formatRate(r.baseline.perSecond) : 'n/a'} | ${r.baseline ? ratio(r.measurement.perSecond, r.baseline.perSecond) : 'n/a'} | ${r.posts?.count ?? 'n/a'} | ${r.posts ? r.posts.meanMs.toFixed(1) : 'n/a'} |`,
    ),
  ];
  const text = `${lines.join('\n')}\n`;
  publishResults(text, !args['no-write']);
}

main().catch((error: unknown) => {
  console.error(
    `bench/sources failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exit(1);
});
