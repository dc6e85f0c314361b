// Which adapter runs which (apiVersion, kind). Built-ins are registered by createSourceRegistry()
// (src/builtins.ts); third-party packages add theirs with register() or loadPackage().

import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { SourceAdapter, SourcePlacement } from './adapter.js';

export class SourceRegistryError extends Error {
  override readonly name = 'SourceRegistryError';
}

export interface LoadPackageOptions {
  /** Directory the package name is resolved from (its node_modules and their parents); default cwd. */
  from?: string;
}

interface Entry {
  adapter: SourceAdapter;
  validateSpec?: ValidateFunction;
  /** Where it came from, for error messages. */
  origin: string;
}

const ajv = new Ajv({ allErrors: true, strict: false });

function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return String(value);
  }
}

function apiVersionsOf(adapter: SourceAdapter): string[] {
  return typeof adapter.apiVersion === 'string' ? [adapter.apiVersion] : [...adapter.apiVersion];
}

/** Why `value` is not a SourceAdapter, or undefined when it is one. */
export function adapterShapeProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return `expected an object, found ${show(value)}`;
  const a = value as Record<string, unknown>;
  if (typeof a.kind !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(a.kind)) {
    return `"kind" must be a CamelCase kind name such as "PingSource", found ${show(a.kind)}`;
  }
  const versions = typeof a.apiVersion === 'string' ? [a.apiVersion] : a.apiVersion;
  if (!Array.isArray(versions) || versions.length === 0) {
    return `${a.kind}: "apiVersion" must be a "group/version" string or a non-empty array of them, found ${show(a.apiVersion)}`;
  }
  for (const v of versions) {
    if (typeof v !== 'string' || !/^[a-z0-9.-]+\/[a-z0-9]+$/.test(v)) {
      return `${a.kind}: apiVersion ${show(v)} is not "group/version" (e.g. "sources.example.com/v1alpha1")`;
    }
  }
  if (typeof a.start !== 'function') return `${a.kind}: "start" must be a function, found ${show(a.start)}`;
  if (a.specSchema !== undefined && (a.specSchema === null || typeof a.specSchema !== 'object')) {
    return `${a.kind}: "specSchema" must be a JSON Schema object, found ${show(a.specSchema)}`;
  }
  if (a.placement !== undefined && a.placement !== 'once' && a.placement !== 'every-member') {
    return `${a.kind}: "placement" must be "once" or "every-member", found ${show(a.placement)}`;
  }
  return undefined;
}

function formatAjvErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => {
      const where = e.instancePath ? `spec${e.instancePath.replace(/\//g, '.')}` : 'spec';
      const extra =
        e.keyword === 'additionalProperties'
          ? ` (${show((e.params as { additionalProperty?: unknown }).additionalProperty)})`
          : '';
      return `${where}: ${e.message ?? 'invalid'}${extra}`;
    })
    .join('; ');
}

export class SourceRegistry {
  readonly #entries = new Map<string, Entry>();

  /**
   * Adds an adapter for each of its apiVersions. Registering a second adapter for the same
   * apiVersion+kind is an error unless `replace` is set (e.g. to swap a built-in).
   */
  register(adapter: SourceAdapter, options: { replace?: boolean; origin?: string } = {}): void {
    const origin = options.origin ?? 'register()';
    const problem = adapterShapeProblem(adapter);
    if (problem) throw new SourceRegistryError(`${origin}: not a source adapter: ${problem}`);
    let validateSpec: ValidateFunction | undefined;
    if (adapter.specSchema !== undefined) {
      try {
        validateSpec = ajv.compile(adapter.specSchema);
      } catch (err) {
        throw new SourceRegistryError(
          `${origin}: ${adapter.kind}: specSchema is not a valid JSON Schema: ${(err as Error).message}`,
        );
      }
    }
    const keys = apiVersionsOf(adapter).map((v) => `${v}|${adapter.kind}`);
    if (!options.replace) {
      for (const key of keys) {
        const existing = this.#entries.get(key);
        if (existing) {
          throw new SourceRegistryError(
            `${origin}: ${key.replace('|', ' ')} is already registered (by ${existing.origin}); pass { replace: true } to override it`,
          );
        }
      }
    }
    for (const key of keys) this.#entries.set(key, { adapter, validateSpec, origin });
  }

  /** Whether some adapter serves this apiVersion and kind. */
  has(apiVersion: string, kind: string): boolean {
    return this.#entries.has(`${apiVersion}|${kind}`);
  }

  /**
   * How the adapter of apiVersion+kind runs across the sources processes (its `placement`, default
   * `'once'`); `'once'` too for a kind no adapter serves (the one process that owns it reports it
   * refused).
   */
  placement(apiVersion: string, kind: string): SourcePlacement {
    return this.#entries.get(`${apiVersion}|${kind}`)?.adapter.placement ?? 'once';
  }

  /** The adapter for apiVersion+kind; throws a SourceRegistryError naming what is registered. */
  get(apiVersion: string, kind: string): SourceAdapter {
    return this.#entry(apiVersion, kind).adapter;
  }

  /**
   * Checks a spec against the adapter's specSchema (no-op for adapters without one). `sink` and
   * `ceOverrides` are the runner's, so they are removed before checking.
   */
  validateSpec(apiVersion: string, kind: string, spec: unknown): void {
    const entry = this.#entry(apiVersion, kind);
    if (!entry.validateSpec) return;
    let own = spec;
    if (spec !== null && typeof spec === 'object' && !Array.isArray(spec)) {
      const { sink: _sink, ceOverrides: _ce, ...rest } = spec as Record<string, unknown>;
      own = rest;
    }
    if (!entry.validateSpec(own)) {
      throw new SourceRegistryError(`${kind}: invalid spec: ${formatAjvErrors(entry.validateSpec.errors)}`);
    }
  }

  /** Registered `apiVersion kind` pairs, sorted. */
  kinds(): { apiVersion: string; kind: string }[] {
    return [...this.#entries.keys()]
      .map((key) => {
        const [apiVersion = '', kind = ''] = key.split('|');
        return { apiVersion, kind };
      })
      .sort((a, b) => a.apiVersion.localeCompare(b.apiVersion) || a.kind.localeCompare(b.kind));
  }

  /**
   * Imports an adapter package and registers its default export (an adapter or an array of them).
   * `specifier` is a package name (resolved from `options.from`, default the working directory, the
   * way Node resolves it: node_modules folders upwards, then the package's `exports` (conditions
   * node, import, default) or `main`) or a path to a package folder or module file.
   * Returns the adapters it registered.
   */
  async loadPackage(specifier: string, options: LoadPackageOptions = {}): Promise<SourceAdapter[]> {
    const from = resolve(options.from ?? process.cwd());
    const origin = `package ${JSON.stringify(specifier)}`;
    const entry = await resolveEntry(specifier, from, origin);
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
    } catch (err) {
      throw new SourceRegistryError(`${origin}: importing ${entry} failed: ${(err as Error).message}`);
    }
    const exported = mod.default;
    if (exported === undefined) {
      throw new SourceRegistryError(
        `${origin}: ${entry} has no default export (expected a source adapter or an array of them)`,
      );
    }
    const adapters = Array.isArray(exported) ? exported : [exported];
    if (adapters.length === 0) {
      throw new SourceRegistryError(`${origin}: the default export is an empty array (expected adapters)`);
    }
    adapters.forEach((adapter, i) => {
      const problem = adapterShapeProblem(adapter);
      const where = Array.isArray(exported) ? `default export [${i}]` : 'default export';
      if (problem) throw new SourceRegistryError(`${origin}: ${where} is not a source adapter: ${problem}`);
    });
    for (const adapter of adapters as SourceAdapter[]) this.register(adapter, { origin });
    return adapters as SourceAdapter[];
  }

  #entry(apiVersion: string, kind: string): Entry {
    const entry = this.#entries.get(`${apiVersion}|${kind}`);
    if (entry) return entry;
    const versions = this.kinds()
      .filter((k) => k.kind === kind)
      .map((k) => k.apiVersion);
    if (versions.length > 0) {
      throw new SourceRegistryError(
        `${kind} is not served as ${apiVersion}; registered apiVersions: ${versions.join(', ')}`,
      );
    }
    const known = [...new Set(this.kinds().map((k) => k.kind))].join(', ') || 'none';
    throw new SourceRegistryError(
      `no source adapter for kind ${kind} (${apiVersion}); registered kinds: ${known}. A third-party kind needs its adapter package loaded (registry.loadPackage)`,
    );
  }
}

function isPathLike(specifier: string): boolean {
  return (
    specifier.startsWith('.') ||
    specifier.startsWith('file:') ||
    isAbsolute(specifier) ||
    /^[A-Za-z]:[\\/]/.test(specifier)
  );
}

const CONDITIONS = ['node', 'import', 'default'];

/** The target of `exports` for the package root, following conditions; undefined if none matches. */
function exportTarget(exportsField: unknown): string | undefined {
  if (typeof exportsField === 'string') return exportsField;
  if (Array.isArray(exportsField)) {
    for (const item of exportsField) {
      const t = exportTarget(item);
      if (t) return t;
    }
    return undefined;
  }
  if (exportsField === null || typeof exportsField !== 'object') return undefined;
  const obj = exportsField as Record<string, unknown>;
  const keys = Object.keys(obj);
  // Subpath map: { ".": ..., "./x": ... }; otherwise a conditions object.
  if (keys.some((k) => k.startsWith('.'))) return obj['.'] === undefined ? undefined : exportTarget(obj['.']);
  for (const key of keys) {
    if (CONDITIONS.includes(key)) {
      const t = exportTarget(obj[key]);
      if (t) return t;
    }
  }
  return undefined;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function packageEntry(dir: string, origin: string): Promise<string> {
  const manifestPath = join(dir, 'package.json');
  let manifest: Record<string, unknown>;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new SourceRegistryError(`${origin}: cannot read ${manifestPath}: ${(err as Error).message}`);
  }
  if (manifest.exports !== undefined) {
    const target = exportTarget(manifest.exports);
    if (!target) {
      throw new SourceRegistryError(
        `${origin}: ${manifestPath} "exports" has no entry for "." with a node, import or default condition`,
      );
    }
    return join(dir, target);
  }
  return join(dir, typeof manifest.main === 'string' ? manifest.main : 'index.js');
}

async function resolveEntry(specifier: string, from: string, origin: string): Promise<string> {
  if (isPathLike(specifier)) {
    const path = specifier.startsWith('file:') ? new URL(specifier).pathname : resolve(from, specifier);
    if (await isDirectory(path)) return packageEntry(path, origin);
    try {
      await stat(path);
    } catch {
      throw new SourceRegistryError(`${origin}: ${path} does not exist`);
    }
    return path;
  }
  const match = /^(@[^/]+\/[^/]+|[^@/][^/]*)(\/.*)?$/.exec(specifier);
  if (!match || match[2]) {
    throw new SourceRegistryError(
      `${origin}: expected a package name such as "eddy-source-x" or "@scope/name", or a path`,
    );
  }
  const tried: string[] = [];
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', specifier);
    tried.push(candidate);
    if (await isDirectory(candidate)) return packageEntry(candidate, origin);
    if (dirname(dir) === dir) break;
  }
  throw new SourceRegistryError(
    `${origin}: not installed (looked in ${tried.length} node_modules folders from ${from} upwards; install it or pass a path)`,
  );
}
