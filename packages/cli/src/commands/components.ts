// `eddy ingress`, `eddy dispatcher` and `eddy serving`: data-plane components as processes of their
// own, the commands a container image runs (and `eddy dev --kafka` spawns). Everything after the verb
// is the component's own command line (`eddy dispatcher --help`, `eddy serving --help` list it), so a
// process takes the same flags and EDDY_BROKER_* / EDDY_SERVING_* variables whichever way it starts.

import { dataPlaneMain } from '@eddy/broker';
import { servingMain } from '@eddy/serving';
import type { Command } from 'commander';
import type { Output } from '../output.js';
import { kafkaBacklog } from './kafka-backlog.js';

const COMPONENTS = {
  ingress: {
    description: "brokers' and channels' HTTP endpoints -> event log (scale out on Kafka with --reuse-port)",
    main: (flags: string[]) => dataPlaneMain(['--component', 'ingress', ...flags], 'eddy ingress'),
  },
  dispatcher: {
    description:
      'consumer groups -> subscribers: filters, retries, dead letters, replies (scale out on Kafka)',
    main: (flags: string[]) => dataPlaneMain(['--component', 'dispatcher', ...flags], 'eddy dispatcher'),
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
