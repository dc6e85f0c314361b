// Turns manifest text (a watched file, or the body of an admin API apply) into resources for the store,
// through @eddy/api's loader: located errors, all-or-nothing per text. Kinds the loader does not own
// (another API group) are taken as-is when a loaded source adapter serves them (third-party sources).
// Relative paths of the containers run as processes are resolved against the manifest's directory
// here (@eddy/api's resolveLocalPaths), so the resources hold what will run.

import {
  DEFAULT_NAMESPACE,
  dns1123LabelProblem,
  formatProblem,
  loadText,
  resolveLocalPaths,
} from '@eddy/api';
import { parseAllDocuments } from 'yaml';
import type { ResourceInput } from './resource-store.js';

export interface ManifestResult {
  /** False when any document has an error: then `resources` must not be applied. */
  ok: boolean;
  resources: ResourceInput[];
  /** One located line each. */
  errors: string[];
  warnings: string[];
}

export interface ManifestOptions {
  /** Foreign kinds served by a source adapter (the registry's `has`). */
  isThirdPartyKind?: (apiVersion: string, kind: string) => boolean;
  /**
   * Absolute directory the containers' relative `command`, `args` and `workingDir` resolve against:
   * the manifest file's directory, or the applying client's working directory for stdin. Without it
   * they stay as written.
   */
  baseDir?: string;
}

/** Why a foreign kind's metadata.name is refused: the API's rule for every kind (a DNS-1123 label, at most 63 characters). */
function nameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return "expected a DNS label (lower-case letters, digits and '-')";
  const why = dns1123LabelProblem(name);
  return why ? `${JSON.stringify(name)} ${why}` : undefined;
}

/** The documents of a YAML stream as the loader numbers them (empty documents skipped). */
function documentsOf(text: string): unknown[] {
  const out: unknown[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.contents === null && doc.errors.length === 0) continue;
    out.push(doc.errors.length === 0 ? doc.toJS({ maxAliasCount: 1000 }) : undefined);
  }
  return out;
}

export function loadManifest(text: string, file: string, options: ManifestOptions = {}): ManifestResult {
  const loaded = loadText(text, file);
  const errors: string[] = [];
  const warnings: string[] = [];
  const baseDir = options.baseDir;
  const resources: ResourceInput[] = loaded.resources.map((r) => ({
    apiVersion: r.apiVersion,
    kind: r.kind,
    namespace: r.namespace,
    name: r.name,
    resource: baseDir === undefined ? r.resource : resolveLocalPaths(r.resource, { baseDir }),
  }));
  const thirdParty = new Set<number>();
  const isThirdParty = options.isThirdPartyKind;
  if (isThirdParty) {
    let docs: unknown[] | undefined;
    for (const d of loaded.documents) {
      if (d.status !== 'ignored' || !d.apiVersion || !d.kind || !isThirdParty(d.apiVersion, d.kind)) continue;
      docs ??= documentsOf(text);
      const obj = docs[d.origin.document] as Record<string, unknown> | undefined;
      const meta = (obj?.metadata ?? {}) as Record<string, unknown>;
      const where = `${file}:${d.origin.line}:${d.origin.column}: error: #${d.origin.document} ${d.kind}`;
      const problem = nameProblem(meta.name);
      if (problem !== undefined || typeof meta.name !== 'string') {
        errors.push(`${where}: metadata.name: ${problem}`);
        thirdParty.add(d.origin.document);
        continue;
      }
      const namespace =
        typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : DEFAULT_NAMESPACE;
      thirdParty.add(d.origin.document);
      resources.push({
        apiVersion: d.apiVersion,
        kind: d.kind,
        namespace,
        name: meta.name,
        resource: { ...obj, metadata: { ...meta, namespace } },
      });
    }
  }
  for (const p of loaded.problems) {
    // "ignored: not an Eddy resource" is wrong for a kind a loaded adapter runs.
    if (p.code === 'ignored-kind' && p.document !== undefined && thirdParty.has(p.document)) continue;
    (p.severity === 'error' ? errors : warnings).push(formatProblem(p));
  }
  return { ok: errors.length === 0, resources: errors.length === 0 ? resources : [], errors, warnings };
}
