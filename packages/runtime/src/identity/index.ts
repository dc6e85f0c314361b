export {
  createIssuer,
  DEFAULT_TOKEN_LIFETIME_MS,
  DISCOVERY_PATH,
  type Issuer,
  type IssuerOptions,
  type IssuerTrust,
  JWKS_PATH,
  type SignedToken,
  type TokenRequest,
} from './issuer.js';
export {
  DEFAULT_REFRESH_BEFORE_MS,
  issuerFromEnv,
  issuerTokens,
  OIDC_ISSUER_ENV,
  OIDC_SIGNING_KEY_ENV,
  SenderTokens,
  type SenderTokensOptions,
} from './sender-tokens.js';
export {
  loadOrCreateSigningKey,
  readSigningKey,
  SIGNING_ALGORITHM,
  type SigningKey,
  signingKeyFromPem,
} from './signing-key.js';
