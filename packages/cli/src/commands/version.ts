import type { Command } from 'commander';
import type { Output } from '../output.js';
import { EXIT_OK } from '../usage-error.js';
import { versionLine } from '../version.js';

/** `eddy version` and `eddy --version` (`-V`): one line, the version and the Node it runs on. */
export function registerVersion(program: Command, output: Output, setExit: (code: number) => void): void {
  program.version(versionLine(), '-V, --version', 'print the version of eddy and of the Node.js running it');
  program
    .command('version')
    .description('print the version of eddy and of the Node.js running it')
    .action(() => {
      output.out(versionLine());
      setExit(EXIT_OK);
    });
}
