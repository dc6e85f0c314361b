import { EXIT_PROBLEMS } from './usage-error.js';

/**
 * Something went wrong talking to `eddy dev`, a broker, or with the input (not with how `eddy` was
 * called): printed as `eddy: <message>` on stderr, then `details` one per line (e.g. located validation
 * problems), exit code 1 by default. Never a stack trace.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly details: readonly string[] = [],
    readonly exitCode: number = EXIT_PROBLEMS,
  ) {
    super(message);
  }
}
