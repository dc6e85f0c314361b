// The names under which the API server serves each kind's CustomResourceDefinition. The plural and short
// names come from KIND_NAMES (what `eddy get` accepts), so the CLI and kubectl agree on them; this module
// adds what only a CRD needs (list kind, categories, the CRD's own name).

import { KIND_NAMES } from '../resources/kind-names.js';
import { KINDS, type KindDefinition } from '../resources/kinds.js';

export interface CrdNames {
  group: string;
  /** The storage version: the newest one Eddy accepts (KindDefinition.versions[0]). */
  version: string;
  /** Every version served, newest first. */
  versions: readonly string[];
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  shortNames: readonly string[];
  categories: readonly string[];
  /** `<plural>.<group>`: the CRD's metadata.name. */
  crdName: string;
}

/**
 * Short names the core API already serves. A CRD claiming one makes `kubectl get svc` ambiguous (kubectl
 * picks one group silently), so those stay CLI-only aliases (`eddy get svc` means the Knative Service).
 */
const CORE_SHORT_NAMES = new Set([
  'svc',
  'cm',
  'sa',
  'ns',
  'po',
  'deploy',
  'rs',
  'ep',
  'ev',
  'no',
  'pv',
  'pvc',
]);

/** Knative's categories per group (`kubectl get knative`, `kubectl get sources`, ...). */
const GROUP_CATEGORIES: Readonly<Record<string, readonly string[]>> = {
  'eventing.knative.dev': ['all', 'knative', 'eventing'],
  'messaging.knative.dev': ['all', 'knative', 'messaging'],
  'sources.knative.dev': ['all', 'knative', 'sources'],
  'serving.knative.dev': ['all', 'knative', 'serving'],
  // Eddy's own sources are sources in the Knative sense: `kubectl get sources` lists them too.
  'sources.eddy.dev': ['all', 'knative', 'sources'],
  'eventing.eddy.dev': ['all', 'eventing'],
};

/** Kinds Knative puts in one more category than the rest of their group. */
const EXTRA_CATEGORIES: Readonly<Record<string, readonly string[]>> = {
  Channel: ['channel'],
  InMemoryChannel: ['channel'],
  KafkaChannel: ['channel'],
  SinkBinding: ['bindings'],
};

/** True for Secret and ConfigMap: the core API serves them, Eddy defines no CRD for them. */
export function isCoreKind(def: KindDefinition): boolean {
  return def.group === '';
}

export function crdNames(def: KindDefinition): CrdNames {
  if (isCoreKind(def)) throw new Error(`${def.kind} is a core kind: it has no CustomResourceDefinition`);
  const names = KIND_NAMES.find((n) => n.kind === def.kind);
  if (!names) throw new Error(`${def.kind} has no entry in KIND_NAMES`);
  const version = def.versions[0];
  if (version === undefined) throw new Error(`${def.kind} has no version`);
  const categories = [
    ...(GROUP_CATEGORIES[def.group] ?? ['all']),
    ...(EXTRA_CATEGORIES[def.kind] ?? []),
    'eddy',
  ];
  return {
    group: def.group,
    version,
    versions: def.versions,
    plural: names.plural,
    singular: names.singular,
    kind: def.kind,
    listKind: `${def.kind}List`,
    shortNames: names.short.filter((s) => !CORE_SHORT_NAMES.has(s)),
    categories,
    crdName: `${names.plural}.${def.group}`,
  };
}

/** Every kind Eddy serves as a custom resource (KINDS minus the core ones), with its names. */
export function crdKinds(): { definition: KindDefinition; names: CrdNames }[] {
  return KINDS.filter((d) => !isCoreKind(d)).map((definition) => ({
    definition,
    names: crdNames(definition),
  }));
}

/** The kind served at `/apis/<group>/<version>/<plural>` (as webhooks and watch events name it), if ours. */
export function kindForResource(group: string, plural: string): KindDefinition | undefined {
  return crdKinds().find((k) => k.names.group === group && k.names.plural === plural)?.definition;
}
