// Runs every test peer (Kafka, ElasticMQ, pstest, Kubernetes) until SIGINT/SIGTERM, so several
// `vitest run`s (or several developers' shells) can share one set instead of each starting its own:
//   node test/harness/peers-cli.ts > peers.env
//   set -a; . ./peers.env; set +a; pnpm exec vitest run test/broker
// stdout gets `KAFKA_BROKERS=...`, `SQS_ENDPOINT=...`, `PUBSUB_EMULATOR_HOST=...`,
// `EDDY_TEST_KUBECONFIG=...` lines (the variables the global setup honours) and `EDDY_K8S_BIN=...`
// (kubectl and helm); progress and log paths go to stderr.
import { startElasticMq } from './elasticmq.ts';
import { startKafka } from './kafka.ts';
import { startKubernetesCluster } from './kubernetes.ts';
import { startPubSubFake } from './pstest.ts';

const [kafka, sqs, pubsub, k8s] = await Promise.all([
  startKafka(),
  startElasticMq(),
  startPubSubFake(),
  startKubernetesCluster(),
]);
process.stdout.write(
  `KAFKA_BROKERS=${kafka.brokers.join(',')}\nSQS_ENDPOINT=${sqs.endpoint}\nAWS_REGION=${sqs.region}\n` +
    `PUBSUB_EMULATOR_HOST=${pubsub.emulatorHost}\nPUBSUB_PROJECT_ID=${pubsub.projectId}\n` +
    `EDDY_TEST_KUBECONFIG=${k8s.kubeconfigPath}\nEDDY_K8S_BIN=${k8s.binDir}\n`,
);
process.stderr.write(
  `[peers] logs: ${[...kafka.logFiles, sqs.logFile, pubsub.logFile, k8s.logDir].join(', ')}\n[peers] Ctrl-C (SIGINT) or SIGTERM stops them\n`,
);

let stopping = false;
const stop = async (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`[peers] ${signal}: stopping\n`);
  await Promise.allSettled([kafka.stop(), sqs.stop(), pubsub.stop(), k8s.stop()]);
  process.stderr.write('[peers] stopped\n');
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
// Keeps the event loop alive; the signal handlers end the process.
setInterval(() => {}, 1 << 30);
