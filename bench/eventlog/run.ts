// Event-log benchmark: append and consume throughput of Eddy's two event logs against a bare
// kafkajs producer/consumer on the same Kafka in the same run. Not a test: it never gates CI.
//
//   pnpm run build && node bench/eventlog/run.ts [--events N] [--no-write] [--kafka-clients kafkajs,platformatic]
//                                                [--contenders bare,kafka,embedded] [--concurrency N] [--batch N]
//
// The Kafka log runs once per client in --kafka-clients (default both: kafkajs and @platformatic/kafka).
// `--contenders embedded` runs the embedded log alone (no Kafka is started).
//
// Every contender writes 1 KiB events in batches of 100, one batch in flight at a time (an
// idempotent producer allows no more anyway; `--concurrency N` keeps N appends of the Eddy logs in
// flight, as concurrent ingress requests do; `--batch 1 --concurrency 64` is the ingress's shape),
// acks=all; consumers read everything back as a
// consumer group from the earliest offset and commit after every batch, which is what a
// dispatcher does. Consume throughput is timed from the first record to the last, so a group join
// (seconds, and not what this measures) does not drown the figure. The bare baseline sends the raw 1 KiB value with no headers, so the ratio
// charges Eddy for everything it adds: the CloudEvents binding, validation, bookkeeping.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  type EventLog,
  isKafkaClientName,
  KAFKA_CLIENTS,
  openEmbeddedEventLog,
  openKafkaEventLog,
} from '@eddy/broker';
import { CloudEvent } from 'cloudevents';
import { Kafka, logLevel } from 'kafkajs';
import { type KafkaCluster, startKafka } from '../../test/harness/kafka.ts';
import { formatRate, type Measurement, measure, publishResults, ratio, waitFor } from './measure.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: process.env.EDDY_BENCH_EVENTS ?? '50000' },
    'no-write': { type: 'boolean', default: false },
    'kafka-clients': { type: 'string', default: KAFKA_CLIENTS.join(',') },
    contenders: { type: 'string', default: 'bare,kafka,embedded' },
    concurrency: { type: 'string', default: '1' },
    batch: { type: 'string', default: '100' },
  },
});
const CONTENDERS = new Set(args.contenders.split(',').map((c) => c.trim()));
for (const c of CONTENDERS) {
  if (!['bare', 'kafka', 'embedded'].includes(c)) {
    console.error(`--contenders: unknown contender ${JSON.stringify(c)} (bare, kafka, embedded)`);
    process.exit(2);
  }
}
const CONCURRENCY = Number(args.concurrency);
if (!Number.isInteger(CONCURRENCY) || CONCURRENCY < 1) {
  console.error(`--concurrency must be a positive integer, got ${JSON.stringify(args.concurrency)}`);
  process.exit(2);
}
const KAFKA_LOG_CLIENTS = args['kafka-clients'].split(',').map((c) => c.trim());
for (const client of KAFKA_LOG_CLIENTS) {
  if (!isKafkaClientName(client)) {
    console.error(`--kafka-clients: unknown client ${JSON.stringify(client)} (${KAFKA_CLIENTS.join(', ')})`);
    process.exit(2);
  }
}
const EVENTS = Number(args.events);
if (!Number.isInteger(EVENTS) || EVENTS < 100 || EVENTS % 100 !== 0) {
  console.error(`--events must be a positive multiple of 100, got ${JSON.stringify(args.events)}`);
  process.exit(2);
}
const BATCH = Number(args.batch);
if (!Number.isInteger(BATCH) || BATCH < 1 || EVENTS % BATCH !== 0) {
  console.error(`--batch must be a positive divisor of --events, got ${JSON.stringify(args.batch)}`);
  process.exit(2);
}
const PARTITIONS = 4;
const PAYLOAD = Buffer.alloc(1024, 'e');

interface Row {
  contender: string;
  append: Measurement;
  consume: Measurement;
  /** Share of the append phase the main thread's event loop was busy (Eddy's logs). */
  appendBusy?: number;
}

function progress(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

function makeBatch(offset: number): CloudEvent<Buffer>[] {
  const batch: CloudEvent<Buffer>[] = [];
  for (let i = 0; i < BATCH; i++) {
    batch.push(
      new CloudEvent({
        id: `e-${offset + i}`,
        source: '/bench/eventlog',
        type: 'dev.eddy.bench',
        datacontenttype: 'application/octet-stream',
        data: PAYLOAD,
      }),
    );
  }
  return batch;
}

async function benchBareKafka(brokers: string[]): Promise<Row> {
  const kafka = new Kafka({ clientId: 'bench-bare', brokers, logLevel: logLevel.NOTHING });
  const topic = `bench-bare-${Date.now()}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  await admin.disconnect();

  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  const messages = Array.from({ length: BATCH }, () => ({ value: PAYLOAD }));
  const append = await measure(EVENTS, async () => {
    for (let sent = 0; sent < EVENTS; sent += BATCH) {
      await producer.send({ topic, acks: -1, messages });
    }
  });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: `${topic}-group`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let received = 0;
  let firstAt = 0n;
  const consume = await measureFromFirst(
    () => firstAt,
    async () => {
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: PARTITIONS,
        eachBatch: async ({ batch }) => {
          if (firstAt === 0n) firstAt = process.hrtime.bigint();
          received += batch.messages.length;
          const last = batch.messages.at(-1);
          if (last) {
            await consumer.commitOffsets([
              { topic, partition: batch.partition, offset: String(Number(last.offset) + 1) },
            ]);
          }
        },
      });
      await waitFor(() => received >= EVENTS, 300_000, `bare consumer to read ${EVENTS} records`);
    },
  );
  await consumer.disconnect();
  return { contender: 'bare kafkajs', append, consume };
}

async function benchEventLog(contender: string, log: EventLog): Promise<Row> {
  const topic = `bench-${log.kind}-${Date.now()}`;
  await log.ensureTopic(topic, { partitions: PARTITIONS });
  const batches = Array.from({ length: EVENTS / BATCH }, (_, i) => makeBatch(i * BATCH));
  const before = performance.eventLoopUtilization();
  const append = await measure(EVENTS, async () => {
    let next = 0;
    const producer = async () => {
      while (next < batches.length) await log.append(topic, batches[next++]!);
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, producer));
  });
  const appendBusy = performance.eventLoopUtilization(before).utilization;

  let received = 0;
  let firstAt = 0n;
  let consumer: Awaited<ReturnType<EventLog['consume']>> | undefined;
  const consume = await measureFromFirst(
    () => firstAt,
    async () => {
      consumer = await log.consume({
        group: `${topic}-group`,
        topic,
        start: 'committed',
        initial: 'earliest',
        maxBatchSize: 5_000,
        handler: async (batch) => {
          if (firstAt === 0n) firstAt = process.hrtime.bigint();
          received += batch.records.length;
          const last = batch.records.at(-1);
          if (last) await consumer?.commit([{ topic, partition: batch.partition, offset: last.offset + 1 }]);
        },
      });
      await waitFor(() => received >= EVENTS, 300_000, `${contender} to consume ${EVENTS} records`);
    },
  );
  await consumer?.close();
  await log.deleteTopic(topic);
  return { contender, append, consume, appendBusy };
}

/** Runs `run`, then reports EVENTS over the time from the first record seen to the end. */
async function measureFromFirst(firstAt: () => bigint, run: () => Promise<void>): Promise<Measurement> {
  await run();
  const seconds = Number(process.hrtime.bigint() - firstAt()) / 1e9;
  return { events: EVENTS, seconds, perSecond: EVENTS / seconds };
}

function table(rows: Row[]): string {
  const bare = rows.find((r) => r.contender === 'bare kafkajs');
  const lines = [
    '| contender | append (events/s) | vs bare | main thread busy while appending | consume + commit (events/s) | vs bare |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const appendRatio = bare ? ratio(r.append.perSecond, bare.append.perSecond) : 'n/a';
    const consumeRatio = bare ? ratio(r.consume.perSecond, bare.consume.perSecond) : 'n/a';
    lines.push(
      `| ${r.contender} | ${formatRate(r.append.perSecond)} | ${appendRatio} | ${r.appendBusy === undefined ? '-' : `${Math.round(r.appendBusy * 100)}%`} | ${formatRate(r.consume.perSecond)} | ${consumeRatio} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  let cluster: KafkaCluster | undefined;
  let brokers = process.env.KAFKA_BROKERS?.split(',').filter(Boolean) ?? [];
  const needsKafka = CONTENDERS.has('bare') || CONTENDERS.has('kafka');
  if (needsKafka && brokers.length === 0) {
    progress('starting a single-node Kafka (set KAFKA_BROKERS to use an existing one)');
    cluster = await startKafka({ log: progress, fastStartJvm: false });
    brokers = cluster.brokers;
  }
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eddy-bench-embedded-'));
  const rows: Row[] = [];
  try {
    if (CONTENDERS.has('bare')) {
      progress(`bare kafkajs: ${EVENTS} events`);
      rows.push(await benchBareKafka(brokers));
    }
    for (const client of CONTENDERS.has('kafka') ? KAFKA_LOG_CLIENTS.filter(isKafkaClientName) : []) {
      progress(`Eddy kafka event log (${client}): ${EVENTS} events`);
      const kafkaLog = openKafkaEventLog({ brokers, clientId: 'bench-eddy', client });
      try {
        rows.push(await benchEventLog(`Eddy kafka log (${client})`, kafkaLog));
      } finally {
        await kafkaLog.close();
      }
    }
    if (CONTENDERS.has('embedded')) {
      progress(`Eddy embedded event log: ${EVENTS} events`);
      const embedded = await openEmbeddedEventLog({ dataDir });
      try {
        rows.push(await benchEventLog('Eddy embedded log (SQLite)', embedded));
      } finally {
        await embedded.close();
      }
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    await cluster?.stop();
  }

  const heading = [
    `## eventlog, ${new Date().toISOString().slice(0, 16)}Z`,
    '',
    `Command: \`node bench/eventlog/run.ts ${process.argv.slice(2).join(' ') || `--events ${EVENTS}`}\` (after \`pnpm run build\`).`,
    `Machine: ${os.cpus().length} cores, Node ${process.version}${needsKafka ? `, Kafka single node ${cluster?.version ?? `at ${brokers.join(',')}`} on 127.0.0.1` : ''}.`,
    `${EVENTS} events of 1 KiB, batches of ${BATCH}, ${CONCURRENCY === 1 ? 'one batch' : `${CONCURRENCY} Eddy appends`} in flight, acks=all, ${PARTITIONS} partitions; consumers commit after every handler call; consumption timed from the first record to the last.`,
    'Targets: Kafka log >= 0.8x the bare kafkajs baseline; embedded append >= 50k events/s durable.',
    '',
    '',
  ].join('\n');
  const text = `${heading}${table(rows)}\n`;
  publishResults(text, !args['no-write']);
}

main().catch((error: unknown) => {
  console.error(`bench/eventlog failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
