export const packageName = '@eddy/cli';
export { renderValidation, runValidate } from './commands/validate.js';
export { type Output, processOutput } from './output.js';
export { buildProgram, run } from './program.js';
export { EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, UsageError } from './usage-error.js';
