import type { DataValues, ValueStore } from '@eddy/api';
import { describe, expect, it } from 'vitest';
import type { SourceDefinition } from '../sdk/adapter.js';
import { checkSourcesContract, contractValueStore, referencedValues } from './contract.js';

const definition = (name: string, spec: unknown, namespace = 'demo'): SourceDefinition => ({
  apiVersion: 'sources.eddy.dev/v1alpha1',
  kind: 'SqsSource',
  namespace,
  name,
  spec,
  sink: 'http://127.0.0.1:1/sink',
});

const data = (values: Record<string, string>): DataValues =>
  new Map(Object.entries(values).map(([k, v]) => [k, Buffer.from(v)]));

describe('the sources contract', () => {
  it('names the field that is wrong', () => {
    const problem = (value: unknown) => {
      try {
        checkSourcesContract(value);
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    const values = { secrets: {}, configMaps: {} };
    expect(problem({ generation: 1, sources: [], values })).toBe('accepted');
    expect(problem([])).toMatch(/expected an object with generation, sources, values/);
    expect(problem({ generation: -1, sources: [], values })).toBe(
      'sources contract: "generation" must be an integer >= 0, found -1',
    );
    expect(problem({ generation: 1, sources: {}, values })).toBe(
      'sources contract: "sources" must be an array, found {}',
    );
    expect(problem({ generation: 1, sources: [{ ...definition('a', {}), sink: '' }], values })).toBe(
      'sources contract: sources[0].sink must be a non-empty string, found ""',
    );
    expect(problem({ generation: 1, sources: [definition('a', {}), definition('a', {})], values })).toBe(
      'sources contract: sources[1]: SqsSource/demo/a is listed twice',
    );
    expect(problem({ generation: 1, sources: [] })).toMatch(/"values" must be an object/);
    expect(problem({ generation: 1, sources: [], values: { secrets: { aws: {} }, configMaps: {} } })).toBe(
      'sources contract: values.secrets["aws"]: the name must be "<namespace>/<name>"',
    );
    expect(
      problem({ generation: 1, sources: [], values: { secrets: {}, configMaps: { 'demo/c': { k: 1 } } } }),
    ).toBe('sources contract: values.configMaps["demo/c"].k must be a string, found 1');
  });

  it('carries only the values its definitions refer to, the environment winning as in the control plane', () => {
    const store: ValueStore = {
      secret: (ns, name) =>
        ns === 'demo' && name === 'aws'
          ? data({ id: 'from-store', secret: 's3cret', unused: 'x' })
          : undefined,
      configMap: (ns, name) =>
        ns === 'demo' && name === 'settings' ? data({ region: 'eu', other: 'y' }) : undefined,
    };
    const sources = [
      definition('a', {
        credentials: {
          accessKeyId: { secretKeyRef: { name: 'aws', key: 'id' } },
          secretAccessKey: { secretKeyRef: { name: 'aws', key: 'secret' } },
        },
        region: { configMapKeyRef: { name: 'settings', key: 'region' } },
        missing: { secretKeyRef: { name: 'gone', key: 'k' } },
      }),
    ];
    const values = referencedValues(sources, { env: { EDDY_SECRET_AWS_ID: 'from-env' }, store });
    expect(values).toEqual({
      secrets: { 'demo/aws': { id: 'from-env', secret: 's3cret' } },
      configMaps: { 'demo/settings': { region: 'eu' } },
    });
    const inProcess = contractValueStore();
    expect(inProcess.secret('demo', 'aws')).toBeUndefined();
    inProcess.set(values);
    expect(inProcess.secret('demo', 'aws')?.get('secret')?.toString()).toBe('s3cret');
    expect(inProcess.configMap('demo', 'settings')?.get('region')?.toString()).toBe('eu');
    expect(inProcess.secret('other', 'aws')).toBeUndefined();
  });
});
