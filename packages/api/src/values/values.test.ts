import { describe, expect, it } from 'vitest';
import { configMapValues, redactedSizes, redactSecret, secretValues } from './core-data.js';
import { findKeyRefs } from './key-refs.js';
import {
  keyRefsDigest,
  lookupKeyRef,
  resolveKeyRef,
  secretEnvName,
  type ValueStore,
} from './value-lookup.js';

const text = (m: ReadonlyMap<string, Buffer>) =>
  Object.fromEntries([...m].map(([k, v]) => [k, v.toString()]));

describe('Secret and ConfigMap values', () => {
  it('stringData wins over data (as the API server merges them); binaryData is decoded', () => {
    expect(text(secretValues({ data: { a: 'eA==', b: 'eQ==' }, stringData: { b: 'over' } }))).toEqual({
      a: 'x',
      b: 'over',
    });
    expect(text(configMapValues({ data: { a: 'text' }, binaryData: { b: 'Ynl0ZXM=' } }))).toEqual({
      a: 'text',
      b: 'bytes',
    });
  });

  it('redactSecret keeps every key with its size and nothing of the values', () => {
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      type: 'Opaque',
      data: { token: Buffer.from('hunter2').toString('base64') },
      stringData: { one: 'x' },
    };
    const { redacted, values } = redactSecret(secret);
    expect(redacted).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      type: 'Opaque',
      data: { one: '<redacted: 1 byte>', token: '<redacted: 7 bytes>' },
    });
    expect(JSON.stringify(redacted)).not.toMatch(/hunter2|aHVudGVyMg/);
    expect(text(values)).toEqual({ token: 'hunter2', one: 'x' });
    expect(redactedSizes(redacted.data)).toEqual([
      ['one', 1],
      ['token', 7],
    ]);
  });
});

describe('key references', () => {
  it('finds secretKeyRef and configMapKeyRef anywhere in a spec, with their paths', () => {
    const spec = {
      secretToken: { secretKeyRef: { name: 'gh', key: 'secret' } },
      template: {
        spec: {
          containers: [
            { env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'c', key: 'k', optional: true } } }] },
          ],
        },
      },
    };
    expect(findKeyRefs(spec, ['spec'])).toEqual([
      { source: 'Secret', name: 'gh', key: 'secret', path: ['spec', 'secretToken', 'secretKeyRef'] },
      {
        source: 'ConfigMap',
        name: 'c',
        key: 'k',
        optional: true,
        path: ['spec', 'template', 'spec', 'containers', 0, 'env', 0, 'valueFrom', 'configMapKeyRef'],
      },
    ]);
  });

  const store = (values: Record<string, string> | undefined): ValueStore => ({
    secret: (ns, name) =>
      ns === 'default' && name === 'gh' && values
        ? new Map(Object.entries(values).map(([k, v]) => [k, Buffer.from(v)]))
        : undefined,
    configMap: () => undefined,
  });
  const ref = { source: 'Secret' as const, name: 'gh', key: 'secret' };

  it('the environment wins over a Secret manifest; a miss names the Secret, the key and both places', () => {
    expect(secretEnvName('github-webhook', 'secret')).toBe('EDDY_SECRET_GITHUB_WEBHOOK_SECRET');
    expect(lookupKeyRef(ref, 'default', { env: {}, store: store({ secret: 'manifest' }) })).toEqual({
      found: true,
      value: 'manifest',
    });
    expect(
      lookupKeyRef(ref, 'default', {
        env: { EDDY_SECRET_GH_SECRET: 'env' },
        store: store({ secret: 'manifest' }),
      }),
    ).toEqual({ found: true, value: 'env' });
    expect(resolveKeyRef(ref, 'default', { env: {}, store: store({ other: 'x' }) })).toEqual({
      ok: false,
      message:
        'secret default/gh key secret not found (looked for environment variable EDDY_SECRET_GH_SECRET, then Secret default/gh, whose keys are other)',
    });
    expect(
      resolveKeyRef({ ...ref, optional: true }, 'default', { env: {}, store: store(undefined) }),
    ).toEqual({
      ok: true,
      value: undefined,
    });
  });

  it('the digest moves with a value (or its absence) and shows nothing of it', () => {
    const digest = (values: Record<string, string> | undefined) =>
      keyRefsDigest([ref], 'default', { env: {}, store: store(values) });
    expect(digest({ secret: 'a' })).toBe(digest({ secret: 'a' }));
    expect(digest({ secret: 'a' })).not.toBe(digest({ secret: 'b' }));
    expect(digest({ secret: 'a' })).not.toBe(digest(undefined));
    expect(digest({ secret: 'a' })).not.toContain('a'.repeat(2));
  });
});
