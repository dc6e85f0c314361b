// `secretKeyRef` / `configMapKeyRef` references inside a resource's spec, wherever they are (a source's
// credentials, a container's env `valueFrom`), so the control plane knows which values a resource
// depends on without knowing each kind's shape.

import type { FieldPath } from '../resources/field-path.js';

export type KeyRefSource = 'Secret' | 'ConfigMap';

/** corev1.SecretKeySelector / ConfigMapKeySelector, and what kind of object it selects from. */
export interface KeyRef {
  source: KeyRefSource;
  name: string;
  key: string;
  optional?: boolean;
}

export interface FoundKeyRef extends KeyRef {
  /** Where the selector is, e.g. `spec.secretToken.secretKeyRef`. */
  path: FieldPath;
}

const FIELDS: Readonly<Record<string, KeyRefSource>> = {
  secretKeyRef: 'Secret',
  configMapKeyRef: 'ConfigMap',
};

/** A selector object as written, or undefined when it lacks a string name and key. */
export function asKeyRef(source: KeyRefSource, value: unknown): KeyRef | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as { name?: unknown; key?: unknown; optional?: unknown };
  if (typeof v.name !== 'string' || typeof v.key !== 'string') return undefined;
  return { source, name: v.name, key: v.key, ...(v.optional === true ? { optional: true } : {}) };
}

/** Every selector under `value` (depth first, in document order), with its path from `base`. */
export function findKeyRefs(value: unknown, base: FieldPath = []): FoundKeyRef[] {
  const out: FoundKeyRef[] = [];
  const walk = (v: unknown, path: FieldPath) => {
    if (Array.isArray(v)) {
      for (const [i, item] of v.entries()) walk(item, [...path, i]);
      return;
    }
    if (!v || typeof v !== 'object') return;
    for (const [field, child] of Object.entries(v)) {
      const source = FIELDS[field];
      const ref = source ? asKeyRef(source, child) : undefined;
      if (ref) out.push({ ...ref, path: [...path, field] });
      else walk(child, [...path, field]);
    }
  };
  walk(value, base);
  return out;
}
