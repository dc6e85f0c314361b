// A backlog written straight into a broker's topic (binary-mode CloudEvents records: ce_* headers and
// content-type, the Kafka binding both data planes read), before the contender's dispatcher starts.
import { Kafka, logLevel } from 'kafkajs';

const VALUE = Buffer.from(`{"data":"${'x'.repeat(1024 - 11)}"}`);

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
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const BATCH = 1000;
  const started = Date.now();
  let sent = 0;
  let lastLog = Date.now();
  try {
    const next = async (): Promise<void> => {
      while (sent < events) {
        const from = sent;
        const n = Math.min(BATCH, events - from);
        sent += n;
        await producer.send({
          topic,
          acks: -1,
          messages: Array.from({ length: n }, (_, i) => ({
            partition: (from + i) % partitions,
            value: VALUE,
            headers: {
              ce_specversion: '1.0',
              ce_id: `b-${from + i}`,
              ce_type: 'dev.eddy.bench.broker',
              ce_source: '/bench/broker/backlog',
              'content-type': 'application/json',
            },
          })),
        });
        if (Date.now() - lastLog > 5000) {
          lastLog = Date.now();
          progress(`backlog: ${sent.toLocaleString('en-US')} of ${events.toLocaleString('en-US')} written`);
        }
      }
    };
    await Promise.all([next(), next(), next(), next()]);
  } finally {
    await producer.disconnect();
  }
  progress(
    `backlog: ${events.toLocaleString('en-US')} events written in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}
