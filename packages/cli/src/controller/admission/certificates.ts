// The webhook's TLS material: the API server only calls admission webhooks over HTTPS and verifies the
// serving certificate against the caBundle in the webhook configuration. A private CA per webhook (not
// one self-signed leaf) lets the serving certificate be replaced without re-registering the webhook.

import { X509Certificate as NodeX509 } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { type CertificateSet, createCertificates } from '@eddy/runtime';

export type WebhookCertificates = CertificateSet;

const DAY_MS = 24 * 60 * 60 * 1000;
const FILES = { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key' } as const;

/** A CA and a serving certificate for `names` (IP addresses and DNS names; 127.0.0.1 always included). */
export function createWebhookCertificates(names: readonly string[]): Promise<WebhookCertificates> {
  return createCertificates(names, { caName: 'eddy admission webhook CA' });
}

/**
 * The certificates in `dir` (ca.crt, tls.crt, tls.key) when they are there, cover `names` and stay valid
 * for another day; otherwise new ones, written there. Reusing them keeps the caBundle stable across
 * restarts, so a registered webhook keeps working while its process restarts.
 */
export async function loadOrCreateWebhookCertificates(
  dir: string,
  names: readonly string[],
): Promise<WebhookCertificates> {
  const existing = await readCertificates(dir);
  if (existing && covers(existing.certPem, names)) return existing;
  const created = await createWebhookCertificates(names);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, FILES.ca), created.caPem, { mode: 0o644 });
  await writeFile(join(dir, FILES.cert), created.certPem, { mode: 0o644 });
  await writeFile(join(dir, FILES.key), created.keyPem, { mode: 0o600 });
  return created;
}

async function readCertificates(dir: string): Promise<WebhookCertificates | undefined> {
  try {
    const [caPem, certPem, keyPem] = await Promise.all(
      [FILES.ca, FILES.cert, FILES.key].map((f) => readFile(join(dir, f), 'utf8')),
    );
    return { caPem: caPem!, certPem: certPem!, keyPem: keyPem! };
  } catch {
    return undefined;
  }
}

function covers(certPem: string, names: readonly string[]): boolean {
  try {
    const cert = new NodeX509(certPem);
    if (Date.parse(cert.validTo) < Date.now() + DAY_MS) return false;
    return ['127.0.0.1', ...names].every(
      (n) => (isIP(n) ? cert.checkIP(n) : cert.checkHost(n)) !== undefined,
    );
  } catch {
    return false;
  }
}
