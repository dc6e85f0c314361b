// `--tls-cert`/`--tls-key` (or `--tls-secret <ns>/<name>`), `--tls-ca` and `--transport-encryption`:
// the certificate Eddy's ingress and router serve, checked before anything starts so a bad path or
// a key of another certificate is a usage error naming the flag, not a failed handshake later.

import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { secretValues } from '@eddy/api';
import { ServingCertificate, TlsConfigError, tlsFromSecretData } from '@eddy/runtime';
import type { DevTls } from '../dev/dev-server.js';
import { collect } from '../dev/manifest-watcher.js';
import { loadManifest } from '../dev/manifests.js';
import { UsageError } from '../usage-error.js';

/** Knative's config-features `transport-encryption` values. */
export const TRANSPORT_ENCRYPTION = ['disabled', 'permissive', 'strict'] as const;
export type TransportEncryption = (typeof TRANSPORT_ENCRYPTION)[number];

export interface TlsFlagOptions {
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsSecret?: string;
  transportEncryption?: string;
}

/** The `--transport-encryption` value; with a certificate the default is strict, without one disabled. */
export function parseTransportEncryption(text: string | undefined, haveCert: boolean): TransportEncryption {
  if (text === undefined) return haveCert ? 'strict' : 'disabled';
  if (!(TRANSPORT_ENCRYPTION as readonly string[]).includes(text))
    throw new UsageError(
      `--transport-encryption must be ${TRANSPORT_ENCRYPTION.map((v) => `"${v}"`).join(', ')}, got "${text}"`,
    );
  return text as TransportEncryption;
}

/** The certificate from files (watched for rotation); TlsConfigError becomes a UsageError naming the flag. */
export function certificateFromFiles(options: TlsFlagOptions): ServingCertificate | undefined {
  const { tlsCert, tlsKey, tlsCa } = options;
  if (tlsCert === undefined && tlsKey === undefined) {
    if (tlsCa !== undefined) throw new UsageError('--tls-ca needs --tls-cert and --tls-key');
    return undefined;
  }
  if (tlsCert === undefined || tlsKey === undefined)
    throw new UsageError('--tls-cert and --tls-key go together: give both');
  try {
    return ServingCertificate.fromFiles({
      cert: resolve(tlsCert),
      key: resolve(tlsKey),
      ...(tlsCa !== undefined ? { ca: resolve(tlsCa) } : {}),
      labels: {
        cert: `--tls-cert ${tlsCert}`,
        key: `--tls-key ${tlsKey}`,
        ...(tlsCa !== undefined ? { ca: `--tls-ca ${tlsCa}` } : {}),
      },
    });
  } catch (error) {
    if (error instanceof TlsConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/** The `kubernetes.io/tls` Secret `<namespace>/<name>` among the manifests in `files` (files or directories). */
async function certificateFromManifests(files: readonly string[], ref: string): Promise<ServingCertificate> {
  const [namespace, name, extra] = ref.split('/');
  if (!namespace || !name || extra !== undefined)
    throw new UsageError(`--tls-secret must be <namespace>/<name>, got "${ref}"`);
  const paths: string[] = [];
  for (const f of files) {
    if ((await stat(f)).isDirectory()) await collect(f, paths);
    else paths.push(f);
  }
  for (const path of paths) {
    const loaded = loadManifest(await readFile(path, 'utf8'), path);
    const secret = loaded.resources.find(
      (r) => r.kind === 'Secret' && r.apiVersion === 'v1' && r.namespace === namespace && r.name === name,
    );
    if (!secret) continue;
    const where = `--tls-secret ${ref} (${path})`;
    try {
      const material = tlsFromSecretData(
        secretValues(secret.resource as Parameters<typeof secretValues>[0]),
        where,
      );
      return ServingCertificate.fromMaterial(material, { cert: where, key: where });
    } catch (error) {
      if (error instanceof TlsConfigError) throw new UsageError(error.message);
      throw error;
    }
  }
  throw new UsageError(
    `--tls-secret ${ref}: no Secret ${name} in namespace ${namespace} in the -f manifests`,
  );
}

/** `eddy dev`'s TLS, or undefined for plain HTTP. */
export async function devTlsFromFlags(
  options: TlsFlagOptions,
  files: readonly string[],
): Promise<DevTls | undefined> {
  if (options.tlsSecret !== undefined && (options.tlsCert !== undefined || options.tlsKey !== undefined))
    throw new UsageError('--tls-secret and --tls-cert/--tls-key are alternatives: give one');
  const haveCert =
    options.tlsSecret !== undefined || options.tlsCert !== undefined || options.tlsKey !== undefined;
  const mode = parseTransportEncryption(options.transportEncryption, haveCert);
  if (mode === 'disabled') {
    if (haveCert && options.transportEncryption !== undefined)
      throw new UsageError('--transport-encryption disabled: drop the TLS certificate flags');
    return undefined;
  }
  if (!haveCert)
    throw new UsageError(
      `--transport-encryption ${mode} needs a certificate: --tls-cert and --tls-key, or --tls-secret`,
    );
  if (options.tlsSecret !== undefined)
    return { certificate: await certificateFromManifests(files, options.tlsSecret), mode };
  const certificate = certificateFromFiles(options)!;
  const paths = { cert: resolve(options.tlsCert ?? ''), key: resolve(options.tlsKey ?? '') };
  return { certificate, mode, files: paths };
}
