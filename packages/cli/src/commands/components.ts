// `eddy ingress` and `eddy dispatcher`: one half of the broker data plane as a process of its own,
// the commands a container image runs (and `eddy dev --kafka` spawns). Everything after the verb is
// the data plane's own command line (`eddy dispatcher --help` lists it), so the process takes the
// same flags and EDDY_BROKER_* variables whichever way it is started.

import { dataPlaneMain } from '@eddy/broker';
import type { Command } from 'commander';
import type { Output } from '../output.js';

const COMPONENTS = {
  ingress: "brokers' and channels' HTTP endpoints -> event log (scale out on Kafka with --reuse-port)",
  dispatcher: 'consumer groups -> subscribers: filters, retries, dead letters, replies (scale out on Kafka)',
} as const;

export function registerComponents(
  program: Command,
  _output: Output,
  _setExit: (code: number) => void,
): void {
  for (const [component, description] of Object.entries(COMPONENTS)) {
    program
      .command(component)
      .description(`${description}; run \`eddy ${component} --help\` for its flags`)
      .helpOption(false)
      .allowUnknownOption(true)
      .allowExcessArguments(true)
      .argument('[flags...]')
      .action(async (flags: string[]) => {
        await dataPlaneMain(['--component', component, ...flags], `eddy ${component}`);
      });
  }
}
