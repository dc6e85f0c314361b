// A serving certificate, its key and (optionally) the CA that signed it, read from files or from a
// Kubernetes `kubernetes.io/tls` Secret (keys tls.crt, tls.key, ca.crt), and checked before a server
// uses them: a bad path, a file that is no PEM, or a key of another certificate is an error naming
// where the bad part came from, not an OpenSSL message at the first handshake.

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SecureContextOptions } from 'node:tls';

/** Knative's eventing TLS: TLS 1.2 is the oldest version a server accepts or a client offers. */
export const MIN_TLS_VERSION = 'TLSv1.2';

/** The keys of a `kubernetes.io/tls` Secret (ca.crt is cert-manager's). */
export const TLS_SECRET_KEYS = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const;

export interface TlsMaterial {
  /** PEM: the serving certificate, then its chain. */
  cert: string;
  /** PEM private key. */
  key: string;
  /** PEM CA certificates a client should trust for `cert`; absent when not given. */
  ca?: string;
}

/** Where each part came from, for error messages: `--tls-cert /x.pem`, `Secret ns/name key tls.crt`. */
export interface TlsLabels {
  cert: string;
  key: string;
  ca?: string;
}

export interface TlsFiles {
  cert: string;
  key: string;
  ca?: string;
  /** How errors name each file; default the path itself. */
  labels?: Partial<TlsLabels>;
}

export class TlsConfigError extends Error {
  override readonly name = 'TlsConfigError';
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM blocks of a certificate bundle; throws naming `label` when there is none or one is damaged. */
export function parseCertificates(pem: string, label: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new TlsConfigError(`${label}: not a PEM certificate`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new TlsConfigError(
        `${label}: certificate ${i + 1} is not a valid PEM certificate (${(error as Error).message})`,
      );
    }
  });
}

/** Checks that `material` is usable: each part parses and the key belongs to the certificate. */
export function checkTlsMaterial(material: TlsMaterial, labels: TlsLabels): TlsMaterial {
  const [leaf] = parseCertificates(material.cert, labels.cert);
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(material.key);
  } catch {
    throw new TlsConfigError(`${labels.key}: not a PEM private key`);
  }
  if (!leaf!.checkPrivateKey(key))
    throw new TlsConfigError(`${labels.cert} and ${labels.key}: cert and key do not match`);
  if (material.ca !== undefined) parseCertificates(material.ca, labels.ca ?? 'CA');
  return material;
}

function readPem(path: string, label: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : (error as Error).message;
    throw new TlsConfigError(`${label}: ${why}`);
  }
}

/** Reads and checks the files; throws TlsConfigError naming the file at fault. */
export function readTlsFiles(files: TlsFiles): TlsMaterial {
  const labels: TlsLabels = {
    cert: files.labels?.cert ?? files.cert,
    key: files.labels?.key ?? files.key,
    ...(files.ca !== undefined ? { ca: files.labels?.ca ?? files.ca } : {}),
  };
  const material: TlsMaterial = {
    cert: readPem(files.cert, labels.cert),
    key: readPem(files.key, labels.key),
    ...(files.ca !== undefined && labels.ca !== undefined ? { ca: readPem(files.ca, labels.ca) } : {}),
  };
  return checkTlsMaterial(material, labels);
}

/**
 * The material of a `kubernetes.io/tls` Secret's (decoded) data; `where` names the Secret
 * (`Secret default/eddy-tls`).
 */
export function tlsFromSecretData(data: ReadonlyMap<string, Buffer | string>, where: string): TlsMaterial {
  const text = (key: string): string | undefined => {
    const v = data.get(key);
    return v === undefined ? undefined : v.toString();
  };
  const cert = text(TLS_SECRET_KEYS.cert);
  const key = text(TLS_SECRET_KEYS.key);
  if (cert === undefined || key === undefined)
    throw new TlsConfigError(
      `${where}: a TLS Secret needs keys ${TLS_SECRET_KEYS.cert} and ${TLS_SECRET_KEYS.key} (has ${[...data.keys()].join(', ') || 'none'})`,
    );
  const ca = text(TLS_SECRET_KEYS.ca);
  const label = (k: string) => `${where} key ${k}`;
  return checkTlsMaterial(
    { cert, key, ...(ca !== undefined ? { ca } : {}) },
    { cert: label(TLS_SECRET_KEYS.cert), key: label(TLS_SECRET_KEYS.key), ca: label(TLS_SECRET_KEYS.ca) },
  );
}

/** What a client must trust to verify this server: the CA when given, else the certificate itself (self-signed). */
export function trustAnchor(material: TlsMaterial): string {
  return material.ca ?? material.cert;
}

/** Options for tls.createSecureContext / https.createServer. */
export function secureContextOptions(material: TlsMaterial): SecureContextOptions {
  return { cert: material.cert, key: material.key, minVersion: MIN_TLS_VERSION };
}
