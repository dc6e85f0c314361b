// `eddy ingress`, `eddy dispatcher` (one half of the broker data plane) and `eddy sources` (every
// source adapter): data-plane components as processes of their own, the commands a container image
// runs (and `eddy dev --kafka` spawns). Everything after the verb is the component's own command line
// (`eddy sources --help` lists it), so the process takes the same flags and EDDY_BROKER_* /
// EDDY_SOURCES_* variables whichever way it is started.

import { dataPlaneMain } from '@eddy/broker';
import { sourcesMain } from '@eddy/sources';
import type { Command } from 'commander';
import type { Output } from '../output.js';

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
  sources: {
    description: 'source adapters (PingSource, SqsSource, ContainerSource, ...) -> their sinks',
    main: (flags: string[]) => sourcesMain(flags, 'eddy sources'),
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
      .action(async (flags: string[]) => {
        await main(flags);
      });
  }
}
