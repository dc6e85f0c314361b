// A KafkaSink's `spec.auth.secret.ref`: the Secret in Knative's format for the Kafka data plane
// (eventing-kafka-broker's security.go), turned into the connection security of the sink's producer.
//   protocol        PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL (required)
//   sasl.mechanism  PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 (default PLAIN)
//   user, password  SASL credentials
//   ca.crt          the CA that verifies the brokers (default: the system's CAs)
//   user.crt, user.key  a client certificate for TLS client authentication (both or neither)
// Values come from where every secretKeyRef of embedded mode does (value-lookup.ts: EDDY_SECRET_* then
// the applied Secret); no message shows a value.

import { type KafkaSinkSecurity, resolveKeyRef, type ValueLookupOptions } from '@eddy/api';
import { show } from './options.js';

export type KafkaSinkAuth =
  | { ok: true; security: KafkaSinkSecurity }
  | { ok: false; reason: string; message: string };

const PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
const MECHANISMS = {
  PLAIN: 'plain',
  'SCRAM-SHA-256': 'scram-sha-256',
  'SCRAM-SHA-512': 'scram-sha-512',
} as const;

class AuthProblem extends Error {}

/** The security of a sink whose auth names Secret `secretName` (undefined: plaintext, no SASL). */
export function kafkaSinkAuth(
  namespace: string,
  secretName: string | undefined,
  values: ValueLookupOptions,
): KafkaSinkAuth {
  if (secretName === undefined) return { ok: true, security: {} };
  const where = `Secret ${namespace}/${secretName} (spec.auth.secret.ref)`;
  const read = (key: string, optional: boolean): string | undefined => {
    const r = resolveKeyRef({ source: 'Secret', name: secretName, key, optional }, namespace, values);
    if (!r.ok) throw new AuthProblem(r.message);
    return r.value;
  };
  try {
    const protocol = read('protocol', false)!.trim().toUpperCase();
    if (!(PROTOCOLS as readonly string[]).includes(protocol))
      throw new AuthProblem(
        `${where}: key protocol must be one of ${PROTOCOLS.join(', ')}, found ${show(protocol)}`,
      );
    const security: KafkaSinkSecurity = {};
    if (protocol === 'SSL' || protocol === 'SASL_SSL') {
      const ca = read('ca.crt', true);
      const cert = read('user.crt', true);
      const key = read('user.key', true);
      if ((cert === undefined) !== (key === undefined))
        throw new AuthProblem(
          `${where}: keys user.crt and user.key go together (a client certificate and its key)`,
        );
      security.tls = { ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}) };
    }
    if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') {
      const mechanismText = (read('sasl.mechanism', true) ?? 'PLAIN').trim().toUpperCase();
      const mechanism = MECHANISMS[mechanismText as keyof typeof MECHANISMS];
      if (!mechanism)
        throw new AuthProblem(
          `${where}: key sasl.mechanism must be one of ${Object.keys(MECHANISMS).join(', ')}, found ${show(mechanismText)}`,
        );
      security.sasl = { mechanism, username: read('user', false)!, password: read('password', false)! };
    }
    return { ok: true, security };
  } catch (error) {
    if (!(error instanceof AuthProblem)) throw error;
    return { ok: false, reason: 'AuthSecretInvalid', message: error.message };
  }
}
