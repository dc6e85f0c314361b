// Eddy's CRDs (`eddy crds`) applied to a test cluster and Established: what every test that runs the
// controller or serving against the API server needs first. Server-side apply, so test files
// sharing one cluster may all do it.
import { runEddy } from '../cli/helpers.ts';
import type { Kubectl } from '../harness/kubernetes.ts';

export async function applyEddyCrds(kubectl: Kubectl): Promise<void> {
  const crds = await runEddy(['crds']);
  if (crds.code !== 0) throw new Error(`eddy crds failed (${crds.code}): ${crds.stderr}`);
  for (const [args, input] of [
    [['apply', '--server-side', '-f', '-'], crds.stdout],
    [['wait', '--for=condition=Established', '--timeout=60s', 'crd', '-l', 'eddy.dev/crd'], undefined],
  ] as const) {
    const r = await kubectl([...args], input !== undefined ? { input } : {});
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  }
}
