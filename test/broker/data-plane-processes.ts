// The data-plane process (packages/broker/dist/data-plane/main.js) as tests start it: plain `node`,
// exactly as deployed, its output kept for waitForLine, SIGKILLed when the test ends.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type NodeProcess, spawnNodeScript } from '../harness/node-process.ts';
import { contractFromYaml, freshDir } from './helpers.ts';

const repoRoot = join(import.meta.dirname, '..', '..');
export const mainJs = join(repoRoot, 'packages', 'broker', 'dist', 'data-plane', 'main.js');

export type DataPlaneProcess = NodeProcess;

export function spawnDataPlane(args: string[]): DataPlaneProcess {
  return spawnNodeScript(mainJs, args);
}

/** Writes a contract computed from YAML for a data plane that will listen on `port`. */
export function writeContract(port: number, yaml: string): string {
  const file = `${freshDir('contract')}.json`;
  writeFileSync(file, JSON.stringify(contractFromYaml(yaml, `http://127.0.0.1:${port}`)));
  return file;
}
