// Whether a process can be started in a directory: checked before spawning, because a missing
// working directory makes spawn fail with ENOENT naming the command, as if the command were missing.

import { statSync } from 'node:fs';

/** Why `dir` cannot be a process's working directory, or undefined when it can. */
export function workingDirectoryProblem(dir: string): string | undefined {
  try {
    if (!statSync(dir).isDirectory()) return `working directory ${dir} is not a directory`;
    return undefined;
  } catch (err) {
    return `working directory ${dir} cannot be used: ${(err as Error).message}`;
  }
}
