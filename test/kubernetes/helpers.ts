// What the Kubernetes-mode suites share: kubectl that throws with its stderr, and Eddy's CRDs installed
// in the run's cluster (every suite applies the same ones; server-side apply makes that idempotent).

import { expect } from 'vitest';
import { runEddy } from '../cli/helpers.ts';
import type { Kubectl } from '../harness/kubernetes.ts';

/** kubectl that returns stdout and throws, with the command and its stderr, when it fails. */
export function mustKubectl(kubectl: Kubectl): (args: string[], input?: string) => Promise<string> {
  return async (args, input) => {
    const r = await kubectl(args, input !== undefined ? { input } : {});
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };
}

/** Applies `eddy crds` and waits until every CRD is Established. */
export async function installCrds(kubectl: Kubectl): Promise<void> {
  const must = mustKubectl(kubectl);
  const crds = await runEddy(['crds']);
  expect(crds.code, crds.stderr).toBe(0);
  await must(['apply', '--server-side', '-f', '-'], crds.stdout);
  await must(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '-l', 'eddy.dev/crd']);
}

/**
 * `eddy controller`'s command line as the tests run it: one namespace (also the Lease's), the cluster
 * of the run, a Kafka, the ingress URL Brokers get, a port; `extra` after.
 */
export function controllerArgs(o: {
  kubeconfig: string;
  kafka: string;
  ingressUrl: string;
  port: number;
  namespace: string;
  extra?: string[];
}): string[] {
  return [
    'controller',
    '--kubeconfig',
    o.kubeconfig,
    '--kafka',
    o.kafka,
    '--ingress-url',
    o.ingressUrl,
    '--port',
    String(o.port),
    '--namespace',
    o.namespace,
    '--lease-namespace',
    o.namespace,
    ...(o.extra ?? []),
  ];
}
