import { describe, expect, it } from 'vitest';
import { type BacklogReaderFactory, parseServingArgs, servingEnvName, servingUsage } from './main.js';

// A factory that is never opened here: parsing only asks which Kafka clients it has.
const kafka: BacklogReaderFactory = {
  kafkaClients: ['kafkajs', 'platformatic'],
  open: () => {
    throw new Error('not opened by parsing');
  },
};

describe('serving process options', () => {
  it('takes an option the flags leave out from its EDDY_SERVING_* variable; a flag wins', () => {
    const env = {
      EDDY_SERVING_CONTRACT: 'http://control:9000/v1/contract/serving',
      EDDY_SERVING_LOG: 'kafka',
      EDDY_SERVING_BROKERS: 'k-0:9092, k-1:9092',
      EDDY_SERVING_PORT: '8081',
      EDDY_SERVING_TICK_MS: '500',
    };
    expect(parseServingArgs([], env, kafka)).toEqual({
      contract: 'http://control:9000/v1/contract/serving',
      role: 'primary',
      memberId: undefined,
      host: '127.0.0.1',
      port: 8081,
      reusePort: false,
      probePort: 0,
      pushIntervalMs: 1000,
      routerTimeoutMs: 3000,
      log: 'kafka',
      brokers: ['k-0:9092', 'k-1:9092'],
      kafkaClient: 'kafkajs',
      logLevel: 'info',
      tickMs: 500,
      maxReplicasCap: 10,
      watchIntervalMs: 500,
      runtime: 'process',
    });
    expect(
      parseServingArgs(
        ['--port', '9090', '--kafka-client', 'platformatic', '--max-replicas-cap', '3'],
        env,
        kafka,
      ),
    ).toMatchObject({ port: 9090, kafkaClient: 'platformatic', maxReplicasCap: 3 });
    expect(parseServingArgs(['--contract', 'c.json'])).toMatchObject({ log: 'none', contract: 'c.json' });
    // Replicas as Pods are not this machine's processes: no embedded-mode cap.
    expect(
      parseServingArgs(['--contract', 'c', '--runtime', 'kubernetes', '--kubeconfig', '/k/config']),
    ).toMatchObject({ runtime: 'kubernetes', kubeconfig: '/k/config', maxReplicasCap: 1000 });
    expect(servingEnvName('max-replicas-cap')).toBe('EDDY_SERVING_MAX_REPLICAS_CAP');
    expect(servingUsage('eddy serving', kafka)).toContain('(kafkajs|platformatic; default kafkajs)');
  });

  it('names the flag or the variable a bad value came from', () => {
    const problem = (argv: string[], env = {}, factory: BacklogReaderFactory | null = kafka) => {
      try {
        parseServingArgs(argv, env, factory ?? undefined);
      } catch (error) {
        expect((error as Error).name).toBe('UsageError');
        return (error as Error).message;
      }
      throw new Error('no UsageError');
    };
    expect(problem(['--contract', 'c'], { EDDY_SERVING_TICK_MS: '0' })).toBe(
      'EDDY_SERVING_TICK_MS must be an integer from 10 to 60000, got "0"',
    );
    expect(problem(['--contract', 'c', '--log', 'kafka', '--brokers', 'k'])).toBe(
      '--brokers: "k" is not host:port',
    );
    expect(problem(['--contract', 'c', '--log', 'kafka', '--brokers', 'k:1'], {}, null)).toBe(
      '--log kafka needs a Kafka client: run this as `eddy serving`, which has one',
    );
    expect(problem(['--contract', 'c'], { EDDY_SERVING_KAFKA_CLIENT: 'kafkajs' })).toBe(
      'EDDY_SERVING_KAFKA_CLIENT needs --log kafka',
    );
    expect(problem(['--contract', 'c', '--bogus', 'x'])).toMatch(/bogus/);
    expect(problem(['--contract', 'c', '--kubeconfig', '/k'])).toBe(
      '--kubeconfig needs --runtime kubernetes',
    );
    expect(problem(['--contract', 'c', '--runtime', 'docker'])).toMatch(/--runtime/);
  });

  it('takes --role router with --primary, and refuses what belongs to the other role', () => {
    const router = ['--contract', 'c', '--role', 'router', '--primary', 'http://127.0.0.1:9091'];
    expect(parseServingArgs([...router, '--push-interval-ms', '200'])).toMatchObject({
      role: 'router',
      primary: 'http://127.0.0.1:9091',
      reusePort: true,
      pushIntervalMs: 200,
    });
    expect(parseServingArgs([...router, '--reuse-port', 'false'])).toMatchObject({ reusePort: false });
    expect(
      parseServingArgs(['--contract', 'c', '--reuse-port', 'true', '--router-timeout-ms', '500']),
    ).toMatchObject({
      role: 'primary',
      reusePort: true,
      routerTimeoutMs: 500,
    });
    const problem = (argv: string[], env = {}) => {
      try {
        parseServingArgs(argv, env, kafka);
      } catch (error) {
        expect((error as Error).name).toBe('UsageError');
        return (error as Error).message;
      }
      throw new Error('no UsageError');
    };
    expect(problem(['--contract', 'c', '--role', 'activator'])).toBe(
      '--role must be "primary" or "router", got "activator"',
    );
    expect(problem(['--contract', 'c', '--role', 'router'])).toBe(
      '--role router needs --primary <url> (or EDDY_SERVING_PRIMARY)',
    );
    expect(problem(['--contract', 'c', '--role', 'router'], { EDDY_SERVING_PRIMARY: 'host:9091' })).toBe(
      'EDDY_SERVING_PRIMARY must be the primary\'s probe URL (http://host:port), got "host:9091"',
    );
    expect(problem([...router, '--tick-ms', '100'])).toBe(
      "--tick-ms is the primary's: a --role router process takes no tick-ms",
    );
    expect(problem([...router, '--log', 'kafka'])).toBe(
      '--log kafka: a --role router process reads no backlog (the primary does)',
    );
    expect(problem(['--contract', 'c', '--primary', 'http://x:1'])).toBe('--primary needs --role router');
    expect(problem([...router, '--push-interval-ms', '10'])).toBe(
      '--push-interval-ms must be an integer from 50 to 60000, got "10"',
    );
    expect(problem([...router, '--reuse-port', 'yes'])).toBe(
      '--reuse-port must be "true" or "false", got "yes"',
    );
    expect(servingUsage()).toMatch(/--role router --primary <url>/);
  });
});
