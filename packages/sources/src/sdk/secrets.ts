// Secret references (`secretKeyRef: { name, key }`) in embedded mode, where there is no Kubernetes
// Secret store. Lookup rule, first match wins:
//   1. environment variable EDDY_SECRET_<NAME>_<KEY>: name and key upper-cased, every character
//      other than A-Z and 0-9 replaced by `_` (secret `github-token`, key `token` ->
//      EDDY_SECRET_GITHUB_TOKEN_TOKEN);
//   2. the file <dir>/<namespace>/<name>/<key> in each configured directory, in order (the layout of
//      a mounted Kubernetes Secret, one folder per namespace); the content is used as is, except one
//      trailing newline, which editors add.
// Kubernetes mode will supply its own SecretResolver that reads Secrets from the API.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecretKeyRef, SecretResolver } from './adapter.js';

export class SecretNotFoundError extends Error {
  override readonly name = 'SecretNotFoundError';
}

export interface EnvSecretResolverOptions {
  /** The namespace of the resource whose secrets are resolved (the file lookup is per namespace). */
  namespace: string;
  /** Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Directories searched for <namespace>/<name>/<key> files; default none. */
  dirs?: readonly string[];
}

/** The environment variable that holds secret `name`'s `key`. */
export function secretEnvName(name: string, key: string): string {
  const part = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  return `EDDY_SECRET_${part(name)}_${part(key)}`;
}

function asRef(ref: SecretKeyRef | { secretKeyRef?: SecretKeyRef } | undefined): SecretKeyRef | undefined {
  if (ref === undefined) return undefined;
  if ('secretKeyRef' in ref) return ref.secretKeyRef;
  return ref as SecretKeyRef;
}

// A secret name or key must not walk out of the secrets directory.
const SAFE_SEGMENT = /^[A-Za-z0-9._-]+$/;

export function createEnvSecretResolver(options: EnvSecretResolverOptions): SecretResolver {
  const env = options.env ?? process.env;
  const dirs = options.dirs ?? [];
  return {
    async resolve(input) {
      const ref = asRef(input);
      if (ref === undefined) throw new SecretNotFoundError('no secretKeyRef given');
      if (!ref.name || !ref.key) {
        throw new SecretNotFoundError(`secretKeyRef needs both name and key, found ${JSON.stringify(ref)}`);
      }
      const variable = secretEnvName(ref.name, ref.key);
      const fromEnv = env[variable];
      if (fromEnv !== undefined) return fromEnv;
      const tried = [`environment variable ${variable}`];
      const segmentsSafe = [options.namespace, ref.name, ref.key].every(
        (s) => SAFE_SEGMENT.test(s) && s !== '.' && s !== '..',
      );
      if (segmentsSafe) {
        for (const dir of dirs) {
          const file = join(dir, options.namespace, ref.name, ref.key);
          tried.push(`file ${file}`);
          try {
            return (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
              throw new SecretNotFoundError(
                `secret ${options.namespace}/${ref.name} key ${ref.key}: cannot read ${file}: ${(err as Error).message}`,
              );
            }
          }
        }
      }
      if (ref.optional) return undefined;
      throw new SecretNotFoundError(
        `secret ${options.namespace}/${ref.name} key ${ref.key} not found (looked for ${tried.join(', ')})`,
      );
    },
  };
}
