// Kubernetes objects as the reconcile loop takes them: which kinds `eddy controller` watches and at
// which API paths, and the checks and defaults `eddy validate` applies, run again on what the API
// server holds (an object applied while the admission webhook was down, or from before a CRD
// change, must not reach the reconcilers unchecked).

import {
  type KubeObject as ApiKubeObject,
  crdNames,
  isCoreKind,
  KINDS,
  type KindDefinition,
  redactSecret,
  validateObject,
} from '@eddy/api';

/** An object of the API server, with the status Eddy writes. */
export type KubeObject = ApiKubeObject & { status?: StoredResource['status'] };

import type { StoredResource } from '../admin/protocol.js';

/** One kind the controller lists and watches. */
export interface WatchedKind {
  definition: KindDefinition;
  /** `group/version` (or `v1` for the core API) of the version watched: the newest. */
  apiVersion: string;
  plural: string;
  /** The list/watch path, e.g. `/apis/eventing.knative.dev/v1/brokers`. */
  path: string;
}

/** Every kind, watched cluster-wide or in `namespace` only. */
export function watchedKinds(namespace?: string): WatchedKind[] {
  return KINDS.map((definition) => {
    const version = definition.versions[0] as string;
    const plural = isCoreKind(definition) ? `${definition.kind.toLowerCase()}s` : crdNames(definition).plural;
    const apiVersion = definition.group ? `${definition.group}/${version}` : version;
    const scope = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    const path = `${definition.group ? `/apis/${apiVersion}` : `/api/${version}`}${scope}/${plural}`;
    return { definition, apiVersion, plural, path };
  });
}

export type CheckedObject =
  | { ok: true; resource: StoredResource }
  | { ok: false; resource: StoredResource; message: string };

const SERVER_METADATA = ['uid', 'generation', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp'];

function isoTime(value: string | Date | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value instanceof Date ? value.toISOString() : value;
}

/**
 * The object as `eddy validate` would load it (schema, Knative's rules, defaults), with the server's
 * metadata and status put back; or, when it fails, the problems as one message. A Secret comes back
 * redacted: its values are read through the store's ValueStore only.
 */
export function checkObject(kind: WatchedKind, object: KubeObject): CheckedObject {
  const meta = object.metadata ?? {};
  const { status, metadata: _m, ...rest } = object;
  const userMetadata: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta))
    if (
      !SERVER_METADATA.includes(k) &&
      k !== 'managedFields' &&
      k !== 'finalizers' &&
      k !== 'ownerReferences'
    )
      userMetadata[k] = v;
  const input = {
    ...rest,
    apiVersion: object.apiVersion ?? kind.apiVersion,
    kind: kind.definition.kind,
    metadata: userMetadata,
  };
  const checked = validateObject(input);
  const stored = (body: Record<string, unknown>): StoredResource => {
    const server = body.metadata as StoredResource['metadata'];
    const resource = {
      ...body,
      metadata: {
        ...server,
        name: meta.name ?? '',
        namespace: meta.namespace ?? 'default',
        generation: meta.generation ?? 1,
        creationTimestamp: isoTime(meta.creationTimestamp) ?? '',
        ...(meta.uid ? { uid: meta.uid } : {}),
        ...(meta.ownerReferences ? { ownerReferences: meta.ownerReferences } : {}),
      },
      ...(status !== undefined ? { status } : {}),
    } as StoredResource;
    return kind.definition.kind === 'Secret'
      ? (redactSecret(resource as unknown as Record<string, unknown>).redacted as unknown as StoredResource)
      : resource;
  };
  if (!checked.valid || !checked.defaulted)
    return { ok: false, resource: stored(input), message: checked.errors.join('; ') };
  return { ok: true, resource: stored(checked.defaulted) };
}
