// A private CA and a serving certificate signed by it. Used for Eddy's admission webhook (the API
// server verifies its caBundle) and by tests that need HTTPS with a CA a client can be told to trust.
// A CA (not one self-signed leaf) lets the serving certificate be replaced while the trust stays put.

import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * Loaded on first use: every process imports @eddy/runtime, few make certificates, and x509 (with
 * tsyringe, which needs the Reflect metadata API loaded first) is slow to load.
 */
async function loadX509() {
  await import('reflect-metadata');
  return import('@peculiar/x509');
}

export interface CertificateSet {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface CertificateOptions {
  /** The CA's common name. */
  caName: string;
  /** Default 365: long enough for a process not restarted for a year, short enough to be rotated. */
  validityDays?: number;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A new CA and a serving certificate for `names` (IP addresses and DNS names; 127.0.0.1 always included). */
export async function createCertificates(
  names: readonly string[],
  options: CertificateOptions,
): Promise<CertificateSet> {
  const x509 = await loadX509();
  const subtle = webcrypto.subtle;
  const notBefore = new Date(Date.now() - 60_000); // clock skew between us and the client
  const notAfter = new Date(Date.now() + (options.validityDays ?? 365) * DAY_MS);
  const caKeys = (await subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${options.caName}`,
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
