// A real OIDC issuer for tests: an HTTP server on 127.0.0.1 serving the discovery document and the
// JWKS, and minting RS256 tokens with jose. rotate() adds a new signing key (the old one stays
// published until retire()), so a verifier's "unknown kid -> fetch the JWKS again" path is exercised.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

interface SigningKey {
  kid: string;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  publicJwk: JWK;
}

export interface MintOptions {
  subject: string;
  audience: string | string[];
  /** Seconds from now; negative = already expired. Default 600. */
  expiresIn?: number;
  /** Seconds from now the token becomes valid. Default: now. */
  notBefore?: number;
  /** Override the `iss` claim (a token claiming another issuer). */
  issuer?: string;
}

export interface TestOidcIssuer {
  /** The issuer URL (`iss`), also the discovery base. */
  readonly issuer: string;
  /** JWKS requests served so far. */
  readonly jwksRequests: number;
  mint(options: MintOptions): Promise<string>;
  /** A new current signing key (published at once); returns its kid. */
  rotate(): Promise<string>;
  /** Stops publishing every key but the current one. */
  retire(): void;
  /** The public keys, as an inline JWKS. */
  jwks(): { keys: JWK[] };
  close(): Promise<void>;
}

let counter = 0;

async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `test-key-${++counter}-${Date.now()}`;
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicJwk };
}

export async function startOidcIssuer(): Promise<TestOidcIssuer> {
  const keys: SigningKey[] = [await newKey()];
  let jwksRequests = 0;
  let issuer = '';
  const server: Server = createServer((req, res) => {
    const json = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration')
      return json({
        issuer,
        jwks_uri: `${issuer}/keys`,
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
      });
    if (req.url === '/keys') {
      jwksRequests++;
      return json({ keys: keys.map((k) => k.publicJwk) });
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.stderr.write(`test OIDC issuer listening on ${issuer}\n`);
  const current = () => keys[keys.length - 1]!;
  return {
    issuer,
    get jwksRequests() {
      return jwksRequests;
    },
    async mint({ subject, audience, expiresIn = 600, notBefore, issuer: iss }) {
      const now = Math.floor(Date.now() / 1000);
      const key = current();
      const jwt = new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
        .setIssuer(iss ?? issuer)
        .setSubject(subject)
        .setAudience(audience)
        .setIssuedAt(now)
        .setExpirationTime(now + expiresIn);
      if (notBefore !== undefined) jwt.setNotBefore(now + notBefore);
      return jwt.sign(key.privateKey);
    },
    async rotate() {
      const key = await newKey();
      keys.push(key);
      return key.kid;
    },
    retire() {
      keys.splice(0, keys.length - 1);
    },
    jwks: () => ({ keys: keys.map((k) => k.publicJwk) }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
