// Eddy's OIDC signing key: one P-256 (ES256) private key in a PEM file. `eddy dev` creates it once in
// its data dir (mode 0600) so tokens it signed stay verifiable across restarts; `eddy controller` reads
// the one its Helm chart keeps in a Secret. Both PKCS#8 and SEC1 (`EC PRIVATE KEY`, what Helm's
// `genPrivateKey "ecdsa"` writes) are accepted.

import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { calculateJwkThumbprint, type JWK } from 'jose';

export const SIGNING_ALGORITHM = 'ES256';

export interface SigningKey {
  readonly privateKey: KeyObject;
  /** The public half as a JWK with `kid`, `alg` and `use`, as the JWKS serves it. */
  readonly publicJwk: JWK;
  /** The JWK thumbprint (RFC 7638): stable for the key, so a restart keeps the same `kid`. */
  readonly kid: string;
}

/** Parses a PEM private key; `where` names its file or Secret in errors. */
export async function signingKeyFromPem(pem: string, where: string): Promise<SigningKey> {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (error) {
    throw new Error(`${where}: not a PEM private key (${(error as Error).message})`);
  }
  const curve = privateKey.asymmetricKeyDetails?.namedCurve;
  if (privateKey.asymmetricKeyType !== 'ec' || (curve !== 'prime256v1' && curve !== 'P-256'))
    throw new Error(
      `${where}: the OIDC signing key must be an ECDSA P-256 key (ES256), found ${privateKey.asymmetricKeyType}${curve ? ` ${curve}` : ''}`,
    );
  const { kty, crv, x, y } = createPublicKey(privateKey).export({ format: 'jwk' }) as JsonWebKey;
  const bare = { kty, crv, x, y } as JWK;
  const kid = await calculateJwkThumbprint(bare);
  return { privateKey, kid, publicJwk: { ...bare, kid, alg: SIGNING_ALGORITHM, use: 'sig' } };
}

/** Reads the key file (`eddy controller --oidc-signing-key`); errors name the file. */
export async function readSigningKey(file: string): Promise<SigningKey> {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`OIDC signing key ${file}: ${(error as Error).message}`);
  }
  return signingKeyFromPem(pem, `OIDC signing key ${file}`);
}

/**
 * Reads the key file, creating it first when missing. The new key is written to a temp file (0600,
 * fsynced) and hard-linked into place, which fails when another process created it meanwhile: then
 * both use that one.
 */
export async function loadOrCreateSigningKey(file: string): Promise<SigningKey> {
  if (existsSync(file)) return readSigningKey(file);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, pem);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    rmSync(tmp, { force: true });
  }
  return readSigningKey(file);
}
