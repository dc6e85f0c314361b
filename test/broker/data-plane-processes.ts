// Data-plane processes as tests start them (the broker's packages/broker/dist/data-plane/main.js, or
// `eddy <component>` from packages/cli/dist/main.js): plain `node`, exactly as deployed, their output
// kept for waitForLine, SIGKILLed when the test ends (test/harness/node-process.ts).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type NodeProcess, spawnNodeScript } from '../harness/node-process.ts';
import { contractFromYaml, freshDir } from './helpers.ts';

const repoRoot = join(import.meta.dirname, '..', '..');
export const mainJs = join(repoRoot, 'packages', 'broker', 'dist', 'data-plane', 'main.js');
/** The `eddy` command (`eddy serving` is the serving process). */
export const eddyJs = join(repoRoot, 'packages', 'cli', 'dist', 'main.js');

export type DataPlaneProcess = NodeProcess;

/** `env` is added to this process's environment. */
export function spawnDataPlane(args: string[], env: Record<string, string> = {}): DataPlaneProcess {
  return spawnNodeScript(mainJs, args, env);
}

/** Writes a contract computed from YAML for a data plane that will listen on `port`. */
export function writeContract(port: number, yaml: string): string {
  const file = `${freshDir('contract')}.json`;
  writeFileSync(file, JSON.stringify(contractFromYaml(yaml, `http://127.0.0.1:${port}`)));
  return file;
}
