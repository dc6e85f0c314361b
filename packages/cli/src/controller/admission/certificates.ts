// The webhook's TLS material: the API server only calls admission webhooks over HTTPS and verifies the
// serving certificate against the caBundle in the webhook configuration. A private CA per webhook (not
// one self-signed leaf) lets the serving certificate be replaced without re-registering the webhook.

import { X509Certificate as NodeX509, webcrypto } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
// tsyringe (under @peculiar/x509) needs the Reflect metadata API before x509 loads.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export interface WebhookCertificates {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Long enough for a controller that is not restarted for a year, short enough to be rotated. */
const VALIDITY_DAYS = 365;
const FILES = { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key' } as const;

/** A CA and a serving certificate for `names` (IP addresses and DNS names; 127.0.0.1 always included). */
export async function createWebhookCertificates(names: readonly string[]): Promise<WebhookCertificates> {
  const subtle = webcrypto.subtle;
  const notBefore = new Date(Date.now() - 60_000); // clock skew between us and the API server
  const notAfter = new Date(Date.now() + VALIDITY_DAYS * DAY_MS);
  const caKeys = (await subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=eddy admission webhook CA',
    keys: caKeys,
    notBefore,
    notAfter,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leafKeys = (await subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const sans = sanList(names);
  const leaf = await x509.X509CertificateGenerator.create({
    subject: `CN=${sans.find((n) => n.type === 'dns')?.value ?? '127.0.0.1'}`,
    issuer: ca.subject,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    notBefore,
    notAfter,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      // Go's TLS client (the API server) ignores the CN: the names must be SANs.
      new x509.SubjectAlternativeNameExtension(sans),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false),
    ],
  });
  const pkcs8 = await subtle.exportKey('pkcs8', leafKeys.privateKey);
  return {
    caPem: ca.toString('pem'),
    certPem: leaf.toString('pem'),
    keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
  };
}

function sanList(names: readonly string[]): { type: 'ip' | 'dns'; value: string }[] {
  const unique = [...new Set(['127.0.0.1', ...names])];
  return unique.map((value) => ({ type: isIP(value) ? 'ip' : 'dns', value }));
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
