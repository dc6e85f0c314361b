// `eddy ingress`, `eddy dispatcher` (one half of the broker data plane each), `eddy serving` (router,
// autoscaler, replicas) and `eddy sources` (every source adapter): data-plane components as processes
// of their own, the commands a container image runs (and `eddy dev --kafka` spawns). Everything after
// the verb is the component's own command line (`eddy serving --help` lists it), so a process takes the
// same flags and EDDY_BROKER_* / EDDY_SERVING_* / EDDY_SOURCES_* variables whichever way it starts.

import { dataPlaneMain } from '@eddy/broker';
import { servingMain } from '@eddy/serving';
import { sourcesMain } from '@eddy/sources';
import type { Command } from 'commander';
import type { Output } from '../output.js';
import { dispatcherMain } from './dispatcher-main.js';
import { kafkaBacklog } from './kafka-backlog.js';

const COMPONENTS = {
  ingress: {
    description: "brokers' and channels' HTTP endpoints -> event log (scale out on Kafka with --reuse-port)",
    main: (flags: string[]) => dataPlaneMain(['--component', 'ingress', ...flags], 'eddy ingress'),
  },
  dispatcher: {
    description:
      'consumer groups -> subscribers: filters, retries, dead letters, replies (scale out on Kafka)',
    // With --router-primary, a serving router in the same process takes its deliveries to Services.
    main: (flags: string[]) => dispatcherMain(flags, 'eddy dispatcher'),
  },
  sources: {
    description: 'source adapters (PingSource, SqsSource, ContainerSource, ...) -> their sinks',
    main: (flags: string[]) => sourcesMain(flags, 'eddy sources'),
  },
  serving: {
    description: "the serving router/activator, autoscaler (HTTP and Kafka lag) and services' replicas",
    main: (flags: string[]) => servingMain(flags, 'eddy serving', { backlog: kafkaBacklog }),
  },
} as const;

export function registerComponents(
  program: Command,
  _output: Output,
  _setExit: (code: number) => void,
): void {
  for (const [component, { description, main }] of Object.entries(COMPONENTS)) {
    program
      .command(component)
      .description(`${description}; run \`eddy ${component} --help\` for its flags`)
      .helpOption(false)
      .allowUnknownOption(true)
      .allowExcessArguments(true)
      .argument('[flags...]')
      .action(main);
  }
}
