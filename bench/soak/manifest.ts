// The soak's manifest: one Broker, a Trigger per Service, two Services whose replicas are
// service.ts processes, `auto` scaled by Knative's KPA annotations and `fixed` at two replicas.
import path from 'node:path';

/** The autoscaled Service: KPA on concurrency; each event held `delayMs` so there is concurrency to scale on. */
export const AUTO = { target: 10, minScale: 1, maxScale: 8, delayMs: 20 } as const;
/** The fixed Service's replicas. */
export const FIXED_REPLICAS = 2;

/**
 * Partitions of the Broker's topic per mode. On Kafka, Knative's Kafka broker default
 * (`default.topic.partitions: 10` in kafka-broker-config): partitions are how `eddy dev --kafka`'s
 * dispatchers share a Trigger, and with 1 each Trigger is served by one of them (both Triggers by the
 * same one, half the time). Embedded: Eddy's default, 1 (one process reads every partition anyway).
 */
export const PARTITIONS = { embedded: 1, kafka: 10 } as const;

/** One line for reports: what the two Services are. */
export const SERVICES_SETUP = `\`auto\` (KPA, concurrency target ${AUTO.target}, min ${AUTO.minScale}, max ${AUTO.maxScale}; each event held ${AUTO.delayMs} ms) and \`fixed\` (${FIXED_REPLICAS} replicas)`;

export function manifest(namespace: string, receivedDir: string, partitions: number): string {
  const service = (
    name: string,
    annotations: Record<string, string>,
    delayMs: number,
  ) => `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  template:
    metadata:
      annotations:
${Object.entries(annotations)
  .map(([k, v]) => `        ${k}: "${v}"`)
  .join('\n')}
    spec:
      containers:
        - command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(path.join(import.meta.dirname, 'service.ts'))}]
          env:
            - {name: SERVICE, value: ${name}}
            - {name: RECEIVED_DIR, value: ${JSON.stringify(receivedDir)}}
            - {name: DELAY_MS, value: "${delayMs}"}
`;
  const trigger = (name: string) => `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: to-${name}
  namespace: ${namespace}
spec:
  broker: default
  subscriber:
    ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: ${name}}
`;
  return [
    // Knative's way to size a Broker's topic: a ConfigMap its spec.config names.
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: soak-broker-config\n  namespace: ${namespace}\ndata:\n  default.topic.partitions: "${partitions}"\n`,
    `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n  namespace: ${namespace}\nspec:\n  config: {apiVersion: v1, kind: ConfigMap, name: soak-broker-config}\n`,
    // 20 ms per event (a timer): at 2,000/s about 40 in flight; KPA aims at 70% of the target of 10,
    // so about 6 replicas, with room to 8 for bursts, and it scales within min..max as the load moves.
    service(
      'auto',
      {
        'autoscaling.knative.dev/class': 'kpa.autoscaling.knative.dev',
        'autoscaling.knative.dev/metric': 'concurrency',
        'autoscaling.knative.dev/target': String(AUTO.target),
        'autoscaling.knative.dev/min-scale': String(AUTO.minScale),
        'autoscaling.knative.dev/max-scale': String(AUTO.maxScale),
      },
      AUTO.delayMs,
    ),
    service(
      'fixed',
      {
        'autoscaling.knative.dev/min-scale': String(FIXED_REPLICAS),
        'autoscaling.knative.dev/max-scale': String(FIXED_REPLICAS),
      },
      0,
    ),
    trigger('auto'),
    trigger('fixed'),
  ].join('---\n');
}
