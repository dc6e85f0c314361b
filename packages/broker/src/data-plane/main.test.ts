import { describe, expect, it } from 'vitest';
import { envName, parseMainArgs, UsageError } from './main.js';

describe('data-plane process options', () => {
  it('takes an option the flags leave out from its EDDY_BROKER_* variable; a flag wins', () => {
    const env = {
      EDDY_BROKER_CONTRACT: '/etc/eddy/contract.json',
      EDDY_BROKER_LOG: 'kafka',
      EDDY_BROKER_BROKERS: 'kafka-0:9092, kafka-1:9092',
      EDDY_BROKER_PORT: '8080',
      EDDY_BROKER_HOST: '0.0.0.0',
    };
    expect(parseMainArgs([], env)).toEqual({
      contract: '/etc/eddy/contract.json',
      component: 'all',
      memberId: undefined,
      reusePort: false,
      log: 'kafka',
      dataDir: undefined,
      brokers: ['kafka-0:9092', 'kafka-1:9092'],
      kafkaClient: 'platformatic',
      kafkaSharedReaders: false,
      host: '0.0.0.0',
      port: 8080,
      logLevel: 'info',
      retryStateTopic: undefined,
      kafkaSessionTimeoutMs: undefined,
      watchIntervalMs: 500,
      limits: {},
    });
    expect(parseMainArgs(['--port', '9090', '--log', 'embedded', '--data-dir', 'd'], env)).toMatchObject({
      port: 9090,
      log: 'embedded',
      dataDir: 'd',
    });
    expect(
      parseMainArgs(['--component', 'dispatcher', '--reuse-port', 'true', '--member-id', 'd-1'], env),
    ).toMatchObject({ component: 'dispatcher', reusePort: true, memberId: 'd-1' });
    expect(envName('kafka-session-timeout-ms')).toBe('EDDY_BROKER_KAFKA_SESSION_TIMEOUT_MS');
  });

  it("reads the ingress's request limits from --ingress-* flags or EDDY_BROKER_INGRESS_* variables; bounds name the source", () => {
    const base = ['--contract', 'c', '--data-dir', 'd'];
    expect(
      parseMainArgs([...base, '--ingress-max-body-bytes', '2048', '--ingress-max-batch-events', '2'], {
        EDDY_BROKER_INGRESS_MAX_HEADER_BYTES: '4096',
        EDDY_BROKER_INGRESS_REQUEST_TIMEOUT_MS: '1500',
      }).limits,
    ).toEqual({ maxBodyBytes: 2048, maxBatchEvents: 2, maxHeaderBytes: 4096, requestTimeoutMs: 1500 });
    expect(() => parseMainArgs([...base, '--ingress-max-body-bytes', '12'])).toThrow(
      new UsageError('--ingress-max-body-bytes must be an integer from 1024 to 67108864, got "12"'),
    );
    expect(() => parseMainArgs(base, { EDDY_BROKER_INGRESS_REQUEST_TIMEOUT_MS: '5s' })).toThrow(
      new UsageError(
        'EDDY_BROKER_INGRESS_REQUEST_TIMEOUT_MS must be an integer from 1000 to 3600000, got "5s"',
      ),
    );
  });

  it('picks the Kafka client from --kafka-client or EDDY_BROKER_KAFKA_CLIENT, platformatic by default', () => {
    const kafka = ['--contract', 'c', '--log', 'kafka', '--brokers', 'k:9092'];
    expect(parseMainArgs(kafka).kafkaClient).toBe('platformatic');
    expect(parseMainArgs(kafka, { EDDY_BROKER_KAFKA_CLIENT: 'kafkajs' }).kafkaClient).toBe('kafkajs');
    expect(
      parseMainArgs([...kafka, '--kafka-client', 'platformatic'], { EDDY_BROKER_KAFKA_CLIENT: 'kafkajs' })
        .kafkaClient,
    ).toBe('platformatic');
    expect(envName('kafka-client')).toBe('EDDY_BROKER_KAFKA_CLIENT');
  });

  it('names the flag or the variable a bad value came from', () => {
    const usage = (argv: string[], env = {}) => {
      try {
        parseMainArgs(argv, env);
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
        return (error as Error).message;
      }
      throw new Error('no UsageError');
    };
    expect(usage([])).toBe('--contract <file|url> (or EDDY_BROKER_CONTRACT) is required');
    expect(usage(['--contract', 'c', '--data-dir', 'd', '--component', 'router'])).toBe(
      '--component must be "all", "ingress" or "dispatcher", got "router"',
    );
    expect(usage(['--contract', 'c', '--data-dir', 'd'], { EDDY_BROKER_REUSE_PORT: 'yes' })).toBe(
      'EDDY_BROKER_REUSE_PORT must be "true" or "false", got "yes"',
    );
    expect(usage(['--contract', 'c', '--port', 'x', '--data-dir', 'd'])).toBe(
      '--port must be an integer from 0 to 65535, got "x"',
    );
    expect(usage(['--contract', 'c', '--data-dir', 'd'], { EDDY_BROKER_PORT: '70000' })).toBe(
      'EDDY_BROKER_PORT must be an integer from 0 to 65535, got "70000"',
    );
    expect(usage(['--contract', 'c'], { EDDY_BROKER_LOG: 'sqlite' })).toBe(
      'EDDY_BROKER_LOG must be "embedded" or "kafka", got "sqlite"',
    );
    expect(
      usage(['--contract', 'c', '--log', 'kafka', '--brokers', 'k:1', '--kafka-client', 'rdkafka']),
    ).toBe('--kafka-client must be "kafkajs" or "platformatic", got "rdkafka"');
    expect(usage(['--contract', 'c', '--bogus', 'x'])).toMatch(/bogus/);
  });
});
