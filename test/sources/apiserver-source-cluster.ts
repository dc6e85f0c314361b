// The Kubernetes cluster the ApiServerSource test runs against: EDDY_TEST_KUBECONFIG (an admin
// kubeconfig) with kubectl from EDDY_K8S_BIN. Temporary, until the shared harness
// (test/harness/kubernetes.ts) starts one for every run.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface ApiServerSourceCluster {
  kubeconfigPath: string;
  /** The API server URL of the kubeconfig's current context (the events' `source`). */
  server: string;
  kubectl(
    args: string[],
    options?: { input?: string },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  stop?(): Promise<void>;
}

export async function testCluster(): Promise<ApiServerSourceCluster> {
  const kubeconfigPath = resolve(process.env.EDDY_TEST_KUBECONFIG ?? '');
  const bin = process.env.EDDY_K8S_BIN;
  if (!process.env.EDDY_TEST_KUBECONFIG || !existsSync(kubeconfigPath) || !bin)
    throw new Error(
      'set EDDY_TEST_KUBECONFIG (an admin kubeconfig) and EDDY_K8S_BIN (the folder with kubectl)',
    );
  const kubectl: ApiServerSourceCluster['kubectl'] = (args, options = {}) =>
    new Promise((done) => {
      const child = execFile(
        join(bin, 'kubectl'),
        [`--kubeconfig=${kubeconfigPath}`, ...args],
        { timeout: 60_000 },
        (err, stdout, stderr) =>
          done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
      );
      if (options.input !== undefined) child.stdin?.end(options.input);
      else child.stdin?.end();
    });
  const view = await kubectl(['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}']);
  return { kubeconfigPath, server: view.stdout.trim(), kubectl };
}
