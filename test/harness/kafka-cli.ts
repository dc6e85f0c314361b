// Runs a Kafka from the test harness until SIGINT/SIGTERM, for benchmarks and manual runs:
//   node test/harness/kafka-cli.ts [--nodes 3]
// The first stdout line is `KAFKA_BROKERS=host:port,...`; progress and log paths go to stderr.
import { parseArgs } from 'node:util';
import { startKafka } from './kafka.ts';

function usage(problem: string): never {
  process.stderr.write(`kafka-cli: ${problem}\nusage: node test/harness/kafka-cli.ts [--nodes 1|3]\n`);
  process.exit(2);
}

let nodes: 1 | 3 = 1;
try {
  const { values } = parseArgs({ options: { nodes: { type: 'string', short: 'n' } }, strict: true });
  if (values.nodes !== undefined) {
    if (values.nodes !== '1' && values.nodes !== '3')
      usage(`--nodes must be 1 or 3, got ${JSON.stringify(values.nodes)}`);
    nodes = values.nodes === '3' ? 3 : 1;
  }
} catch (err) {
  usage((err as Error).message);
}

// Full JIT: benchmarks run against this Kafka and need its peak throughput.
const cluster = await startKafka({ nodes, fastStartJvm: false });
process.stdout.write(`KAFKA_BROKERS=${cluster.brokers.join(',')}\n`);
process.stderr.write(
  `[kafka] log: ${cluster.logFiles.join(', ')}\n[kafka] Ctrl-C (SIGINT) or SIGTERM stops it\n`,
);

let stopping = false;
const stop = async (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`[kafka] ${signal}: stopping\n`);
  await cluster.stop();
  process.stderr.write('[kafka] stopped\n');
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
// Keeps the event loop alive; the signal handlers end the process.
setInterval(() => {}, 1 << 30);
