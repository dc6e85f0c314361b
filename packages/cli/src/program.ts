import { Command, CommanderError } from 'commander';
import { registerApply } from './commands/apply.js';
import { registerComponents } from './commands/components.js';
import { registerController } from './commands/controller.js';
import { registerCrds } from './commands/crds.js';
import { registerDelete } from './commands/delete.js';
import { registerDescribe } from './commands/describe.js';
import { registerDev } from './commands/dev.js';
import { registerEvents } from './commands/events.js';
import { registerGet } from './commands/get.js';
import { registerReplay } from './commands/replay.js';
import { registerSend } from './commands/send.js';
import { registerTail } from './commands/tail.js';
import { registerValidate } from './commands/validate.js';
import { registerVersion } from './commands/version.js';
import { type Output, processOutput } from './output.js';
import { EXIT_OK, EXIT_USAGE, UsageError } from './usage-error.js';

/**
 * Builds the `eddy` program. Each verb lives in commands/<verb>.ts and registers itself here; the
 * others (dev, apply, get, delete, send, tail, replay) slot in the same way.
 */
export function buildProgram(output: Output, setExit: (code: number) => void): Command {
  const program = new Command('eddy')
    .description('Eddy: Knative-compatible eventing with a backlog-aware autoscaler')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => output.out(s.trimEnd()),
      writeErr: (s) => output.err(s.trimEnd()),
    })
    .showHelpAfterError(false);
  registerVersion(program, output, setExit);
  registerValidate(program, output, setExit);
  registerDev(program, output, setExit);
  registerApply(program, output, setExit);
  registerDelete(program, output, setExit);
  registerGet(program, output, setExit);
  registerDescribe(program, output, setExit);
  registerSend(program, output, setExit);
  registerTail(program, output, setExit);
  registerReplay(program, output, setExit);
  registerEvents(program, output, setExit);
  registerController(program, output, setExit);
  registerComponents(program, output, setExit);
  registerCrds(program, output, setExit);
  return program;
}

/** Runs `eddy` with `argv` (without node and script), returning the exit code; never throws. */
export async function run(argv: readonly string[], output: Output = processOutput): Promise<number> {
  let code = EXIT_OK;
  const program = buildProgram(output, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof UsageError) {
      output.err(`eddy: ${e.message}`);
      return EXIT_USAGE;
    }
    if (e instanceof CommanderError) {
      // Help and version are successful exits; anything else commander rejects is a usage error.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT_OK;
      return EXIT_USAGE;
    }
    output.err(`eddy: internal error: ${(e as Error).message}`);
    return EXIT_USAGE + 1;
  }
}
