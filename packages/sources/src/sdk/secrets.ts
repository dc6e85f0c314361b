// Secret and ConfigMap references (`secretKeyRef` / `configMapKeyRef`) in embedded mode: the
// environment, then the manifests `eddy dev` was given (both @eddy/api's lookupKeyRef, shared with
// Services' env), then mounted-Secret style directories. README "Secrets" has the lookup order;
// Kubernetes mode will supply resolvers that read the API.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type KeyRef, keyRefNotFoundMessage, lookupKeyRef, type ValueStore } from '@eddy/api';
import type { ConfigMapKeyRef, ConfigMapResolver, SecretKeyRef, SecretResolver } from './adapter.js';

export { secretEnvName } from '@eddy/api';

export class SecretNotFoundError extends Error {
  override readonly name = 'SecretNotFoundError';
}

export interface EnvSecretResolverOptions {
  /** The namespace of the resource whose secrets are resolved. */
  namespace: string;
  /** Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Secrets and ConfigMaps from manifests (`eddy dev`'s store); default none. */
  store?: ValueStore;
  /** Directories searched for <namespace>/<name>/<key> files; default none. */
  dirs?: readonly string[];
}

function asRef<T extends { name: string; key: string }>(
  field: 'secretKeyRef' | 'configMapKeyRef',
  ref: T | Record<string, T | undefined> | undefined,
): T | undefined {
  if (ref === undefined) return undefined;
  if (field in ref) return (ref as Record<string, T | undefined>)[field];
  return ref as T;
}

function checked<T extends { name: string; key: string }>(field: string, ref: T | undefined): T {
  if (ref === undefined) throw new SecretNotFoundError(`no ${field} given`);
  if (!ref.name || !ref.key)
    throw new SecretNotFoundError(
      `${field} needs both name and key, found name ${JSON.stringify(ref.name)} and key ${JSON.stringify(ref.key)}`,
    );
  return ref;
}

// A secret name or key must not walk out of the secrets directory.
const SAFE_SEGMENT = /^[A-Za-z0-9._-]+$/;

export function createEnvSecretResolver(options: EnvSecretResolverOptions): SecretResolver {
  const dirs = options.dirs ?? [];
  const { namespace } = options;
  return {
    async resolve(input) {
      const given = checked('secretKeyRef', asRef<SecretKeyRef>('secretKeyRef', input));
      const ref: KeyRef = { source: 'Secret', name: given.name, key: given.key };
      const found = lookupKeyRef(ref, namespace, options);
      if (found.found) return found.value;
      const tried = [...found.tried];
      const segmentsSafe = [namespace, ref.name, ref.key].every(
        (s) => SAFE_SEGMENT.test(s) && s !== '.' && s !== '..',
      );
      if (segmentsSafe) {
        for (const dir of dirs) {
          const file = join(dir, namespace, ref.name, ref.key);
          tried.push(`file ${file}`);
          try {
            return (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
              throw new SecretNotFoundError(
                `secret ${namespace}/${ref.name} key ${ref.key}: cannot read ${file}: ${(err as Error).message}`,
              );
            }
          }
        }
      }
      if (given.optional) return undefined;
      throw new SecretNotFoundError(keyRefNotFoundMessage(ref, namespace, tried));
    },
  };
}

/** Resolves `configMapKeyRef`s from the ConfigMap manifests in `store`. */
export function createConfigMapResolver(options: {
  namespace: string;
  store?: ValueStore;
}): ConfigMapResolver {
  return {
    async resolve(input) {
      const given = checked('configMapKeyRef', asRef<ConfigMapKeyRef>('configMapKeyRef', input));
      const ref: KeyRef = { source: 'ConfigMap', name: given.name, key: given.key };
      const found = lookupKeyRef(ref, options.namespace, options.store ? { store: options.store } : {});
      if (found.found) return found.value;
      if (given.optional) return undefined;
      const tried = found.tried.length > 0 ? found.tried : ['ConfigMap manifests (none are available here)'];
      throw new SecretNotFoundError(keyRefNotFoundMessage(ref, options.namespace, tried));
    },
  };
}
