// Resolving a `secretKeyRef` / `configMapKeyRef` in embedded mode. A Secret's key is looked up, first
// match wins:
//   1. the environment variable EDDY_SECRET_<NAME>_<KEY> (name and key upper-cased, every character
//      other than A-Z and 0-9 as `_`): the environment wins over a Secret manifest;
//   2. the Secret manifest `<namespace>/<name>` Eddy was given (a watched file or `eddy apply`).
// A ConfigMap's key comes from the ConfigMap manifest only. A miss names the object, the key and every
// place looked in; no message ever contains a value.

import { createHmac, randomBytes } from 'node:crypto';
import type { DataValues } from './core-data.js';
import type { KeyRef } from './key-refs.js';

/** The Secrets and ConfigMaps a control plane holds, by namespace and name (undefined: no such object). */
export interface ValueStore {
  secret(namespace: string, name: string): DataValues | undefined;
  configMap(namespace: string, name: string): DataValues | undefined;
}

export interface ValueLookupOptions {
  /** Environment for EDDY_SECRET_* variables; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Secrets and ConfigMaps from manifests; default none (then only the environment is looked in). */
  store?: ValueStore;
}

/** The environment variable that holds Secret `name`'s `key`. */
export function secretEnvName(name: string, key: string): string {
  const part = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  return `EDDY_SECRET_${part(name)}_${part(key)}`;
}

export type KeyRefLookup =
  | { found: true; value: string }
  | {
      found: false;
      /** Each place looked in, e.g. `environment variable EDDY_SECRET_A_B`, `Secret default/a, whose keys are x, y`. */
      tried: string[];
    };

const describeObject = (ref: KeyRef, namespace: string, values: DataValues | undefined) => {
  const where = `${ref.source} ${namespace}/${ref.name}`;
  if (!values) return `${where}, which was not applied`;
  const keys = [...values.keys()].sort();
  return keys.length === 0 ? `${where}, which has no keys` : `${where}, whose keys are ${keys.join(', ')}`;
};

/** Looks one reference up in the environment (Secrets only) and the store. */
export function lookupKeyRef(ref: KeyRef, namespace: string, options: ValueLookupOptions = {}): KeyRefLookup {
  const tried: string[] = [];
  if (ref.source === 'Secret') {
    const variable = secretEnvName(ref.name, ref.key);
    const fromEnv = (options.env ?? process.env)[variable];
    if (fromEnv !== undefined) return { found: true, value: fromEnv };
    tried.push(`environment variable ${variable}`);
  }
  const store = options.store;
  if (!store) return { found: false, tried };
  const values =
    ref.source === 'Secret' ? store.secret(namespace, ref.name) : store.configMap(namespace, ref.name);
  const value = values?.get(ref.key);
  if (value !== undefined) return { found: true, value: value.toString('utf8') };
  tried.push(describeObject(ref, namespace, values));
  return { found: false, tried };
}

/**
 * `secret default/gh key token not found (looked for environment variable EDDY_SECRET_GH_TOKEN, then
 * Secret default/gh, which was not applied)`.
 */
export function keyRefNotFoundMessage(ref: KeyRef, namespace: string, tried: readonly string[]): string {
  const what = ref.source === 'Secret' ? 'secret' : 'configmap';
  const where = tried.length > 0 ? ` (looked for ${tried.join(', then ')})` : '';
  return `${what} ${namespace}/${ref.name} key ${ref.key} not found${where}`;
}

/** The value, or an Error whose message says where it looked; undefined for an optional ref that is missing. */
export function resolveKeyRef(
  ref: KeyRef,
  namespace: string,
  options: ValueLookupOptions = {},
): { ok: true; value: string | undefined } | { ok: false; message: string } {
  const r = lookupKeyRef(ref, namespace, options);
  if (r.found) return { ok: true, value: r.value };
  if (ref.optional) return { ok: true, value: undefined };
  return { ok: false, message: keyRefNotFoundMessage(ref, namespace, r.tried) };
}

// Digests are only compared within this process: keyed with a random key, they say nothing about a
// value to anyone who sees one (a plain hash of a short secret could be brute-forced).
const DIGEST_KEY = randomBytes(32);

/**
 * An opaque digest of what `refs` resolve to now (values and misses alike), to put into a definition
 * the data plane compares: a changed, added or removed value changes the digest, so whatever uses it
 * is restarted. Valid within this process only.
 */
export function keyRefsDigest(
  refs: readonly KeyRef[],
  namespace: string,
  options: ValueLookupOptions = {},
): string {
  const hmac = createHmac('sha256', DIGEST_KEY);
  for (const ref of refs) {
    const r = lookupKeyRef(ref, namespace, options);
    hmac.update(JSON.stringify([ref.source, ref.name, ref.key, r.found ? r.value : null]));
    hmac.update('\n');
  }
  return hmac.digest('base64url');
}
