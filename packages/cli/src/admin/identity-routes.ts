// Eddy as an OIDC issuer over HTTP: the discovery document and JWKS are public (receivers verify
// Eddy's tokens with them, as with a Kubernetes API server's), and POST /v1/identity/token mints a
// token for `eddy send` behind the admin token. A token is never logged.

import { DEFAULT_NAMESPACE, serviceAccountSubject } from '@eddy/api';
import { DISCOVERY_PATH, type Issuer, JWKS_PATH } from '@eddy/runtime';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  CLI_SERVICE_ACCOUNT,
  IDENTITY_TOKEN_PATH,
  type IdentityTokenRequest,
  type IdentityTokenResponse,
} from './protocol.js';

/** Discovery and JWKS: public keys, served without the admin token. */
export function isPublicIdentityRequest(request: Pick<FastifyRequest, 'method' | 'url'>): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const path = request.url.split('?')[0];
  return path === DISCOVERY_PATH || path === JWKS_PATH;
}

class BadTokenRequest extends Error {
  readonly statusCode = 400;
}

function tokenRequest(body: unknown): Required<IdentityTokenRequest> {
  const b = body as Partial<IdentityTokenRequest> | undefined;
  if (!b || typeof b !== 'object' || typeof b.audience !== 'string' || b.audience === '')
    throw new BadTokenRequest(`request body must be JSON {"audience": "<audience>", "namespace": "<ns>"}`);
  if (b.namespace !== undefined && (typeof b.namespace !== 'string' || b.namespace === ''))
    throw new BadTokenRequest(`"namespace" must be a non-empty string, found ${JSON.stringify(b.namespace)}`);
  return { audience: b.audience, namespace: b.namespace ?? DEFAULT_NAMESPACE };
}

export function registerIdentityRoutes(app: FastifyInstance, issuer: Issuer): void {
  app.get(DISCOVERY_PATH, async () => issuer.discovery());
  app.get(JWKS_PATH, async () => issuer.jwks());
  app.post(IDENTITY_TOKEN_PATH, async (request, reply): Promise<IdentityTokenResponse> => {
    const { audience, namespace } = tokenRequest(request.body);
    const subject = serviceAccountSubject(namespace, CLI_SERVICE_ACCOUNT);
    const { token, expiresAt } = await issuer.sign({ subject, audience });
    void reply.header('cache-control', 'no-store');
    return { token, subject, expiresAt: new Date(expiresAt).toISOString() };
  });
}
