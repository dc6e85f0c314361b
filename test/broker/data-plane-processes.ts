// Data-plane processes as tests start them (the broker's packages/broker/dist/data-plane/main.js, or
// `eddy <component>` from packages/cli/dist/main.js): plain `node`, exactly as deployed, their output
// kept for waitForLine, SIGKILLed when the test ends (test/harness/node-process.ts).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { type NodeProcess, spawnNodeScript } from '../harness/node-process.ts';
import { contractFromYaml, freshDir, testKafkaClient, waitFor } from './helpers.ts';

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

/**
 * The flags every process of one data plane on Kafka shares: the contract, the test's Kafka client,
 * and one retry-state topic (a dispatcher that restarts or takes over must read its predecessor's).
 * A 6 s session lets a SIGKILLed dispatcher's partitions move within seconds.
 */
export function kafkaDataPlaneArgs(options: {
  contract: string;
  brokers: string[];
  retryStateTopic: string;
  sessionTimeoutMs?: number;
}): string[] {
  return [
    '--contract',
    options.contract,
    '--log',
    'kafka',
    '--kafka-client',
    testKafkaClient(),
    '--brokers',
    options.brokers.join(','),
    '--kafka-session-timeout-ms',
    String(options.sessionTimeoutMs ?? 6_000),
    '--retry-state-topic',
    options.retryStateTopic,
  ];
}

/**
 * Waits until a data-plane process applied its first contract and answers /readyz; resolves with
 * the URL of its probes (a dispatcher's own port, the ingress' port for the ingress).
 */
export async function whenReady(process: DataPlaneProcess): Promise<string> {
  await process.waitForLine(/applied contract generation 1/, 120_000);
  const url = JSON.parse(await process.waitForLine(/ listening on /)).url as string;
  await waitFor(
    'a data-plane process to be ready',
    async () => {
      const response = await request(`${url}/readyz`);
      await response.body.dump();
      return response.statusCode === 200;
    },
    60_000,
  );
  return url;
}

/** `--component ingress` on `port`. */
export const spawnIngress = (port: number, shared: string[]): DataPlaneProcess =>
  spawnDataPlane(['--component', 'ingress', '--port', String(port), ...shared]);

/** `--component dispatcher` with its probes on a free port. */
export const spawnDispatcher = (memberId: string, shared: string[]): DataPlaneProcess =>
  spawnDataPlane(['--component', 'dispatcher', '--member-id', memberId, '--port', '0', ...shared]);
