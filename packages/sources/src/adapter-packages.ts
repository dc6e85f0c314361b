// Setting up a registry the way every host of a runner does (`eddy dev`, an `eddy sources` process):
// third-party adapter packages loaded by name or path, and ContainerSources whose output goes where
// the host shows it.

import { type ContainerSourceOptions, createContainerSourceAdapter } from './container/container-source.js';
import type { SourceAdapter } from './sdk/adapter.js';
import type { SourceRegistry } from './sdk/registry.js';

/**
 * Loads each package (names resolved from the cwd, or paths) into `registry`, in order; `onLoaded`
 * hears the kinds each added. Throws naming the package that could not be loaded.
 */
export async function loadAdapterPackages(
  registry: SourceRegistry,
  specifiers: readonly string[],
  onLoaded?: (specifier: string, adapters: SourceAdapter[]) => void,
): Promise<void> {
  for (const specifier of specifiers) {
    let loaded: SourceAdapter[];
    try {
      loaded = await registry.loadPackage(specifier);
    } catch (error) {
      throw new Error(`cannot load source adapter ${JSON.stringify(specifier)}: ${(error as Error).message}`);
    }
    onLoaded?.(specifier, loaded);
  }
}

/** Replaces the built-in ContainerSource adapter with one that hands every output line to `onOutput`. */
export function withContainerOutput(
  registry: SourceRegistry,
  onOutput: NonNullable<ContainerSourceOptions['onOutput']>,
): void {
  registry.register(createContainerSourceAdapter({ onOutput }), { replace: true, origin: '@eddy/sources' });
}
