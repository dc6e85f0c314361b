// vitest globalSetup: one Kafka for the whole test run, shared by every test file.
// KAFKA_BROKERS=host:port[,host:port] points the tests at an existing Kafka instead.
import type { TestProject } from 'vitest/node';
import { type KafkaCluster, startKafka } from './kafka.ts';
import './vitest-context.ts';

export function parseBrokerList(value: string, source = 'KAFKA_BROKERS'): string[] {
  const brokers = value
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  if (brokers.length === 0)
    throw new Error(`${source} is set but lists no broker (expected host:port[,host:port])`);
  for (const broker of brokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(broker)) {
      throw new Error(
        `${source}: ${JSON.stringify(broker)} is not host:port (whole value: ${JSON.stringify(value)})`,
      );
    }
  }
  return brokers;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fromEnv = process.env.KAFKA_BROKERS;
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    const brokers = parseBrokerList(fromEnv);
    process.stderr.write(`[kafka] using KAFKA_BROKERS=${brokers.join(',')} (no Kafka started)\n`);
    project.provide('kafkaBrokers', brokers);
    return async () => {};
  }

  const cluster: KafkaCluster = await startKafka();
  const brokers = cluster.brokers;
  // Test workers and any process a test spawns inherit this.
  process.env.KAFKA_BROKERS = brokers.join(',');
  project.provide('kafkaBrokers', brokers);
  process.stderr.write(`[kafka] listening on ${brokers.join(',')}; log: ${cluster.logFiles.join(', ')}\n`);
  return async () => {
    await cluster.stop();
    delete process.env.KAFKA_BROKERS;
  };
}
