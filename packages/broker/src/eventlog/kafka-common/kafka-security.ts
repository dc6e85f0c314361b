// How Eddy's Kafka clients secure their broker connections (TLS, SASL), and the one reader of the
// EDDY_KAFKA_* variables that set it (the Helm chart's kafka.tls.* and kafka.sasl.* values). Both
// event-log clients take the same KafkaSecurity and translate it to their own options, so a
// deployment switching clients keeps its connection settings.
import { readFileSync } from 'node:fs';

export const KAFKA_SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

/** One member per mechanism, as kafkajs types its SASL options. */
export type KafkaSasl = {
  [M in KafkaSaslMechanism]: { mechanism: M; username: string; password: string };
}[KafkaSaslMechanism];

export interface KafkaSecurity {
  /**
   * TLS to every broker. Without `ca` the system's trusted CAs verify the brokers' certificates;
   * `cert` and `key` (PEM, together) authenticate the client (a KafkaSink's user.crt / user.key).
   */
  tls?: { ca?: string; cert?: string; key?: string };
  sasl?: KafkaSasl;
}

export const KAFKA_SECURITY_ENV = {
  tlsEnabled: 'EDDY_KAFKA_TLS_ENABLED',
  tlsCaFile: 'EDDY_KAFKA_TLS_CA_FILE',
  saslMechanism: 'EDDY_KAFKA_SASL_MECHANISM',
  saslUsername: 'EDDY_KAFKA_SASL_USERNAME',
  saslPassword: 'EDDY_KAFKA_SASL_PASSWORD',
} as const;

/** A bad EDDY_KAFKA_* setting; the message names the variable. */
export class KafkaSecurityConfigError extends Error {
  override readonly name = 'KafkaSecurityConfigError';
}

/**
 * The connection security the EDDY_KAFKA_* variables of `env` ask for (`{}`: plaintext, no SASL). Fails at start, naming the variable, rather than leave a process that cannot reach Kafka
 * retrying with settings it silently ignored.
 */
export function kafkaSecurityFromEnv(env: Readonly<Record<string, string | undefined>>): KafkaSecurity {
  const E = KAFKA_SECURITY_ENV;
  const value = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const security: KafkaSecurity = {};

  const enabled = value(E.tlsEnabled)?.toLowerCase();
  if (enabled !== undefined && enabled !== 'true' && enabled !== 'false') {
    throw new KafkaSecurityConfigError(`${E.tlsEnabled} must be "true" or "false", got "${enabled}"`);
  }
  const caFile = value(E.tlsCaFile);
  if (enabled === 'true') {
    security.tls = caFile === undefined ? {} : { ca: readCaFile(caFile) };
  } else if (caFile !== undefined) {
    // A CA without TLS would mean a plaintext connection the operator believes verified.
    throw new KafkaSecurityConfigError(`${E.tlsCaFile} is set but ${E.tlsEnabled} is not "true"`);
  }

  const mechanismText = value(E.saslMechanism);
  const username = value(E.saslUsername);
  // Passwords are taken as given: leading or trailing spaces may be part of one.
  const password = env[E.saslPassword] || undefined;
  if (mechanismText !== undefined) {
    const mechanism = mechanismText.toLowerCase();
    if (!isSaslMechanism(mechanism)) {
      throw new KafkaSecurityConfigError(
        `${E.saslMechanism} must be one of ${KAFKA_SASL_MECHANISMS.map((m) => m.toUpperCase()).join(', ')}, got "${mechanismText}"`,
      );
    }
    const missing = [
      username === undefined ? E.saslUsername : '',
      password === undefined ? E.saslPassword : '',
    ]
      .filter(Boolean)
      .join(' and ');
    if (username === undefined || password === undefined) {
      throw new KafkaSecurityConfigError(`${E.saslMechanism}=${mechanismText} needs ${missing}`);
    }
    security.sasl = { mechanism, username, password };
  } else if (username !== undefined || password !== undefined) {
    throw new KafkaSecurityConfigError(
      `${username !== undefined ? E.saslUsername : E.saslPassword} is set but ${E.saslMechanism} is not`,
    );
  }
  return security;
}

function isSaslMechanism(value: string): value is KafkaSaslMechanism {
  return (KAFKA_SASL_MECHANISMS as readonly string[]).includes(value);
}

function readCaFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new KafkaSecurityConfigError(
      `${KAFKA_SECURITY_ENV.tlsCaFile}: cannot read ${file}: ${(error as Error).message}`,
    );
  }
  // Node would take a file without a certificate and then fail every handshake with a vaguer error.
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new KafkaSecurityConfigError(
      `${KAFKA_SECURITY_ENV.tlsCaFile}: ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    );
  }
  return text;
}
