import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KafkaSecurityConfigError, kafkaSecurityFromEnv } from './kafka-security.js';

const dir = mkdtempSync(join(tmpdir(), 'eddy-kafka-security-'));
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const caFile = join(dir, 'ca.crt');
writeFileSync(caFile, PEM);
const notPem = join(dir, 'ca.der');
writeFileSync(notPem, Buffer.from([0x30, 0x82, 0x01]));

const sasl = { EDDY_KAFKA_SASL_USERNAME: 'eddy', EDDY_KAFKA_SASL_PASSWORD: ' s3cret ' };

describe('kafkaSecurityFromEnv', () => {
  it('no variables: plaintext without SASL', () => {
    expect(kafkaSecurityFromEnv({})).toEqual({});
    expect(kafkaSecurityFromEnv({ EDDY_KAFKA_TLS_ENABLED: 'false', EDDY_KAFKA_SASL_MECHANISM: '' })).toEqual(
      {},
    );
  });

  it('TLS with and without a CA file', () => {
    expect(kafkaSecurityFromEnv({ EDDY_KAFKA_TLS_ENABLED: 'true' })).toEqual({ tls: {} });
    expect(kafkaSecurityFromEnv({ EDDY_KAFKA_TLS_ENABLED: 'TRUE', EDDY_KAFKA_TLS_CA_FILE: caFile })).toEqual({
      tls: { ca: PEM },
    });
  });

  it.each([
    ['PLAIN', 'plain'],
    ['scram-sha-256', 'scram-sha-256'],
    ['SCRAM-SHA-512', 'scram-sha-512'],
  ])('SASL %s, the password kept exactly as given', (given, mechanism) => {
    expect(kafkaSecurityFromEnv({ EDDY_KAFKA_SASL_MECHANISM: given, ...sasl })).toEqual({
      sasl: { mechanism, username: 'eddy', password: ' s3cret ' },
    });
  });

  it('TLS and SASL together (the chart with both set)', () => {
    expect(
      kafkaSecurityFromEnv({
        EDDY_KAFKA_TLS_ENABLED: 'true',
        EDDY_KAFKA_TLS_CA_FILE: caFile,
        EDDY_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        ...sasl,
      }),
    ).toEqual({
      tls: { ca: PEM },
      sasl: { mechanism: 'scram-sha-512', username: 'eddy', password: ' s3cret ' },
    });
  });

  it.each<[string, Record<string, string>, RegExp]>([
    [
      'a TLS flag that is not a boolean',
      { EDDY_KAFKA_TLS_ENABLED: 'yes' },
      /^EDDY_KAFKA_TLS_ENABLED must be "true" or "false", got "yes"$/,
    ],
    [
      'a CA file without TLS',
      { EDDY_KAFKA_TLS_CA_FILE: caFile },
      /^EDDY_KAFKA_TLS_CA_FILE is set but EDDY_KAFKA_TLS_ENABLED is not "true"$/,
    ],
    [
      'an unreadable CA file',
      { EDDY_KAFKA_TLS_ENABLED: 'true', EDDY_KAFKA_TLS_CA_FILE: join(dir, 'missing.crt') },
      /^EDDY_KAFKA_TLS_CA_FILE: cannot read .*missing\.crt: ENOENT/,
    ],
    [
      'a CA file without a PEM certificate',
      { EDDY_KAFKA_TLS_ENABLED: 'true', EDDY_KAFKA_TLS_CA_FILE: notPem },
      /^EDDY_KAFKA_TLS_CA_FILE: .*ca\.der holds no PEM certificate/,
    ],
    [
      'an unknown mechanism',
      { EDDY_KAFKA_SASL_MECHANISM: 'GSSAPI', ...sasl },
      /^EDDY_KAFKA_SASL_MECHANISM must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, got "GSSAPI"$/,
    ],
    [
      'a mechanism without credentials',
      { EDDY_KAFKA_SASL_MECHANISM: 'PLAIN' },
      /^EDDY_KAFKA_SASL_MECHANISM=PLAIN needs EDDY_KAFKA_SASL_USERNAME and EDDY_KAFKA_SASL_PASSWORD$/,
    ],
    [
      'a mechanism without a password',
      { EDDY_KAFKA_SASL_MECHANISM: 'PLAIN', EDDY_KAFKA_SASL_USERNAME: 'eddy', EDDY_KAFKA_SASL_PASSWORD: '' },
      /^EDDY_KAFKA_SASL_MECHANISM=PLAIN needs EDDY_KAFKA_SASL_PASSWORD$/,
    ],
    [
      'credentials without a mechanism',
      sasl,
      /^EDDY_KAFKA_SASL_USERNAME is set but EDDY_KAFKA_SASL_MECHANISM is not$/,
    ],
  ])('rejects %s, naming the variable', (_what, env, message) => {
    expect(() => kafkaSecurityFromEnv(env)).toThrow(KafkaSecurityConfigError);
    expect(() => kafkaSecurityFromEnv(env)).toThrow(message);
  });
});
