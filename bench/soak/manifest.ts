// The soak's manifest: one Broker, a Trigger per Service, two Services whose replicas are
// service.ts processes, `auto` scaled by Knative's KPA annotations and `fixed` at two replicas.
import path from 'node:path';

export function manifest(namespace: string, receivedDir: string): string {
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
    `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n  namespace: ${namespace}\n`,
    // 20 ms per event (a timer): at 2,000/s about 40 in flight, so KPA's concurrency target of 10
    // asks for several replicas and scales within min..max as the load moves.
    service(
      'auto',
      {
        'autoscaling.knative.dev/class': 'kpa.autoscaling.knative.dev',
        'autoscaling.knative.dev/metric': 'concurrency',
        'autoscaling.knative.dev/target': '10',
        'autoscaling.knative.dev/min-scale': '1',
        'autoscaling.knative.dev/max-scale': '4',
      },
      20,
    ),
    service(
      'fixed',
      { 'autoscaling.knative.dev/min-scale': '2', 'autoscaling.knative.dev/max-scale': '2' },
      0,
    ),
    trigger('auto'),
    trigger('fixed'),
  ].join('---\n');
}
