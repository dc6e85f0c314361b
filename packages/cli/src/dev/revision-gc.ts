// Revisions are immutable history: the serving reconciler only ever adds them. Like Knative's revision
// GC (config-gc: keep a bounded number of non-active revisions), the store keeps, per Configuration, every
// revision that is routed or is the latest created/ready one, plus the newest `keep` others.
// Numbering continues after a collection: it comes from the Configuration's generation.

import { namespacedKey, resourceKey, type ServingContract } from '@eddy/api';
import type { ResourceStore } from './resource-store.js';

export const DEFAULT_REVISIONS_KEPT = 20;
const CONFIGURATION_LABEL = 'serving.knative.dev/configuration';

/** Store keys of revisions to delete. */
export function collectableRevisions(
  store: Pick<ResourceStore, 'list' | 'get'>,
  contract: Pick<ServingContract, 'revisions'>,
  keep = DEFAULT_REVISIONS_KEPT,
): string[] {
  const routed = new Set(
    contract.revisions.filter((r) => r.routed).map((r) => namespacedKey(r.namespace, r.name)),
  );
  const byConfiguration = new Map<string, { key: string; name: string; created: string }[]>();
  for (const e of store.list({ kind: 'Revision' })) {
    const { metadata } = e.resource;
    const configuration = metadata.labels?.[CONFIGURATION_LABEL];
    // Only revisions the reconciler made (owned); one a user applied is theirs to delete.
    if (!configuration || e.origin.type !== 'owner') continue;
    const ns = metadata.namespace;
    const config = store.get(resourceKey('Configuration', ns, configuration))?.resource.status as
      | { latestCreatedRevisionName?: string; latestReadyRevisionName?: string }
      | undefined;
    if (
      routed.has(namespacedKey(ns, metadata.name)) ||
      config?.latestCreatedRevisionName === metadata.name ||
      config?.latestReadyRevisionName === metadata.name
    )
      continue;
    const list = byConfiguration.get(namespacedKey(ns, configuration)) ?? [];
    list.push({ key: e.key, name: metadata.name, created: metadata.creationTimestamp });
    byConfiguration.set(namespacedKey(ns, configuration), list);
  }
  const out: string[] = [];
  for (const list of byConfiguration.values()) {
    list.sort((a, b) =>
      a.created !== b.created ? (a.created < b.created ? 1 : -1) : a.name < b.name ? 1 : -1,
    );
    out.push(...list.slice(keep).map((r) => r.key));
  }
  return out;
}
