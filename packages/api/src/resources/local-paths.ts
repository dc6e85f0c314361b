// In embedded mode a container with a `command` runs as a local process. Its relative paths mean
// paths next to the manifest that declared it, as docker-compose resolves the paths of a compose file
// against that file's directory, so manifests run the same whatever directory `eddy dev` or
// `eddy apply` is started from. The rule (README "Paths in manifests"):
//
//   workingDir   relative: against the manifest's directory; absent: the manifest's directory
//   command[0]   a relative path with a `/` (`./server`, `bin/server`): against the manifest's
//                directory; a bare name (`node`) stays a PATH lookup
//   other command elements and args
//                a relative path naming an existing file or directory under the manifest's
//                directory: made absolute; anything else (flags, values, names of nothing there)
//                is left as written
//
// Containers without a `command` (an `image` for Kubernetes mode) are left alone: their paths are the
// image's. Applied where manifests become resources (the resources keep the absolute paths), never in
// the process runtime.

import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseApiVersion } from './names.js';
import type { Container } from './schemas/common.js';

export interface LocalPathOptions {
  /**
   * Absolute directory that relative paths are resolved against: the manifest file's directory, or the
   * current directory of whoever applied text without a file (stdin).
   */
  baseDir: string;
  /** Whether a path names an existing file or directory; default `fs.existsSync`. */
  exists?: (path: string) => boolean;
}

/** Where each kind that embedded mode runs as processes keeps its pod spec (`containers`). */
const POD_SPEC_AT: Record<string, readonly string[]> = {
  'serving.knative.dev/Service': ['spec', 'template', 'spec'],
  'serving.knative.dev/Configuration': ['spec', 'template', 'spec'],
  'serving.knative.dev/Revision': ['spec'],
  'sources.knative.dev/ContainerSource': ['spec', 'template', 'spec'],
};

const record = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** A command or argument as the process will get it (see the rule above). */
function resolveArgument(arg: string, baseDir: string, exists: (path: string) => boolean): string {
  if (arg === '' || arg.startsWith('-') || isAbsolute(arg)) return arg;
  const path = resolve(baseDir, arg);
  return exists(path) ? path : arg;
}

/** One container with its local paths resolved; the same object when it has no `command`. */
export function resolveContainerPaths(container: Container, options: LocalPathOptions): Container {
  const { baseDir } = options;
  if (!isAbsolute(baseDir)) throw new TypeError(`baseDir must be an absolute path, found "${baseDir}"`);
  const exists = options.exists ?? existsSync;
  const [command, ...rest] = container.command ?? [];
  if (command === undefined) return container;
  const executable = !isAbsolute(command) && command.includes('/') ? resolve(baseDir, command) : command;
  return {
    ...container,
    command: [executable, ...rest.map((a) => resolveArgument(a, baseDir, exists))],
    ...(container.args ? { args: container.args.map((a) => resolveArgument(a, baseDir, exists)) } : {}),
    workingDir: resolve(baseDir, container.workingDir ?? '.'),
  };
}

/**
 * A resource with the local paths of its containers resolved against `baseDir`, for the kinds whose
 * containers run as processes (Service, Configuration, Revision, ContainerSource); any other resource
 * is returned as it is. The input is not modified.
 */
export function resolveLocalPaths<T extends { apiVersion?: unknown; kind?: unknown }>(
  resource: T,
  options: LocalPathOptions,
): T {
  const group =
    typeof resource.apiVersion === 'string' ? (parseApiVersion(resource.apiVersion)?.group ?? '') : '';
  const at = POD_SPEC_AT[`${group}/${String(resource.kind)}`];
  if (!at) return resource;
  const copy = structuredClone(resource) as Record<string, unknown>;
  let podSpec: Record<string, unknown> | undefined = copy;
  for (const key of at) podSpec = record(podSpec?.[key]);
  if (!podSpec || !Array.isArray(podSpec.containers)) return resource;
  podSpec.containers = (podSpec.containers as Container[]).map((c) =>
    record(c) ? resolveContainerPaths(c, options) : c,
  );
  return copy as T;
}
