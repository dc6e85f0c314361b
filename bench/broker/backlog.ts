// A backlog written straight into a broker's topic before the dispatcher under test starts: on Kafka
// with kafkajs (binary-mode CloudEvents records: ce_* headers and content-type, the Kafka binding both
// data planes read), on the embedded log through its own append (it has no other writer).
import type { PlainEvent } from '@eddy/api';
import type { EventLog } from '@eddy/broker';
import { Kafka, logLevel } from 'kafkajs';

/** 1 KiB of JSON data, the same for every backlog event. */
const VALUE = Buffer.from(`{"data":"${'x'.repeat(1024 - 11)}"}`);
const SPECVERSION = '1.0';
const TYPE = 'dev.eddy.bench.broker';
const SOURCE = '/bench/broker/backlog';
const CONTENT_TYPE = 'application/json';
/** Events per write call; WRITERS calls in flight keep the log busy between round trips. */
const BATCH = 1000;
const WRITERS = 4;

/** Backlog event `i` as the embedded log stores it (the Kafka writer sends the same in headers). */
export function backlogEvent(i: number): PlainEvent {
  return {
    specversion: SPECVERSION,
    id: `b-${i}`,
    type: TYPE,
    source: SOURCE,
    datacontenttype: CONTENT_TYPE,
    data: VALUE,
  };
}

/**
 * Calls `write(from, n)` for consecutive ranges of `events`, WRITERS at a time, with a progress line
 * every 5 s and one at the end.
 */
async function writeInBatches(
  events: number,
  write: (from: number, n: number) => Promise<void>,
  progress: (line: string) => void,
): Promise<void> {
  const started = Date.now();
  let sent = 0;
  let lastLog = Date.now();
  const writer = async (): Promise<void> => {
    while (sent < events) {
      const from = sent;
      const n = Math.min(BATCH, events - from);
      sent += n;
      await write(from, n);
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        progress(`backlog: ${sent.toLocaleString('en-US')} of ${events.toLocaleString('en-US')} written`);
      }
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
  progress(
    `backlog: ${events.toLocaleString('en-US')} events written in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

/** Writes `events` backlog events into `topic` with kafkajs, creating the topic if it does not exist. */
export async function produceBacklog(
  brokers: string[],
  topic: string,
  partitions: number,
  events: number,
  progress: (line: string) => void,
): Promise<void> {
  const kafka = new Kafka({ clientId: 'bench-broker-backlog', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    // Resolves false for a topic that exists (e.g. created by Eddy's ingress, with its settings).
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await writeInBatches(
      events,
      async (from, n) => {
        await producer.send({
          topic,
          acks: -1,
          messages: Array.from({ length: n }, (_, i) => ({
            partition: (from + i) % partitions,
            value: VALUE,
            headers: {
              ce_specversion: SPECVERSION,
              ce_id: `b-${from + i}`,
              ce_type: TYPE,
              ce_source: SOURCE,
              'content-type': CONTENT_TYPE,
            },
          })),
        });
      },
      progress,
    );
  } finally {
    await producer.disconnect();
  }
}

/** Writes `events` backlog events into an existing `topic` of `log` (spread over its partitions). */
export async function appendBacklog(
  log: Pick<EventLog, 'append'>,
  topic: string,
  events: number,
  progress: (line: string) => void,
): Promise<void> {
  await writeInBatches(
    events,
    async (from, n) => {
      await log.append(
        topic,
        Array.from({ length: n }, (_, i) => backlogEvent(from + i)),
      );
    },
    progress,
  );
}
